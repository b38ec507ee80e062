# mk/70-backends.mk — cgo backends: TensorFlow Lite 2.9 (build tag tflite)
# and ONNX Runtime 1.30 (build tag onnxruntime). See docs/backends.md.
#
#   make libs                 fetch both native libraries (amd64 + arm64) into $(LIBS_DIR)
#   make test-backends        cgo backend tests against the real libraries (all 10,000
#                             MNIST test images), leak tests, cmd/... with both tags
#   make test-backends-arm64  both backends cross-compiled for arm64 (cgo, aarch64-linux-gnu-gcc),
#                             run under qemu-aarch64-static on the amd64 run's model files
#   make build-full           bin/edgecnn-full: all backends, libraries bundled in bin/lib
#   make bench-backends       bin/edgecnn-full bench --backend all --pytorch (float and int8 models):
#                             batch 1/1 thread, 256/2 threads, and the batch × threads sweep
#   make bench-float-peers    the float model on ONNX Runtime and the native engine in one
#                             process (Go benchmark, 3 rounds): images/s and CPU µs per image
#   make qemu-arm64-root      the qemu -L prefix for arm64 cgo binaries (arm64 libc + fake cpuinfo)

APT_PACKAGES  += gcc libc6-dev npm gcc-aarch64-linux-gnu libc6-dev-arm64-cross libstdc++6-arm64-cross qemu-user-static
TEST_TARGETS  += test-backends test-backends-arm64
BENCH_TARGETS += bench-backends bench-float-peers

LIBS_DIR         ?= $(CACHE)/libs
BACKEND_TAGS     := tflite,onnxruntime
HOST_GOARCH      := $(shell $(GO) env GOARCH)
BACKEND_FIXTURES ?= $(CACHE)/backends
ARM64_TEST_DIR   := $(CACHE)/backends-arm64
QEMU_ARM64_ROOT  ?= $(CACHE)/qemu-arm64-root
ARM64_IMAGES     ?= 300
FULL_BIN         := bin/edgecnn-full

# Per-architecture library directories (filled by `make libs`); each holds
# lib/ (the shared library) and include/ (C headers, TFLite).
TFLITE_DIR_amd64 := $(LIBS_DIR)/tflite/linux-amd64
TFLITE_DIR_arm64 := $(LIBS_DIR)/tflite/linux-arm64
ORT_DIR_amd64    := $(LIBS_DIR)/onnxruntime/linux-amd64
ORT_DIR_arm64    := $(LIBS_DIR)/onnxruntime/linux-arm64

# $(call backend_cgo_env,GOARCH,RPATH): the environment that builds the cgo
# backends for GOARCH. Neither library is a link-time dependency of the
# binary: both are dlopen'ed on first use (runtime/tflite/loader.go,
# onnxruntime_go), from Options.LibPath, $$EDGECNN_TFLITE_LIB /
# $$EDGECNN_ORT_LIB, lib/ next to the binary, or the loader's path, which
# RPATH extends (a directory, or \$$ORIGIN/lib for bundles). The -L is only
# for go-tflite's -ltensorflowlite_c, which -Wl,--as-needed then drops.
backend_cgo_env = CGO_ENABLED=1 GOARCH=$(1) \
  CGO_CFLAGS="-O2 -g -I$(CURDIR)/third_party/tflite-include -I$(TFLITE_DIR_$(1))/include" \
  CGO_LDFLAGS="-L$(TFLITE_DIR_$(1))/lib -Wl,--as-needed$(if $(2), -Wl$(comma)-rpath$(comma)$(2))" \
  $(if $(filter arm64,$(1)),$(if $(filter arm64,$(HOST_GOARCH)),,CC=aarch64-linux-gnu-gcc))

comma := ,

# Host test/build environment: libraries named by path (no RPATH, so the
# tests can also check what happens when the library is not found).
BACKEND_ENV = $(call backend_cgo_env,$(HOST_GOARCH),) \
  EDGECNN_TFLITE_LIB=$(TFLITE_DIR_$(HOST_GOARCH))/lib/libtensorflowlite_c.so \
  EDGECNN_ORT_LIB=$(ORT_DIR_$(HOST_GOARCH))/lib/libonnxruntime.so.1 \
  EDGECNN_BACKEND_FIXTURES=$(BACKEND_FIXTURES)

.PHONY: libs test-backends test-backends-arm64 build-full bench-backends bench-float-peers qemu-arm64-root backend-models

libs:
	@command -v npm >/dev/null || { echo "libs: npm is missing: make deps (apt package npm)"; exit 1; }
	$(GO) run ./cross/libs/cmd/fetchlibs -cache $(LIBS_DIR) -lib all -arch amd64,arm64 >/dev/null

# -p 1: the packages share the model files in $(BACKEND_FIXTURES) (the first
# builds them) and the 2 cores. cmd/... runs again with both backends
# compiled in; TestDoctorCommandOnFixture checks a board image without the
# backend libraries, which a binary with cgo backends rightly reports as a
# problem, so it only runs in the untagged `go test ./...`.
test-backends: libs data build-full
	$(BACKEND_ENV) $(GO) vet -tags $(BACKEND_TAGS) ./runtime/tflite/... ./runtime/onnxruntime/... ./cmd/edgecnn
	$(BACKEND_ENV) $(GO) test -p 1 -count=1 -timeout 15m -tags $(BACKEND_TAGS) \
	  ./cross/libs/... ./runtime/tflite/... ./runtime/onnxruntime/...
	$(BACKEND_ENV) $(GO) test -count=1 -timeout 10m -tags $(BACKEND_TAGS) -skip '^TestDoctorCommandOnFixture$$' ./cmd/...
	@# The bundle runs both backends from bin/lib; the same binary without
	@# bin/lib still starts, and each backend's error names its library and the fix.
	@set -e; m=$(BACKEND_FIXTURES)/float.tflite; \
	out=$$($(FULL_BIN) bench --backend tflite,onnxruntime --model $$m --in-process --iterations 5 --warmup 1 --json); \
	[ $$(echo "$$out" | grep -c '"status": "ok"') = 2 ] || { echo "$$out"; echo "FAIL: $(FULL_BIN) with bin/lib"; exit 1; }; \
	tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; cp $(FULL_BIN) $$tmp/; \
	$$tmp/edgecnn-full version | grep -q 'onnxruntime tflite' || { echo "FAIL: edgecnn-full without bin/lib does not start"; exit 1; }; \
	out=$$(env -u EDGECNN_TFLITE_LIB -u EDGECNN_ORT_LIB LD_LIBRARY_PATH= $$tmp/edgecnn-full bench --backend tflite,onnxruntime --model $$m --in-process --iterations 5 --warmup 1 --json); \
	for w in libtensorflowlite_c.so libonnxruntime.so.1 "make libs"; do \
	  echo "$$out" | grep -q "$$w" || { echo "$$out"; echo "FAIL: missing-library error does not mention $$w"; exit 1; }; done; \
	echo "edgecnn-full: runs both backends from bin/lib; without it starts and names the missing libraries"

qemu-arm64-root: $(QEMU_ARM64_ROOT)/proc/cpuinfo
$(QEMU_ARM64_ROOT)/proc/cpuinfo: cross/libs/qemu/cpuinfo-cortex-a72
	@test -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 || { echo "arm64 libc missing: make deps (gcc-aarch64-linux-gnu)"; exit 1; }
	mkdir -p $(QEMU_ARM64_ROOT)/proc
	ln -sfn /usr/aarch64-linux-gnu/lib $(QEMU_ARM64_ROOT)/lib
	cp $< $@

# The arm64 run reads the amd64 run's model files and top-1 records (hence
# the dependency on test-backends) and never rebuilds them.
test-backends-arm64: test-backends qemu-arm64-root
	@command -v qemu-aarch64-static >/dev/null || { echo "qemu-aarch64-static missing: make deps (qemu-user-static)"; exit 1; }
	rm -rf $(ARM64_TEST_DIR) && mkdir -p $(ARM64_TEST_DIR)/lib
	cp $(TFLITE_DIR_arm64)/lib/libtensorflowlite_c.so $(ORT_DIR_arm64)/lib/libonnxruntime.so.1 $(ARM64_TEST_DIR)/lib/
	$(call backend_cgo_env,arm64,\$$ORIGIN/lib) $(GO) test -c -tags $(BACKEND_TAGS) -o $(ARM64_TEST_DIR)/ ./runtime/tflite ./runtime/onnxruntime
	@set -e; for p in tflite onnxruntime; do \
	  echo "qemu-aarch64-static: runtime/$$p ($(ARM64_IMAGES) images)"; \
	  (cd runtime/$$p && EDGECNN_BACKEND_FIXTURES=$(BACKEND_FIXTURES) EDGECNN_BACKEND_FIXTURES_READONLY=1 \
	    EDGECNN_BACKEND_IMAGES=$(ARM64_IMAGES) EDGECNN_ORT_LIB= EDGECNN_TFLITE_LIB= \
	    qemu-aarch64-static -L $(QEMU_ARM64_ROOT) $(ARM64_TEST_DIR)/$$p.test -test.run '^TestCrossArchTop1$$' -test.v -test.count=1); \
	done

# bin/edgecnn-full finds both libraries in bin/lib ($ORIGIN/lib): copy
# bin/ as a whole to deploy it.
build-full: libs
	mkdir -p bin/lib
	cp -f $(TFLITE_DIR_$(HOST_GOARCH))/lib/libtensorflowlite_c.so $(ORT_DIR_$(HOST_GOARCH))/lib/libonnxruntime.so.1 bin/lib/
	$(call backend_cgo_env,$(HOST_GOARCH),\$$ORIGIN/lib) $(GO) build -trimpath -tags $(BACKEND_TAGS) \
	  -ldflags '$(LDFLAGS)' -o $(FULL_BIN) ./cmd/edgecnn

# backend-models builds the test fixtures (float/int8 .tflite and .onnx of
# models/mnist.ckpt) in $(BACKEND_FIXTURES) without running the long proofs.
backend-models: libs data
	$(BACKEND_ENV) $(GO) test -count=1 -tags $(BACKEND_TAGS) -run '^TestRegistered$$' ./runtime/tflite

# Every table: ratios to the best other row of the same run, the int8
# rows' fraction of the VNNI peak (runtime/kernels/vnnipeak), the load
# average; PyTorch (bench/torch_infer.py --serve) is measured in the same
# run, interleaved with the other rows. BENCH_REPEAT rounds per table.
BENCH_REPEAT ?= 3
bench-backends: build-full backend-models
	@set -e; for m in float int8; do \
	  pt=$$( [ $$m = int8 ] && echo int8 || echo fp32 ); \
	  echo "== $$m model, batch 1, 1 thread ($(BENCH_REPEAT) interleaved rounds)"; \
	  $(FULL_BIN) bench --model $(BACKEND_FIXTURES)/$$m.tflite --onnx $(BACKEND_FIXTURES)/$$m.onnx --backend all --pytorch $$pt --python $(PY) --repeat $(BENCH_REPEAT) --batch 1 --threads 1; \
	  echo "== $$m model, batch 256, 2 threads ($(BENCH_REPEAT) interleaved rounds)"; \
	  $(FULL_BIN) bench --model $(BACKEND_FIXTURES)/$$m.tflite --onnx $(BACKEND_FIXTURES)/$$m.onnx --backend all --pytorch $$pt --python $(PY) --repeat $(BENCH_REPEAT) --batch 256 --threads 2; \
	done
	@set -e; for m in float int8; do \
	  pt=$$( [ $$m = int8 ] && echo int8 || echo fp32 ); \
	  echo "== $$m model: batch 1, 8, 64, 256 × threads 1, 2, every backend and PyTorch $$pt, ratios to the fastest other row"; \
	  $(FULL_BIN) bench --sweep --model $(BACKEND_FIXTURES)/$$m.tflite --onnx $(BACKEND_FIXTURES)/$$m.onnx --backend all --pytorch $$pt --python $(PY); \
	done

# bench-float-peers: on a shared machine the CPU time per image is the
# steadier figure; compare the rows of the same round.
bench-float-peers: libs data
	$(BACKEND_ENV) $(GO) test -run '^$$' -bench 'FloatVsNative' -benchtime 2s -count 3 -tags $(BACKEND_TAGS) ./runtime/onnxruntime
