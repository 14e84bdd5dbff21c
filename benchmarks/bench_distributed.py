"""Data-parallel overhead: the benchmarks' MLP at 2 ranks against one process.

The MLP of bench_mlp.py (784-256-128-10, ReLU, Adam(1e-3), float32), trained with
``Model.fit`` on synthetic data, one BLAS thread per process:

- one process, the global batch B and half of it (B/2): seconds per step;
- ``mpiexec -n 2`` with ``xn.distribution.DataParallel``, global batch B (B/2 per
  rank): seconds per step (epochs run as a user runs them, nothing added), and, from
  epochs run in between with the communicator's ``allreduce`` wrapped in a clock, the
  allreduce time per step (the one collective on the fused flat gradient, timed after
  a barrier so that it holds the transfer only) and the wait for the other rank;
- the allreduce alone on a buffer of the MLP's size and on ResNet-50's (25.6 M
  float32), for the bandwidth the README's scaling estimate starts from.

On two cores no speed-up is possible; the figure that must hold is the overhead:
step(2 ranks, B) <= step(1 process, B/2) + allreduce + 10%. The comparison is
repeated ``--repeats`` times (one process, then a fresh ``mpiexec``), so that a
moment of load on this shared machine shows as one bad repeat, not as the answer;
the check is printed per repeat and on the medians.

    python benchmarks/bench_distributed.py [--batch 256] [--steps 200] [--rounds 5] [--repeats 5]

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
    p.add_argument("--steps", type=int, default=200, help="steps per timed epoch")
    p.add_argument("--rounds", type=int, default=5, help="timed epochs (medians)")
    p.add_argument("--repeats", type=int, default=5, help="one process + 2 ranks, this often")
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


def seconds_per_step(model, x, y, batch, steps) -> float:
    """Seconds per step of one epoch of ``steps`` steps."""
    t = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, steps_per_epoch=steps, verbose=0)
    return (time.perf_counter() - t) / steps


def idle_barrier(comm) -> None:
    """A barrier that waits asleep (an MPI barrier spins on its core): the rank that
    waits here leaves the machine to the other, as a one-process run has it."""
    req = comm.comm.Ibarrier()
    while not req.Test():
        time.sleep(0.0005)


class Timed:
    """Wraps a communicator's allreduce with a clock while installed (:meth:`on`,
    :meth:`off`). Plain, it adds up the time each step spends in the allreduce call
    (that includes waiting for the slower rank: a synchronous allreduce returns when
    both have sent). With ``split=True`` a barrier goes first, so the wait for the
    other rank (load imbalance) and the transfer itself are timed apart; the barrier
    is one more collective per step, so no step time is taken from such epochs."""

    def __init__(self, comm) -> None:
        self.comm, self.inside, self.wait, self.transfer, self.calls = comm, 0.0, 0.0, 0.0, 0
        self._inner = comm.allreduce

    def on(self, split: bool = False) -> None:
        self.inside = self.wait = self.transfer = 0.0
        self.calls = 0
        self.comm.allreduce = self.split if split else self.clock

    def off(self) -> None:
        self.comm.allreduce = self._inner

    def clock(self, a, op="sum"):
        t = time.perf_counter()
        out = self._inner(a, op)
        self.inside += time.perf_counter() - t
        self.calls += 1
        return out

    def split(self, a, op="sum"):
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
    """Median seconds of an in-place allreduce of ``n`` float32, the buffer refilled
    before each (repeated sums of the same buffer overflow to inf)."""
    src = np.full(n, 1e-3, dtype=np.float32)
    buf = src.copy()
    times = []
    for _ in range(repeats):
        np.copyto(buf, src)
        comm.barrier()
        t = time.perf_counter()
        comm.allreduce(buf)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def child(args) -> None:
    """The whole comparison inside one ``mpiexec -n 2`` job, round by round, so that
    the one-rank and two-rank epochs it compares run seconds, not minutes, apart:

    1. one rank alone: rank 0 trains a plain (not distributed) model on B and on B/2
       while rank 1 sleeps in :func:`idle_barrier`;
    2. both ranks, data-parallel, global batch B, as a user runs it, the time spent
       in the allreduce call clocked;
    3. the same with a barrier before the allreduce, to split that time into the
       wait for the other rank and the transfer.
    """
    comm = D.initialize()
    assert comm.size == 2, "run under mpiexec -n 2"
    B, steps = args.batch, args.steps
    x, y = data(B * steps)
    model = make_model()
    full_model, half_model = make_model(), make_model()
    dp = D.DataParallel(comm)
    timer = Timed(comm)

    def epoch():
        with D.set_distribution(dp):
            model.fit(x, y, batch_size=B, epochs=1, steps_per_epoch=steps, verbose=0)

    keys = ("full", "half", "step", "allreduce", "wait", "transfer")
    rows: dict[str, list] = {k: [] for k in keys}
    for _ in range(args.rounds + 1):  # round 0 warms up and is dropped
        if comm.rank == 0:
            rows["full"].append(seconds_per_step(full_model, x, y, B, steps))
            rows["half"].append(seconds_per_step(half_model, x, y, B // 2, steps))
        idle_barrier(comm)
        comm.barrier()
        timer.on()
        t = time.perf_counter()
        epoch()  # as the user runs it
        rows["step"].append((time.perf_counter() - t) / steps)
        timer.off()
        rows["allreduce"].append(timer.inside / timer.calls)
        comm.barrier()
        timer.on(split=True)
        epoch()
        timer.off()
        rows["wait"].append(timer.wait / timer.calls)
        rows["transfer"].append(timer.transfer / timer.calls)
    n_params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    small = allreduce_seconds(comm, n_params, 50)
    big = allreduce_seconds(comm, RESNET50_PARAMS, 5)
    if comm.rank == 0:
        result = {k: v[1:] for k, v in rows.items()}
        result.update(params=n_params, allreduce_mlp_alone=small, allreduce_resnet50=big)
        Path(args.child).write_text(json.dumps(result))


def one_comparison(args, mpiexec: str) -> dict:
    """One ``mpiexec -n 2`` job (see :func:`child`): medians of its rounds, and the
    check on each round's own numbers."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "child.json"
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[1] / "src")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        cmd = [mpiexec, "-n", "2", sys.executable, "-m", "mpi4py", __file__]
        cmd += ["--batch", str(args.batch), "--steps", str(args.steps)]
        cmd += ["--rounds", str(args.rounds), "--child", str(out)]
        subprocess.run(cmd, check=True, env=env, timeout=1800)
        rounds = json.loads(out.read_text())
    keys = ("full", "half", "step", "allreduce", "wait", "transfer")
    res = {k: statistics.median(rounds[k]) for k in keys}
    res.update({k: rounds[k] for k in ("params", "allreduce_mlp_alone", "allreduce_resnet50")})
    res["bound"] = (res["half"] + res["allreduce"]) * 1.10
    res["rounds_held"] = sum(
        s <= (h + a) * 1.10 for s, h, a in zip(rounds["step"], rounds["half"], rounds["allreduce"])
    )
    res["rounds"] = len(rounds["step"])
    return res


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
    runs = [one_comparison(args, mpiexec) for _ in range(args.repeats)]
    two = runs[-1]
    mb = two["params"] * 4 / 1e6
    print(f"MLP 784-256-128-10, Adam, {two['params']:,} parameters ({mb:.2f} MB float32)")
    print(
        f"global batch {B}, {args.steps} steps x {args.rounds} epochs, 1 BLAS thread/process, "
        f"{args.repeats} jobs of {args.rounds} rounds (ms/step, each job's median over its rounds)"
    )
    cols = [f"run {i + 1}" for i in range(len(runs))] + ["median"]
    print(f"{'':40}" + "".join(f"{c:>9}" for c in cols))

    def row(label, key, scale=1e3, fmt="9.3f", unit=""):
        vals = [r[key] for r in runs]
        cells = [*vals, statistics.median(vals)]
        print(f"{label:40}" + "".join(f"{v * scale:{fmt}}{unit}" for v in cells))

    row(f"1 rank alone, batch {B}", "full")
    row(f"1 rank alone, batch {B // 2}", "half")
    row(f"2 ranks, global batch {B}", "step")
    row("  in the allreduce call, per step", "allreduce")
    row("  split: waiting for the other rank", "wait")
    row("  split: the transfer (after a barrier)", "transfer")
    row("  (step(1, B/2) + allreduce) x 1.1", "bound")
    for r in runs:
        r["share"] = r["allreduce"] / r["step"]
        r["ratio"] = r["step"] / r["full"]
        r["margin"] = r["step"] / r["bound"]
        r["strict"] = r["step"] / ((r["half"] + r["transfer"]) * 1.10)
    row("  allreduce share of the 2-rank step", "share", 100, "8.1f", "%")
    row("2 ranks / 1 process, same global batch", "ratio", 1, "8.2f", "x")
    row("2-rank step / the bound", "margin", 1, "8.2f", "x")
    row("  / the bound with the transfer only", "strict", 1, "8.2f", "x")
    held = sum(r["step"] <= r["bound"] for r in runs)
    rounds_held = sum(r["rounds_held"] for r in runs)
    rounds = sum(r["rounds"] for r in runs)
    med = {
        k: statistics.median(r[k] for r in runs) for k in ("step", "half", "allreduce", "transfer")
    }
    bound = (med["half"] + med["allreduce"]) * 1.10
    verdict = "holds" if med["step"] <= bound else "FAILS"
    print(
        f"check: step(2 ranks) <= (step(1, B/2) + allreduce) x 1.1 held in {held} of "
        f"{len(runs)} jobs (in {rounds_held} of {rounds} rounds, each against its own "
        f"one-rank epochs); on the medians {med['step'] * 1e3:.3f} <= {bound * 1e3:.3f} ms: "
        f"{verdict}"
    )
    strict = (med["half"] + med["transfer"]) * 1.10
    print(
        "  stricter, counting only the transfer (the wait for the slower rank left out): "
        f"{med['step'] * 1e3:.3f} <= {strict * 1e3:.3f} ms: "
        f"{'holds' if med['step'] <= strict else 'FAILS'}"
    )
    for name, n, t in (
        ("MLP gradient", two["params"], statistics.median(r["allreduce_mlp_alone"] for r in runs)),
        (
            "ResNet-50-sized gradient",
            RESNET50_PARAMS,
            statistics.median(r["allreduce_resnet50"] for r in runs),
        ),
    ):
        size = n * 4
        print(
            f"allreduce alone, {name} ({size / 1e6:.1f} MB): {t * 1e3:.3f} ms, "
            f"{size / t / 1e9:.2f} GB/s (buffer bytes / time; at 2 ranks a ring moves "
            "each byte once each way)"
        )


if __name__ == "__main__":
    main()
