# mk/55-numbers.mk — whole numbers (issue 11: --multi, --rois, light on
# dark; docs/camera.md "Reading numbers").
#
#   make bench-numbers   exact and per-digit rates of --multi on generated
#                        number photos with the committed model (native int8):
#                        handwritten (MNIST test digits), odometer windows
#                        (light on dark, no flags), seven-segment; the tuning
#                        split and the TEST split (never used for tuning);
#                        each without and with the segmentation judge
#                        (--judge, models/judge.ckpt as int8), the judged run
#                        paired with the other (-against: McNemar's test);
#                        then judged and rescanned (-rescan, as edgecnn's
#                        default --rescan does), paired with the judged run;
#                        then also told each number's length (-length, as
#                        --digits N does), paired with the rescanned run;
#                        then each photo cropped to its number (-fill: a
#                        camera set up so the number fills the frame),
#                        paired with the rescanned run;
#                        frame→answer time for one digit and for numbers
#                                                                    (in make bench)

BENCH_TARGETS += bench-numbers

NUMBERS_N ?= 300

.PHONY: bench-numbers

bench-numbers: data camera-models
	$(GO) build -o $(CAMBENCH) ./camera/internal/cambench
	@for split in tune test; do for kind in hand odometer sevenseg; do \
		$(CAMBENCH) numbers -data $(DATA) -model $(CAMERA_MODEL_I8) -kind $$kind -split $$split -n $(NUMBERS_N) \
			-json $(CAMERA_DIR)/numbers.$$kind.$$split.json || exit 1; \
		$(CAMBENCH) numbers -data $(DATA) -model $(CAMERA_MODEL_I8) -judge $(CAMERA_JUDGE_I8) -kind $$kind -split $$split -n $(NUMBERS_N) \
			-against $(CAMERA_DIR)/numbers.$$kind.$$split.json -json $(CAMERA_DIR)/numbers.$$kind.$$split.judge.json || exit 1; \
		$(CAMBENCH) numbers -data $(DATA) -model $(CAMERA_MODEL_I8) -judge $(CAMERA_JUDGE_I8) -rescan -kind $$kind -split $$split -n $(NUMBERS_N) \
			-against $(CAMERA_DIR)/numbers.$$kind.$$split.judge.json -json $(CAMERA_DIR)/numbers.$$kind.$$split.rescan.json || exit 1; \
		$(CAMBENCH) numbers -data $(DATA) -model $(CAMERA_MODEL_I8) -judge $(CAMERA_JUDGE_I8) -rescan -length -kind $$kind -split $$split -n $(NUMBERS_N) \
			-against $(CAMERA_DIR)/numbers.$$kind.$$split.rescan.json -json $(CAMERA_DIR)/numbers.$$kind.$$split.length.json || exit 1; \
		$(CAMBENCH) numbers -data $(DATA) -model $(CAMERA_MODEL_I8) -judge $(CAMERA_JUDGE_I8) -rescan -fill -kind $$kind -split $$split -n $(NUMBERS_N) \
			-against $(CAMERA_DIR)/numbers.$$kind.$$split.rescan.json -json $(CAMERA_DIR)/numbers.$$kind.$$split.fill.json || exit 1; \
	done; done
	EDGECNN_CAMERA_MODEL=$(CAMERA_MODEL_I8) EDGECNN_JUDGE_MODEL=$(CAMERA_JUDGE_I8) $(GO) test -run '^$$' -bench 'FrameToDigit|FrameToNumber' -benchmem ./agent
