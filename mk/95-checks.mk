# mk/95-checks.mk — the shipped configuration and generated files.
#
#   make test-board        go vet and the CLI tests with -tags board (the
#                          configuration flash ships to boards)     (in make test)
#   make check-qgemm-gen   fail if runtime/kernels/qgemm/gemm_arm64.s differs from
#                          what gen_arm64.go writes, or output_arm64.s from
#                          what gen_output_arm64.go writes          (in make test)
#   make check-sgemm-gen   the same for internal/sgemm/kernel_arm64.s (in make test)
#   make check-convpool-gen the same for runtime/native/convpool_arm64.s (in make test)
# (check-tflite-gen and check-onnx-gen live in mk/30-export.mk.)

TEST_TARGETS += test-board check-qgemm-gen check-sgemm-gen check-convpool-gen

.PHONY: test-board check-qgemm-gen check-sgemm-gen check-convpool-gen

test-board:
	$(GO) vet -tags board ./...
	$(GO) test -count=1 -tags board ./cmd/edgecnn

# $(call check_gen,TARGET,DIR,GENERATOR,OUTPUT,HOW-TO-REGENERATE): run the
# generator in its package (it imports internal/arm64asm) writing to a
# temporary file, and fail when the checked-in OUTPUT differs.
define check_gen
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	(cd $(2) && $(GO) run $(3) $$tmp/$(4)) && \
	if ! diff -q $$tmp/$(4) $(2)/$(4) >/dev/null; then \
	  echo "$(1): $(2)/$(4) is stale: run $(5)"; exit 1; fi; \
	echo "$(1): $(2)/$(4) is current"
endef

check-qgemm-gen:
	$(call check_gen,check-qgemm-gen,runtime/kernels/qgemm,gen_arm64.go,gemm_arm64.s,go generate ./runtime/kernels/qgemm)
	$(call check_gen,check-qgemm-gen,runtime/kernels/qgemm,gen_output_arm64.go,output_arm64.s,go generate ./runtime/kernels/qgemm)

check-sgemm-gen:
	$(call check_gen,check-sgemm-gen,internal/sgemm,gen_arm64.go,kernel_arm64.s,go generate ./internal/sgemm)

check-convpool-gen:
	$(call check_gen,check-convpool-gen,runtime/native,gen_convpool_arm64.go,convpool_arm64.s,(cd runtime/native && go run gen_convpool_arm64.go))
