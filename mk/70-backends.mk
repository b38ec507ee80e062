# mk/70-backends.mk — cgo backends: TensorFlow Lite 2.9 (build tag tflite)
# and ONNX Runtime 1.30 (build tag onnxruntime). See docs/backends.md.
#
#   make libs                 fetch both native libraries (amd64 + arm64) into $(LIBS_DIR)
#   make test-backends        cgo backend tests on this machine, against the real libraries
#   make test-backends-arm64  the same backends cross-compiled for arm64, run under qemu
#   make build-full           bin/edgecnn-full: all backends, libraries bundled in bin/lib
#   make bench-backends       bin/edgecnn-full bench --backend all

APT_PACKAGES  += gcc libc6-dev npm gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
TEST_TARGETS  += test-backends test-backends-arm64
BENCH_TARGETS += bench-backends

LIBS_DIR      ?= $(CACHE)/libs
BACKEND_TAGS  := tflite,onnxruntime
HOST_GOARCH   := $(shell $(GO) env GOARCH)

# Per-architecture library directories (filled by `make libs`).
TFLITE_DIR_amd64 := $(LIBS_DIR)/tflite/linux-amd64
TFLITE_DIR_arm64 := $(LIBS_DIR)/tflite/linux-arm64
ORT_DIR_amd64    := $(LIBS_DIR)/onnxruntime/linux-amd64
ORT_DIR_arm64    := $(LIBS_DIR)/onnxruntime/linux-arm64

# $(call backend_cgo_env,GOARCH,RPATH): the environment for building the
# cgo backends for GOARCH, linking libtensorflowlite_c.so with RPATH as the
# run-time search path (a directory, or '$$ORIGIN/lib' for bundles).
backend_cgo_env = CGO_ENABLED=1 GOARCH=$(1) \
  CGO_CFLAGS="-O2 -g -I$(CURDIR)/third_party/tflite-include -I$(TFLITE_DIR_$(1))/include" \
  CGO_LDFLAGS="-L$(TFLITE_DIR_$(1))/lib -Wl,-rpath,$(2)" \
  $(if $(filter arm64,$(1)),$(if $(filter arm64,$(HOST_GOARCH)),,CC=aarch64-linux-gnu-gcc))

# Host test/build environment: libraries found in the cache.
BACKEND_ENV = $(call backend_cgo_env,$(HOST_GOARCH),$(TFLITE_DIR_$(HOST_GOARCH))/lib) \
  EDGECNN_ORT_LIB=$(ORT_DIR_$(HOST_GOARCH))/lib/libonnxruntime.so.1

.PHONY: libs test-backends test-backends-arm64 build-full bench-backends

libs:
	$(GO) run ./cross/libs/cmd/fetchlibs -cache $(LIBS_DIR) -lib all -arch amd64,arm64 >/dev/null

test-backends: libs data
	$(BACKEND_ENV) $(GO) test -count=1 -timeout 10m -tags $(BACKEND_TAGS) ./cross/libs/... ./runtime/tflite/... ./runtime/onnxruntime/... ./cmd/...
