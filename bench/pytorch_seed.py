#!/usr/bin/python3
"""PyTorch baseline for `make bench-train`: the seed tutorial's CNN and recipe.

conv3x3(1->32, pad 1) ReLU maxpool2 -> conv3x3(32->64, pad 1) ReLU maxpool2
-> fc(3136->128) ReLU -> fc(128->10); inputs normalized with (0.1307, 0.3081);
Adam lr 1e-3, batch 64, shuffled every epoch, cross-entropy loss.

The MNIST tensors are loaded once into memory (no DataLoader), so the timing
measures the training arithmetic, as edgecnn's trainer does. Prints one JSON
object per epoch: {"epoch", "seconds", "loss", "train_accuracy",
"test_accuracy"}. Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load(data_dir, images, labels):
    def find(name):
        for p in (os.path.join(data_dir, name + ".gz"), os.path.join(data_dir, name)):
            if os.path.exists(p):
                return p
        raise SystemExit(f"{name} not found in {data_dir} (run `make data`)")
    x = read_idx(find(images)).astype(np.float32) / 255.0
    x = (x - 0.1307) / 0.3081
    y = read_idx(find(labels)).astype(np.int64)
    return torch.from_numpy(x).unsqueeze(1).contiguous(), torch.from_numpy(y)


class Net(nn.Module):
    def __init__(self, bn=False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32) if bn else nn.Identity()
        self.bn2 = nn.BatchNorm2d(64) if bn else nn.Identity()
        self.fc1 = nn.Linear(7 * 7 * 64, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    model.train()
    return 100.0 * correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    ap.add_argument("--bn", action="store_true", help="BatchNorm after each convolution (not the seed; for comparisons)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr, ytr = load(args.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    xte, yte = load(args.data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    if args.limit > 0:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    model = Net(bn=args.bn)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(len(xtr))
        loss_sum, correct = 0.0, 0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad()
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        secs = time.perf_counter() - t0
        acc = evaluate(model, xte, yte)
        print(json.dumps({"epoch": epoch, "images": len(xtr), "seconds": secs, "loss": loss_sum / len(xtr),
                          "train_accuracy": 100.0 * correct / len(xtr), "test_accuracy": acc,
                          "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
