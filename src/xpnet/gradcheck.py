"""Numerical gradient checking, the debugging tool of every backprop course.

For each checked input θ, autograd's gradient dθ is compared with two-sided
differences (f(θ + ε) - f(θ - ε)) / 2ε, computed in float64, through

    relative error = ||dθ_approx - dθ||₂ / (||dθ_approx||₂ + ||dθ||₂)

Below about 1e-7 the gradient is right; around 1e-5 look closer; above 1e-3
there is almost surely a bug. ``fn`` must be deterministic: run dropout and
other random layers in inference mode while checking.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from xpnet import backend as B
from xpnet.backend import host_numpy as np
from xpnet.tensor import Parameter, Tensor, no_grad

__all__ = ["GradcheckError", "GradcheckResult", "gradcheck"]


#: Elements checked per input when ``max_checks`` is not given (None: all of them).
#: Test suites on backends with slow eager dispatch (JAX) set it to sample elements.
DEFAULT_MAX_CHECKS: int | None = None


class GradcheckError(AssertionError):
    """Autograd and numerical gradients disagree; the message names the input and element."""


@dataclasses.dataclass
class InputReport:
    """How one checked input fared."""

    name: str
    shape: tuple[int, ...]
    relative_error: float
    worst_index: tuple[int, ...] | None
    analytic: float
    numerical: float
    checked: int

    def describe(self) -> str:
        where = "" if self.worst_index is None else f" at element {list(self.worst_index)}"
        return (
            f"{self.name} (shape {self.shape}): relative error {self.relative_error:.3e}; "
            f"worst{where}: autograd {self.analytic:.8g} vs numerical {self.numerical:.8g}"
        )


@dataclasses.dataclass
class GradcheckResult:
    """Outcome of :func:`gradcheck`; truthy when every input passed."""

    passed: bool
    max_error: float
    tol: float
    reports: list[InputReport]

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = "passed" if self.passed else "FAILED"
        lines = [f"gradcheck {head}: max relative error {self.max_error:.3e} (tol {self.tol:g})"]
        lines += ["  " + r.describe() for r in self.reports]
        return "\n".join(lines)


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    params: Sequence[Parameter] | None = None,
    wrt: Sequence[int] | None = None,
    eps: float = 1e-6,
    tol: float = 1e-6,
    max_checks: int | None = None,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> GradcheckResult:
    """Check autograd's gradients of ``fn`` against two-sided differences in float64.

    Args:
        fn: called as ``fn(*tensors)``; returns a Tensor. A non-scalar output is
            reduced as ``sum(out * r)`` with a fixed random ``r``, so every
            output element is checked.
        *inputs: arrays of any backend, Tensors, or other arguments. Floating
            ones are copied to float64 Tensors and checked; other arrays (integer
            labels) become Tensors on the active backend; the rest passes through.
        params: Parameters used inside ``fn`` (a layer's or model's weights) to
            check as well; they are switched to float64 during the check and
            restored afterwards.
        wrt: indices of the inputs to check (default: every floating input).
        eps: the finite-difference step.
        tol: the largest relative error that passes.
        max_checks: check at most this many randomly chosen elements per input
            (default: :data:`DEFAULT_MAX_CHECKS`, normally all of them).
        seed: seeds the projection ``r`` and the element sample.
        raise_on_failure: raise :class:`GradcheckError` (naming the input and
            the worst element) instead of returning a failed result.

    Returns:
        A :class:`GradcheckResult` (``bool(result)`` is whether it passed).

    >>> import numpy as np, xpnet as xn
    >>> x = np.array([[0.5, -1.0], [2.0, 0.3]])
    >>> xn.gradcheck(lambda t: (t * t).sum(), x).passed
    True
    """
    if max_checks is None:
        max_checks = DEFAULT_MAX_CHECKS
    xp = B.xp()
    dtype = "float64"
    if not B.has_float64(xp):
        warnings.warn(
            "This backend has no float64 (for JAX set jax_enable_x64); gradcheck runs in "
            "float32 with eps=1e-3 and tol=1e-2, which only catches gross errors.",
            stacklevel=2,
        )
        dtype, eps, tol = "float32", builtins_max(eps, 1e-3), builtins_max(tol, 1e-2)
    rng = np.random.default_rng(seed)

    args: list[Any] = []
    checked: list[tuple[str, Tensor]] = []
    for i, a in enumerate(inputs):
        if _is_float_data(a) and (wrt is None or i in wrt):
            t = Tensor(a.data if isinstance(a, Tensor) else a, dtype=dtype, requires_grad=True)
            args.append(t)
            checked.append((f"input {i}", t))
        elif hasattr(a, "dtype") and hasattr(a, "shape") and not isinstance(a, Tensor):
            args.append(Tensor(a))  # integer labels and masks go to the active backend too
        else:
            args.append(a)
    saved = []
    for j, p in enumerate(params or ()):
        saved.append((p, p.data, p.requires_grad))
        pxp = B.namespace(p.data)
        p.data = pxp.astype(p.data, B.dtype(dtype, pxp))
        p.requires_grad = True
        p.grad = None
        checked.append((p.name or f"param {j}", p))
    if not checked:
        raise ValueError(
            "gradcheck found nothing to check: pass floating inputs (arrays or Tensors) or "
            "params=[...]."
        )
    try:
        out = fn(*args)
        proj = _projection(out, rng, dtype)

        def objective() -> float:
            with no_grad():
                return _reduce(fn(*args), proj).item()

        loss = _reduce(out, proj)
        loss.backward()
        reports = [_check_one(name, t, objective, eps, max_checks, rng) for name, t in checked]
    finally:
        for p, data, req in saved:
            p.data, p.requires_grad, p.grad = data, req, None
    worst = max(r.relative_error for r in reports)
    result = GradcheckResult(worst <= tol, worst, tol, reports)
    if raise_on_failure and not result.passed:
        bad = [r for r in reports if r.relative_error > tol]
        raise GradcheckError(
            f"gradcheck failed (tol {tol:g}):\n"
            + "\n".join("  " + r.describe() for r in bad)
            + "\nThe backward of an op used by fn disagrees with finite differences for "
            "these inputs. Check the derivative formula (and that fn is deterministic)."
        )
    return result


def builtins_max(a: float, b: float) -> float:
    return a if a > b else b


def _is_float_data(a) -> bool:
    if isinstance(a, Tensor):
        return B.is_floating(a.data)
    if isinstance(a, (bool, int, float, complex)) or not hasattr(a, "dtype"):
        return False
    try:
        return B.is_floating(a)
    except TypeError:
        return np.asarray(a).dtype.kind == "f"


def _projection(out: Tensor, rng: np.random.Generator, dtype: str):
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return an xn.Tensor; got {type(out).__name__}.")
    if out.size == 1:
        return None
    r = rng.standard_normal(out.shape)
    xp = out.xp
    return xp.asarray(r, dtype=B.dtype(dtype, xp), device=out.device)


def _reduce(out: Tensor, proj) -> Tensor:
    if proj is None:
        return out.sum()
    return (out * Tensor._make(proj, None)).sum()


def _check_one(name, t: Tensor, objective, eps, max_checks, rng) -> InputReport:
    xp = t.xp
    dev = t.device
    analytic = (
        np.zeros(t.shape, dtype=np.float64)
        if t.grad is None
        else np.asarray(B.to_numpy(t.grad), dtype=np.float64)
    )
    base = np.array(B.to_numpy(t.data), dtype=np.float64)
    original = t.data
    n = base.size
    flat_ids = np.arange(n)
    if max_checks is not None and n > max_checks:
        flat_ids = np.sort(rng.choice(n, size=max_checks, replace=False))
    numerical = np.zeros(len(flat_ids))
    work = base.copy()
    wflat = work.reshape(-1)

    def evaluate() -> float:
        t.data = xp.asarray(work, dtype=original.dtype, device=dev)
        return objective()

    try:
        for k, i in enumerate(flat_ids):
            wflat[i] = base.flat[i] + eps
            f_plus = evaluate()
            wflat[i] = base.flat[i] - eps
            f_minus = evaluate()
            wflat[i] = base.flat[i]
            numerical[k] = (f_plus - f_minus) / (2 * eps)
    finally:
        t.data = original
    ana = analytic.reshape(-1)[flat_ids]
    denom = np.linalg.norm(numerical) + np.linalg.norm(ana)
    err = 0.0 if denom == 0 else float(np.linalg.norm(numerical - ana) / denom)
    if not math.isfinite(err):
        err = math.inf
    worst = int(np.argmax(np.abs(numerical - ana))) if len(flat_ids) else None
    return InputReport(
        name=name,
        shape=t.shape,
        relative_error=err,
        worst_index=None
        if worst is None
        else tuple(int(v) for v in np.unravel_index(flat_ids[worst], t.shape)),
        analytic=float(ana[worst]) if worst is not None else 0.0,
        numerical=float(numerical[worst]) if worst is not None else 0.0,
        checked=len(flat_ids),
    )
