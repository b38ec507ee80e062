# mk/30-export.mk — TFLite / ONNX file formats (model/tflite, model/onnx),
# `edgecnn export` / `edgecnn inspect`, their generated code and demo part.
#
#   make gen-tflite        regenerate model/tflite/internal/tflitefb (flatc --go)
#   make gen-onnx          regenerate model/onnx/onnxpb/onnx.pb.go (protoc + protoc-gen-go)
#   make check-tflite-gen  fail if the committed FlatBuffers bindings are stale   (in make test)
#   make check-onnx-gen    fail if the committed protobuf code is stale           (in make test)
#   make fuzz-formats      run both file readers' fuzzers (FUZZTIME each, default 60s)
#   make demo-export       export the trained model to out/demo and inspect it    (in make demo)

# flatc/protoc generate the bindings; python3-onnx (onnx.checker) and
# python3-torch run the ONNX checks of model/onnx's tests.
APT_PACKAGES += flatbuffers-compiler protobuf-compiler python3-onnx python3-torch python3-numpy
TEST_TARGETS += check-tflite-gen check-onnx-gen
DEMO_TARGETS += demo-export

MODEL_CKPT     ?= models/mnist.ckpt
TFLITE_SCHEMA  := model/tflite/schema_subset.fbs
TFLITE_GEN     := model/tflite/internal/tflitefb
ONNX_PROTO_DIR ?= /usr/lib/python3/dist-packages/onnx
ONNX_GEN       := model/onnx/onnxpb/onnx.pb.go
ONNX_GO_PKG    := github.com/edgecnn/edgecnn/model/onnx/onnxpb
# protoc-gen-go at the same version as the google.golang.org/protobuf runtime in go.mod.
PROTOBUF_VERSION = $(shell $(GO) list -m -f '{{.Version}}' google.golang.org/protobuf)
PROTOC_GEN_GO  := $(CACHE)/bin/protoc-gen-go
FUZZTIME       ?= 60s

.PHONY: gen-tflite check-tflite-gen gen-onnx check-onnx-gen protoc-gen-go fuzz-formats demo-export

# flatc writes one file per type into <out>/tflitefb (from --go-namespace).
define flatc_go
	flatc --go --go-namespace tflitefb -o $(1) $(TFLITE_SCHEMA)
	gofmt -w $(1)/tflitefb
endef

gen-tflite:
	rm -rf $(TFLITE_GEN)
	$(call flatc_go,$(dir $(TFLITE_GEN)))

check-tflite-gen:
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	flatc --go --go-namespace tflitefb -o $$tmp $(TFLITE_SCHEMA) && gofmt -w $$tmp/tflitefb && \
	if ! diff -r $$tmp/tflitefb $(TFLITE_GEN); then \
	  echo "check-tflite-gen: $(TFLITE_GEN) is stale: run make gen-tflite"; exit 1; fi; \
	echo "check-tflite-gen: $(TFLITE_GEN) is current"

# protoc-gen-go is installed into the cache (GOBIN), at the go.mod version,
# re-installed when that version changes.
protoc-gen-go:
	@want=$(PROTOBUF_VERSION); \
	have=$$($(PROTOC_GEN_GO) --version 2>/dev/null | awk '{print $$2}'); \
	if [ "$$have" != "$$want" ]; then \
	  echo "installing protoc-gen-go $$want into $(CACHE)/bin"; \
	  GOBIN=$(CACHE)/bin $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$$want; \
	fi

define protoc_go
	PATH=$(CACHE)/bin:$$PATH protoc -I $(ONNX_PROTO_DIR) --go_out=$(1) --go_opt=paths=source_relative \
	  --go_opt=Monnx.proto=$(ONNX_GO_PKG) onnx.proto
endef

gen-onnx: protoc-gen-go
	$(call protoc_go,$(dir $(ONNX_GEN)))

check-onnx-gen: protoc-gen-go
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	$(call protoc_go,$$tmp) && \
	if ! diff $$tmp/onnx.pb.go $(ONNX_GEN); then \
	  echo "check-onnx-gen: $(ONNX_GEN) is stale (or $(ONNX_PROTO_DIR)/onnx.proto changed): run make gen-onnx"; exit 1; fi; \
	echo "check-onnx-gen: $(ONNX_GEN) is current"

fuzz-formats:
	$(GO) test ./model/tflite -run '^$$' -fuzz '^FuzzReadTFLite$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./model/onnx -run '^$$' -fuzz '^FuzzReadONNX$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./model/tflite -run '^$$' -fuzz '^FuzzActivationBytes$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./model/onnx -run '^$$' -fuzz '^FuzzActivationBytes$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

demo-export: build
	@test -f $(MODEL_CKPT) || { echo "demo-export: $(MODEL_CKPT) is missing: run 'make model' first"; exit 1; }
	@mkdir -p out/demo
	$(BIN) export --model $(MODEL_CKPT) --out out/demo/model.tflite
	$(BIN) export --model $(MODEL_CKPT) --out out/demo/model.onnx
	$(BIN) export --model $(MODEL_CKPT) --int8 --io float --data $(DATA) --out out/demo/model.int8.onnx
	$(BIN) export --model $(JUDGE_CKPT) --int8 --io float --data $(DATA) --out out/demo/judge.int8.onnx
	$(BIN) inspect out/demo/model.tflite
	$(BIN) inspect out/demo/model.onnx
	$(BIN) inspect out/demo/model.int8.onnx
