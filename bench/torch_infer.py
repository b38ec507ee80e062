#!/usr/bin/env python3
"""PyTorch inference peer for `make bench`: the seed CNN in fp32 and int8
(static post-training quantization, oneDNN/x86 engine) at batch 1 on 1 thread
and batch 256 on 2 threads. Prints one JSON object per row, the same fields
as `edgecnn bench --json` (p50_us, p99_us, images_per_s). Weights are random:
speed does not depend on their values.

--serve fp32|int8: the peer of `edgecnn bench --pytorch`: builds that model
once, then reads "BATCH THREADS SECONDS" lines on stdin and answers each
with one JSON row (so the Go harness interleaves PyTorch with its own
backends in one run). An empty line or EOF ends it."""
import json, sys, time

import torch
import torch.nn as nn
import torch.ao.quantization as tq


class Seed(nn.Module):
    def __init__(self, quant=False):
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(128, 10)
        self.q = quant

    def forward(self, x):
        if self.q:
            x = self.quant(x)
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.pool(self.relu2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.fc2(self.relu3(self.fc1(x)))
        if self.q:
            x = self.dequant(x)
        return x


def int8_model():
    engines = torch.backends.quantized.supported_engines
    engine = next(e for e in ("onednn", "x86", "fbgemm") if e in engines)
    torch.backends.quantized.engine = engine
    m = Seed(quant=True).eval()
    m.qconfig = tq.get_default_qconfig(engine)
    tq.fuse_modules(m, [["conv1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"]], inplace=True)
    tq.prepare(m, inplace=True)
    with torch.no_grad():
        for _ in range(8):
            m(torch.randn(64, 1, 28, 28))
    tq.convert(m, inplace=True)
    return m, engine


def measure(m, batch, threads, seconds=2.0):
    torch.set_num_threads(threads)
    x = torch.randn(batch, 1, 28, 28)
    with torch.no_grad():
        for _ in range(10):
            m(x)
        lat = []
        cpu0 = time.process_time()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end or len(lat) < 20:
            t0 = time.perf_counter()
            m(x)
            lat.append(time.perf_counter() - t0)
        cpu = time.process_time() - cpu0
    lat.sort()
    p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    # images/s over all timed runs, as edgecnn bench computes it
    return {"p50_us": p50 * 1e6, "p99_us": p99 * 1e6, "images_per_s": batch * len(lat) / sum(lat), "iterations": len(lat),
            "cpu_us_per_image": cpu * 1e6 / (batch * len(lat))}


def serve(kind):
    torch.manual_seed(0)
    if kind == "int8":
        m, engine = int8_model()
        name = "pytorch-int8-" + engine
    elif kind == "fp32":
        m, name = Seed().eval(), "pytorch-fp32"
    else:
        sys.exit("torch_infer.py: --serve fp32|int8, not %r" % kind)
    print(json.dumps({"backend": name, "status": "ready", "torch": torch.__version__}))
    sys.stdout.flush()
    for line in sys.stdin:
        f = line.split()
        if not f:
            break
        batch, threads, seconds = int(f[0]), int(f[1]), float(f[2])
        row = {"backend": name, "status": "ok", "batch": batch, "threads": threads, "torch": torch.__version__}
        row.update(measure(m, batch, threads, seconds))
        print(json.dumps(row))
        sys.stdout.flush()


def main():
    if "--serve" in sys.argv:
        serve(sys.argv[sys.argv.index("--serve") + 1])
        return
    as_json = "--json" in sys.argv
    torch.manual_seed(0)
    fp32 = Seed().eval()
    q, engine = int8_model()
    if not as_json:
        print("PyTorch %s peer (same machine, same run)" % torch.__version__)
        print("%-22s %5s %7s %10s %10s %10s" % ("backend", "batch", "threads", "p50", "p99", "images/s"))
    for name, m in (("pytorch-fp32", fp32), ("pytorch-int8-" + engine, q)):
        for batch, threads in ((1, 1), (256, 2)):
            row = {"backend": name, "batch": batch, "threads": threads, "torch": torch.__version__}
            row.update(measure(m, batch, threads))
            if as_json:
                print(json.dumps(row))
            else:
                print("%-22s %5d %7d %8.1fus %8.1fus %10.0f" % (name, batch, threads, row["p50_us"], row["p99_us"], row["images_per_s"]))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
