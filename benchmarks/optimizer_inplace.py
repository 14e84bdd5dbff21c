"""Adam update of a 784x256 float32 kernel: in place vs rebinding (a measurement, not a test).

    python benchmarks/optimizer_inplace.py [--backend numpy] [--rounds 5]

xpnet's optimizers store every update through ``Optimizer.assign_add/assign_sub``,
which add into the old array on NumPy (``xpnet.backend.update_inplace``; PyTorch
CPU measured slower that way, so it rebinds like every other backend);
``opt.inplace = False`` forces rebinding everywhere. Each measurement runs in a fresh process (the C
allocator's state decides how costly rebinding is), the two modes alternate,
BLAS and torch use one thread, and the medians of process CPU time and of minor
page faults per update are printed. Only NumPy has an in-place path: on other
backends both rows rebind, and their ratio shows the noise level.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np
import xpnet as xn
backend, inplace, steps = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
xn.set_backend(backend)
if backend == "torch":
    import torch
    torch.set_num_threads(1)
rng = np.random.default_rng(0)
p = xn.Parameter(rng.standard_normal((784, 256)).astype(np.float32))
g = xn.backend.asarray(rng.standard_normal((784, 256)).astype(np.float32))
opt = xn.optimizers.Adam(learning_rate=1e-3)
opt.inplace = inplace
for _ in range(20):
    opt.apply([g], [p])
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
start = time.process_time()
for _ in range(steps):
    opt.apply([g], [p])
cpu = (time.process_time() - start) / steps
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps
print(json.dumps({"cpu": cpu, "faults": faults}))
"""


def measure(backend: str, inplace: bool, steps: int) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    args = [sys.executable, "-c", CHILD, backend, "1" if inplace else "0", str(steps)]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    runs: dict[bool, list[dict]] = {True: [], False: []}
    for _ in range(args.rounds):
        for inplace in (True, False):
            runs[inplace].append(measure(args.backend, inplace, args.steps))
    print(f"backend {args.backend}: one Adam update of a 784x256 float32 kernel (medians)")
    for inplace, label in ((True, "in place "), (False, "rebinding")):
        cpu = statistics.median(r["cpu"] for r in runs[inplace]) * 1e6
        faults = statistics.median(r["faults"] for r in runs[inplace])
        print(f"  {label}  {cpu:8.1f} us CPU   {faults:7.1f} minor page faults")
    fast = statistics.median(r["cpu"] for r in runs[True])
    slow = statistics.median(r["cpu"] for r in runs[False])
    print(f"  rebinding / in place: {slow / fast:.2f}x")


if __name__ == "__main__":
    main()
