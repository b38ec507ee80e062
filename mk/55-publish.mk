# mk/55-publish.mk — publishing readings: MQTT (+ Home Assistant discovery),
# webhook, the durable queue (issue 13; docs/publish.md). The tests run a
# real Mosquitto (Debian mosquitto) on a free loopback port; `make test`
# covers a 60-reading broker restart (go test ./agent/publish).
#
#   make bench-publish        frame→broker latency of `edgecnn run --mqtt`
#                             (300 frames at 30 fps and 40 at 2 fps, subscriber
#                             timestamps),
#                             and 600 readings offered while the broker is
#                             down, on a compressed clock (20/s, 30 s down),
#                             all delivered in order after it returns
#                                                             (in make bench)
#   make bench-publish-full   the same outage at the issue's real pace:
#                             600 readings at 1/s, broker down 10 minutes

APT_PACKAGES  += mosquitto
BENCH_TARGETS += bench-publish

PUBBENCH := $(CACHE)/publish/pubbench

.PHONY: bench-publish bench-publish-full pubbench

pubbench:
	@mkdir -p $(dir $(PUBBENCH))
	$(GO) build -o $(PUBBENCH) ./agent/publish/internal/pubbench

bench-publish: build pubbench
	$(PUBBENCH) latency -bin $(BIN) -model models/mnist.ckpt -frames 300 -fps 30
	$(PUBBENCH) latency -bin $(BIN) -model models/mnist.ckpt -frames 40 -fps 2
	$(PUBBENCH) outage -n 600 -rate 20

bench-publish-full: pubbench
	$(PUBBENCH) outage -n 600 -rate 1
