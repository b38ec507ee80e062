# mk/55-collect.mk — collecting frames on the device for labelling
# (run --collect, the /label view, edgecnn pull; issue 10, docs/collect.md).
#
#   make bench-collect   what --collect adds per frame on the recognizer path
#                        (target ≤ 0.2 ms): the whole hook with the real writer
#                        (stable, doubtful and every-frame mixes) and the cost
#                        of a kept frame (crop copy + queue hand-off), and the
#                        writer's time per frame on a 20,000-file inbox (off the
#                        hot path)                                      (in make bench)

BENCH_TARGETS += bench-collect

.PHONY: bench-collect

bench-collect:
	$(GO) test -run '^$$' -bench 'CollectPerFrame' -benchmem ./agent
	$(GO) test -run '^$$' -bench 'ObserveKept' -benchtime 20000x -benchmem ./agent/collect
	$(GO) test -run '^$$' -bench 'WriteFrameFullInbox' -benchtime 30x ./agent/collect
