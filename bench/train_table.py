#!/usr/bin/python3
"""Formats `make bench-train` and `make bench-train-accuracy` results.

--torch/--edgecnn: JSON-lines output of bench/pytorch_seed.py and of
`edgecnn train --json` for one epoch; prints both epoch times side by side,
the ratio (target ≤ 0.25), accuracies and edgecnn's peak RSS (target ≤ 1 GiB).
--gemm: `go test -bench` output of internal/sgemm's BenchmarkGemm measured in
the same run; the best GFLOP/s of its square_1024/threads=2 lines is the GEMM
rate the epoch's effective rate is compared with (target ≥ 70%).
--accuracy "LABEL=FILE=TARGET": the final test accuracy of an
`edgecnn train --json` run against its target ("-": no target).
"""
import argparse
import json


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def seed_train_flops(width=32, hidden=128, classes=10):
    """FLOPs of one training image of the seed CNN (28x28x1, 3x3 convs with
    padding 1, 2x2 pools): forward 2 per MAC; backward 2 per MAC for every
    weight gradient and for every input gradient except conv1's (nothing
    needs it), as PyTorch computes them."""
    conv1 = 28 * 28 * width * 9
    conv2 = 14 * 14 * 2 * width * 9 * width
    fc1 = 7 * 7 * 2 * width * hidden
    fc2 = hidden * classes
    macs = conv1 + conv2 + fc1 + fc2
    return 2 * macs + 2 * macs + 2 * (macs - conv1)


def gemm_rates(path):
    rates = []
    with open(path) as f:
        for l in f:
            if "square_1024/threads=2" in l and "GFLOP/s" in l:
                w = l.split()
                rates.append(float(w[w.index("GFLOP/s") - 1]))
    return rates


def ok(good):
    return "ok" if good else "MISSED"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch")
    ap.add_argument("--edgecnn")
    ap.add_argument("--gemm")
    ap.add_argument("--accuracy", action="append", default=[])
    a = ap.parse_args()
    if a.torch and a.edgecnn:
        t = lines(a.torch)[0]
        e = lines(a.edgecnn)
        ep = [x for x in e if "epoch" in x and not x.get("final")][0]
        fin = [x for x in e if x.get("final")][0]
        ratio = ep["seconds"] / t["seconds"]
        rss = fin.get("peak_rss_mib", 0)
        print()
        print(f"one epoch, {t['images']:,} images, batch 64, 2 threads")
        print(f"{'':24}{'PyTorch ' + t['torch']:>18}{'edgecnn':>12}")
        print(f"{'seconds per epoch':24}{t['seconds']:>18.1f}{ep['seconds']:>12.1f}")
        print(f"{'images per second':24}{t['images'] / t['seconds']:>18.0f}{ep['images_per_second']:>12.0f}")
        print(f"{'train loss':24}{t['loss']:>18.4f}{ep['loss']:>12.4f}")
        print(f"{'test accuracy %':24}{t['test_accuracy']:>18.2f}{fin['test_accuracy']:>12.2f}")
        print(f"{'peak RSS MiB':24}{'':>18}{rss:>12.0f}   (target ≤ 1024: {ok(rss <= 1024)})")
        flops = seed_train_flops()
        gf_e = flops * ep["images_per_second"] / 1e9
        gf_t = flops * t["images"] / t["seconds"] / 1e9
        print(f"{'effective GFLOP/s':24}{gf_t:>18.1f}{gf_e:>12.1f}   ({flops / 1e6:.2f} MFLOP per image, forward + backward)")
        print(f"ratio edgecnn/PyTorch: {ratio:.2f}   (target ≤ 0.25: {ok(ratio <= 0.25)})")
        if a.gemm:
            rates = gemm_rates(a.gemm)
            if rates:
                g = max(rates)
                print(f"GEMM rate (sgemm square 1024, 2 threads, same run): best {g:.1f} GFLOP/s "
                      f"(range {min(rates):.1f}-{g:.1f} over {len(rates)} runs); "
                      f"epoch at {100 * gf_e / g:.0f}% of the best   (target ≥ 70%: {ok(gf_e >= 0.7 * g)})")
    for spec in a.accuracy:
        label, path, target = spec.rsplit("=", 2)
        fin = [x for x in lines(path) if x.get("final")][0]
        acc = fin["test_accuracy"]
        verdict = "reference" if target == "-" else f"target ≥ {target}%: {ok(acc >= float(target))}"
        print(f"{label:58} test accuracy {acc:6.2f}%  ({verdict})  after {fin['epochs']} epochs")


if __name__ == "__main__":
    main()
