# mk/60-deploy.mk — boards, cross builds, `edgecnn flash` (issue 7).
#
# `go test ./...` already runs the boards, doctor, cross and deploy tests:
# they start a real OpenSSH sshd on 127.0.0.1 (flash, rollback, dropped
# upload, host keys, wrong key, full disk) and cross-build for arm64/armv7,
# running the results under qemu-user.
#
#   make test-deploy-qemu  the real edgecnn cross-built for rpi4 (pure Go and
#                          with the tflite+onnxruntime backends bundled in lib/),
#                          run under qemu-aarch64-static: version, boards,
#                          doctor on a fixture board, eval when a model exists
#   make bench-deploy      flash of the pure-Go bundle to a loopback sshd (≤ 5 s)
#                          and the bytes of an unchanged re-flash (≤ 1%)

APT_PACKAGES  += openssh-server qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross npm util-linux
TEST_TARGETS  += test-deploy-qemu
BENCH_TARGETS += bench-deploy

DEPLOY_TEST := $(CACHE)/deploy-test
QEMU_A64    := qemu-aarch64-static
QEMU_A64_L  := $(QEMU_A64) -L /usr/aarch64-linux-gnu

.PHONY: test-deploy-qemu bench-deploy

test-deploy-qemu: data
	@mkdir -p $(DEPLOY_TEST)
	$(GO) build -o $(DEPLOY_TEST)/edgecnn-host ./cmd/edgecnn
	@# Pure Go for rpi4; the second build must be a cache hit.
	$(DEPLOY_TEST)/edgecnn-host build --board rpi4 --out $(DEPLOY_TEST)/rpi4 --release-version qemu-test
	$(DEPLOY_TEST)/edgecnn-host build --board rpi4 --out $(DEPLOY_TEST)/rpi4 --release-version qemu-test | tee $(DEPLOY_TEST)/second.txt
	grep -q 'cache hit' $(DEPLOY_TEST)/second.txt
	$(QEMU_A64) $(DEPLOY_TEST)/rpi4/edgecnn version | tee $(DEPLOY_TEST)/version.txt
	grep -q 'edgecnn qemu-test linux/arm64' $(DEPLOY_TEST)/version.txt
	$(QEMU_A64) $(DEPLOY_TEST)/rpi4/edgecnn boards show rpi4 | grep -q 'Cortex-A72'
	$(QEMU_A64) $(DEPLOY_TEST)/rpi4/edgecnn doctor --json --root boards/doctor/testdata/rpi4-coral > $(DEPLOY_TEST)/doctor.json
	grep -q '"name": "rpi4"' $(DEPLOY_TEST)/doctor.json
	grep -q 'edgetpu-usb' $(DEPLOY_TEST)/doctor.json
	@# cgo: both backends, their arm64 libraries in lib/, found through $$ORIGIN/lib.
	$(DEPLOY_TEST)/edgecnn-host build --board rpi4 --backend tflite,onnxruntime --out $(DEPLOY_TEST)/rpi4-cgo --release-version qemu-test
	test -f $(DEPLOY_TEST)/rpi4-cgo/lib/libtensorflowlite_c.so && test -f $(DEPLOY_TEST)/rpi4-cgo/lib/libonnxruntime.so.1
	$(QEMU_A64_L) $(DEPLOY_TEST)/rpi4-cgo/edgecnn version | tee $(DEPLOY_TEST)/version-cgo.txt
	grep -q 'onnxruntime' $(DEPLOY_TEST)/version-cgo.txt && grep -q 'tflite' $(DEPLOY_TEST)/version-cgo.txt
	@# A real evaluation on the arm64 binary when the pretrained model exists.
	@if [ -f models/mnist.ckpt ]; then \
	  echo "eval under qemu: models/mnist.ckpt"; \
	  timeout 150 $(QEMU_A64) $(DEPLOY_TEST)/rpi4/edgecnn eval --model models/mnist.ckpt --data $(DATA) --json | tee $(DEPLOY_TEST)/eval.json; \
	  grep -q '"accuracy"' $(DEPLOY_TEST)/eval.json; \
	else echo "test-deploy-qemu: models/mnist.ckpt not there yet: arm64 eval not run (not counted)"; fi
	@echo "test-deploy-qemu: passed"

bench-deploy:
	$(GO) test -run '^$$' -bench FlashLoopback -benchtime 3x -count 1 ./deploy
