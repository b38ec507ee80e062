# mk/55-hardening.mk — the recognizer under attack (issue 12; docs/security.md).
#
#   make bench-hardening   `edgecnn run` in a 1 GiB memory cgroup (needs root and
#                          cgroup v1, or v2 with memory.peak): 64 clients post a
#                          130 KB PNG declaring 4096x4095 16-bit pixels for 60 s
#                          while 15,000 connections post ordinary photos; prints
#                          attack → requests, 200/503/413, errors, peak memory,
#                          process alive, and /healthz p50/p99/max on the health
#                          responder (--health-http; target max ≤ 100 ms) and on
#                          the API, with the load average         (in make bench)
#
# `make test` runs the same test for 10 s with 2,000 connections (go test ./...).

BENCH_TARGETS += bench-hardening

.PHONY: bench-hardening

# -v: the test prints the table on stdout.
bench-hardening:
	EDGECNN_HARDENING=full EDGECNN_REQUIRE_CGROUP=1 $(GO) test -v -count=1 -timeout 10m \
	  -run '^TestHardeningMemoryCgroup$$' ./cmd/edgecnn
