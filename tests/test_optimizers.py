"""Optimizers: a table of optimizers x configurations checked against Keras 3's formulas.

The reference is tests/optim_reference.py: Keras's update rules and step loop
written out in float64 NumPy. tests/reference/ compares with torch.optim.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet.optimizers import schedules

from helpers import assert_on_active_backend
from optim_reference import (
    KerasReference,
    LeastSquares,
    Logistic,
    max_norm,
    non_neg,
    relative_error,
)


@dataclasses.dataclass
class OptCase:
    name: str  # registered name
    kwargs: dict
    label: str = ""

    @property
    def id(self) -> str:
        return self.name + (f"-{self.label}" if self.label else "")

    def make(self, **extra) -> xn.optimizers.Optimizer:
        return xn.optimizers.get({"class_name": self.name, "config": {**self.kwargs, **extra}})


OPTIMIZER_CASES = [
    OptCase("sgd", {"learning_rate": 0.05}),
    OptCase("sgd", {"learning_rate": 0.02, "momentum": 0.9}, "momentum"),
    OptCase("sgd", {"learning_rate": 0.02, "momentum": 0.9, "nesterov": True}, "nesterov"),
    OptCase("rmsprop", {"learning_rate": 0.01}),
    OptCase("rmsprop", {"learning_rate": 0.01, "momentum": 0.5}, "momentum"),
    OptCase("rmsprop", {"learning_rate": 0.01, "rho": 0.8, "centered": True}, "centered"),
    OptCase("adam", {"learning_rate": 0.05}),
    OptCase("adam", {"learning_rate": 0.05, "beta_2": 0.9, "amsgrad": True}, "amsgrad"),
    OptCase("adamw", {"learning_rate": 0.05, "weight_decay": 0.1}),
    OptCase("adagrad", {"learning_rate": 0.1}),
    OptCase("adadelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-4}),
    OptCase("adamax", {"learning_rate": 0.05}),
    OptCase("nadam", {"learning_rate": 0.05}),
    OptCase("lion", {"learning_rate": 0.01}),
    OptCase("lamb", {"learning_rate": 0.05}),
    OptCase("adafactor", {"learning_rate": 0.05}),
    OptCase(
        "adafactor", {"learning_rate": 0.1, "beta_2_decay": -0.5, "clip_threshold": 0.5}, "clip"
    ),
    OptCase("ftrl", {"learning_rate": 0.1}),
    OptCase(
        "ftrl",
        {
            "learning_rate": 0.1,
            "l1_regularization_strength": 0.01,
            "l2_regularization_strength": 0.02,
            "beta": 0.1,
            "l2_shrinkage_regularization_strength": 0.01,
            "learning_rate_power": -0.7,
        },
        "regularized",
    ),
    # a large epsilon makes its placement (inside or outside the square root) visible
    OptCase("rmsprop", {"learning_rate": 0.01, "epsilon": 0.05}, "epsilon"),
    OptCase("adam", {"learning_rate": 0.05, "epsilon": 0.05}, "epsilon"),
    OptCase("adagrad", {"learning_rate": 0.1, "epsilon": 0.05}, "epsilon"),
    OptCase("adamax", {"learning_rate": 0.05, "epsilon": 0.05}, "epsilon"),
    OptCase("nadam", {"learning_rate": 0.05, "epsilon": 0.05}, "epsilon"),
    # the textbook (PyTorch) placement, with the same visible epsilon
    *[
        OptCase(name, {**kw, "epsilon": 0.05, "epsilon_placement": "textbook"}, "textbook")
        for name, kw in [
            ("rmsprop", {"learning_rate": 0.01}),
            ("adam", {"learning_rate": 0.05}),
            ("adamax", {"learning_rate": 0.05}),
            ("nadam", {"learning_rate": 0.05}),
        ]
    ],
    OptCase(
        "rmsprop",
        {"learning_rate": 0.01, "centered": True, "momentum": 0.5, "epsilon_placement": "textbook"},
        "textbook-centered",
    ),
    OptCase(
        "adam",
        {"learning_rate": 0.05, "amsgrad": True, "epsilon": 0.05, "epsilon_placement": "textbook"},
        "textbook-amsgrad",
    ),
]
CASE_IDS = [c.id for c in OPTIMIZER_CASES]


# The base loop's options, each a row: (label, optimizer kwargs, reference kwargs, constraints).
def _constraints_xpnet():
    return [xn.constraints.MaxNorm(1.0, axis=0), xn.constraints.NonNeg()]


BASE_CONFIGS = {
    "plain": ({}, {}, False),
    "clipnorm": ({"clipnorm": 0.3}, {"clipnorm": 0.3}, False),
    "clipvalue": ({"clipvalue": 0.1}, {"clipvalue": 0.1}, False),
    "global_clipnorm": ({"global_clipnorm": 0.4}, {"global_clipnorm": 0.4}, False),
    "weight_decay": ({"weight_decay": 0.2}, {"weight_decay": 0.2}, False),
    "constraints": ({}, {}, True),
    "schedule": ("schedule", "schedule", False),
}

STEPS = 20


def _params(init):
    return [xn.Parameter(a, name=n) for a, n in zip(init, ("kernel", "bias"))]


def _run(opt, problem, params, steps, record=True):
    out = []
    for _ in range(steps):
        opt.zero_grad(params)
        problem.loss(*params).backward()
        opt.step(params)
        if record:
            out.append([xn.to_numpy(p).copy() for p in params])
    return out


def _config_kwargs(case: OptCase, config: str):
    ours, ref, constrained = BASE_CONFIGS[config]
    if ours == "schedule":
        lr = case.kwargs["learning_rate"]
        sched = schedules.ExponentialDecay(lr, decay_steps=5, decay_rate=0.5)
        ours, ref = {"learning_rate": sched}, {"learning_rate": sched}
    return ours, ref, constrained


# --------------------------------------------------------------------------- trajectories


@pytest.mark.parametrize("config", list(BASE_CONFIGS))
@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=CASE_IDS)
def test_trajectory_matches_keras_formula(case, config):
    ours_kw, ref_kw, constrained = _config_kwargs(case, config)
    problem = LeastSquares().bind(xn)
    params = _params(problem.init)
    if constrained:
        for p, c in zip(params, _constraints_xpnet()):
            p.constraint = c
    opt = case.make(**ours_kw)
    got = _run(opt, problem, params, STEPS)

    ref = KerasReference(case.name, **{**case.kwargs, **ref_kw})
    ws = [a.copy() for a in problem.init]
    constraints = [lambda w: max_norm(w, 1.0, 0), non_neg] if constrained else None
    worst = 0.0
    for step in range(STEPS):
        ws = ref.step(ws, problem.grads(*ws), constraints)
        for ours, theirs in zip(got[step], ws):
            worst = max(worst, relative_error(ours, theirs))
    # float32 (6e-8 per rounding) against float64 over 20 steps: most rows agree to about
    # 1e-6; centered RMSprop, whose v - a**2 cancels, reaches about 3e-6.
    assert worst < 1e-5, f"{case.id}/{config}: relative error {worst:.2e} vs Keras formula"
    assert opt.iterations == STEPS


@pytest.mark.parametrize("problem_cls", [LeastSquares, Logistic], ids=["lstsq", "logistic"])
@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=CASE_IDS)
def test_lowers_the_loss(case, problem_cls):
    problem = problem_cls().bind(xn)
    params = _params(problem.init)
    opt = case.make()
    first = float(problem.loss(*params).item())
    _run(opt, problem, params, 40, record=False)
    last = float(problem.loss(*params).item())
    assert math.isfinite(last) and last < 0.9 * first, f"{case.id}: loss {first} -> {last}"


@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=CASE_IDS)
def test_float32_end_to_end(case):
    problem = LeastSquares().bind(xn)
    params = _params(problem.init)
    opt = case.make(weight_decay=0.01, clipnorm=1.0)
    _run(opt, problem, params, 3, record=False)
    for p in params:
        assert p.dtype == B.dtype("float32"), f"{case.id}: parameter became {p.dtype}"
        assert_on_active_backend(p.data)
        assert p.grad.dtype == B.dtype("float32")
    for i, p in enumerate(params):
        for name, arr in opt.slots(p).items():
            assert arr.dtype == B.dtype("float32"), f"{case.id}: state {i}/{name} is {arr.dtype}"
            assert_on_active_backend(arr)
    for key, value in opt.get_state().items():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32, f"{case.id}: saved state {key} is {value.dtype}"


@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=CASE_IDS)
def test_inplace_and_rebinding_paths_agree(case):
    problem = LeastSquares().bind(xn)
    runs = []
    for inplace in (True, False):
        params = _params(problem.init)
        opt = case.make(weight_decay=0.05)
        opt.inplace = inplace
        runs.append(_run(opt, problem, params, 5))
    for a, b in zip(*runs):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------- state


@pytest.mark.parametrize("config", ["plain", "schedule"])
@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=CASE_IDS)
def test_state_round_trip_resumes_identically(case, config):
    ours_kw, _, _ = _config_kwargs(case, config)
    problem = LeastSquares().bind(xn)
    params = _params(problem.init)
    opt = case.make(**ours_kw)
    _run(opt, problem, params, 4, record=False)
    state = opt.get_state()
    weights = [xn.to_numpy(p).copy() for p in params]
    for key, value in state.items():  # NumPy arrays and Python numbers, ready for .npz/JSON
        assert isinstance(value, (np.ndarray, int, float)), (key, type(value))
    expected = _run(opt, problem, params, 5)

    fresh_params = _params(weights)
    config_json = json.dumps(xn.optimizers.serialize(opt))
    fresh = xn.optimizers.deserialize(json.loads(config_json))
    fresh.set_state(
        {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}, fresh_params
    )
    assert fresh.iterations == 4
    resumed = _run(fresh, problem, fresh_params, 5)
    for a, b in zip(expected, resumed):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_state_keys_are_stable_and_checked():
    w, b = xn.Parameter(np.ones((2, 3))), xn.Parameter(np.zeros(3))
    opt = xn.optimizers.Adam(amsgrad=True)
    opt.build([w, b])
    assert sorted(opt.get_state()) == sorted(
        ["iterations", "learning_rate"]
        + [f"{i}/{s}" for i in (0, 1) for s in ("momentum", "velocity", "velocity_hat")]
    )
    state = opt.get_state()
    with pytest.raises(ValueError, match="keeps"):
        xn.optimizers.SGD(momentum=0.9).set_state(state, [w, b])
    with pytest.raises(ValueError, match="only 1 parameters were given"):
        xn.optimizers.Adam(amsgrad=True).set_state(state, [w])
    bad = dict(state, **{"1/momentum": np.zeros((4,), np.float32)})
    with pytest.raises(ValueError, match=r"1/momentum has shape \(4,\)"):
        xn.optimizers.Adam(amsgrad=True).set_state(bad, [w, b])


def test_nadam_saves_its_momentum_product():
    w = xn.Parameter([1.0])
    opt = xn.optimizers.Nadam()
    for _ in range(3):
        opt.apply([xn.backend.asarray([0.5])], [w])
    expected = math.prod(0.9 * (1 - 0.5 * 0.96**t) for t in (1, 2, 3))
    assert opt.get_state()["u_product"] == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- the base loop


def _sgd_step(**kwargs):
    """Two parameters, one SGD(lr=1) step with fixed gradients; returns the moves."""
    ws = [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, -0.75])]
    gs = [np.array([[3.0, -4.0], [0.0, 0.0]]), np.array([1.0, 0.5])]
    params = [xn.Parameter(w) for w in ws]
    opt = xn.optimizers.SGD(learning_rate=1.0, **kwargs)
    opt.apply([xn.backend.asarray(g, dtype="float32") for g in gs], params)
    return ws, gs, [xn.to_numpy(p) for p in params]


def test_clipnorm_clips_each_gradient_to_its_own_norm():
    ws, gs, new = _sgd_step(clipnorm=2.0)
    np.testing.assert_allclose(ws[0] - new[0], gs[0] * 2.0 / 5.0, rtol=1e-6)  # norm 5 -> 2
    np.testing.assert_allclose(ws[1] - new[1], gs[1], rtol=1e-6)  # norm 1.118 < 2: kept


def test_global_clipnorm_scales_all_gradients_together():
    ws, gs, new = _sgd_step(global_clipnorm=2.0)
    norm = math.sqrt(25.0 + 1.25)
    for w, g, n in zip(ws, gs, new):
        np.testing.assert_allclose(w - n, g * 2.0 / norm, rtol=1e-6)


def test_clipvalue_clips_elements():
    ws, gs, new = _sgd_step(clipvalue=0.75)
    for w, g, n in zip(ws, gs, new):
        np.testing.assert_allclose(w - n, np.clip(g, -0.75, 0.75), rtol=1e-6)


def test_weight_decay_is_decoupled_and_uses_the_current_rate():
    ws, gs, new = _sgd_step(weight_decay=0.1)
    for w, g, n in zip(ws, gs, new):
        np.testing.assert_allclose(n, w - w * 0.1 * 1.0 - g, rtol=1e-6)


def test_exclude_from_weight_decay():
    w, b = xn.Parameter([1.0], name="kernel"), xn.Parameter([1.0], name="bias")
    opt = xn.optimizers.SGD(learning_rate=0.5, weight_decay=0.2)
    opt.exclude_from_weight_decay(var_names=["bias"])
    zero = xn.backend.asarray([0.0])
    opt.apply([zero, zero], [w, b])
    assert xn.to_numpy(w).tolist() == pytest.approx([0.9])
    assert xn.to_numpy(b).tolist() == [1.0]
    opt.exclude_from_weight_decay(var_list=[w])
    opt.apply([zero, zero], [w, b])
    assert xn.to_numpy(w).tolist() == pytest.approx([0.9])
    assert xn.to_numpy(b).tolist() == pytest.approx([0.9])


def test_constraint_applied_after_update():
    w = xn.Parameter([0.5, -0.5, 2.0])
    w.constraint = xn.constraints.NonNeg()
    opt = xn.optimizers.SGD(learning_rate=1.0)
    opt.apply([xn.backend.asarray([1.0, 1.0, 1.0])], [w])
    assert xn.to_numpy(w).tolist() == [0.0, 0.0, 1.0]


def test_schedule_is_evaluated_at_the_step_count():
    sched = schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5, 0.25])
    opt = xn.optimizers.SGD(learning_rate=sched)
    w = xn.Parameter([0.0])
    moves = []
    for _ in range(4):
        assert opt.current_learning_rate == sched(opt.iterations)
        before = float(w.item())
        opt.apply([xn.backend.asarray([1.0])], [w])
        moves.append(before - float(w.item()))
    assert moves == [1.0, 1.0, 0.5, 0.25]
    assert opt.learning_rate is sched


def test_learning_rate_can_be_assigned():
    opt = xn.optimizers.Adam()
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and opt.current_learning_rate == 0.5
    assert opt.get_config()["learning_rate"] == 0.5
    with pytest.raises(ValueError, match=r"Adam: expected a finite learning rate >= 0"):
        opt.learning_rate = -1.0
    scheduled = xn.optimizers.SGD(schedules.ExponentialDecay(0.1, 10, 0.9))
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        scheduled.learning_rate = 0.01


def test_missing_gradients_are_skipped():
    w, b = xn.Parameter([1.0]), xn.Parameter([2.0])
    opt = xn.optimizers.SGD(learning_rate=0.5)
    opt.apply([None, None], [w, b])
    assert opt.iterations == 0
    opt.apply_gradients([(xn.Tensor([1.0]), w), (None, b)])
    assert opt.iterations == 1
    assert xn.to_numpy(w).tolist() == [0.5] and xn.to_numpy(b).tolist() == [2.0]


def test_step_and_zero_grad_use_parameters_or_a_layer():
    layer = xn.layers.Dense(2)
    x = xn.Tensor(np.ones((3, 4)), dtype="float32")
    layer(x).sum().backward()
    before = layer.get_weights()
    opt = xn.optimizers.SGD(learning_rate=0.1)
    opt.step(layer)
    after = layer.get_weights()
    np.testing.assert_allclose(before[1] - after[1], 0.1 * 3.0, rtol=1e-6)
    opt.zero_grad(layer)
    assert all(p.grad is None for p in layer.weights)


def test_gradient_checks():
    w = xn.Parameter(np.ones((2, 3)), name="kernel")
    opt = xn.optimizers.Adam()
    with pytest.raises(ValueError, match=r"kernel has shape \(3, 2\).*\(2, 3\)"):
        opt.apply([xn.backend.asarray(np.ones((3, 2)))], [w])
    with pytest.raises(ValueError, match="one gradient per parameter"):
        opt.apply([], [w])
    g64 = xn.backend.asarray(np.ones((2, 3)), dtype="float64") if B.has_float64(B.xp()) else None
    if g64 is not None:
        opt.apply([g64], [w])
        assert w.dtype == B.dtype("float32")


def test_updates_never_touch_arrays_the_optimizer_does_not_own():
    src = xn.backend.asarray(np.ones((3, 2)), dtype="float32")
    keep = np.array(xn.to_numpy(src), copy=True)
    p = xn.Parameter(src)
    opt = xn.optimizers.Adam(learning_rate=0.1)
    for _ in range(3):
        opt.apply([xn.backend.asarray(np.full((3, 2), 0.5), dtype="float32")], [p])
    np.testing.assert_array_equal(xn.to_numpy(src), keep)
    assert not np.array_equal(xn.to_numpy(p), keep)
    layer = xn.layers.Dense(2)
    layer.build((None, 3))
    g = xn.backend.asarray(np.ones((3, 2)), dtype="float32")
    opt.apply([g], [layer.kernel])  # the optimizer now owns the kernel's array
    got = layer.get_weights()
    kept = np.array(got[0], copy=True)
    opt.apply([g], [layer.kernel])
    np.testing.assert_array_equal(got[0], kept)  # get_weights returned a copy
    assert not np.array_equal(layer.get_weights()[0], kept)


def test_fast_path_can_update_in_place_where_the_backend_does():
    p = xn.Parameter(np.ones((4, 4)))
    opt = xn.optimizers.Adam()
    g = xn.backend.asarray(np.ones((4, 4)), dtype="float32")
    opt.apply([g], [p])
    first, state = p.data, opt.slots(p).momentum.data
    opt.apply([g], [p])
    inplace = B.capabilities(xn.get_backend().name).inplace  # NumPy and CuPy
    assert (p.data is first) == inplace
    assert (opt.slots(p).momentum.data is state) == inplace
    opt.inplace = False
    first, state = p.data, opt.slots(p).momentum.data
    opt.apply([g], [p])
    assert p.data is not first and opt.slots(p).momentum.data is not state


FUSED_CASES = [
    c for c in OPTIMIZER_CASES if xn.optimizers.get(c.name)._fusable()
]  # the elementwise ones: all but Lamb and Adafactor


def _inplace_backend() -> bool:
    return B.capabilities(xn.get_backend().name).inplace  # NumPy and CuPy


def _mixed_params(seed=0, shapes=((5, 3), (3,), (), (2, 2, 2))):
    rng = np.random.default_rng(seed)
    return [xn.Parameter(rng.standard_normal(s).astype(np.float32)) for s in shapes]


def _fused_run(case, fuse, steps=6, hook=None, **extra):
    params = _mixed_params()
    opt = case.make(**extra)
    opt.fuse = fuse
    rng = np.random.default_rng(1)
    for step in range(steps):
        grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
        if hook is not None:
            hook(step, params, opt)
        opt.apply([xn.backend.asarray(g) for g in grads], params)
    return params, opt


def _assert_same_runs(a, b, rtol=0.0, atol=0.0):
    """Bit for bit (by default), or to a tolerance where the two sum in another order."""
    (pa, oa), (pb, ob) = a, b
    for x, y in zip(pa, pb):
        np.testing.assert_allclose(xn.to_numpy(x), xn.to_numpy(y), rtol=rtol, atol=atol)
    sa, sb = oa.get_state(), ob.get_state()
    assert sa.keys() == sb.keys()
    for key in sa:
        np.testing.assert_allclose(sa[key], sb[key], rtol=rtol, atol=atol, err_msg=key)


# per-parameter norms (Lamb's trust ratio) and factored moments (Adafactor's row and column
# means) read whole parameters: these cannot run on the parameters laid end to end
NOT_ELEMENTWISE = {"lamb", "adafactor"}


def test_every_elementwise_optimizer_fuses():
    fused = {c.name for c in FUSED_CASES}
    everything = {c.name for c in OPTIMIZER_CASES}
    assert fused == everything - NOT_ELEMENTWISE, "an optimizer lost elementwise = True"
    for name in NOT_ELEMENTWISE:
        assert not xn.optimizers.get(name)._fusable()


_CLIPS = [{}, {"weight_decay": 0.1}, {"global_clipnorm": 0.5}, {"clipvalue": 0.3}]


@pytest.mark.parametrize("case", FUSED_CASES, ids=[c.id for c in FUSED_CASES])
def test_fused_step_gives_the_per_parameter_numbers(case):
    extra = _CLIPS[FUSED_CASES.index(case) % len(_CLIPS)]
    fused = _fused_run(case, True, **extra)
    # the same operations on the same values, so the same floats; but the global norm
    # is one sum over the flat gradient instead of a sum of per-parameter sums, which
    # rounds differently: a few float32 ulps after six steps (more, relatively, in
    # momenta that nearly cancel, hence the small absolute term)
    tol = (1e-6, 1e-9) if "global_clipnorm" in extra else (0.0, 0.0)
    if case.kwargs.get("learning_rate_power", -0.5) != -0.5:
        # Ftrl's n**p: on the 0-d parameter the per-parameter path computes with NumPy
        # float32 scalars, whose ** rounds differently from the array loop in about one
        # case in five (1 ulp); the fused path always takes the array loop
        tol = (1e-6, 0.0)
    _assert_same_runs(fused, _fused_run(case, False, **extra), *tol)
    params, opt = fused
    assert (opt._flat is not None) == _inplace_backend()  # the fused path ran
    if xn.get_backend().name == "numpy":  # every parameter and its state: views of buffers
        flat = opt._flat
        for p in params:
            assert np.shares_memory(p.data, flat.var.data)
            for name, arr in opt.slots(p).items():
                assert np.shares_memory(arr, flat.var.slots._vars[name].data)


class _Counting(np.ndarray):
    """A NumPy array that counts the array calls (ufuncs, operators, reductions, array
    functions such as copyto) made on it and on arrays made like it."""

    calls = 0

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        _Counting.calls += 1
        inputs = [a.view(np.ndarray) if isinstance(a, _Counting) else a for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(
                o.view(np.ndarray) if isinstance(o, _Counting) else o for o in out
            )
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result.view(_Counting) if isinstance(result, np.ndarray) else result

    def __array_function__(self, func, types, args, kwargs):
        _Counting.calls += 1
        plain = tuple(t for t in types if t is not _Counting) or (np.ndarray,)
        return super().__array_function__(func, plain, args, kwargs)


@pytest.mark.parametrize("case", FUSED_CASES, ids=[c.id for c in FUSED_CASES])
def test_fused_step_makes_as_many_array_calls_for_4_parameters_as_for_16(case):
    if xn.get_backend().name != "numpy":
        pytest.skip("counts NumPy's calls through an ndarray subclass")

    def calls_per_step(n_params):
        params = _mixed_params(shapes=[(5, 3), (3,), (2, 2, 2), (7,)] * (n_params // 4))
        for p in params:
            p.data = p.data.view(_Counting)
        opt = case.make(weight_decay=0.1, global_clipnorm=1.0)
        counts = []
        for _ in range(4):
            sinks = opt.gradient_sinks(params)  # as fit: gradients written in place
            for p in params:
                g = np.full(p.shape, 0.5, np.float32)
                if sinks is None:
                    p.grad = g.view(_Counting)
                else:
                    sinks[p][...] = g
                    p.grad = sinks[p]
            _Counting.calls = 0
            opt.step(params)
            counts.append(_Counting.calls)
            opt.zero_grad(params)
        return counts[-1]

    few, many = calls_per_step(4), calls_per_step(16)
    assert few == many, f"{case.id}: {few} array calls a step for 4 parameters, {many} for 16"
    assert few > 0  # the count sees the step's arrays


def test_fused_step_follows_weights_and_state_set_between_steps():
    case = OptCase("adam", {"learning_rate": 0.05, "amsgrad": True})

    def hook(step, params, opt):
        if step == 2:  # as set_weights does: new arrays in .data
            params[0].data = xn.backend.asarray(np.full((5, 3), 0.5, np.float32))
        if step == 3:
            opt.slots(params[1]).velocity.data = xn.backend.asarray(np.ones(3, np.float32))
        if step == 4:  # a state restored mid-training
            opt.set_state(opt.get_state(), params)

    _assert_same_runs(_fused_run(case, True, hook=hook), _fused_run(case, False, hook=hook))


def test_fused_step_honours_constraints_and_weight_decay_exclusions():
    def make(fuse):
        params = _mixed_params()
        params[0].constraint = xn.constraints.NonNeg()
        params[1].name = "bias"
        opt = xn.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
        opt.exclude_from_weight_decay(var_names=["bias"])
        opt.fuse = fuse
        for _ in range(4):
            opt.apply([xn.backend.asarray(np.ones(p.shape, np.float32)) for p in params], params)
        return params, opt

    fused, plain = make(True), make(False)
    _assert_same_runs(fused, plain)
    assert float(xn.to_numpy(fused[0][0]).min()) >= 0.0


def _fit_dense(fuse, monkeypatch=None, seen=None, opt_args=(), **fit):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((192, 12)).astype(np.float32)
    y = rng.integers(0, 4, 192)
    B.set_seed(2)
    model = xn.Sequential(
        [
            xn.Input(shape=(12,)),
            xn.layers.Dense(8, activation="relu"),
            xn.layers.Dense(6, activation="tanh"),  # its own activation node
            xn.layers.Dense(4),
        ]
    )
    opt = xn.optimizers.Adam(0.01, **dict(opt_args))
    opt.fuse = fuse
    if seen is not None:  # whether each step finds .grad in the flat gradient's views
        step = opt.step

        def spy(params):
            flat = opt._flat
            views = flat.grad_views if flat is not None else [None] * len(params)
            seen.append(flat is not None and all(p.grad is v for p, v in zip(params, views)))
            step(params)

        monkeypatch.setattr(opt, "step", spy)
    loss = xn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=opt, loss=loss)
    fit = {"epochs": 2, **fit}
    history = model.fit(x, y, batch_size=32, verbose=0, **fit)
    return model, history


@pytest.mark.parametrize(
    "shuffle, opt_args",
    [(False, ()), (True, ()), (False, (("clipnorm", 0.05), ("weight_decay", 0.1)))],
)
def test_fit_writes_gradients_into_the_fused_steps_buffer(monkeypatch, shuffle, opt_args):
    seen: list = []
    model, history = _fit_dense(True, monkeypatch, seen, opt_args, shuffle=shuffle)
    plain, plain_history = _fit_dense(False, opt_args=opt_args, shuffle=shuffle)
    for a, b in zip(model.get_weights(), plain.get_weights()):  # the same floats
        np.testing.assert_array_equal(a, b)
    assert history.history["loss"] == plain_history.history["loss"]
    # every Dense gradient (through the fused ReLU, tanh or no activation) was written
    # straight into the step's buffer by the engine, from the first step on
    if _inplace_backend():
        assert seen == [True] * 12
    else:  # no fused step; where steps are compiled (JAX) the spy runs only when traced
        assert seen and not any(seen)
    for p in model.trainable_weights:
        assert p.grad is None


def test_gradients_after_fit_are_fresh_arrays():
    # sinks are handed to fit's backward only: a custom loop afterwards gets new arrays
    model, _ = _fit_dense(True, epochs=1)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((32, 12)).astype(np.float32), rng.integers(0, 4, 32)
    loss = xn.losses.SparseCategoricalCrossentropy(from_logits=True)
    loss(y, model(x)).backward()
    flat = model.optimizer._flat
    if xn.get_backend().name == "numpy" and flat is not None:
        for p in model.trainable_weights:
            assert not np.shares_memory(xn.to_numpy(p.grad), flat.grad)


def test_sink_takes_the_first_contribution_and_adds_the_second():
    # a weight used twice: its gradient is the sum of both uses, in the sink
    w = xn.Parameter(np.eye(3, dtype=np.float32) * 2.0)
    sink = xn.backend.asarray(np.full((3, 3), np.nan, np.float32))
    x = xn.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    out = xn.ops.linear(xn.ops.linear(x, w), w)
    out.sum().backward(sinks={w: sink})
    w2 = xn.Parameter(np.eye(3, dtype=np.float32) * 2.0)
    xn.ops.linear(xn.ops.linear(x, w2), w2).sum().backward()
    np.testing.assert_array_equal(xn.to_numpy(w.grad), xn.to_numpy(w2.grad))
    if B.can_update_in_place(sink):
        assert w.grad is sink  # the engine wrote (then added) into the caller's array
    else:
        assert not np.isnan(xn.to_numpy(w.grad)).any()


def test_fused_step_falls_back_where_it_does_not_apply():
    # mixed dtypes: one by one, without an error
    params = [xn.Parameter(np.ones(3, np.float32)), xn.Parameter(np.ones(3, np.float32))]
    params[1].data = xn.backend.asarray(np.ones(3), dtype="float64")
    opt = xn.optimizers.Adam(0.1)
    opt.apply([xn.backend.asarray(np.ones(3), dtype=p.dtype) for p in params], params)
    assert opt._flat is None
    assert params[1].dtype == B.dtype("float64")

    class Clipped(xn.optimizers.Adam):  # overrides update_step without declaring it elementwise
        def update_step(self, grad, var, learning_rate):
            super().update_step(grad, var, learning_rate)

    assert xn.optimizers.Adam()._fusable() and not Clipped()._fusable()


# --------------------------------------------------------------------------- names, configs


KERAS_DEFAULTS = {
    "sgd": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, "name": "SGD"},
    "rmsprop": {
        "learning_rate": 0.001,
        "rho": 0.9,
        "momentum": 0.0,
        "epsilon": 1e-7,
        "centered": False,
        "name": "rmsprop",
    },
    "adam": {
        "learning_rate": 0.001,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "amsgrad": False,
        "name": "adam",
    },
    "adamw": {
        "learning_rate": 0.001,
        "weight_decay": 0.004,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "amsgrad": False,
        "name": "adamw",
    },
    "adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7, "name": "adadelta"},
    "adamax": {
        "learning_rate": 0.001,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "name": "adamax",
    },
    "nadam": {
        "learning_rate": 0.001,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "name": "nadam",
    },
    "lion": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.99, "name": "lion"},
    "lamb": {
        "learning_rate": 0.001,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "name": "lamb",
    },
    "adafactor": {
        "learning_rate": 0.001,
        "beta_2_decay": -0.8,
        "epsilon_1": 1e-30,
        "epsilon_2": 1e-3,
        "clip_threshold": 1.0,
        "relative_step": True,
        "name": "adafactor",
    },
    "ftrl": {
        "learning_rate": 0.001,
        "learning_rate_power": -0.5,
        "initial_accumulator_value": 0.1,
        "l1_regularization_strength": 0.0,
        "l2_regularization_strength": 0.0,
        "l2_shrinkage_regularization_strength": 0.0,
        "beta": 0.0,
        "name": "ftrl",
    },
}


@pytest.mark.parametrize("name", list(KERAS_DEFAULTS))
def test_get_by_name_gives_keras_defaults(name):
    opt = xn.optimizers.get(name)
    config = opt.get_config()
    for key, value in KERAS_DEFAULTS[name].items():
        assert config[key] == value, f"{name}.{key}: {config[key]!r} != Keras's {value!r}"
    assert xn.optimizers.get(opt) is opt
    assert type(xn.optimizers.get(type(opt))) is type(opt)


@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=CASE_IDS)
def test_config_round_trips_through_json(case):
    sched = schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2, warmup_steps=5)
    for opt in (case.make(clipnorm=1.0), case.make(learning_rate=sched)):
        text = json.dumps(xn.optimizers.serialize(opt))
        clone = xn.optimizers.deserialize(json.loads(text))
        assert type(clone) is type(opt)
        assert clone.get_config() == opt.get_config()


def test_optimizer_names_are_checked():
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adamm'.*adam, adamw"):
        xn.optimizers.get("adamm")
    with pytest.raises(ValueError, match="Cannot interpret optimizer identifier 3"):
        xn.optimizers.get(3)


BAD_ARGUMENTS = [
    (lambda: xn.optimizers.Adam(learning_rate=-0.1), "Adam", "learning_rate=-0.1", ">= 0"),
    (lambda: xn.optimizers.SGD(learning_rate=math.inf), "SGD", "learning_rate=inf", "finite"),
    (lambda: xn.optimizers.SGD(learning_rate="fast"), "SGD", "learning_rate='fast'", "finite"),
    (lambda: xn.optimizers.Adam(beta_1=1.0), "Adam", "beta_1=1.0", "[0, 1)"),
    (lambda: xn.optimizers.Adamax(beta_2=-0.1), "Adamax", "beta_2=-0.1", "[0, 1)"),
    (lambda: xn.optimizers.Nadam(beta_1=1.5), "Nadam", "beta_1=1.5", "[0, 1)"),
    (lambda: xn.optimizers.AdamW(beta_2=1.0), "AdamW", "beta_2=1.0", "[0, 1)"),
    (lambda: xn.optimizers.Lion(beta_1=0.0), "Lion", "beta_1=0.0", "(0, 1]"),
    (lambda: xn.optimizers.Lion(beta_2=1.0), "Lion", "beta_2=1.0", "[0, 1)"),
    (lambda: xn.optimizers.Adam(epsilon=0.0), "Adam", "epsilon=0.0", "positive"),
    (lambda: xn.optimizers.Lamb(beta_1=1.0), "Lamb", "beta_1=1.0", "[0, 1)"),
    (
        lambda: xn.optimizers.Adafactor(beta_2_decay=0.5),
        "Adafactor",
        "beta_2_decay=0.5",
        "negative",
    ),
    (
        lambda: xn.optimizers.Adafactor(clip_threshold=0),
        "Adafactor",
        "clip_threshold=0",
        "positive",
    ),
    (
        lambda: xn.optimizers.Ftrl(learning_rate_power=0.5),
        "Ftrl",
        "learning_rate_power=0.5",
        "<= 0",
    ),
    (
        lambda: xn.optimizers.Ftrl(l1_regularization_strength=-1.0),
        "Ftrl",
        "l1_regularization_strength=-1.0",
        ">= 0",
    ),
    (
        lambda: xn.optimizers.Adam(epsilon_placement="torch"),
        "Adam",
        "epsilon_placement='torch'",
        "'textbook'",
    ),
    (
        lambda: xn.optimizers.RMSprop(epsilon_placement=None),
        "RMSprop",
        "epsilon_placement=None",
        "'keras'",
    ),
    (lambda: xn.optimizers.RMSprop(epsilon=-1e-7), "RMSprop", "epsilon=-1e-07", "positive"),
    (lambda: xn.optimizers.Adagrad(epsilon=0), "Adagrad", "epsilon=0", "positive"),
    (lambda: xn.optimizers.RMSprop(rho=1.5), "RMSprop", "rho=1.5", "[0, 1]"),
    (lambda: xn.optimizers.Adadelta(rho=-0.1), "Adadelta", "rho=-0.1", "[0, 1]"),
    (lambda: xn.optimizers.SGD(momentum=-0.5), "SGD", "momentum=-0.5", "[0, 1]"),
    (lambda: xn.optimizers.RMSprop(momentum=2.0), "RMSprop", "momentum=2.0", "[0, 1]"),
    (
        lambda: xn.optimizers.Adagrad(initial_accumulator_value=-1.0),
        "Adagrad",
        "initial_accumulator_value=-1.0",
        ">= 0",
    ),
    (lambda: xn.optimizers.AdamW(weight_decay=None), "AdamW", "weight_decay=None", ">= 0"),
    (lambda: xn.optimizers.SGD(weight_decay=-1.0), "SGD", "weight_decay=-1.0", ">= 0"),
    (lambda: xn.optimizers.SGD(clipnorm=0.0), "SGD", "clipnorm=0.0", "positive"),
    (lambda: xn.optimizers.SGD(clipnorm=1.0, clipvalue=1.0), "SGD", "clipvalue=1.0", "at most"),
    (lambda: xn.optimizers.Adam(foo=1), "Adam", "['foo']", "not recognized"),
    (lambda: xn.optimizers.Adam(use_ema=True), "Adam", "use_ema", "does not implement"),
]


@pytest.mark.parametrize("make,owner,received,expected", BAD_ARGUMENTS)
def test_bad_arguments_are_named(make, owner, received, expected):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    for fragment in (owner, received, expected):
        assert fragment in message, f"{fragment!r} missing from: {message}"


def test_keras_only_arguments_at_defaults_are_accepted():
    opt = xn.optimizers.Adam(use_ema=False, loss_scale_factor=None)
    assert opt.get_config()["learning_rate"] == 0.001
    with pytest.warns(UserWarning, match="decay"):
        xn.optimizers.SGD(decay=0.1)


# --------------------------------------------------------------------------- meta


def test_every_optimizer_has_a_row():
    registered = set(xn.optimizers.names())
    assert registered == {c.name for c in OPTIMIZER_CASES}, "add OPTIMIZER_CASES rows"
    assert registered == set(KERAS_DEFAULTS), "add KERAS_DEFAULTS rows"
    owners = {owner.lower() for _, owner, *_ in BAD_ARGUMENTS}
    assert registered == owners, "add BAD_ARGUMENTS rows"


@pytest.mark.skipif(
    xn.get_backend().name != "numpy", reason="in-place updates and tracemalloc: NumPy only"
)
def test_adam_step_allocates_no_weight_sized_array_on_numpy():
    import tracemalloc

    rng = np.random.default_rng(0)
    w = xn.Parameter(rng.standard_normal((256, 256)).astype(np.float32))
    opt = xn.optimizers.Adam(1e-3)
    grad = rng.standard_normal((256, 256)).astype(np.float32)
    opt.apply([grad], [w])  # state and scratch are created on the first step
    before = xn.to_numpy(w).copy()
    tracemalloc.start()
    opt.apply([grad], [w])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < w.data.nbytes / 4, f"peak {peak} bytes for a {w.data.nbytes}-byte weight"
    assert not np.array_equal(xn.to_numpy(w), before)  # it did update


def test_textbook_epsilon_matters_for_tiny_gradients():
    """Gradients around 1e-6: Keras's epsilon hat and the textbook epsilon part ways."""
    grads = [xn.backend.asarray([1e-6, 1e-3])]
    steps = {}
    for placement in ("keras", "textbook"):
        w = xn.Parameter([0.0, 0.0])
        xn.optimizers.Adam(learning_rate=1.0, epsilon=1e-6, epsilon_placement=placement).apply(
            grads, [w]
        )
        steps[placement] = -xn.to_numpy(w).astype(np.float64)
    # step 1: m_hat = g, v_hat = g**2; textbook: g / (|g| + eps); Keras: eps is scaled by
    # sqrt(1 - beta_2) first, so the tiny gradient takes a larger step
    np.testing.assert_allclose(steps["textbook"], [0.5, 1e-3 / (1e-3 + 1e-6)], rtol=1e-5)
    sqrt_c2 = math.sqrt(1 - 0.999)
    keras = [g / (g + 1e-6 / sqrt_c2) for g in (1e-6, 1e-3)]
    np.testing.assert_allclose(steps["keras"], keras, rtol=1e-4)
