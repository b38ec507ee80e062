# mk/10-train.mk — host-side trainer: the pretrained model, the training
# benchmark against PyTorch and the training part of the demo.

# The committed pretrained model (seed architecture + BatchNorm, trained
# with augmentation). The exact recipe is documented in docs/training.md.
MODEL_CKPT  ?= models/mnist.ckpt
MODEL_FLAGS ?= --bn --augment --epochs 10 --step-size 4 --gamma 0.3 --seed 1 --threads 2

.PHONY: model bench-train bench-train-accuracy demo-train

model: data build
	$(BIN) train --data $(DATA) --out $(MODEL_CKPT) $(MODEL_FLAGS) --json
	$(BIN) eval --model $(MODEL_CKPT) --data $(DATA)
