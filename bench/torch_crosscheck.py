#!/usr/bin/python3
"""Step-by-step comparison of edgecnn's trainer with PyTorch (`make bench-train-crosscheck`).

bench/torchcheck (Go) trains the seed model from edgecnn's initialization for
a few hundred Adam steps and dumps the initial parameters, the batches, every
step's loss and the parameters after steps 1 and 5. This script loads the same
initial parameters into the PyTorch model of bench/pytorch_seed.py, trains on
the same batches with torch.optim.Adam(lr=1e-3) and compares.

Two float32 implementations cannot stay bit-identical (GEMM summation orders
differ and Adam's g/(|g|+eps) turns rounding noise in near-zero gradients into
lr-sized steps), so the check is on what semantics decide: the initialization has PyTorch's
distribution, the losses of the
first 10 steps agree to 1e-4 relative, and after step 1 every parameter whose
gradient is not tiny (|g| > 1e-6) agrees to 1e-5. With --double PyTorch runs in
float64 to show how far rounding alone moves the trajectory later on.
Exit status 1 if the check fails. Run with Debian's /usr/bin/python3.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_seed  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="bench/torchcheck's output folder")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--bn", action="store_true", help="the dump was made with -bn")
    ap.add_argument("--double", action="store_true", help="run PyTorch in float64")
    args = ap.parse_args()
    torch.set_num_threads(2)
    dt = torch.float64 if args.double else torch.float32

    def rd(name, dtype=np.float32):
        return np.fromfile(os.path.join(args.dir, name), dtype=dtype)

    def params(prefix):
        """edgecnn's parameters in PyTorch's names and layouts."""
        w = {
            "conv1.weight": rd(prefix + "conv1.weight").reshape(32, 3, 3, 1).transpose(0, 3, 1, 2),
            "conv2.weight": rd(prefix + "conv2.weight").reshape(64, 3, 3, 32).transpose(0, 3, 1, 2),
            # NHWC flatten (h, w, c) -> PyTorch's NCHW flatten (c, h, w)
            "fc1.weight": rd(prefix + "fc1.weight").reshape(128, 7, 7, 64).transpose(0, 3, 1, 2).reshape(128, -1),
            "fc2.weight": rd(prefix + "fc2.weight").reshape(10, 128),
        }
        for n in ("conv1", "conv2", "fc1", "fc2"):
            w[n + ".bias"] = rd(prefix + n + ".bias")
        if args.bn:
            for i in (1, 2):
                for k in ("weight", "bias", "running_mean", "running_var"):
                    w[f"bn{i}.{k}"] = rd(f"{prefix}conv{i}_bn.{k}")
        return {k: torch.from_numpy(np.ascontiguousarray(v)).to(dt) for k, v in w.items()}

    # edgecnn's initialization against PyTorch's default for Conv2d/Linear
    # (kaiming_uniform_(a=sqrt(5)) and its bias rule): weights and biases
    # uniform in +-1/sqrt(fan_in), so max |w| ~ bound and std ~ bound/sqrt(3).
    ok = True
    for name, fan_in in (("conv1", 9), ("conv2", 9 * 32), ("fc1", 3136), ("fc2", 128)):
        bound = 1 / np.sqrt(fan_in)
        for k in ("weight", "bias"):
            v = rd(f"init_{name}.{k}").astype(np.float64)
            good = np.abs(v).max() <= bound and np.abs(v).max() > 0.8 * bound and abs(v.std() / (bound / np.sqrt(3)) - 1) < 0.3
            ok &= bool(good)
            print(f"init {name}.{k:6s}: max |w| {np.abs(v).max():.4f} std {v.std():.4f}, PyTorch: bound {bound:.4f} "
                  f"std {bound / np.sqrt(3):.4f}{'' if good else '  MISMATCH'}")
    xtr, ytr = pytorch_seed.load(args.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    model = pytorch_seed.Net(bn=args.bn).to(dt)
    sd = model.state_dict()
    for k, v in params("init_").items():
        sd[k].copy_(v)
    idx = torch.from_numpy(rd("indices", np.int32).astype(np.int64))
    go_loss = rd("losses").astype(np.float64)
    steps = len(go_loss)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    torch_loss = []
    for s in range(steps):
        b = idx[s * 64:(s + 1) * 64]
        opt.zero_grad()
        loss = F.cross_entropy(model(xtr[b].to(dt)), ytr[b])
        loss.backward()
        grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()}
        opt.step()
        torch_loss.append(loss.item())
        if s in (0, 4):
            sd = model.state_dict()
            for k, v in params(f"step{s + 1}_").items():
                d = (sd[k] - v).abs().flatten()
                g = grads.get(k)
                sig = g.abs().flatten() > 1e-6 if g is not None else torch.ones_like(d, dtype=torch.bool)
                dmax = d[sig].max().item() if sig.any() else 0.0
                bad = s == 0 and k in grads and dmax > 1e-5
                ok &= not bad
                print(f"after step {s + 1}: {k:24s} max |diff| {dmax:.2e} over {int(sig.sum())}/{d.numel()} "
                      f"with |grad| > 1e-6, {d.max().item():.2e} over all{'  MISMATCH' if bad else ''}")
    torch_loss = np.array(torch_loss)
    rel = np.abs(go_loss - torch_loss) / np.abs(torch_loss)
    for s in sorted({0, 1, 4, 9, 19, 49, 99, 199, steps - 1}):
        if s < steps:
            print(f"step {s + 1:4d}: loss edgecnn {go_loss[s]:.6f} PyTorch {torch_loss[s]:.6f} rel diff {rel[s]:.1e}")
    first = rel[:10].max()
    print(f"max rel loss diff, steps 1-10: {first:.1e} (limit 1e-4); steps 1-{steps}: {rel.max():.1e}; "
          f"mean loss of the last 50 steps: edgecnn {go_loss[-50:].mean():.4f} PyTorch {torch_loss[-50:].mean():.4f}")
    ok &= first < 1e-4
    print("crosscheck:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
