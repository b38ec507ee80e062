# mk/40-runtime.mk — the native int8/float engine (runtime/native,
# runtime/kernels, runtime/kernels/qgemm) and `edgecnn bench`. See docs/runtime.md.
#
#   make test-runtime-noasm   the runtime suites with -tags noasm (pure-Go kernels only)
#   make test-runtime-arm64   arm64 test binaries under qemu-aarch64-static, twice:
#                             -cpu cortex-a72 (ARMv8.0: NEON kernel, no dotprod) and
#                             -cpu max (dotprod: SDOT kernel); each run asserts which
#                             kernel was selected (EDGECNN_EXPECT_KERNEL)
#   make test-runtime-armv7   GOARCH=arm GOARM=7 test binaries under qemu-arm-static
#   make bench-runtime        edgecnn bench --backend all on the float and int8 demo
#                             models (batch 1 / 1 thread and batch 256 / 2 threads) and
#                             the native engine's Go benchmarks. Needs the models of
#                             `make demo` (out/demo/model.tflite from demo-export,
#                             out/demo/model.int8.tflite from the quantizer); for the
#                             tflite/onnxruntime rows set BENCH_BIN=bin/edgecnn-full
#                             (make build-full), otherwise they show "not built in".
#   make bench-arm64-model    per arm64 board of the board table, an int8 and a float
#                             row: instructions, SIMD instructions, loads/stores and
#                             their bytes of the arm64 kernels per batch-1 seed-CNN
#                             inference, counted from the generated gemm_arm64.s
#                             (int8), internal/sgemm/kernel_arm64.s and
#                             runtime/native/convpool_arm64.s (float) by
#                             runtime/kernels/qgemm/armmodel; qemu cannot time the
#                             boards, so this is the arm64 figure

APT_PACKAGES  += qemu-user-static
TEST_TARGETS  += test-runtime-noasm test-runtime-arm64 test-runtime-armv7
BENCH_TARGETS += bench-runtime bench-arm64-model

RUNTIME_PKGS  := ./runtime/qmath ./runtime/kernels/... ./runtime/native/...
RUNTIME_QEMU  := $(CACHE)/runtime-qemu
RUNTIME_TESTS := qmath:runtime/qmath kernels:runtime/kernels qgemm:runtime/kernels/qgemm native:runtime/native
BENCH_BIN     ?= $(BIN)
BENCH_MODELS  ?= out/demo/model.tflite out/demo/model.int8.tflite

.PHONY: test-runtime-noasm test-runtime-arm64 test-runtime-armv7 bench-runtime bench-arm64-model

bench-arm64-model:
	$(GO) run ./runtime/kernels/qgemm/armmodel/cmd/arm64model --asm runtime/kernels/qgemm/gemm_arm64.s,runtime/kernels/qgemm/output_arm64.s --float-asm internal/sgemm/kernel_arm64.s,runtime/native/convpool_arm64.s

test-runtime-noasm:
	$(GO) test -count=1 -tags noasm $(RUNTIME_PKGS)

# $(call runtime_qemu,GOARCH-ENV,SUFFIX,QEMU,EXPECTED-KERNEL): build each
# runtime test binary for the target and run it from its package folder.
# 15 minutes per binary: on a loaded 2-core host runtime/native alone took
# over 5 under qemu (TestFloatChunkedRun ~230 s wall at load 14–23).
define runtime_qemu
	@mkdir -p $(RUNTIME_QEMU)
	@set -e; for t in $(RUNTIME_TESTS); do \
	  name=$${t%%:*}; dir=$${t#*:}; \
	  $(1) CGO_ENABLED=0 $(GO) test -c -o $(RUNTIME_QEMU)/$$name.$(2).test ./$$dir; \
	done
	@set -e; for t in $(RUNTIME_TESTS); do \
	  name=$${t%%:*}; dir=$${t#*:}; \
	  echo "$(3): $$dir (expect kernel $(4))"; \
	  log=$(RUNTIME_QEMU)/$$name.$(2).log; \
	  if ! (cd $$dir && EDGECNN_EXPECT_KERNEL=$(4) $(3) $(RUNTIME_QEMU)/$$name.$(2).test -test.count=1 -test.timeout=15m -test.v) >$$log 2>&1; then \
	    cat $$log; echo "FAIL: $$dir under $(3)"; exit 1; fi; \
	  grep -h "selected=" $$log | sed 's/^ */  /' || true; tail -1 $$log; \
	done
endef

test-runtime-arm64:
	@command -v qemu-aarch64-static >/dev/null || { echo "qemu-aarch64-static missing: make deps (qemu-user-static)"; exit 1; }
	$(call runtime_qemu,GOARCH=arm64,arm64,qemu-aarch64-static -cpu cortex-a72,neon)
	$(call runtime_qemu,GOARCH=arm64,arm64,qemu-aarch64-static -cpu max,neon-dotprod)

test-runtime-armv7:
	@command -v qemu-arm-static >/dev/null || { echo "qemu-arm-static missing: make deps (qemu-user-static)"; exit 1; }
	$(call runtime_qemu,GOARCH=arm GOARM=7,armv7,qemu-arm-static -cpu cortex-a15,go)

bench-runtime: build
	@for m in $(BENCH_MODELS); do \
	  [ -f $$m ] || { echo "bench-runtime: $$m missing: run make demo first (export + quantize write out/demo)"; exit 1; }; \
	done
	@set -e; for m in $(BENCH_MODELS); do \
	  $(BENCH_BIN) bench --model $$m --backend all --batch 1 --threads 1; \
	  $(BENCH_BIN) bench --model $$m --backend all --batch 256 --threads 2; \
	done
	$(GO) test -run '^$$' -bench 'Seed' -benchtime 2s ./runtime/native
