# mk/15-finetune.mk — teach it your digits (issue 10; docs/training.md).
#
#   make finetune FIELD=DIR   fine-tune models/mnist.ckpt on the image folder DIR
#                             (DIR/<label>/*.jpg, labels 0..9 and x) mixed with MNIST,
#                             quantize it, and report accuracy on DIR next to MNIST:
#                             out/finetune/model.ckpt, model.int8.tflite, report.html
#   make bench-finetune       300 generated seven-segment LCD photos (seed 1) → fine-tune →
#                             quantize; before/after accuracy on 500 held-out photos
#                             (seed 1001, never used for tuning), MNIST test accuracy
#                             after, and the wall time of fine-tune + quantize on 2 cores.
#                             Targets: new style ≥ 98%, MNIST ≥ 99.2%, ≤ 5 min. (in make bench)

BENCH_TARGETS += bench-finetune

FIELD          ?=
FINETUNE_DIR   ?= out/finetune
# The recipe, tuned on a validation split (every 5th photo) of the
# 300 training photos only (docs/training.md): one epoch of 12,800 images,
# half MNIST and half the field folder in every batch, Adam at the
# fine-tuning default learning rate 1e-4, all layers trained.
FINETUNE_FLAGS ?= --epochs 1 --epoch-size 12800
BENCH_FT_DIR   := $(CACHE)/bench-finetune

.PHONY: finetune bench-finetune

finetune: data build
	@[ -n "$(FIELD)" ] || { echo "make finetune: set FIELD=DIR, an image folder DIR/<label>/*.jpg (labels 0..9, x = not a digit)"; exit 2; }
	@mkdir -p $(FINETUNE_DIR)
	$(BIN) train --init $(MODEL_CKPT) --data $(DATA) --data $(FIELD) $(FINETUNE_FLAGS) --out $(FINETUNE_DIR)/model.ckpt
	$(BIN) quantize --model $(FINETUNE_DIR)/model.ckpt --data $(DATA) --data $(FIELD) \
	    --out $(FINETUNE_DIR)/model.int8.tflite --report $(FINETUNE_DIR)/report.html
	@echo "finetune: report $(abspath $(FINETUNE_DIR))/report.html"
	@echo "finetune: flash it with: $(BIN) flash --model $(FINETUNE_DIR)/model.int8.tflite --board rpi4 --host pi@raspberrypi.local"

bench-finetune: data build
	@rm -rf $(BENCH_FT_DIR) && mkdir -p $(BENCH_FT_DIR)
	$(BIN) photoset --style lcd --n 300 --seed 1 --out $(BENCH_FT_DIR)/lcd-train
	$(BIN) photoset --style lcd --n 500 --seed 1001 --out $(BENCH_FT_DIR)/lcd-test
	@echo "bench-finetune: the committed model before fine-tuning ..."
	$(BIN) quantize --model $(MODEL_CKPT) --data $(DATA) --eval-data $(BENCH_FT_DIR)/lcd-test \
	    --out $(BENCH_FT_DIR)/before.int8.tflite --json > $(BENCH_FT_DIR)/before.json
	@echo "bench-finetune: fine-tune + quantize (GOMAXPROCS=2, --threads 2) ..."
	@start=$$(date +%s%N); \
	GOMAXPROCS=2 $(BIN) train --init $(MODEL_CKPT) --data $(DATA) --data $(BENCH_FT_DIR)/lcd-train $(FINETUNE_FLAGS) \
	    --threads 2 --out $(BENCH_FT_DIR)/model.ckpt --json > $(BENCH_FT_DIR)/train.jsonl || exit 1; \
	GOMAXPROCS=2 $(BIN) quantize --model $(BENCH_FT_DIR)/model.ckpt --data $(DATA) --data $(BENCH_FT_DIR)/lcd-train \
	    --eval-data $(BENCH_FT_DIR)/lcd-test --threads 2 --out $(BENCH_FT_DIR)/model.int8.tflite \
	    --report $(BENCH_FT_DIR)/report.html --json > $(BENCH_FT_DIR)/after.json || exit 1; \
	end=$$(date +%s%N); echo $$(( (end - start) / 1000000 )) > $(BENCH_FT_DIR)/ms
	@$(GO) run ./train/internal/ftbench --before $(BENCH_FT_DIR)/before.json --after $(BENCH_FT_DIR)/after.json \
	    --test $(BENCH_FT_DIR)/lcd-test --mnist $(DATA) --ms $$(cat $(BENCH_FT_DIR)/ms)
	@echo "bench-finetune: report $(BENCH_FT_DIR)/report.html"
