#!/usr/bin/python3
"""Formats `make bench-train` and `make bench-train-accuracy` results.

--torch/--edgecnn: JSON-lines output of bench/pytorch_seed.py and of
`edgecnn train --json` for one epoch; prints both epoch times side by side,
the ratio (target ≤ 0.7), accuracies and edgecnn's peak RSS (target ≤ 1 GiB).
--accuracy "LABEL=FILE=TARGET": the final test accuracy of an
`edgecnn train --json` run against its target ("-": no target).
"""
import argparse
import json


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def ok(good):
    return "ok" if good else "MISSED"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch")
    ap.add_argument("--edgecnn")
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
        print(f"ratio edgecnn/PyTorch: {ratio:.2f}   (target ≤ 0.70: {ok(ratio <= 0.7)})")
    for spec in a.accuracy:
        label, path, target = spec.rsplit("=", 2)
        fin = [x for x in lines(path) if x.get("final")][0]
        acc = fin["test_accuracy"]
        verdict = "reference" if target == "-" else f"target ≥ {target}%: {ok(acc >= float(target))}"
        print(f"{label:58} test accuracy {acc:6.2f}%  ({verdict})  after {fin['epochs']} epochs")


if __name__ == "__main__":
    main()
