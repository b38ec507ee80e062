# mk/50-camera.mk — camera sources, preprocessing and the headless
# recognizer (issue 6; docs/camera.md).
#
#   make bench-camera    preprocessing and frame→digit timing (Go benchmarks),
#                        photographed-digit accuracy on 500 generated photos with
#                        the committed model (float and int8, native engine), and
#                        POST /predict throughput on loopback       (in make bench)
#   make demo-camera     recognise sample photos, sample numbers (--multi, with the
#                        judge beside the model) and a short synthetic stream
#                        with out/demo/model.int8.tflite (else out/demo/model.tflite),
#                        produced by the earlier demo targets       (in make demo)
#   make camera-photos   regenerate the 50 committed sample photos
#                        (camera/testdata/photos, from MNIST test digits 9000+)
#                        and the 6 sample numbers (camera/testdata/numbers, the same
#                        digits; outside the tuning and test splits of the benches)

APT_PACKAGES  += chromium
BENCH_TARGETS += bench-camera
DEMO_TARGETS  += demo-camera

CAMERA_DIR      := $(CACHE)/camera
CAMERA_MODEL    := $(CAMERA_DIR)/mnist.tflite
CAMERA_MODEL_I8 := $(CAMERA_DIR)/mnist.int8.tflite
CAMERA_JUDGE_I8 := $(CAMERA_DIR)/judge.int8.tflite
CAMBENCH        := $(CAMERA_DIR)/cambench

.PHONY: bench-camera demo-camera camera-photos camera-models

camera-models: build
	@mkdir -p $(CAMERA_DIR)
	$(BIN) export --model models/mnist.ckpt --out $(CAMERA_MODEL)
	$(BIN) export --int8 --model models/mnist.ckpt --data $(DATA) --out $(CAMERA_MODEL_I8)
	$(BIN) export --int8 --model models/judge.ckpt --data $(DATA) --out $(CAMERA_JUDGE_I8)

bench-camera: data camera-models
	$(GO) build -o $(CAMBENCH) ./camera/internal/cambench
	$(GO) test -run '^$$' -bench 'Process640x480' -benchmem ./camera/preprocess
	EDGECNN_CAMERA_MODEL=$(CAMERA_MODEL_I8) $(GO) test -run '^$$' -bench 'FrameToDigit' -benchmem ./agent
	$(CAMBENCH) accuracy -data $(DATA) -model $(CAMERA_MODEL_I8) -n 500 -json $(CAMERA_DIR)/accuracy.int8.json
	$(CAMBENCH) accuracy -data $(DATA) -model $(CAMERA_MODEL) -n 500 -json $(CAMERA_DIR)/accuracy.float.json
	GOMAXPROCS=2 $(CAMBENCH) load -data $(DATA) -model $(CAMERA_MODEL_I8) -requests 20000 -c 8 -workers 2

camera-photos: data
	$(GO) run ./camera/internal/cambench gen -data $(DATA) -n 50 -out camera/testdata/photos
	$(GO) run ./camera/internal/cambench gen -data $(DATA) -kind hand,hand,odometer,hand,sevenseg,hand -n 6 -size 640x480 -out camera/testdata/numbers

demo-camera: build
	@model=out/demo/model.int8.tflite; [ -f $$model ] || model=out/demo/model.tflite; \
	if [ ! -f $$model ]; then echo "demo-camera: no out/demo model (run the earlier demo targets)"; exit 1; fi; \
	echo "== edgecnn predict --model $$model (sample photos; the file name ends in the true digit)"; \
	$(BIN) predict --model $$model camera/testdata/photos/photo-000[0-7]-*.jpg; \
	echo "== edgecnn predict --model $$model --multi (sample numbers; the file name ends in the true number)"; \
	$(BIN) predict --model $$model --multi camera/testdata/numbers/*.jpg; \
	echo "== edgecnn run --model $$model --camera synthetic --max-frames 30 (JSON lines; truth = digit drawn)"; \
	$(BIN) run --model $$model --camera synthetic --max-frames 30 --smooth 1 | tail -5
