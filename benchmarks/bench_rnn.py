"""Recurrent layers: the fused sequence Functions against the loop of ops, and PyTorch.

One training-style step (forward, and backward of sum(outputs * g)) of SimpleRNN,
LSTM and GRU with return_sequences on (batch 64, 50 steps, 64 features), 128 units:
xpnet fused (xpnet.ops.rnn), xpnet unfused (a per-step loop of ops) and PyTorch's
nn.RNN / nn.LSTM / nn.GRU on the same weights, the same thread count. Competitors
alternate by block (a block of steps each, in turn), medians of the block medians.

    python benchmarks/bench_rnn.py --threads 1 --blocks 3 --steps 5 [--malloc keep]
"""

from __future__ import annotations

import argparse
import os
import sys

P = argparse.ArgumentParser(description=__doc__.split("\n")[0])
P.add_argument("--threads", type=int, default=1)
P.add_argument("--blocks", type=int, default=3)
P.add_argument("--steps", type=int, default=5)
P.add_argument("--malloc", choices=("default", "keep"), default="default")
ARGS = P.parse_args()
sys.path.insert(0, os.path.dirname(__file__))
import _common  # noqa: E402

_common.set_threads(ARGS.threads)
if ARGS.malloc == "keep":
    _common.keep_freed_memory()

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
import xpnet as xn  # noqa: E402
from xpnet import layers  # noqa: E402
from xpnet.layers.recurrent import to_torch_weights  # noqa: E402

N, T, D, U = 64, 50, 64, 128


def xpnet_step(layer, x, g, fused: bool):
    def step():
        layer._fused = (lambda: True) if fused else (lambda: False)
        y = layer(x)
        (y * g).sum().backward()
        layer.zero_grad()

    return step


def torch_step(kind, layer, x, g):
    import torch

    net = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind](
        D, U, batch_first=True
    )
    with torch.no_grad():
        for name, value in to_torch_weights(layer).items():
            getattr(net, name).copy_(torch.tensor(value))
    xt, gt = torch.tensor(x), torch.tensor(g)

    def step():
        net.zero_grad(set_to_none=True)
        y, _ = net(xt)
        (y * gt).sum().backward()

    return step


def main() -> None:
    import torch

    torch.set_num_threads(ARGS.threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    g = rng.standard_normal((N, T, U)).astype(np.float32)
    print(
        f"batch {N}, {T} steps, {D} features, {U} units, threads {ARGS.threads}, "
        f"malloc {ARGS.malloc}"
    )
    print(f"{'layer':10s} {'fused':>9s} {'loop':>9s} {'torch':>9s}  loop/fused  fused/torch")
    for kind in ("SimpleRNN", "LSTM", "GRU"):
        layer = getattr(layers, kind)(U, return_sequences=True)
        layer(x)
        comps = {
            "fused": xpnet_step(layer, xn.Tensor(x), xn.Tensor(g), True),
            "loop": xpnet_step(layer, xn.Tensor(x), xn.Tensor(g), False),
            "torch": torch_step(kind, layer, x, g),
        }
        res = _common.run_interleaved(comps, ARGS.blocks, ARGS.steps, 1, by_step=False)
        med = {k: _common.median(v) * 1e3 for k, v in res.items()}
        print(
            f"{kind:10s} {med['fused']:7.2f}ms {med['loop']:7.2f}ms {med['torch']:7.2f}ms"
            f"  {med['loop'] / med['fused']:9.2f}x  {med['fused'] / med['torch']:10.2f}x"
        )


if __name__ == "__main__":
    main()
