"""The small CNN of the convolution issue: xpnet against PyTorch eager (NumPy on CPU by default).

Model: Conv2D(8, 3, relu) -> MaxPooling2D(2) -> Conv2D(16, 3, relu) -> MaxPooling2D(2)
-> flatten -> Dense(10); batch 64 of 28x28x1 float32; softmax cross-entropy from logits;
plain SGD (learning rate 0.01). One training step = forward, backward, update.

The competitors run interleaved (one step each, in turn) so that both see the same
machine load, with the same number of threads for NumPy's BLAS and for PyTorch.
Printed: the median step time of each, and its ratio to PyTorch's, per block of steps
and over all blocks (the median of the block medians is the headline number).

``--backend`` picks xpnet's backend (default numpy, on the CPU). On a GPU machine,
``--backend cupy`` compares xpnet on CuPy with PyTorch eager on CUDA, and ``--backend torch
--device cuda`` (or ``torch:cuda``) xpnet on PyTorch's CUDA tensors with the same; every
step then ends by waiting for the device, for both competitors, so a step's time is its
GPU work and not only its launches. ``--backend torch`` alone runs both on the CPU.

    python benchmarks/bench_cnn.py                    # 1 thread, both conv formulations
    python benchmarks/bench_cnn.py --threads 2 --blocks 7 --steps 60
    python benchmarks/bench_cnn.py --malloc keep      # glibc keeps freed memory (see _common)
    python benchmarks/bench_cnn.py --profile im2col   # pyinstrument profile of xpnet's step
    python benchmarks/bench_cnn.py --backend cupy     # on a GPU: xpnet-CuPy vs PyTorch CUDA
"""

from __future__ import annotations

import argparse
import os
import sys


def _args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads (default 1)")
    p.add_argument("--blocks", type=int, default=5, help="blocks of interleaved steps")
    p.add_argument("--steps", type=int, default=40, help="timed steps per block and competitor")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument(
        "--methods", default="im2col,shift", help="xpnet conv formulations to time (comma list)"
    )
    p.add_argument("--profile", default=None, help="profile xpnet with this method and exit")
    p.add_argument(
        "--backend",
        default=None,
        help="xpnet backend, NAME[:DEVICE] (default: XPNET_BACKEND, else numpy; on a GPU: cupy, "
        "or torch with --device cuda)",
    )
    p.add_argument("--device", default=None, help="device for xpnet and PyTorch, e.g. cuda")
    p.add_argument(
        "--alternate",
        choices=("step", "block"),
        default="step",
        help="switch competitor after every step (default) or after every block",
    )
    p.add_argument(
        "--malloc",
        choices=("default", "keep"),
        default="default",
        help="'keep': tell glibc to keep freed memory (mallopt M_MMAP_THRESHOLD 32 MiB, "
        "M_TRIM_THRESHOLD 1 GiB) for the whole process, both competitors",
    )
    return p.parse_args()


ARGS = _args()
sys.path.insert(0, os.path.dirname(__file__))
import _common  # noqa: E402

_common.set_threads(ARGS.threads)  # before NumPy loads its BLAS
if ARGS.malloc == "keep" and not _common.keep_freed_memory():
    print("warning: mallopt is not available here; --malloc keep has no effect")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
import xpnet as xn  # noqa: E402
from xpnet import layers, ops  # noqa: E402
from xpnet.ops import nn as nn_ops  # noqa: E402

BATCH, LR = 64, 0.01


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    return x, y


class XpnetCNN:
    """The model from xpnet layers; the loss and SGD with ops (no optimizer needed)."""

    def __init__(self, method: str, x, y):
        self.method = method
        self.layers = [
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dense(10),
        ]
        self.x = xn.Tensor(x)
        self.flat_targets = xn.backend.asarray(np.arange(BATCH) * 10 + y)
        self.loss()  # build
        self._params = [p for layer in self.layers for p in layer.trainable_weights]

    def params(self):
        return self._params

    def loss(self):
        h = self.x
        for layer in self.layers[:-1]:
            h = layer(h)
        logits = self.layers[-1](ops.reshape(h, (BATCH, -1)))
        logp = ops.reshape(ops.log_softmax(logits, axis=-1), (-1,))
        return -ops.take(logp, self.flat_targets).mean()

    def step(self):
        nn_ops.set_default_conv_method(self.method)
        loss = self.loss()
        loss.backward()
        for p in self.params():
            p.data = p.data - LR * p.grad
            p.grad = None
        return loss


class TorchCNN:
    def __init__(self, x, y, weights, device="cpu"):
        import torch

        self.torch = torch
        nn = torch.nn
        self.model = nn.Sequential(
            nn.Conv2d(1, 8, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 10),
        )
        k1, b1, k2, b2, w3, b3 = weights
        # our Dense sees the pooled maps flattened channels-last; PyTorch flattens
        # channels-first: permute the Dense rows to match
        w3_cf = w3.reshape(5, 5, 16, 10).transpose(2, 0, 1, 3).reshape(400, 10)
        with torch.no_grad():
            for mod, w, b in (
                (self.model[0], k1.transpose(3, 2, 0, 1), b1),
                (self.model[3], k2.transpose(3, 2, 0, 1), b2),
                (self.model[7], w3_cf.T, b3),
            ):
                mod.weight.copy_(torch.tensor(np.ascontiguousarray(w)))
                mod.bias.copy_(torch.tensor(b))
        self.model.to(device)
        self.x = torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), device=device)
        self.y = torch.tensor(y, device=device)

    def step(self):
        torch = self.torch
        self.model.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        with torch.no_grad():
            for p in self.model.parameters():
                p -= LR * p.grad
        return loss


def backend_spec() -> tuple[str, str | None]:
    """xpnet's backend and device: ``--backend NAME[:DEVICE]``, the device else from
    ``--device`` (none for numpy, which runs on the CPU only)."""
    name, _, device = (ARGS.backend or os.environ.get("XPNET_BACKEND", "numpy")).partition(":")
    if not device and name != "numpy":
        device = ARGS.device
    return name, device or None


def torch_device() -> str:
    """PyTorch's device: cuda for ``--backend cupy`` or any CUDA device asked for."""
    name, device = backend_spec()
    return "cuda" if name == "cupy" or (device or "").startswith(("cuda", "gpu")) else "cpu"


def synced(step, backend: str):
    """``step`` followed by a wait for the GPU work it queued (nothing to wait for on the
    CPU): without it a step would time only its kernel launches."""
    if torch_device() == "cpu":
        return step
    if backend == "cupy":
        import cupy

        wait = cupy.cuda.runtime.deviceSynchronize
    else:
        import torch

        wait = torch.cuda.synchronize

    def run():
        out = step()
        wait()
        return out

    return run


def main() -> None:
    x, y = make_data()
    backend, device = backend_spec()
    if ARGS.backend is not None:  # else xpnet's own choice, as before the option
        xn.set_backend(backend, device)
    backend = xn.get_backend().name
    xn.set_seed(0)
    methods = [m for m in ARGS.methods.split(",") if m]
    if ARGS.profile:
        from pyinstrument import Profiler

        model = XpnetCNN(ARGS.profile, x, y)
        for _ in range(ARGS.warmup):
            model.step()
        prof = Profiler(interval=0.0002)
        prof.start()
        for _ in range(ARGS.steps):
            model.step()
        prof.stop()
        print(prof.output_text(unicode=False, color=False))
        return
    models = {f"xpnet[{m}]": XpnetCNN(m, x, y) for m in methods}
    first = next(iter(models.values()))
    weights = [xn.to_numpy(p.data) for p in first.params()]
    for m in models.values():  # identical starting weights everywhere
        for p, w in zip(m.params(), weights):
            p.data = xn.backend.asarray(w)
    import torch

    torch.set_num_threads(ARGS.threads)
    ref = TorchCNN(x, y, weights, torch_device())
    first_loss = float(first.loss().item())
    with torch.no_grad():
        torch_loss = float(ref.torch.nn.functional.cross_entropy(ref.model(ref.x), ref.y))
    competitors = {name: synced(m.step, backend) for name, m in models.items()}
    competitors["torch"] = synced(ref.step, "torch")
    res = _common.run_interleaved(
        competitors, ARGS.blocks, ARGS.steps, ARGS.warmup, by_step=ARGS.alternate == "step"
    )
    where = "" if backend == "numpy" else f"xpnet on {backend} ({xn.get_backend().device}), "
    print(
        f"small CNN training step, batch {BATCH}, {where}threads {ARGS.threads}, malloc "
        f"{ARGS.malloc}, alternate by {ARGS.alternate}, numpy {np.__version__}, "
        f"torch {torch.__version__}; initial loss xpnet {first_loss:.5f} torch {torch_loss:.5f}"
    )
    _common.print_table(res, "torch")
    if backend != "numpy" or torch_device() != "cpu":
        for name in models:
            _common.print_ratio(
                res,
                name,
                "torch",
                target="<= 1.5x" if torch_device() == "cuda" else None,
                label=f"{name} ({backend}) / torch ({torch_device()})",
            )


if __name__ == "__main__":
    main()
