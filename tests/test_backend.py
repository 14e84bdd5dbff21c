"""Backend selection, clear errors, seeded draws identical everywhere, conversions."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B

from helpers import assert_on_active_backend

CPU_BACKENDS = [
    b for b in ("numpy", "array_api_strict", "torch", "jax") if b in xn.available_backends()
]


def test_get_backend_reports_name_namespace_device(backend):
    b = xn.get_backend()
    assert b.name in B.BACKENDS and b.xp is backend.xp and b.device == backend.device
    assert b.name in repr(b)


def test_set_and_use_backend_restore():
    before = xn.get_backend()
    with xn.use_backend("numpy") as b:
        assert b.name == "numpy" and xn.get_backend().name == "numpy"
        assert_on_active_backend(xn.Tensor([1.0]))
    assert xn.get_backend() == before


def test_unknown_backend_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown backend 'tensorflow'.*numpy, cupy, torch, jax"):
        xn.set_backend("tensorflow")


def test_available_backends_here():
    avail = xn.available_backends()
    assert "numpy" in avail and "array_api_strict" in avail
    assert set(avail) <= set(B.BACKENDS)


def _cupy_usable() -> bool:
    return "cupy" in xn.available_backends()


@pytest.mark.skipif(_cupy_usable(), reason="a CUDA device is present: cupy works here")
def test_cupy_without_gpu_is_a_clear_error():
    before = xn.get_backend()
    with pytest.raises(xn.BackendError, match=r"xpnet\[cuda12\]|CUDA device"):
        xn.set_backend("cupy")
    assert xn.get_backend() == before
    assert xn.prefer_gpu() is False
    assert xn.get_backend() == before
    with pytest.raises(xn.BackendError, match=r"xpnet\[cuda12\]|CUDA device"):
        xn.require_gpu()


@pytest.mark.skipif(_cupy_usable(), reason="a CUDA device is present: cupy works here")
def test_env_var_cupy_without_gpu_fails_clearly_in_a_fresh_process():
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "XPNET_BACKEND": "cupy", "PYTHONPATH": src}
    env.pop("XPNET_DEVICE", None)
    proc = subprocess.run(
        [sys.executable, "-c", "import xpnet as xn; xn.Tensor([1.0])"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "BackendError" in proc.stderr
    assert "xpnet[cuda12]" in proc.stderr or "CUDA device" in proc.stderr


def test_cupy_installed_but_no_device_says_so(monkeypatch):
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=None))
    monkeypatch.setattr(B.select, "_import", lambda name: fake)
    monkeypatch.setattr(B.select, "_cupy_device_count", lambda cp: 0)
    with pytest.raises(xn.BackendError, match="found no CUDA device"):
        B.select._load("cupy", None)


def test_missing_library_says_what_to_install(monkeypatch):
    def fail(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(B.select.importlib, "import_module", fail)
    with pytest.raises(xn.BackendError, match=r'pip install "xpnet\[jax\]"'):
        B.select._import("jax")


def test_numpy_backend_rejects_gpu_device():
    with pytest.raises(xn.BackendError, match="'cpu' only"):
        xn.set_backend("numpy", device="cuda:0")


def test_floatx():
    assert xn.floatx() == "float32"
    xn.set_floatx("float64")
    assert xn.Tensor([1.0]).dtype == B.dtype("float64")
    assert xn.Parameter([1.0]).dtype == B.dtype("float64")
    with pytest.raises(ValueError, match="floatx must be one of"):
        xn.set_floatx("float8")


def test_to_numpy_from_every_backend():
    for name in CPU_BACKENDS:
        with xn.use_backend(name):
            arr = B.asarray(np.arange(4.0))
            out = xn.to_numpy(arr)
            assert isinstance(out, np.ndarray)
            np.testing.assert_array_equal(out, np.arange(4.0))
    with xn.use_backend("array_api_strict", device="device1"):
        np.testing.assert_array_equal(xn.to_numpy(xn.Tensor([1.0, 2.0])), [1.0, 2.0])


def test_asarray_moves_between_backends():
    src = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    for name in CPU_BACKENDS:
        with xn.use_backend(name):
            moved = B.asarray(src)
            assert_on_active_backend(moved)
            for other in CPU_BACKENDS:
                with xn.use_backend(other):
                    again = B.asarray(moved)
                    assert_on_active_backend(again)
                    np.testing.assert_array_equal(xn.to_numpy(again), src)


def test_same_seed_same_initial_weights_on_every_backend():
    draws = {}
    for name in CPU_BACKENDS + (["cupy"] if _cupy_usable() else []):
        with xn.use_backend(name):
            xn.set_seed(1234)
            arrays = [
                B.random_normal((7, 5), 0.0, 0.05),
                B.random_uniform((3, 4), -0.5, 0.5),
                B.truncated_normal((64,), 0.0, 1.0),
            ]
            draws[name] = [xn.to_numpy(a) for a in arrays] + [B.permutation(10)]
            for a in arrays:
                assert_on_active_backend(a)
                assert a.dtype == B.dtype("float32")
    ref = draws["numpy"]
    for name, arrays in draws.items():
        for a, r in zip(arrays, ref):
            np.testing.assert_array_equal(a, r, err_msg=f"{name} drew different values")
    assert np.abs(ref[2]).max() <= 2.0  # truncated at two standard deviations


def test_seed_makes_draws_repeatable_and_none_reseeds():
    xn.set_seed(7)
    a = xn.to_numpy(B.random_normal((4,)))
    m1 = xn.to_numpy(B.bernoulli((1000,), 0.3))
    xn.set_seed(7)
    np.testing.assert_array_equal(a, xn.to_numpy(B.random_normal((4,))))
    np.testing.assert_array_equal(m1, xn.to_numpy(B.bernoulli((1000,), 0.3)))
    xn.set_seed(None)
    assert not np.array_equal(a, xn.to_numpy(B.random_normal((4,))))
    with pytest.raises(ValueError, match="non-negative int"):
        xn.set_seed(-1)


def test_bernoulli_mask_on_backend_with_right_rate():
    mask = B.bernoulli((200, 100), 0.8)
    assert_on_active_backend(mask)
    assert mask.dtype == B.dtype("float32")
    m = xn.to_numpy(mask)
    assert set(np.unique(m)) <= {0.0, 1.0}
    assert abs(m.mean() - 0.8) < 0.01  # 20,000 draws: 6 standard errors


def test_mixing_backends_is_a_clear_error():
    with xn.use_backend("numpy"):
        a = xn.Tensor([1.0, 2.0])
    with xn.use_backend("array_api_strict"):
        b = xn.Tensor([1.0, 2.0])
    with pytest.raises(
        xn.MixedBackendError, match=r"different backends in Add: numpy .* array_api_strict"
    ):
        a + b
    if "torch" in CPU_BACKENDS:
        with xn.use_backend("torch"):
            c = xn.Tensor([1.0, 2.0])
        with pytest.raises(xn.MixedBackendError, match="numpy.*torch"):
            a * c


def test_mixing_devices_is_a_clear_error():
    with xn.use_backend("array_api_strict"):
        a = xn.Tensor([1.0, 2.0], requires_grad=True)
    with xn.use_backend("array_api_strict", device="device1"):
        b = xn.Tensor([1.0, 2.0])
    with pytest.raises(xn.MixedBackendError, match="different devices in Mul.*CPU_DEVICE.*device1"):
        a * b


def test_strict_non_default_device_end_to_end():
    with xn.use_backend("array_api_strict", device="device1"):
        w = xn.Parameter(B.random_normal((3, 2)))
        x = xn.Tensor(np.ones((4, 3)))
        loss = (x @ w).relu().logsumexp(axis=1).mean()
        loss.backward()
        assert_on_active_backend(loss)
        assert_on_active_backend(w.grad)
        assert str(w.grad.device) == str(B.device())


def test_row_major_copies_strided_views_and_keeps_values():
    host = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = B.asarray(host)
    xp = xn.get_backend().xp
    view = xp.permute_dims(x, (2, 1, 0))
    out = B.row_major(view)
    assert_on_active_backend(out)
    np.testing.assert_array_equal(xn.to_numpy(out), host.transpose(2, 1, 0))
    name = xn.get_backend().name
    if name in ("numpy", "cupy"):
        assert out.flags.c_contiguous
    elif name.startswith("torch"):
        assert out.is_contiguous()
    if name in ("numpy", "cupy") or name.startswith("torch"):
        assert B.row_major(out) is out  # already row-major: no copy


@pytest.mark.parametrize(
    "fn, args, expected",
    [
        (B.multiply_into, ("a", "b"), lambda a, b: a * b),
        (B.multiply_into, ("a", 0.25), lambda a, b: a * b),
        (B.divide_into, ("a", "b"), lambda a, b: a / b),
        (B.sqrt_into, ("b",), np.sqrt),
    ],
)
def test_into_helpers_write_into_scratch_where_the_backend_updates_in_place(fn, args, expected):
    rng = np.random.default_rng(0)
    host = {"a": rng.standard_normal((3, 4)).astype(np.float32)}
    host["b"] = rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    arrays = {k: B.asarray(v) for k, v in host.items()}
    out = B.asarray(np.full((3, 4), 7.0, dtype=np.float32))
    got = fn(out, *(arrays.get(a, a) if isinstance(a, str) else a for a in args))
    want = expected(*(host.get(a, a) if isinstance(a, str) else a for a in args))
    assert_on_active_backend(got)
    np.testing.assert_allclose(xn.to_numpy(got), want, rtol=1e-6)
    assert (got is out) == B.capabilities(xn.get_backend().name).inplace
    assert xn.to_numpy(got).dtype == np.float32


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_backward_keeps_the_gradient_where_the_output_is_positive(dtype):
    if dtype == "float64" and not B.has_float64(B.namespace(B.asarray(np.zeros(1)))):
        pytest.skip("this backend holds no float64 (JAX without x64)")
    out = B.asarray(np.array([[0.0, 2.0, -1.0], [3.0, 0.0, 1e-30]], np.float32))
    g = B.asarray(np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, np.inf]]), dtype=dtype)
    got = B.relu_backward(out, g)
    assert_on_active_backend(got)
    assert xn.to_numpy(got).dtype == np.dtype(dtype)  # the gradient's dtype, not the mask's
    np.testing.assert_array_equal(xn.to_numpy(got), [[0.0, -2.0, 0.0], [-4.0, 0.0, np.inf]])
    row = B.relu_backward(out, B.asarray(np.ones(3, np.float32)))  # broadcast gradient
    np.testing.assert_array_equal(xn.to_numpy(row), [[0, 1, 0], [1, 0, 1]])


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (-1, True), ((0, 1), False)])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_reduce_sum_and_max_match_the_namespace(axis, keepdims, dtype):
    host = np.arange(24).reshape(2, 3, 4).astype(dtype) - 7
    x = B.asarray(host, dtype=dtype)
    xp = B.namespace(x)
    for ours, theirs, ref in (
        (B.reduce_sum, xp.sum, np.sum),
        (B.reduce_max, xp.max, np.max),
    ):
        got = ours(x, axis=axis, keepdims=keepdims)
        want = theirs(x, axis=axis, keepdims=keepdims)
        assert got.dtype == want.dtype and tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(xn.to_numpy(got), ref(host, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("shape", [(-1,), (4, 6), (2, -1, 3)])
def test_reshape_matches_the_namespace(shape):
    host = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = B.asarray(host)
    got = B.reshape(x, shape)
    assert_on_active_backend(got)
    assert tuple(got.shape) == tuple(B.namespace(x).reshape(x, shape).shape)
    np.testing.assert_array_equal(xn.to_numpy(got), host.reshape(shape))
    with pytest.raises((ValueError, RuntimeError, TypeError)):
        B.reshape(x, (5, 5))  # 24 elements do not fill 25


def test_matmul_into_and_reduce_sum_out_write_only_a_matching_buffer():
    rng = np.random.default_rng(0)
    a = B.asarray(rng.standard_normal((4, 3)).astype(np.float32))
    b = B.asarray(rng.standard_normal((3, 5)).astype(np.float32))
    want = xn.to_numpy(a @ b)
    good = B.asarray(np.zeros((4, 5), np.float32))
    got = B.matmul_into(good, a, b)
    np.testing.assert_array_equal(xn.to_numpy(got), want)
    assert (got is good) == B.can_update_in_place(good)
    for other in (None, B.asarray(np.zeros((5, 4), np.float32)), np.zeros((4, 5))):
        got = B.matmul_into(other, a, b)  # absent, wrong shape, wrong dtype: a new array
        assert got is not other
        np.testing.assert_array_equal(xn.to_numpy(got), want)
    total = B.asarray(np.zeros(5, np.float32))
    got = B.reduce_sum(b, axis=0, out=total)
    np.testing.assert_array_equal(xn.to_numpy(got), xn.to_numpy(b).sum(axis=0))
    assert (got is total) == B.can_update_in_place(total)
    wrong = B.asarray(np.zeros(3, np.float32))
    got = B.reduce_sum(b, axis=0, out=wrong)
    assert got is not wrong and tuple(got.shape) == (5,)


def test_ones_like_keeps_shape_dtype_and_backend():
    for host in (np.zeros((2, 3), np.float32), np.zeros((), np.float32)):
        x = B.asarray(host)
        got = B.ones_like(x)
        assert_on_active_backend(got)
        assert tuple(got.shape) == host.shape and got.dtype == x.dtype
        np.testing.assert_array_equal(xn.to_numpy(got), np.ones_like(host))
    assert B.ones_like(np.float32(2.0)) == 1.0  # a NumPy scalar (a full NumPy reduction)


def test_into_helpers_fall_back_to_new_arrays_on_a_shape_or_dtype_mismatch():
    out = np.zeros((3, 4), dtype=np.float32)
    row = np.ones((4,), dtype=np.float32)
    wide = np.ones((3, 4), dtype=np.float64)
    assert B.multiply_into(out, out, row) is not out  # broadcasting: not out's shape
    assert B.multiply_into(out, wide, 2.0).dtype == np.float64  # float64 stays float64
    assert B.multiply_into(None, row, 2.0) is not None  # no scratch: a new array
    assert not out.any()
