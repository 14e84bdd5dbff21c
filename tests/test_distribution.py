"""xn.distribution: data-parallel training.

In-process tests cover the API, the launcher detection, the single-process
behaviour and the one-allreduce-per-step structure (with a stand-in
communicator). The MPI tests launch ``mpiexec -n 2`` / ``-n 3`` in subprocesses
with timeouts (``python -m mpi4py``, so a failure aborts instead of hanging) and
compare data-parallel training with one process on the global batches.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import xpnet as xn
from xpnet import distribution as D
from xpnet.distribution.comm import SingleProcess

ROOT = Path(__file__).resolve().parents[1]
MPI_DIR = Path(__file__).resolve().parent / "mpi"
RTOL = 1e-6  # the bound: float32 sums in another order, a few ULPs per step


# --------------------------------------------------------------------------- helpers


class Mirror(SingleProcess):
    """A stand-in for a job of ``size`` identical processes: every other process is
    taken to hold this one's values (allreduce "sum" multiplies by ``size``). Counts
    the collectives."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self.calls: list[str] = []

    def allreduce(self, a, op="sum"):
        self.calls.append("allreduce")
        if op == "sum":
            a *= float(self.size)
        return a

    def broadcast(self, a, root=0):
        self.calls.append("broadcast")
        return a

    def broadcast_object(self, obj, root=0):
        self.calls.append("broadcast_object")
        return obj

    def allgather_object(self, obj):
        self.calls.append("allgather_object")
        return [obj] * self.size


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    return x, rng.integers(0, 3, size=n)


def _model(seed=1, opt="sgd"):
    xn.set_seed(seed)
    m = xn.Sequential([xn.Input((5,)), xn.layers.Dense(6, activation="relu"), xn.layers.Dense(3)])
    m.compile(
        optimizer=opt,
        loss=xn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=False,
    )
    return m


# --------------------------------------------------------------------------- API, no launcher


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "1"}, ("mpi", 4)),
        ({"PMI_SIZE": "2", "PMI_RANK": "0"}, ("mpi", 2)),
        ({"PMIX_RANK": "3"}, ("mpi", 0)),
        ({"SLURM_STEP_NUM_TASKS": "8", "SLURM_PROCID": "5"}, ("mpi", 8)),
        ({"SLURM_STEP_NUM_TASKS": "1", "SLURM_PROCID": "0"}, ("mpi", 1)),
        ({"SLURM_NTASKS": "8", "SLURM_PROCID": "0"}, None),  # sbatch's shell, no srun
        ({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}, ("torchrun", 2)),
    ],
)
def test_launcher_detection(monkeypatch, env, expected):
    for var in [
        "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_SIZE", "PMI_RANK", "PMIX_SIZE",
        "PMIX_RANK", "SLURM_NTASKS", "SLURM_STEP_NUM_TASKS", "SLURM_PROCID", "RANK",
        "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
    ]:  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert D.launcher() == expected


def test_plain_process_is_a_single_process_job():
    # run in a fresh interpreter: no launcher, initialize() starts nothing (no MPI)
    code = (
        "import sys, xpnet as xn; c = xn.distribution.initialize();"
        "print(type(c).__name__, xn.distribution.rank(), xn.distribution.size(),"
        " xn.distribution.local_rank(), 'mpi4py.MPI' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "OMPI", "SLURM"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["SingleProcess", "0", "1", "0", "False"]


def test_without_mpi4py_the_mpi_communicator_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py fails
    with pytest.raises(ImportError, match=r"xpnet\[mpi\]"):
        D.MPICommunicator()


def test_set_distribution_is_a_context_and_checks_its_argument():
    assert D.distribution() is None
    dp = D.DataParallel(SingleProcess())
    with D.set_distribution(dp) as active:
        assert active is dp and D.distribution() is dp and D.size() == 1
        with D.set_distribution(None):
            assert D.distribution() is None
        assert D.distribution() is dp
    assert D.distribution() is None
    D.set_distribution(dp)
    try:
        assert D.distribution() is dp
    finally:
        D.set_distribution(None)
    with pytest.raises(TypeError, match="DataParallel"):
        D.set_distribution("data_parallel")


def test_one_process_distribution_trains_exactly_as_without():
    x, y = _data()
    plain = _model()
    h1 = plain.fit(x, y, batch_size=8, epochs=2, verbose=0)
    dist = _model()
    with D.set_distribution(D.DataParallel(SingleProcess())):
        h2 = dist.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert h1.history == h2.history
    for a, b in zip(plain.weights, dist.weights):
        np.testing.assert_array_equal(xn.to_numpy(a), xn.to_numpy(b))


def test_one_allreduce_per_step_and_metrics_reduced_once_per_epoch():
    x, y = _data(n=40)
    comm = Mirror(2)
    m = _model()
    with D.set_distribution(D.DataParallel(comm)):
        m.fit(x, y, batch_size=8, epochs=2, verbose=0)
    steps = 2 * 5
    assert comm.calls.count("allreduce") == steps
    # per epoch: the metric states, the stop flag (+ two at the start: may a callback
    # stop inside an epoch? did one restore a backup at on_train_begin?)
    assert comm.calls.count("allgather_object") == 2 * 2 + 2
    n_weights = len(m.weights)
    assert comm.calls.count("broadcast") == n_weights  # weights (no optimizer state yet)


def test_a_callback_that_may_stop_inside_an_epoch_is_agreed_on_every_step():
    x, y = _data(n=40)
    comm = Mirror(2)
    m = _model()
    stop = xn.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: setattr(m, "stop_training", batch == 1)
    )
    with D.set_distribution(D.DataParallel(comm)):
        h = m.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[stop])
    assert len(h.history["loss"]) == 1 and comm.calls.count("allreduce") == 2
    # two at the start, one per step (the stop flag), two at the epoch's end
    assert comm.calls.count("allgather_object") == 2 + 2 + 2


def test_each_process_takes_its_slice_and_weights_it_by_its_share():
    # one "process" of two, the other taken as identical: the summed gradient is
    # 2 x (share 1/2) x the gradient of this slice's mean = the slice's own gradient
    x, y = _data(n=16)
    x[8:] = x[:8]
    y[8:] = y[:8]
    ref = _model(opt="sgd")
    ref.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    m = _model(opt="sgd")
    with D.set_distribution(D.DataParallel(Mirror(2))):
        m.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(ref.weights, m.weights):
        np.testing.assert_allclose(xn.to_numpy(b), xn.to_numpy(a), rtol=RTOL, atol=1e-7)


def test_backup_and_restore_resumes_at_its_epoch_under_data_parallel(tmp_path):
    # a stand-in job of two: BackupAndRestore runs on rank 0, restores the backup of a
    # 2-epoch run, and fit broadcasts its state and starts at epoch 2 (not 0)
    x, y = _data()
    backup = tmp_path / "backup"
    kw = {"batch_size": 8, "shuffle": False, "verbose": 0}
    with D.set_distribution(D.DataParallel(Mirror(2))):
        straight = _model(opt="adam")
        straight.fit(x, y, epochs=4, **kw)
        first = _model(opt="adam")
        keep = xn.callbacks.BackupAndRestore(backup, delete_checkpoint=False)
        first.fit(x, y, epochs=2, callbacks=[keep], **kw)
    assert json.loads((backup / "latest_training_metadata.json").read_text())["epoch"] == 2
    comm = Mirror(2)
    again, begun = _model(seed=9, opt="adam"), []
    seen = xn.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: begun.append(epoch))
    with D.set_distribution(D.DataParallel(comm)):
        h = again.fit(x, y, epochs=4, callbacks=[xn.callbacks.BackupAndRestore(backup), seen], **kw)
    assert begun == [2, 3] and len(h.history["loss"]) == 2
    assert again.optimizer.iterations == straight.optimizer.iterations == 20
    for a, b in zip(again.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-7)
    # the restored state broadcast again: the weights twice (at the start, after restoring)
    assert comm.calls.count("broadcast") > 2 * len(again.weights)
    assert not backup.exists()  # deleted (on rank 0) when training ended


def test_loss_scaled_mixed_float16_step_equals_one_process():
    # under "mixed_float16" fit wraps the optimizer in a LossScaleOptimizer: the
    # data-parallel step must scale the loss too (the step unscales the reduced sum)
    if xn.get_backend().name not in ("numpy", "cupy", "torch", "jax"):
        pytest.skip(f"{xn.get_backend().name} has no float16")
    x, y = _data(n=16)
    x[8:] = x[:8]
    y[8:] = y[:8]
    xn.mixed_precision.set_global_policy("mixed_float16")
    try:
        ref, m = _model(opt="sgd"), _model(opt="sgd")
        assert isinstance(m.optimizer, xn.mixed_precision.LossScaleOptimizer)
        start = [xn.to_numpy(w).astype(np.float32) for w in ref.weights]
        ref.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
        with D.set_distribution(D.DataParallel(Mirror(2))):
            m.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    finally:
        xn.mixed_precision.set_global_policy(None)
    assert float(xn.to_numpy(m.optimizer.dynamic_scale)) == float(
        xn.to_numpy(ref.optimizer.dynamic_scale)
    )
    for w0, a, b in zip(start, ref.weights, m.weights):
        moved, want = xn.to_numpy(b) - w0, xn.to_numpy(a) - w0
        assert np.abs(want).max() > 0
        # (float16 forward and backward on half the rows: a few float16 ULPs apart)
        np.testing.assert_allclose(moved, want, rtol=1e-2, atol=1e-2 * np.abs(want).max())


def test_refusals_name_the_fix():
    x, y = _data()
    m = _model()
    with D.set_distribution(D.DataParallel(Mirror(4))):
        with pytest.raises(ValueError, match="GLOBAL batch"):
            m.fit(x, y, batch_size=2, verbose=0)
    if xn.get_backend().name == "jax":
        m = _model()
        m.compile(optimizer="sgd", loss="mse", jit_compile=True)
        with D.set_distribution(D.DataParallel(Mirror(2))):
            with pytest.raises(ValueError, match="jit_compile=False"):
                m.fit(x, y.astype(np.float32), batch_size=8, verbose=0)


class Others(Mirror):
    """A stand-in job whose other process holds the given metric states."""

    def __init__(self, other: list) -> None:
        super().__init__(2)
        self.other = other

    def allgather_object(self, obj):
        return [obj, self.other]


def test_metric_states_are_summed_across_processes():
    acc = xn.metrics.SparseCategoricalAccuracy()
    acc.update_state(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]], dtype=np.float32))
    # the other process: 3 of 4 right; this one: 1 of 2
    D.reduce_metric_states([acc], Others([np.float32(3.0), 4]))
    assert acc.result() == pytest.approx(4 / 6)
    assert type(acc.count) is int  # Python counts stay Python numbers
    # weighted: counts on the device; and a process that saw nothing (None) contributes nothing
    mean = xn.metrics.Mean()
    mean.update_state(np.array([1.0, 3.0], dtype=np.float32), sample_weight=[1.0, 1.0])
    D.reduce_metric_states([mean], Others([None, None]))
    assert mean.result() == pytest.approx(2.0)
    empty = xn.metrics.Mean()
    D.reduce_metric_states([empty], Others([np.float32(6.0), np.float32(2.0)]))
    assert empty.result() == pytest.approx(3.0)
    assert xn.to_numpy(empty.total).dtype == np.float32
    counts = xn.metrics.Precision()
    counts.update_state(np.array([1, 0]), np.array([0.9, 0.8], dtype=np.float32))
    other = [xn.to_numpy(getattr(o, a)) for o, a in counts.state_holders()]
    D.reduce_metric_states([counts], Others(other))  # twice the same counts: same precision
    assert counts.result() == pytest.approx(0.5)


def test_host_buffer_of_a_read_only_array_is_a_writable_copy():
    """Collectives write into the host buffer: a read-only array (a loaded weight, a JAX
    array's host view) must be copied, never handed over as it is."""
    from xpnet.backend import collective as C

    a = np.arange(4.0, dtype=np.float32)
    a.flags.writeable = False
    host, shared = C.host_buffer(a)
    assert host.flags.writeable and host.flags.c_contiguous and not shared
    assert not np.shares_memory(host, a)
    b = np.arange(4.0, dtype=np.float32)
    host, shared = C.host_buffer(b)
    assert shared and host is b


def test_shard_blocks():
    assert [D.shard_bounds(10, r, 3) for r in range(3)] == [(0, 3), (3, 6), (6, 10)]
    x = np.arange(10)
    parts = [D.shard(x, r, 3) for r in range(3)]
    np.testing.assert_array_equal(np.concatenate(parts), x)
    both = D.shard({"a": x, "b": [x, None]}, 1, 2)
    np.testing.assert_array_equal(both["a"], np.arange(5, 10))
    assert both["b"][1] is None
    assert D.shard(x).shape == (10,)  # one process: everything
    with pytest.raises(ValueError, match="rank"):
        D.shard(x, 3, 2)


def test_distributed_optimizer_in_one_process_is_the_optimizer():
    x, y = _data()
    loss_fn = xn.losses.SparseCategoricalCrossentropy(from_logits=True)
    results = []
    for wrap in (False, True):
        m = _model()
        m(x[:1])
        opt = xn.optimizers.Adam(0.01)
        opt = D.DistributedOptimizer(opt, communicator=Mirror(1)) if wrap else opt
        for _ in range(3):
            loss_fn(y, m(x, training=True)).backward()
            opt.step(m.trainable_weights)
            opt.zero_grad(m.trainable_weights)
        results.append([xn.to_numpy(w) for w in m.weights])
        if wrap:
            opt.learning_rate = 0.5  # attributes reach the wrapped optimizer
            assert opt.optimizer.learning_rate == 0.5 and opt.iterations == 3
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="'mean' or 'sum'"):
        D.DistributedOptimizer("sgd", op="max")


def test_nccl_unique_id_bootstrap_logic():
    # the id made on rank 0 travels over the MPI communicator (CuPy's NCCL is exercised
    # on a GPU machine; here a stand-in binding)
    class FakeNccl:
        made = 0

        def get_unique_id(self):
            FakeNccl.made += 1
            return (1, 2, 3)

    from xpnet.distribution.nccl import bootstrap_unique_id

    comm = Mirror(2)
    assert bootstrap_unique_id(comm, FakeNccl()) == (1, 2, 3)
    assert comm.calls == ["broadcast_object"] and FakeNccl.made == 1


def _cupy_nccl() -> bool:
    try:
        from cupy.cuda import nccl
    except Exception:  # CuPy missing, or its NCCL binding
        return False
    return bool(getattr(nccl, "available", True))


def _gpu_count() -> int:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no driver
        return 0


def test_nccl_communicator_says_what_is_missing():
    if not _cupy_nccl():
        with pytest.raises(ImportError, match="NCCL"):
            D.NCCLCommunicator(Mirror(1))
    elif _gpu_count() == 0:
        with pytest.raises(RuntimeError, match="no CUDA device"):
            D.NCCLCommunicator(Mirror(1))
    else:
        pytest.skip("a CUDA device is here: the GPU check runs NCCLCommunicator itself")


# --------------------------------------------------------------------------- under mpiexec


def _mpiexec() -> str | None:
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def _need_mpi() -> str:
    pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install 'xpnet[mpi]'")
    exe = _mpiexec()
    if exe is None:
        pytest.skip("no mpiexec on PATH (pip install 'xpnet[mpi]' brings MPICH's)")
    return exe


def _launch(n: int, args: list[str], timeout: float, use_mpi4py: bool = True):
    exe = _need_mpi()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", "1")  # two processes on two cores
    cmd = [exe, "-n", str(n), sys.executable, *(["-m", "mpi4py"] if use_mpi4py else []), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def _torchrun(n: int, args: list[str], timeout: float):
    pytest.importorskip("torch", reason="torch is not installed: no torchrun transport to test")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    for var in [k for k in env if k.startswith(("PMI", "OMPI", "PMIX", "SLURM"))]:
        del env[var]  # (torchrun's variables decide)
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={n}"]
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd += ["--master_addr=127.0.0.1", f"--master_port={port}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(
    scope="module", params=[("mpi", 2), ("mpi", 3), ("torchrun", 2)], ids=lambda p: f"{p[0]}-{p[1]}"
)
def job(request, tmp_path_factory):
    kind, n = request.param
    out = tmp_path_factory.mktemp(f"{kind}{n}")
    args = [str(MPI_DIR / "fit_equivalence.py"), str(out)]
    run = _launch(n, args, timeout=300) if kind == "mpi" else _torchrun(n, args, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    ranks = [dict(np.load(out / f"rank{r}.npz")) for r in range(n)]
    logs = [json.loads((out / f"rank{r}.json").read_text()) for r in range(n)]
    return n, out, ranks, logs


CASES = ["sgd", "momentum", "adam", "sgd_sample_weight", "adam_class_weight"]


@pytest.mark.parametrize("case", CASES)
def test_data_parallel_fit_equals_one_process(job, case):
    _, _, ranks, _ = job
    keys = sorted(k for k in ranks[0] if k.startswith(case + "/w"))
    assert keys
    for k in keys:
        got, want = ranks[0][k], ranks[0][k.replace("/w", "/ref_w")]
        scale = np.max(np.abs(want))
        assert np.max(np.abs(got - want)) <= RTOL * scale, (k, np.max(np.abs(got - want)))


@pytest.mark.parametrize("case", CASES)
def test_history_and_evaluate_equal_on_every_rank_and_to_one_process(job, case):
    _, _, _, logs = job
    mine = logs[0][case]
    assert all(lg[case] == mine for lg in logs[1:])  # the same numbers, bit for bit
    ref = logs[0][case + "/ref"]
    assert mine["history"].keys() == ref["history"].keys()
    for key, values in mine["history"].items():
        np.testing.assert_allclose(values, ref["history"][key], rtol=RTOL, err_msg=key)
    for key, value in mine["evaluate"].items():
        np.testing.assert_allclose(value, ref["evaluate"][key], rtol=RTOL, err_msg=key)


def test_weights_bitwise_identical_on_every_rank(job):
    _, _, ranks, _ = job
    shared = [k for k in ranks[0] if "ref" not in k and k != "seeds/before"]
    for k in shared:
        for r in ranks[1:]:
            np.testing.assert_array_equal(r[k], ranks[0][k], err_msg=k)
    # different seeds: different until the first broadcast, the same after it
    assert not np.array_equal(ranks[1]["seeds/before"], ranks[0]["seeds/before"])
    np.testing.assert_array_equal(ranks[0]["seeds/after_broadcast"], ranks[0]["seeds/before"])
    # load_model on every rank (the copies disturbed) + fit: rank 0's weights and state
    assert all(int(r["resume/iterations"]) == int(ranks[0]["resume/iterations"]) for r in ranks)


def test_batchnorm_statistics_equal_and_only_rank_zero_writes(job):
    n, out, ranks, _ = job
    for r in ranks[1:]:
        np.testing.assert_array_equal(r["bn/mean"], ranks[0]["bn/mean"])
        np.testing.assert_array_equal(r["bn/var"], ranks[0]["bn/var"])
    assert (out / "ckpt_rank0.weights.npz").exists() and (out / "log_rank0.csv").exists()
    for r in range(1, n):
        assert not (out / f"ckpt_rank{r}.weights.npz").exists()
        assert not (out / f"log_rank{r}.csv").exists()


def test_custom_loop_with_distributed_optimizer(job):
    _, _, ranks, _ = job
    np.testing.assert_allclose(
        ranks[0]["custom/w"], ranks[0]["custom/ref_w"], rtol=RTOL, atol=RTOL * 1e-1
    )


def test_nccl_one_rank_on_a_gpu():
    # the CuPy/NCCL path on one GPU (a group of one, bootstrapped without MPI): the
    # collectives on device pointers, and fit's in-place reduce of the fused flat buffer
    if not _cupy_nccl() or _gpu_count() == 0:
        pytest.skip("needs CuPy with NCCL and a CUDA device")
    import cupy

    comm = D.NCCLCommunicator(SingleProcess())
    a = cupy.arange(10, dtype=cupy.float32)
    assert comm.allreduce(a) is a and comm.allreduce(a, "mean") is a
    np.testing.assert_array_equal(cupy.asnumpy(a), np.arange(10, dtype=np.float32))
    assert comm.broadcast(a) is a
    assert comm.allgather(a).shape == (1, 10)
    with xn.use_backend("cupy", comm.device):
        m = _model(opt="adam")
        x, y = _data()
        m(x[:1])
        opt = m.optimizer
        params = m.trainable_weights
        loss_fn = xn.losses.SparseCategoricalCrossentropy(from_logits=True)
        loss = loss_fn(cupy.asarray(y), m(cupy.asarray(x), training=True))
        loss.backward(sinks=opt.gradient_sinks(params))
        grads = [p.grad for p in params]
        buf = opt.gradient_buffer(grads)
        assert buf is not None  # the fused step's flat gradient, written by the backward
        before = cupy.asnumpy(buf).copy()
        D.allreduce_gradients(params, opt, "sum", comm)
        assert all(p.grad is g for p, g in zip(params, grads))  # reduced in place
        np.testing.assert_array_equal(cupy.asnumpy(buf), before)  # one rank: the sum is itself
        opt.step(params)


def test_nccl_unique_id_bootstrap_over_mpi():
    if not _cupy_nccl():
        pytest.skip("CuPy with NCCL is not installed (pip install 'xpnet[mpi,nccl12]')")
    run = _launch(2, [str(MPI_DIR / "nccl_bootstrap.py")], timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # (the launcher may interleave the two ranks' lines)
    found = dict(re.findall(r"rank (\d): id ([0-9a-f]{16})", run.stdout))
    assert sorted(found) == ["0", "1"], run.stdout
    assert found["0"] == found["1"]  # the same id on both ranks


def test_backup_and_restore_resumes_every_rank_at_the_same_epoch(tmp_path):
    # rank 0 alone writes and restores the backup; every rank starts at its epoch with
    # rank 0's restored weights and optimizer state, and ends where a straight run ends
    run = _launch(2, [str(MPI_DIR / "backup_resume.py"), str(tmp_path)], timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    logs = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    for lg in logs:
        assert lg["begun"] == [2, 3] and lg["losses"] == 2
        assert lg["iterations"] == lg["straight_iterations"] == 12
        assert not lg["backup_left"]
    np.testing.assert_array_equal(ranks[1]["resumed"], ranks[0]["resumed"])
    np.testing.assert_allclose(ranks[0]["resumed"], ranks[0]["straight"], rtol=RTOL, atol=1e-7)


@pytest.mark.parametrize("mode", ["fit", "script"])
def test_a_raising_rank_ends_the_job(mode):
    start = time.monotonic()
    run = _launch(2, [str(MPI_DIR / "abort_on_error.py"), mode], timeout=60, use_mpi4py=False)
    took = time.monotonic() - start
    assert run.returncode != 0
    assert "rank 1 fails on purpose" in run.stderr
    assert took < 30, f"the job took {took:.0f} s to end"
