#!/usr/bin/env python3
"""Train a small LIF network on Fashion-MNIST in plain PyTorch and write it as a NIR file with h5py, the way
snnTorch exports one (bench/nir-loihi.ts maps it onto Loihi): an SNN trained and exported by another tool,
not by tscc.

    /usr/bin/python3 bench/train_lif_fashion.py OUT.nir [--hidden 128] [--steps 16] [--epochs 1] [--train 60000]

Network: 784 -> Affine -> LIF(beta) -> Affine -> LIF(beta) -> 10 spike counts (snnTorch's Leaky with
reset_mechanism="zero", the discrete-time reading of NIR's LIF in docs/interop.md: v = beta*v + x,
spike = v > 1, then v = 0). Input: Bernoulli rate coding of the pixels (snntorch.spikegen.rate), one
spike train per step. Loss: cross-entropy on the output spike counts (snntorch's ce_count_loss), surrogate
gradient of the fast sigmoid (slope 25). Export (snnTorch's export_to_nir for Leaky): tau = dt/(1 - beta),
r = tau/dt, v_leak = 0, v_threshold = 1, v_reset = 0, metadata dt. Deterministic: seeded, one thread.
"""
import argparse
import gzip
import os

import h5py
import numpy as np
import torch

DATA = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        b = f.read()
    if name.endswith("idx3-ubyte.gz"):
        return np.frombuffer(b, np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0
    return np.frombuffer(b, np.uint8, offset=8).astype(np.int64)


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (25.0 * x.abs() + 1.0) ** 2


def run(fc1, fc2, beta, spikes):
    """spikes: [T, B, 784] -> output spike counts [B, 10]."""
    T, B = spikes.shape[0], spikes.shape[1]
    v1 = torch.zeros(B, fc1.out_features)
    v2 = torch.zeros(B, fc2.out_features)
    count = torch.zeros(B, fc2.out_features)
    for t in range(T):
        v1 = beta * v1 + fc1(spikes[t])
        s1 = Spike.apply(v1 - 1.0)
        v1 = v1 * (1.0 - s1)
        v2 = beta * v2 + fc2(s1)
        s2 = Spike.apply(v2 - 1.0)
        v2 = v2 * (1.0 - s2)
        count = count + s2
    return count


def write_nir(path, fc1, fc2, beta, dt):
    tau = dt / (1.0 - beta)

    def lif(g, n):
        g["type"] = "LIF"
        for k, v in (("tau", tau), ("r", tau / dt), ("v_leak", 0.0), ("v_threshold", 1.0), ("v_reset", 0.0)):
            g.create_dataset(k, data=np.full(n, v, np.float32), compression="gzip")

    with h5py.File(path, "w") as f:
        f["version"] = "1.0.7"
        node = f.create_group("node")
        node["type"] = "NIRGraph"
        nodes = node.create_group("nodes")
        i = nodes.create_group("input")
        i["type"] = "Input"
        i["shape"] = np.array([784], np.int64)
        for name, fc in (("fc1", fc1), ("fc2", fc2)):
            g = nodes.create_group(name)
            g["type"] = "Affine"
            g.create_dataset("weight", data=fc.weight.detach().numpy().astype(np.float32), compression="gzip")
            g.create_dataset("bias", data=fc.bias.detach().numpy().astype(np.float32), compression="gzip")
        lif(nodes.create_group("lif1"), fc1.out_features)
        lif(nodes.create_group("lif2"), fc2.out_features)
        o = nodes.create_group("output")
        o["type"] = "Output"
        o["shape"] = np.array([10], np.int64)
        edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
        node.create_dataset("edges", data=np.array(edges, dtype=object), dtype=h5py.string_dtype())
        meta = node.create_group("metadata")
        meta["dt"] = dt
        meta["source"] = "bench/train_lif_fashion.py (PyTorch, snnTorch-style export)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train", type=int, default=60000)
    ap.add_argument("--beta", type=float, default=0.875)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x = torch.from_numpy(idx("train-images-idx3-ubyte.gz")[: a.train])
    y = torch.from_numpy(idx("train-labels-idx1-ubyte.gz")[: a.train])
    fc1 = torch.nn.Linear(784, a.hidden)
    fc2 = torch.nn.Linear(a.hidden, 10)
    opt = torch.optim.Adam(list(fc1.parameters()) + list(fc2.parameters()), lr=2e-3)
    g = torch.Generator().manual_seed(1)
    for epoch in range(a.epochs):
        perm = torch.randperm(len(x), generator=g)
        for s in range(0, len(x), 128):
            b = perm[s : s + 128]
            spikes = (torch.rand((a.steps, len(b), 784), generator=g) < x[b]).float()
            loss = torch.nn.functional.cross_entropy(run(fc1, fc2, a.beta, spikes), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    xt = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz")[:1000])
    yt = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz")[:1000])
    with torch.no_grad():
        acc = (run(fc1, fc2, a.beta, (torch.rand((a.steps, 1000, 784), generator=g) < xt).float()).argmax(1) == yt).float().mean().item()
    write_nir(a.out, fc1, fc2, a.beta, 1e-3)
    print(f"trained: torch test accuracy {acc:.4f} on the first 1000 test images (one Bernoulli draw)")


if __name__ == "__main__":
    main()
