# mk/95-checks.mk — the shipped configuration and generated files.
#
#   make test-board        go vet and the CLI tests with -tags board (the
#                          configuration flash ships to boards)     (in make test)
#   make check-qgemm-gen   fail if runtime/kernels/qgemm/gemm_arm64.s differs from
#                          what gen_arm64.go writes                 (in make test)
#   make check-sgemm-gen   the same for internal/sgemm/kernel_arm64.s (in make test)
#   make check-convpool-gen the same for runtime/native/convpool_arm64.s (in make test)
# (check-tflite-gen and check-onnx-gen live in mk/30-export.mk.)

TEST_TARGETS += test-board check-qgemm-gen check-sgemm-gen check-convpool-gen

.PHONY: test-board check-qgemm-gen check-sgemm-gen check-convpool-gen

test-board:
	$(GO) vet -tags board ./...
	$(GO) test -count=1 -tags board ./cmd/edgecnn

check-qgemm-gen:
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	cp runtime/kernels/qgemm/gen_arm64.go $$tmp/ && \
	(cd $$tmp && GOFLAGS= $(GO) run gen_arm64.go) && \
	if ! diff -q $$tmp/gemm_arm64.s runtime/kernels/qgemm/gemm_arm64.s >/dev/null; then \
	  echo "check-qgemm-gen: runtime/kernels/qgemm/gemm_arm64.s is stale: run go generate ./runtime/kernels/qgemm"; exit 1; fi; \
	echo "check-qgemm-gen: runtime/kernels/qgemm/gemm_arm64.s is current"

check-sgemm-gen:
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	cp internal/sgemm/gen_arm64.go $$tmp/ && \
	(cd $$tmp && GOFLAGS= $(GO) run gen_arm64.go) && \
	if ! diff -q $$tmp/kernel_arm64.s internal/sgemm/kernel_arm64.s >/dev/null; then \
	  echo "check-sgemm-gen: internal/sgemm/kernel_arm64.s is stale: run go generate ./internal/sgemm"; exit 1; fi; \
	echo "check-sgemm-gen: internal/sgemm/kernel_arm64.s is current"

check-convpool-gen:
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	cp runtime/native/gen_convpool_arm64.go $$tmp/ && \
	(cd $$tmp && GOFLAGS= $(GO) run gen_convpool_arm64.go) && \
	if ! diff -q $$tmp/convpool_arm64.s runtime/native/convpool_arm64.s >/dev/null; then \
	  echo "check-convpool-gen: runtime/native/convpool_arm64.s is stale: run (cd runtime/native && go run gen_convpool_arm64.go)"; exit 1; fi; \
	echo "check-convpool-gen: runtime/native/convpool_arm64.s is current"
