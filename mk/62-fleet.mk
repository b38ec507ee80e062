# mk/62-fleet.mk — containers, Ansible, fleet status, mDNS (issue 13).
#
# `go test ./...` runs: deploy/mdns (a real mDNS responder on loopback) and
# dialing a .local board through it; cross/oci (images against Debian's
# docker-registry, read back with skopeo, the arm64 binary from the image
# under qemu); deploy's inventory, status and Ansible tests (a real
# ansible-playbook against the real loopback sshd).
#
#   make bench-image   one-board image build (rpi4, cross build cached) and a
#                      re-build with an unchanged binary: times, and the
#                      re-build must reuse every layer digest (target ≤ 10 s)

APT_PACKAGES  += docker-registry skopeo umoci ansible bc qemu-user-static openssh-server openssh-client
BENCH_TARGETS += bench-image

IMAGE_BENCH := $(CACHE)/bench-image

.PHONY: bench-image

bench-image:
	@rm -rf $(IMAGE_BENCH) && mkdir -p $(IMAGE_BENCH)
	$(GO) build -o $(IMAGE_BENCH)/edgecnn ./cmd/edgecnn
	$(IMAGE_BENCH)/edgecnn export --model models/mnist.ckpt --out $(IMAGE_BENCH)/mnist.tflite > /dev/null
	@# Warm the cross-build cache so the figure is the image itself.
	$(IMAGE_BENCH)/edgecnn build --board rpi4 --out $(IMAGE_BENCH)/bin --release-version bench-image > /dev/null
	@s=$$(date +%s.%N); \
	$(IMAGE_BENCH)/edgecnn build --board rpi4 --out $(IMAGE_BENCH)/bin --release-version bench-image \
	  --model $(IMAGE_BENCH)/mnist.tflite --image oci:$(IMAGE_BENCH)/img:bench --json > $(IMAGE_BENCH)/first.json; \
	m=$$(date +%s.%N); \
	$(IMAGE_BENCH)/edgecnn build --board rpi4 --out $(IMAGE_BENCH)/bin --release-version bench-image \
	  --model $(IMAGE_BENCH)/mnist.tflite --image oci:$(IMAGE_BENCH)/img:bench --json > $(IMAGE_BENCH)/second.json; \
	e=$$(date +%s.%N); \
	echo "bench-image: first build $$(echo "$$m - $$s" | bc) s (target <= 10 s), re-build $$(echo "$$e - $$m" | bc) s"; \
	d1=$$(sed -n 's/.*"digest": *"\([^"]*\)".*/\1/p' $(IMAGE_BENCH)/first.json); \
	d2=$$(sed -n 's/.*"digest": *"\([^"]*\)".*/\1/p' $(IMAGE_BENCH)/second.json); \
	echo "bench-image: digests $$d1 / $$d2"; test -n "$$d1" && test "$$d1" = "$$d2"; \
	grep -q '"reused_layers": *3' $(IMAGE_BENCH)/second.json || { echo "bench-image: the re-build did not reuse all 3 layers"; cat $(IMAGE_BENCH)/second.json; exit 1; }; \
	awk -v t="$$(echo "$$m - $$s" | bc)" 'BEGIN { exit !(t <= 10) }' || { echo "bench-image: over the 10 s target"; exit 1; }
	@echo "bench-image: passed"
