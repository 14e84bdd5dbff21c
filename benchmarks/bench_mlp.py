"""MLP benchmarks: xpnet against PyTorch eager, a tight NumPy loop and the GEMM floor.

Workloads (the benchmarks issue numbers them):

1. MLP 784-256-128-10 (ReLU), softmax cross-entropy from logits, Adam(1e-3), batch 128,
   one epoch of 60,000 float32 samples: xpnet ``Model.fit`` and a custom loop on the
   NumPy backend, PyTorch eager on the CPU with the same thread count, a hand-written
   NumPy loop, and the GEMM floor (only that epoch's forward and backward matmuls).
3. The overhead regime: MLP 16-32-32-10, one training step at batch 1.
4. Workload 1's custom loop (on fewer samples) on every installed backend, as ratios to NumPy.
5. Peak memory (max RSS of a fresh process that trains one epoch of workload 1).
6. JAX: workload 1's epoch (Adam epsilon 1e-7) with xpnet ``Model.fit`` on the JAX backend,
   eager (``jit_compile=False``) and jitted (``jit_compile=True``, reported as not available
   where xpnet refuses it), Keras 3 on JAX (jit-compiled, its default; only where ``keras``
   imports) and PyTorch eager, all from the same initial weights.
7. The torch backend: workload 1's epoch with xpnet ``Model.fit`` on the ``torch`` backend
   against native PyTorch eager (same weights, same Adam, same threads, same device).

``--profile`` prints, instead of workload 6's or 7's table, the top of a cProfile of one
xpnet epoch (after one of warm-up) on that workload's backend (6: JAX eager, 7: torch).

Competitors alternate inside one run (epochs for 1 and 4, steps for 3), and the tables
give medians and median ratios, since the machine is shared and noisy.

    python benchmarks/bench_mlp.py                       # everything
    python benchmarks/bench_mlp.py --workload 1 --rounds 5 --threads 2
    python benchmarks/bench_mlp.py --backend cupy        # on a GPU: cupy vs torch-cuda
    python benchmarks/bench_mlp.py --workload 6          # JAX: eager, jit, Keras-JAX, PyTorch
    python benchmarks/bench_mlp.py --workload 7 [--device cuda]   # torch backend vs PyTorch
    python benchmarks/bench_mlp.py --workload 7 --profile          # cProfile of that fit
    python benchmarks/bench_mlp.py --workload 6 --profile          # the same on JAX, eager

``--device`` names the device for xpnet's backend and for PyTorch (``cuda`` on a GPU);
``--backend cupy`` (or ``torch:cuda``) implies ``cuda`` for PyTorch and for workloads 6 and 7.
JAX runs its own thread pool: ``--threads 1`` also sets XLA's flags for one thread.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # sets BLAS threads before NumPy loads


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", type=int, action="append", choices=[1, 3, 4, 5, 6, 7])
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--samples", type=int, default=60_000)
    p.add_argument("--rounds", type=int, default=5, help="epochs per competitor (workload 1)")
    p.add_argument(
        "--backend", default="numpy", help="xpnet backend of workloads 1 and 3: NAME[:DEVICE]"
    )
    p.add_argument("--device", default=None, help="device for xpnet and PyTorch, e.g. cuda")
    p.add_argument(
        "--profile",
        action="store_true",
        help="workloads 6 and 7: print the top 25 functions (tottime) of one xpnet epoch "
        "under cProfile instead of the table",
    )
    p.add_argument("--malloc", choices=["default", "keep"], default="default")
    p.add_argument("--memory-child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


ARGS = parse_args()
_common.set_threads(ARGS.threads)
if ARGS.malloc == "keep":
    _common.keep_freed_memory()

import numpy as np  # noqa: E402

import xpnet as xn  # noqa: E402

SIZES = (784, 256, 128, 10)
BATCH = 128


def data(n: int, features: int = 784, classes: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features), dtype=np.float32)
    y = rng.integers(0, classes, n).astype(np.int64)
    return x, y


def initial_weights(sizes, seed: int = 0):
    rng = np.random.default_rng(seed)
    ws = []
    for a, b in itertools.pairwise(sizes):
        limit = np.sqrt(6.0 / (a + b))
        ws.append(rng.uniform(-limit, limit, (a, b)).astype(np.float32))
    return ws


def xpnet_model(sizes, weights, **compile_kwargs):
    """The MLP with ``weights`` (zero biases), compiled with Adam(1e-3, epsilon 1e-7) and the
    sparse crossentropy from logits; ``compile_kwargs`` go to ``compile`` (``jit_compile``)."""
    model = xn.Sequential(
        [xn.Input(shape=(sizes[0],))]
        + [xn.layers.Dense(n, activation="relu") for n in sizes[1:-1]]
        + [xn.layers.Dense(sizes[-1])]
    )
    model.set_weights([arr for w in weights for arr in (w, np.zeros(w.shape[1], np.float32))])
    model.compile(
        optimizer=xn.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7),
        loss=xn.losses.SparseCategoricalCrossentropy(from_logits=True),
        **compile_kwargs,
    )
    return model


# --------------------------------------------------------------------------- competitors


def _sync(model) -> None:
    """Wait for queued GPU work: copying one weight to the host needs all of it done."""
    if xn.get_backend().name != "numpy":
        xn.to_numpy(model.trainable_weights[-1])


def make_fit(x, y, sizes, weights, batch, **compile_kwargs):
    model = xpnet_model(sizes, weights, **compile_kwargs)
    if xn.get_backend().name != "numpy":  # data already on the device, as PyTorch's is
        x, y = xn.backend.asarray(x), xn.backend.asarray(y)

    def epoch():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        _sync(model)

    epoch.model = model
    return epoch


def on_backend(fn, name, device=None):
    """``fn`` run with xpnet's backend ``name`` (on ``device``) active, whatever is active
    around it: competitors on different backends alternate inside one run."""

    def run():
        with xn.use_backend(name, device):
            return fn()

    return run


def make_loop(x, y, sizes, weights, batch):
    model = xpnet_model(sizes, weights)
    loss_fn = xn.losses.SparseCategoricalCrossentropy(from_logits=True)
    opt = xn.optimizers.Adam(learning_rate=1e-3)
    params = model.trainable_weights
    xs = xn.backend.asarray(x)  # the data set on the backend once, sliced per step
    ys = xn.backend.asarray(y)
    n = len(x)

    def epoch():
        for s in range(0, n, batch):
            loss = loss_fn(ys[s : s + batch], model(xs[s : s + batch, ...], training=True))
            loss.backward()
            opt.step(params)
            opt.zero_grad(params)
        _sync(model)

    return epoch


def make_torch(x, y, sizes, weights, batch, device="cpu"):
    import torch

    torch.set_num_threads(ARGS.threads)
    mods = []
    for i, w in enumerate(weights):
        lin = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.zero_()
        mods.append(lin)
        if i < len(weights) - 1:
            mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    xt = torch.from_numpy(x).to(device)
    yt = torch.from_numpy(y).to(device)
    n = len(x)
    sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)

    def epoch():
        for s in range(0, n, batch):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(xt[s : s + batch]), yt[s : s + batch])
            loss.backward()
            opt.step()
        sync()

    return epoch


def make_keras_jax(x, y, sizes, weights, batch):
    """Keras 3 on JAX (``fit`` jit-compiles the step by default), or None where ``keras``
    does not import. Keras slices NumPy inputs on the host and puts each batch on the
    device itself (it turns JAX inputs into NumPy first), so it gets NumPy arrays."""
    os.environ["KERAS_BACKEND"] = "jax"  # read when keras is first imported
    try:
        import keras
    except ImportError as err:
        print(f"keras-jax: not available: {err}")
        return None
    if keras.backend.backend() != "jax":
        print(f"keras-jax: not available: keras was imported on {keras.backend.backend()}")
        return None
    model = keras.Sequential(
        [keras.Input(shape=(sizes[0],))]
        + [keras.layers.Dense(n, activation="relu") for n in sizes[1:-1]]
        + [keras.layers.Dense(sizes[-1])]
    )
    model.set_weights([arr for w in weights for arr in (w, np.zeros(w.shape[1], np.float32))])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    print(f"keras-jax: keras {keras.__version__}, jit_compile={model.jit_compile}")

    def epoch():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        np.asarray(model.trainable_weights[-1].value)  # waits for the queued steps

    return epoch


def make_numpy(x, y, sizes, weights, batch):
    """A tight hand-written NumPy loop: in-place ReLU, fused softmax gradient, in-place Adam."""
    ws = [w.copy() for w in weights]
    bs = [np.zeros(w.shape[1], np.float32) for w in weights]
    params = ws + bs
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    state = {"t": 0}
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7
    n = len(x)
    last = len(ws) - 1

    def epoch():
        for s in range(0, n, batch):
            xb, yb = x[s : s + batch], y[s : s + batch]
            acts = [xb]
            h = xb
            for i, (w, b) in enumerate(zip(ws, bs)):
                h = h @ w
                h += b
                if i < last:
                    np.maximum(h, 0, out=h)
                acts.append(h)
            z = acts[-1]
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
            z[np.arange(len(yb)), yb] -= 1
            z /= len(yb)
            g = z
            grads_w, grads_b = [None] * len(ws), [None] * len(ws)
            for i in range(last, -1, -1):
                grads_w[i] = acts[i].T @ g
                grads_b[i] = g.sum(axis=0)
                if i:
                    g = g @ ws[i].T
                    g *= acts[i] > 0
            state["t"] += 1
            t = state["t"]
            step = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
            for p, gr, mm, vv in zip(params, grads_w + grads_b, m, v):
                mm *= b1
                mm += (1 - b1) * gr
                vv *= b2
                vv += (1 - b2) * (gr * gr)
                p -= np.float32(step) * mm / (np.sqrt(vv) + eps)

    return epoch


def make_gemm_floor(x, y, sizes, weights, batch):
    """Only the epoch's matmuls: forward x@W per layer, backward dW and (but the first) dX."""
    ws = [w.copy() for w in weights]
    n = len(x)
    acts_shapes = [(batch, s) for s in sizes]
    acts = [np.ones(s, np.float32) for s in acts_shapes]

    def epoch():
        for s in range(0, n, batch):
            h = x[s : s + batch]
            for w in ws:
                h = h @ w
            g = acts[-1][: len(h)]
            for i in range(len(ws) - 1, -1, -1):
                _ = acts[i][: len(h)].T @ g
                if i:
                    g = g @ ws[i].T

    return epoch


# --------------------------------------------------------------------------- workloads


def workload1():
    n = ARGS.samples
    print(
        f"\n== workload 1: MLP {SIZES}, batch {BATCH}, one epoch of {n} samples, "
        f"Adam, {ARGS.threads} thread(s), backend {ARGS.backend}"
    )
    x, y = data(n)
    w = initial_weights(SIZES)
    xn.set_backend(*_backend_spec())
    competitors = {
        "xpnet fit": make_fit(x, y, SIZES, w, BATCH),
        "xpnet loop": make_loop(x, y, SIZES, w, BATCH),
        "pytorch": make_torch(x, y, SIZES, w, BATCH, _torch_device()),
    }
    if ARGS.backend == "numpy":
        competitors["numpy loop"] = make_numpy(x, y, SIZES, w, BATCH)
        competitors["GEMM floor"] = make_gemm_floor(x, y, SIZES, w, BATCH)
    res = _common.run_interleaved(competitors, blocks=ARGS.rounds, steps=1, warmup=1)
    _common.print_table(res, base="pytorch")
    torch_label = f"pytorch ({_torch_device()})"
    for name in ("xpnet fit", "xpnet loop"):
        _common.print_ratio(res, name, "pytorch", label=f"{name} ({ARGS.backend}) / {torch_label}")
    if "numpy loop" in res:
        for name in ("xpnet fit", "xpnet loop"):
            r = _common.median([a / b for a, b in zip(res[name], res["numpy loop"])])
            print(f"{name} / numpy loop: {r:.2f}x")
        r = _common.median([a / b for a, b in zip(res["numpy loop"], res["GEMM floor"])])
        print(f"numpy loop / GEMM floor: {r:.2f}x")
    return res


def workload3():
    sizes = (16, 32, 32, 10)
    print(f"\n== workload 3: MLP {sizes}, one training step at batch 1, backend {ARGS.backend}")
    x, y = data(4096, features=16)
    w = initial_weights(sizes)
    xn.set_backend(*_backend_spec())
    model = xpnet_model(sizes, w)
    loop_model = xpnet_model(sizes, w)
    loss_fn = xn.losses.SparseCategoricalCrossentropy(from_logits=True)
    opt = xn.optimizers.Adam(learning_rate=1e-3)
    params = loop_model.trainable_weights
    xs, ys = xn.backend.asarray(x), xn.backend.asarray(y)
    torch_epoch_step = _torch_single_step(x, y, sizes, w)
    numpy_step = make_numpy(x[:1], y[:1], sizes, w, 1)
    i = {"k": 0}

    def train_on_batch():
        k = i["k"] = (i["k"] + 1) % len(x)
        model.train_on_batch(x[k : k + 1], y[k : k + 1])

    def loop_step():
        k = i["k"]
        loss = loss_fn(ys[k : k + 1], loop_model(xs[k : k + 1], training=True))
        loss.backward()
        opt.step(params)
        opt.zero_grad(params)

    competitors = {
        "xpnet train_on_batch": train_on_batch,
        "xpnet loop step": loop_step,
        "pytorch step": torch_epoch_step,
    }
    if ARGS.backend == "numpy":
        competitors["numpy step"] = numpy_step
    res = _common.run_interleaved(competitors, blocks=5, steps=300, warmup=20)
    _common.print_table(res, base="pytorch step", width=22)
    return res


def _torch_single_step(x, y, sizes, w):
    import torch

    torch.set_num_threads(ARGS.threads)
    device = _torch_device()
    step = make_torch(x[:1], y[:1], sizes, w, 1, device)
    return step


def workload4():
    n = min(ARGS.samples, 12_800)
    print(f"\n== workload 4: workload 1's custom loop on {n} samples, per backend")
    x, y = data(n)
    w = initial_weights(SIZES)
    competitors = {}
    for name in xn.available_backends():
        with xn.use_backend(name):
            loop = make_loop(x, y, SIZES, w, BATCH)

        def run(loop=loop, name=name):
            with xn.use_backend(name):
                loop()

        competitors[name] = run
    res = _common.run_interleaved(competitors, blocks=3, steps=1, warmup=1)
    _common.print_table(res, base="numpy", width=18)
    return res


def workload6():
    n = ARGS.samples
    jax_device = "cuda" if _torch_device() == "cuda" else None
    torch_device = _torch_device()
    print(
        f"\n== workload 6: MLP {SIZES}, batch {BATCH}, one epoch of {n} samples, Adam(1e-3, "
        f"epsilon 1e-7), {ARGS.threads} thread(s): xpnet on JAX ({jax_device or 'cpu'}) eager "
        f"and jitted, Keras 3 on JAX, PyTorch eager ({torch_device})"
    )
    if ARGS.profile:
        return profile_fit("jax", jax_device, jit_compile=False)
    x, y = data(n)
    w = initial_weights(SIZES)
    with xn.use_backend("jax", jax_device):
        eager = make_fit(x, y, SIZES, w, BATCH, jit_compile=False)
        jit = _xpnet_jit(x, y, w)
    competitors = {"xpnet-jax eager": on_backend(eager, "jax", jax_device)}
    if jit is not None:
        competitors["xpnet-jax jit"] = on_backend(jit, "jax", jax_device)
    keras_epoch = make_keras_jax(x, y, SIZES, w, BATCH)
    if keras_epoch is not None:
        competitors["keras-jax"] = keras_epoch
    competitors["pytorch"] = make_torch(x, y, SIZES, w, BATCH, torch_device)
    res = _common.run_interleaved(competitors, blocks=ARGS.rounds, steps=1, warmup=1)
    _common.print_table(res, base="pytorch", width=18)
    for a, b, target in (
        ("xpnet-jax jit", "keras-jax", "<= 1.0x"),
        ("xpnet-jax jit", "pytorch", "<= 0.8x"),
        ("xpnet-jax eager", "pytorch", None),
        ("xpnet-jax eager", "keras-jax", None),
        ("keras-jax", "pytorch", None),
        ("xpnet-jax jit", "xpnet-jax eager", None),
    ):
        _common.print_ratio(res, a, b, target=target)
    return res


def _xpnet_jit(x, y, w):
    """Workload 6's jitted xpnet epoch, already run once (the first jitted epoch compiles:
    outside the timing), or None where xpnet cannot jit. ``jit_compile=True`` is new:
    before it, compile or fit raise (an unknown argument, or a backend that cannot), or
    compile accepts the argument and runs eagerly; both are said in one line."""
    try:
        epoch = make_fit(x, y, SIZES, w, BATCH, jit_compile=True)
        epoch()
    except (TypeError, ValueError, NotImplementedError) as err:
        print(f"xpnet jit: not available: {type(err).__name__}: {err}")
        return None
    applied = getattr(epoch.model, "jit_compile", None)
    if applied is not True:
        print(
            "xpnet jit: compile(jit_compile=True) was accepted, but the model reports "
            f"jit_compile={applied!r}: the 'xpnet-jax jit' row may time the eager path"
        )
    return epoch


def workload7():
    n = ARGS.samples
    device = _torch_device()
    if ARGS.profile:
        return profile_fit("torch", device)
    print(
        f"\n== workload 7: MLP {SIZES}, batch {BATCH}, one epoch of {n} samples, Adam(1e-3, "
        f"epsilon 1e-7), {ARGS.threads} thread(s): xpnet fit on the torch backend against "
        f"PyTorch eager, both on {device}"
    )
    x, y = data(n)
    w = initial_weights(SIZES)
    with xn.use_backend("torch", device):
        fit = make_fit(x, y, SIZES, w, BATCH)
    competitors = {
        "xpnet-torch fit": on_backend(fit, "torch", device),
        "pytorch": make_torch(x, y, SIZES, w, BATCH, device),
    }
    res = _common.run_interleaved(competitors, blocks=ARGS.rounds, steps=1, warmup=1)
    _common.print_table(res, base="pytorch", width=18)
    _common.print_ratio(res, "xpnet-torch fit", "pytorch", target="<= 1.0x")
    return res


def profile_fit(backend: str, device, **compile_kwargs) -> None:
    """The top 25 functions by own time (cProfile) of one epoch of xpnet's fit on
    ``backend``, after one epoch of warm-up (cProfile's own cost inflates the many small
    calls: read the order, not the total)."""
    import cProfile
    import pstats

    if backend == "torch":
        import torch

        torch.set_num_threads(ARGS.threads)
    print(
        f"\n== profile: one epoch of {ARGS.samples} samples, xpnet fit on the {backend} "
        f"backend ({device or 'default device'}) {compile_kwargs or ''}, {ARGS.threads} thread(s)"
    )
    x, y = data(ARGS.samples)
    with xn.use_backend(backend, device):
        epoch = make_fit(x, y, SIZES, initial_weights(SIZES), BATCH, **compile_kwargs)
        epoch()
        prof = cProfile.Profile()
        prof.enable()
        epoch()
        prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def workload5():
    print("\n== workload 5: peak memory (max RSS of a fresh process, one epoch of workload 1)")
    rows = {}
    for who in ("xpnet fit", "numpy loop", "pytorch"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-child",
                who,
                "--samples",
                str(ARGS.samples),
                "--threads",
                str(ARGS.threads),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows[who] = float(out.strip().splitlines()[-1])
    for who, mib in rows.items():
        print(f"{who:12s} {mib:8.1f} MiB   {mib / rows['pytorch']:.2f}x pytorch")
    return rows


def memory_child(who: str) -> None:
    x, y = data(ARGS.samples)
    w = initial_weights(SIZES)
    if who == "xpnet fit":
        make_fit(x, y, SIZES, w, BATCH)()
    elif who == "numpy loop":
        make_numpy(x, y, SIZES, w, BATCH)()
    else:
        make_torch(x, y, SIZES, w, BATCH)()
    print(_peak_rss_mib())


def _peak_rss_mib() -> float:
    """This process's peak resident set size in MiB. Linux's ``ru_maxrss`` survives
    fork and exec (a child of a big parent reports the parent's peak), so read the
    current image's high-water mark, VmHWM, where /proc has it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _backend_spec() -> tuple[str, str | None]:
    """xpnet's backend and device for workloads 1 and 3: ``--backend NAME[:DEVICE]``, the
    device else from ``--device`` (not for numpy, which runs on the CPU only)."""
    name, _, device = ARGS.backend.partition(":")
    if not device and name != "numpy":
        device = ARGS.device
    return name, device or None


def _torch_device() -> str:
    """PyTorch's device: cuda for ``--backend cupy`` or any CUDA device asked for."""
    name, device = _backend_spec()
    device = device or ARGS.device or ""
    if name == "cupy" or device.startswith(("cuda", "gpu")):
        return "cuda"
    return "cpu"


def main():
    if ARGS.memory_child:
        memory_child(ARGS.memory_child)
        return
    chosen = ARGS.workload or ([7] if ARGS.profile else [1, 3, 4, 5, 6, 7])
    for k in chosen:
        {1: workload1, 3: workload3, 4: workload4, 5: workload5, 6: workload6, 7: workload7}[k]()


if __name__ == "__main__":
    main()
