# mk/20-quantize.mk — the int8 quantizer (quantize/, `edgecnn quantize`).
# See docs/quantization.md.
#
#   make demo-quantize    quantize the committed model to out/demo/model.int8.tflite
#                         with the HTML report out/demo/report.html, and export the
#                         segmentation judge beside it (out/demo/judge.int8.tflite,
#                         which --multi then reads with)               (in make demo)
#   make bench-quantize   the issue-3 targets on models/mnist.ckpt, 10,000 test images:
#                         accuracy drop ≤ 0.10 pp, agreement ≥ 99.8%, int8 file ≤ 27% of
#                         the float .tflite, quantize + HTML report ≤ 20 s; beside PyTorch
#                         1.13's PTQ (oneDNN) of the same weights.    (in make bench)

# chromium renders the HTML report in quantize's tests (headless screenshot).
APT_PACKAGES  += chromium python3-torch python3-numpy
BENCH_TARGETS += bench-quantize
DEMO_TARGETS  += demo-quantize

MODEL_CKPT      ?= models/mnist.ckpt
BENCH_QUANT_DIR := $(CACHE)/bench-quantize

.PHONY: demo-quantize bench-quantize

demo-quantize: data build
	@mkdir -p out/demo
	$(BIN) quantize --model $(MODEL_CKPT) --data $(DATA) --out out/demo/model.int8.tflite --report out/demo/report.html
	$(BIN) export --int8 --model $(JUDGE_CKPT) --data $(DATA) --out out/demo/judge.int8.tflite
	@echo "quantization report: $(CURDIR)/out/demo/report.html"

bench-quantize: data build
	@mkdir -p $(BENCH_QUANT_DIR)
	@echo "bench-quantize: edgecnn quantize (auto calibration, 1,000 images; 10,000 test images) ..."
	@start=$$(date +%s%N); \
	$(BIN) quantize --model $(MODEL_CKPT) --data $(DATA) --out $(BENCH_QUANT_DIR)/model.int8.tflite \
	    --report $(BENCH_QUANT_DIR)/report.html --json > $(BENCH_QUANT_DIR)/report.json || exit 1; \
	end=$$(date +%s%N); echo $$(( (end - start) / 1000000 )) > $(BENCH_QUANT_DIR)/ms
	@echo "bench-quantize: PyTorch $$($(PY) -c 'import torch; print(torch.__version__)') PTQ of the same checkpoint ..."
	$(PY) quantize/bench/torch_ptq.py --model $(MODEL_CKPT) --data $(DATA) --calib 1000 > $(BENCH_QUANT_DIR)/torch.json
	@$(GO) run ./quantize/internal/benchcheck --report $(BENCH_QUANT_DIR)/report.json \
	    --ms $$(cat $(BENCH_QUANT_DIR)/ms) --torch $(BENCH_QUANT_DIR)/torch.json
	@echo "bench-quantize: report $(BENCH_QUANT_DIR)/report.html"
