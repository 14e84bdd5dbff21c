"""Data-parallel overhead: the benchmarks' MLP at 2 ranks against one process.

The MLP of bench_mlp.py (784-256-128-10, ReLU, Adam(1e-3), float32), trained with
``Model.fit`` on synthetic data, one BLAS thread per process:

- one process, the global batch B and half of it (B/2): seconds per step;
- ``mpiexec -n 2`` with ``xn.distribution.DataParallel``, global batch B (B/2 per
  rank): seconds per step, the allreduce time per step (the one collective on the
  fused flat gradient, timed around the communicator's ``allreduce``) and its share;
- the allreduce alone on a buffer of the MLP's size and on ResNet-50's (25.6 M
  float32), for the bandwidth the README's scaling estimate starts from.

On two cores no speed-up is possible; the figure that must hold is the overhead:
step(2 ranks, B) <= step(1 process, B/2) + allreduce + 10%.

    python benchmarks/bench_distributed.py [--batch 256] [--steps 60] [--rounds 5]

Needs mpi4py and mpiexec (``pip install "xpnet[mpi]"``); the script launches the
2-rank part itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # sets BLAS threads before NumPy loads

_common.set_threads(1)

import numpy as np  # noqa: E402

import xpnet as xn  # noqa: E402
from xpnet import distribution as D  # noqa: E402

RESNET50_PARAMS = 25_557_032


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256, help="the global batch B")
    p.add_argument("--steps", type=int, default=60, help="steps per timed epoch")
    p.add_argument("--rounds", type=int, default=5, help="timed epochs (medians)")
    p.add_argument("--child", help=argparse.SUPPRESS)  # the 2-rank part writes here
    return p.parse_args(argv)


def make_model():
    xn.set_seed(0)
    model = xn.Sequential(
        [
            xn.Input((784,)),
            xn.layers.Dense(256, activation="relu"),
            xn.layers.Dense(128, activation="relu"),
            xn.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=xn.optimizers.Adam(1e-3),
        loss=xn.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def data(n):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 784)).astype(np.float32), rng.integers(0, 10, size=n)


def seconds_per_step(model, x, y, batch, steps, rounds, sync=None) -> list[float]:
    """Per-step seconds of ``rounds`` timed epochs of ``steps`` steps (one untimed first)."""
    out = []
    for r in range(rounds + 1):
        if sync is not None:
            sync()
        t = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, steps_per_epoch=steps, verbose=0)
        if r:
            out.append((time.perf_counter() - t) / steps)
    return out


class Timed:
    """Wraps a communicator's allreduce with a clock: a barrier first (the time this
    rank waits for the other: load imbalance), then the allreduce itself."""

    def __init__(self, comm) -> None:
        self.comm, self.wait, self.transfer, self.calls = comm, 0.0, 0.0, 0
        self._inner = comm.allreduce
        comm.allreduce = self.allreduce

    def allreduce(self, a, op="sum"):
        t0 = time.perf_counter()
        self.comm.barrier()
        t1 = time.perf_counter()
        out = self._inner(a, op)
        t2 = time.perf_counter()
        self.wait += t1 - t0
        self.transfer += t2 - t1
        self.calls += 1
        return out


def allreduce_seconds(comm, n: int, repeats: int) -> float:
    buf = np.ones(n, dtype=np.float32)
    comm.barrier()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        comm.allreduce(buf)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def child(args) -> None:
    comm = D.initialize()
    assert comm.size == 2, "run under mpiexec -n 2"
    x, y = data(args.batch * args.steps)
    model = make_model()
    timer = Timed(comm)
    with D.set_distribution(D.DataParallel(comm)):
        model.fit(x, y, batch_size=args.batch, epochs=1, steps_per_epoch=2, verbose=0)
        steps, wait, transfer = [], [], []
        for _ in range(args.rounds + 1):
            comm.barrier()
            timer.wait = timer.transfer = 0.0
            timer.calls = 0
            t = time.perf_counter()
            model.fit(x, y, batch_size=args.batch, epochs=1, steps_per_epoch=args.steps, verbose=0)
            steps.append((time.perf_counter() - t) / args.steps)
            wait.append(timer.wait / timer.calls)
            transfer.append(timer.transfer / timer.calls)
    n_params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    small = allreduce_seconds(comm, n_params, 50)
    big = allreduce_seconds(comm, RESNET50_PARAMS, 5)
    if comm.rank == 0:
        result = {
            "step": statistics.median(steps[1:]),
            "wait": statistics.median(wait[1:]),
            "allreduce": statistics.median(transfer[1:]),
            "params": n_params,
            "allreduce_mlp_alone": small,
            "allreduce_resnet50": big,
        }
        Path(args.child).write_text(json.dumps(result))


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    mpiexec = Path(sys.executable).parent / "mpiexec"
    mpiexec = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit('bench_distributed: no mpiexec; pip install "xpnet[mpi]"')
    B = args.batch
    x, y = data(B * args.steps)
    one_full = seconds_per_step(make_model(), x, y, B, args.steps, args.rounds)
    one_half = seconds_per_step(make_model(), x, y, B // 2, args.steps, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "child.json"
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[1] / "src")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        cmd = [mpiexec, "-n", "2", sys.executable, "-m", "mpi4py", __file__]
        cmd += ["--batch", str(B), "--steps", str(args.steps), "--rounds", str(args.rounds)]
        subprocess.run([*cmd, "--child", str(out)], check=True, env=env, timeout=1800)
        two = json.loads(out.read_text())
    full, half = statistics.median(one_full), statistics.median(one_half)
    ar, wait = two["allreduce"], two["wait"]
    bound = (half + ar) * 1.10
    mb = two["params"] * 4 / 1e6
    step = two["step"]
    print(f"MLP 784-256-128-10, Adam, {two['params']:,} parameters ({mb:.2f} MB float32)")
    print(f"global batch {B}, {args.steps} steps x {args.rounds} epochs, 1 BLAS thread/process")
    print(f"{'':40}{'ms/step':>10}")
    print(f"{'1 process, batch ' + str(B):40}{full * 1e3:10.3f}")
    print(f"{'1 process, batch ' + str(B // 2):40}{half * 1e3:10.3f}")
    print(f"{'2 ranks, global batch ' + str(B):40}{step * 1e3:10.3f}")
    print(
        f"{'  the allreduce (after a barrier)':40}{ar * 1e3:10.3f}  ({ar / step:.1%} of the step)"
    )
    print(f"{'  waiting for the other rank (barrier)':40}{wait * 1e3:10.3f}  ({wait / step:.1%})")
    print(f"2 ranks / 1 process on the same global batch: {step / full:.2f}x")
    verdict = "holds" if step <= bound else "FAILS"
    print(
        f"check: step(2 ranks) {step * 1e3:.3f} <= (step(1, B/2) + allreduce) x 1.1 "
        f"= {bound * 1e3:.3f} ms: {verdict}"
    )
    if step > bound:
        also = (half + ar + wait) * 1.10
        print(f"  (counting the wait for the other rank as well: {also * 1e3:.3f} ms)")
    for name, n, t in (
        ("MLP gradient", two["params"], two["allreduce_mlp_alone"]),
        ("ResNet-50-sized gradient", RESNET50_PARAMS, two["allreduce_resnet50"]),
    ):
        size = n * 4
        print(
            f"allreduce alone, {name} ({size / 1e6:.1f} MB): {t * 1e3:.3f} ms, "
            f"{size / t / 1e9:.2f} GB/s (buffer bytes / time; at 2 ranks a ring moves "
            "each byte once each way)"
        )


if __name__ == "__main__":
    main()
