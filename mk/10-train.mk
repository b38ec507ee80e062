# mk/10-train.mk — host-side trainer: the pretrained model, the training
# benchmark against PyTorch and the training part of the demo.

# The committed default model (issue 11; docs/training.md): seed architecture
# + BatchNorm with the "x" not-a-digit class. Two stages: REJECT_CKPT (below,
# 24 epochs) and then two epochs of plain augmentation with broken strokes and
# negatives at a low learning rate (MODEL_FLAGS), which brought MNIST back
# over 99.4%. The reject threshold is chosen on the last 2,000 training
# images, held out of both.
MODEL_CKPT  ?= models/mnist.ckpt
MODEL_FLAGS ?= --init $(REJECT_CKPT) --augment --breaks --negatives 0.1 --val 2000 --epochs 2 --lr 2e-5 --seed 2 --threads 2 --slim

# The first stage of the default (make model-reject): the same architecture
# with the "x" class, plain and camera-robust augmentation with other writers'
# hands and pens, 10% generated negatives per epoch, 24 epochs.
REJECT_CKPT  ?= models/mnist-reject.ckpt
REJECT_FLAGS ?= --bn --augment --robust --writers --negatives 0.1 --val 2000 --epochs 24 --step-size 8 --gamma 0.3 --seed 1 --threads 2 --slim

# The earlier 10-class default (no "x" class; make model-10), kept to compare
# with (make bench-reject's "old") and for fine-tunes that start from it.
MODEL10_CKPT  ?= models/mnist-10.ckpt
MODEL10_FLAGS ?= --bn --augment --epochs 10 --step-size 4 --gamma 0.3 --seed 1 --threads 2 --slim

# The measured display-like variant (make model-reject-display; not committed,
# docs/training.md: better seven-segment and handwritten numbers, worse single
# digits and non-digits).
REJECT_DISPLAY_CKPT  ?= out/mnist-reject-display.ckpt
REJECT_DISPLAY_FLAGS ?= --bn --augment --robust --display --negatives 0.1 --val 2000 --epochs 12 --step-size 4 --gamma 0.3 --seed 1 --threads 2 --slim

# The closest fine-tune of the default into a reject model (make
# model-reject-ft; not committed, docs/training.md "Fine-tuning the default
# into a reject model", recipe H): models/mnist-10.ckpt grown to 11 classes,
# dense layers only.
REJECT_FT_CKPT  ?= out/mnist-reject-ft.ckpt
REJECT_FT_FLAGS ?= --init $(MODEL10_CKPT) --augment --robust --display --freeze conv --negatives 0.1 --val 2000 --epochs 14 --lr 1e-3 --step-size 5 --gamma 0.3 --seed 1 --threads 2 --slim

# The segmentation judge (make model-judge; docs/training.md "The segmentation
# judge"): the default's weights grown to 111 classes (0..9, x, 00..99) and
# trained on the --multi candidates of 18,000 generated number photos of MNIST
# training digits (edgecnn judgeset). Used with --multi --judge.
JUDGE_CKPT  ?= models/judge.ckpt
JUDGE_DIR   ?= out/judge
JUDGE_FLAGS ?= --init $(MODEL_CKPT) --augment --val 2500 --epochs 10 --lr 5e-4 --step-size 4 --gamma 0.3 --seed 1 --threads 2 --slim
# Stage 2: 3 more epochs on the candidates of 9,000 new photos and of 3,000
# seven-segment photos (a quarter of every batch), so the judge knows display
# digits too.
JUDGE2_FLAGS ?= --init $(JUDGE_DIR)/stage1.ckpt --mix 3,1 --augment --val 2500 --epochs 3 --lr 2e-4 --step-size 2 --gamma 0.3 --seed 3 --threads 2 --slim

BENCH_TRAIN_DIR := $(CACHE)/bench-train

APT_PACKAGES  += qemu-user-static python3-torch python3-numpy
TEST_TARGETS  += test-train-noasm test-train-arm64
BENCH_TARGETS += bench-train
DEMO_TARGETS  += demo-train

TRAIN_KERNEL_TESTS := Pool|Im2col|Warp|Adam|StepLR|Grad|Forward|Add|NoAlloc|Prepared

.PHONY: model model-10 model-judge model-reject model-reject-display model-reject-ft bench-train bench-train-accuracy demo-train test-train-noasm test-train-arm64

# The trainer's SIMD kernels have pure-Go twins: run the kernel, gradient and
# reference-forward tests with the noasm tag, and on arm64 under qemu.
test-train-noasm:
	$(GO) test -count=1 -tags noasm -run '$(TRAIN_KERNEL_TESTS)' ./train/internal/vec ./train

test-train-arm64:
	GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64-static -run '$(TRAIN_KERNEL_TESTS)' ./train/internal/vec ./train

# model retrains models/mnist.ckpt from models/mnist-reject.ckpt (two epochs;
# about a minute). From scratch: make model-reject model.
model: data build
	$(BIN) train --data $(DATA) --out $(MODEL_CKPT) $(MODEL_FLAGS) --json
	$(BIN) eval --model $(MODEL_CKPT) --data $(DATA)

# model-reject retrains models/mnist-reject.ckpt, the default's first stage
# (24 epochs; about 10 minutes on a quiet 2-core machine).
model-reject: data build
	$(BIN) train --data $(DATA) --out $(REJECT_CKPT) $(REJECT_FLAGS) --json
	$(BIN) eval --model $(REJECT_CKPT) --data $(DATA)

# model-10 retrains models/mnist-10.ckpt, the earlier 10-class default (10
# epochs; minutes).
model-10: data build
	$(BIN) train --data $(DATA) --out $(MODEL10_CKPT) $(MODEL10_FLAGS) --json
	$(BIN) eval --model $(MODEL10_CKPT) --data $(DATA)

# model-judge draws the judge's training folders from the default model's
# candidates on photos 0..8999 and 9000..17999 (two folders: the trainer takes
# at most 200,000 images from one; about 6 minutes) and trains stage 1 on them
# (10 epochs; about 25 minutes on a quiet 2-core machine); then it draws the
# candidates of photos 18000..26999 and of 3,000 seven-segment photos (about
# 4 minutes) and trains models/judge.ckpt from stage 1 on them (3 epochs;
# about 2 minutes).
model-judge: data build
	@mkdir -p $(JUDGE_DIR)
	rm -rf $(addprefix $(JUDGE_DIR)/data-,a b c s) $(addsuffix .partial,$(addprefix $(JUDGE_DIR)/data-,a b c s))
	$(BIN) export --int8 --model $(MODEL_CKPT) --data $(DATA) --out $(JUDGE_DIR)/model.int8.tflite
	$(BIN) judgeset --data $(DATA) --model $(JUDGE_DIR)/model.int8.tflite --out $(JUDGE_DIR)/data-a --first 0 --n 9000 --seed 1
	$(BIN) judgeset --data $(DATA) --model $(JUDGE_DIR)/model.int8.tflite --out $(JUDGE_DIR)/data-b --first 9000 --n 9000 --seed 1
	$(BIN) train --data $(JUDGE_DIR)/data-a --data $(JUDGE_DIR)/data-b --out $(JUDGE_DIR)/stage1.ckpt $(JUDGE_FLAGS) --json
	$(BIN) judgeset --data $(DATA) --model $(JUDGE_DIR)/model.int8.tflite --out $(JUDGE_DIR)/data-c --first 18000 --n 9000 --seed 1
	$(BIN) judgeset --data $(DATA) --model $(JUDGE_DIR)/model.int8.tflite --out $(JUDGE_DIR)/data-s --odometer 0 --sevenseg 1 --first 18000 --n 3000 --seed 1
	$(BIN) train --data $(JUDGE_DIR)/data-c --data $(JUDGE_DIR)/data-s --out $(JUDGE_CKPT) $(JUDGE2_FLAGS) --json

# model-reject-display trains the display-like variant (12 epochs).
model-reject-display: data build
	@mkdir -p $(dir $(REJECT_DISPLAY_CKPT))
	$(BIN) train --data $(DATA) --out $(REJECT_DISPLAY_CKPT) $(REJECT_DISPLAY_FLAGS) --json
	$(BIN) eval --model $(REJECT_DISPLAY_CKPT) --data $(DATA)

# model-reject-ft fine-tunes the default into the measured reject model H
# (14 epochs of the dense layers; about 5 minutes on a quiet 2-core machine).
model-reject-ft: data build
	@mkdir -p $(dir $(REJECT_FT_CKPT))
	$(BIN) train --data $(DATA) --out $(REJECT_FT_CKPT) $(REJECT_FT_FLAGS) --json
	$(BIN) eval --model $(REJECT_FT_CKPT) --data $(DATA)

# bench-train: one epoch (60,000 images, batch 64, 2 threads) of the seed
# recipe in PyTorch (bench/pytorch_seed.py) and in edgecnn, side by side,
# with the ratio, the effective GFLOP/s of both (model FLOPs forward +
# backward × images / time), the sgemm GEMM rate measured in the same run
# (square 1024, 2 threads, before PyTorch and after edgecnn: the range and
# the best, which the epoch is compared with) and edgecnn's peak RSS.
# Targets: ratio ≤ 0.25, epoch ≥ 70% of the GEMM rate, RSS ≤ 1 GiB. On a
# shared machine all of it is noise: the load average is printed.
bench-train: data build
	@mkdir -p $(BENCH_TRAIN_DIR)
	@echo "bench-train: load average $$(cut -d' ' -f1-3 /proc/loadavg)"
	@echo "bench-train: GEMM rate (internal/sgemm, square 1024, 2 threads) ..."
	$(GO) test -run '^$$' -bench 'Gemm/square_1024/threads=2$$' -benchtime 20x -count 3 ./internal/sgemm > $(BENCH_TRAIN_DIR)/gemm.txt
	@echo "bench-train: PyTorch $$($(PY) -c 'import torch; print(torch.__version__)'), 1 epoch, 2 threads ..."
	$(PY) bench/pytorch_seed.py --data $(DATA) --epochs 1 --threads 2 --batch 64 > $(BENCH_TRAIN_DIR)/torch.jsonl
	@echo "bench-train: edgecnn, 1 epoch, 2 threads ..."
	$(BIN) train --data $(DATA) --epochs 1 --threads 2 --batch 64 --json --out $(BENCH_TRAIN_DIR)/seed.ckpt > $(BENCH_TRAIN_DIR)/edgecnn.jsonl
	@echo "bench-train: load average $$(cut -d' ' -f1-3 /proc/loadavg); GEMM rate again ..."
	$(GO) test -run '^$$' -bench 'Gemm/square_1024/threads=2$$' -benchtime 20x -count 3 ./internal/sgemm >> $(BENCH_TRAIN_DIR)/gemm.txt
	@$(PY) bench/train_table.py --torch $(BENCH_TRAIN_DIR)/torch.jsonl --edgecnn $(BENCH_TRAIN_DIR)/edgecnn.jsonl --gemm $(BENCH_TRAIN_DIR)/gemm.txt

# bench-train-accuracy: the accuracy targets (long: 16 epochs in all).
#   the seed recipe exactly, 3 epochs (reference, no target: measured 98.93–99.09%
#   over seeds 1–4; PyTorch's seed script, bench/pytorch_seed.py --epochs 3, got
#   98.77% (seed 1) and 99.01% (seed 2); make bench-train-crosscheck shows the two
#   trainers agree step by step, so the gap to 99.2% is the recipe, not the trainer)
#   ≥ 99.2% after 3 epochs: seed model + BN, augmentation, StepLR(1, 0.5)
#   ≥ 99.4% with --bn --augment within 10 epochs (the recipe of models/mnist-10.ckpt)
ACC3_FLAGS ?= --bn --augment --step-size 1 --gamma 0.5

bench-train-accuracy: data build
	@mkdir -p $(BENCH_TRAIN_DIR)
	$(BIN) train --data $(DATA) --epochs 3 --threads 2 --json --out $(BENCH_TRAIN_DIR)/seed3.ckpt > $(BENCH_TRAIN_DIR)/seed3.jsonl
	$(BIN) train --data $(DATA) --epochs 3 --threads 2 $(ACC3_FLAGS) --json --out $(BENCH_TRAIN_DIR)/acc3.ckpt > $(BENCH_TRAIN_DIR)/acc3.jsonl
	$(BIN) train --data $(DATA) $(MODEL10_FLAGS) --json --out $(BENCH_TRAIN_DIR)/aug10.ckpt > $(BENCH_TRAIN_DIR)/aug10.jsonl
	@$(PY) bench/train_table.py --accuracy "seed recipe, 3 epochs=$(BENCH_TRAIN_DIR)/seed3.jsonl=-" \
	    --accuracy "$(ACC3_FLAGS), 3 epochs=$(BENCH_TRAIN_DIR)/acc3.jsonl=99.2" \
	    --accuracy "models/mnist-10.ckpt recipe, 10 epochs=$(BENCH_TRAIN_DIR)/aug10.jsonl=99.4"

# demo-train: a quick run (1 epoch on 10,000 images), its evaluation, and
# the evaluation of the committed model.
demo-train: data build
	@mkdir -p out/demo
	$(BIN) train --data $(DATA) --limit 10000 --epochs 1 --out out/demo/quick.ckpt
	$(BIN) eval --data $(DATA) --model out/demo/quick.ckpt
	$(BIN) eval --data $(DATA) --model $(MODEL_CKPT)

# bench-train-crosscheck: edgecnn's trainer against PyTorch step by step
# (bench/torchcheck dumps 300 Adam steps from edgecnn's initialization,
# bench/torch_crosscheck.py replays them in PyTorch): initialization
# distribution, losses of the first 10 steps within 1e-4, parameters after
# step 1 within 1e-5; plain and with BatchNorm. About a minute.
TORCHCHECK_DIR := $(CACHE)/torchcheck

.PHONY: bench-train-crosscheck
bench-train-crosscheck: data
	$(GO) run ./bench/torchcheck -data $(DATA) -dir $(TORCHCHECK_DIR)/plain
	$(PY) bench/torch_crosscheck.py --data $(DATA) --dir $(TORCHCHECK_DIR)/plain
	$(GO) run ./bench/torchcheck -data $(DATA) -dir $(TORCHCHECK_DIR)/bn -bn
	$(PY) bench/torch_crosscheck.py --data $(DATA) --dir $(TORCHCHECK_DIR)/bn --bn
