# internal/sgemm: float32 GEMM (AVX2+FMA / AVX-512 assembly micro-kernels and a
# generated NEON one, each with a pure-Go twin). `go test ./...` covers the
# default build; test-sgemm adds the pure-Go build (noasm tag), arm64 under
# qemu-user as a Cortex-A72 (ARMv8.0) and as `max`, and 32-bit arm (GOARM=7).

APT_PACKAGES  += qemu-user-static
TEST_TARGETS  += test-sgemm
BENCH_TARGETS += bench-sgemm

.PHONY: test-sgemm bench-sgemm
test-sgemm:
	$(GO) test -count=1 -tags noasm ./internal/sgemm
	GOARCH=arm64 $(GO) vet ./internal/sgemm
	GOARCH=arm64 $(GO) test -count=1 -exec 'qemu-aarch64-static -cpu cortex-a72' ./internal/sgemm
	GOARCH=arm64 $(GO) test -count=1 -exec 'qemu-aarch64-static -cpu max' ./internal/sgemm
	GOARCH=arm GOARM=7 $(GO) vet ./internal/sgemm
	GOARCH=arm GOARM=7 $(GO) test -count=1 -exec qemu-arm-static ./internal/sgemm

# bench-sgemm: GFLOP/s for the GEMM shapes of one training step of the seed
# CNN (batch 64), 1 and 2 threads, plus the packing routines.
bench-sgemm:
	$(GO) test -run '^$$' -bench . -benchtime 50x ./internal/sgemm
