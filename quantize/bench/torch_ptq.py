#!/usr/bin/python3
"""PyTorch post-training int8 quantization of an edgecnn checkpoint: the peer
number for `make bench-quantize`.

Reads the edgecnn checkpoint (format in docs/checkpoint-format.md), rebuilds the
network in PyTorch with the same weights (OHWI -> OIHW, dense inputs from NHWC
to NCHW flatten order), quantizes it with eager-mode PTQ (conv+bn+relu and
linear+relu fused, per-channel weights, the engine's default observers) on the
same first N training images, and prints one JSON object: float and int8
accuracy on the MNIST test set and the top-1 agreement.

    /usr/bin/python3 quantize/bench/torch_ptq.py --model models/mnist.ckpt --data data/mnist
"""
import argparse
import gzip
import json
import os
import struct
import time
import zlib

import numpy as np
import torch
import torch.nn as nn


def read_checkpoint(path):
    b = open(path, "rb").read()
    if b[:8] != b"ECNNCKPT":
        raise SystemExit(f"{path}: not an edgecnn checkpoint")
    if zlib.crc32(b[:-4]) != struct.unpack("<I", b[-4:])[0]:
        raise SystemExit(f"{path}: checksum mismatch")
    hl = struct.unpack("<I", b[12:16])[0]
    header = json.loads(b[16:16 + hl])
    off = 16 + hl
    tensors = {}
    for t in header["tensors"]:
        n = t["count"]
        tensors[t["name"]] = np.frombuffer(b, dtype="<f4", count=n, offset=off).reshape(t["shape"]).copy()
        off += 4 * n
    return header, tensors


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def find(d, name):
    for p in (os.path.join(d, name + ".gz"), os.path.join(d, name)):
        if os.path.exists(p):
            return p
    raise SystemExit(f"{name} not found in {d} (run make data)")


class Net(nn.Module):
    def __init__(self, arch):
        super().__init__()
        w, bn = arch["width"], arch.get("batch_norm", False)
        self.quant = torch.quantization.QuantStub()
        self.conv1 = nn.Conv2d(arch["input_c"], w, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(w) if bn else nn.Identity()
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(w, 2 * w, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(2 * w) if bn else nn.Identity()
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(2 * w * (arch["input_h"] // 4) * (arch["input_w"] // 4), arch["hidden"])
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(arch["hidden"], arch["classes"])
        self.dequant = torch.quantization.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool(self.relu2(self.bn2(self.conv2(x))))
        x = torch.flatten(x, 1)
        x = self.relu3(self.fc1(x))
        return self.dequant(self.fc2(x))


def load_weights(net, arch, t):
    sd = {}
    for name in ("conv1", "conv2"):
        sd[name + ".weight"] = torch.from_numpy(t[name + ".weight"].transpose(0, 3, 1, 2).copy())
        sd[name + ".bias"] = torch.from_numpy(t[name + ".bias"])
    if arch.get("batch_norm", False):
        for name, tn in (("bn1", "conv1_bn"), ("bn2", "conv2_bn")):
            sd[name + ".weight"] = torch.from_numpy(t[tn + ".weight"])
            sd[name + ".bias"] = torch.from_numpy(t[tn + ".bias"])
            sd[name + ".running_mean"] = torch.from_numpy(t[tn + ".running_mean"])
            sd[name + ".running_var"] = torch.from_numpy(t[tn + ".running_var"])
    h, w, c = arch["input_h"] // 4, arch["input_w"] // 4, 2 * arch["width"]
    fc1 = t["fc1.weight"]  # [out][h][w][c] flatten order -> [out][c][h][w]
    sd["fc1.weight"] = torch.from_numpy(fc1.reshape(-1, h, w, c).transpose(0, 3, 1, 2).reshape(fc1.shape[0], -1).copy())
    sd["fc1.bias"] = torch.from_numpy(t["fc1.bias"])
    sd["fc2.weight"] = torch.from_numpy(t["fc2.weight"])
    sd["fc2.bias"] = torch.from_numpy(t["fc2.bias"])
    missing, unexpected = net.load_state_dict(sd, strict=False)
    missing = [k for k in missing if "num_batches_tracked" not in k]
    if missing or unexpected:
        raise SystemExit(f"weights do not match: missing {missing}, unexpected {unexpected}")


def predict(net, x):
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 500):
            out.append(net(x[i:i + 500]).argmax(1))
    return torch.cat(out).numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/mnist.ckpt")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--calib", type=int, default=1000)
    ap.add_argument("--engine", default="onednn")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    header, t = read_checkpoint(a.model)
    arch, norm = header["arch"], header["normalization"]

    def images(name):
        x = read_idx(find(a.data, name)).astype(np.float32) / 255.0
        x = (x - norm["mean"]) / norm["std"]
        return torch.from_numpy(x[:, None, :, :])

    train_x = images("train-images-idx3-ubyte")[: a.calib]
    test_x = images("t10k-images-idx3-ubyte")
    test_y = read_idx(find(a.data, "t10k-labels-idx1-ubyte")).astype(np.int64)

    net = Net(arch)
    load_weights(net, arch, t)
    net.eval()
    ref = predict(net, test_x)

    start = time.time()
    torch.backends.quantized.engine = a.engine
    q = Net(arch)
    load_weights(q, arch, t)
    q.eval()
    groups = [["conv1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"]]
    if arch.get("batch_norm", False):
        groups = [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"], ["fc1", "relu3"]]
    q = torch.quantization.fuse_modules(q, groups)
    q.qconfig = torch.quantization.get_default_qconfig(a.engine)
    torch.quantization.prepare(q, inplace=True)
    with torch.no_grad():
        for i in range(0, len(train_x), 250):
            q(train_x[i:i + 250])
    torch.quantization.convert(q, inplace=True)
    seconds = time.time() - start
    got = predict(q, test_x)

    fa = float((ref == test_y).mean() * 100)
    qa = float((got == test_y).mean() * 100)
    print(json.dumps({"torch": torch.__version__, "engine": a.engine, "calib": a.calib,
                      "float_pct": round(fa, 4), "int8_pct": round(qa, 4), "drop_pp": round(fa - qa, 4),
                      "agreement_pct": round(float((ref == got).mean() * 100), 4), "seconds": round(seconds, 2)}))


if __name__ == "__main__":
    main()
