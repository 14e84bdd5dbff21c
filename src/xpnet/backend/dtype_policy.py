"""Dtype policies (Keras 3's ``DTypePolicy``): the dtype a layer's weights are kept
in and the dtype it computes in.

``"float32"`` (or any other dtype name) keeps and computes in that dtype;
``"mixed_float16"`` and ``"mixed_bfloat16"`` keep float32 weights and compute in
float16 / bfloat16. Layers created after :func:`set_global_policy` take the
global policy; ``dtype=`` on a layer overrides it. The public names live in
:mod:`xpnet.mixed_precision`.
"""

from __future__ import annotations

from typing import Any

from xpnet.backend import select

__all__ = [
    "DTypePolicy",
    "check_backend_has",
    "get",
    "global_policy",
    "set_global_policy",
]

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_FLOATS = ("float16", "bfloat16", "float32", "float64")
_OTHERS = ("int8", "int16", "int32", "int64", "uint8", "bool")

# which of xpnet's backends have each half-precision dtype
_HAVE = {
    "float16": ("numpy", "cupy", "torch", "jax"),
    "bfloat16": ("torch", "jax"),
}


class DTypePolicy:
    """A layer's dtypes: ``variable_dtype`` for its weights, ``compute_dtype`` for its
    arithmetic.

    Args:
        name: ``"mixed_float16"``, ``"mixed_bfloat16"``, or a dtype name
            (``"float32"``, ``"float64"``, ...); None gives ``floatx``.
    """

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = select.floatx()
        if not isinstance(name, str):
            raise TypeError(
                f"DTypePolicy expected a policy name (a string such as 'mixed_float16' or "
                f"'float32'); received {name!r} of type {type(name).__name__}."
            )
        if name in _MIXED:
            compute, variable = _MIXED[name], "float32"
        elif name in _FLOATS or name in _OTHERS:
            compute = variable = name
        else:
            raise ValueError(
                f"Unknown dtype policy {name!r}: expected 'mixed_float16', 'mixed_bfloat16' "
                f"or a dtype name ({', '.join(_FLOATS + _OTHERS)})."
            )
        self._name = name
        self._compute_dtype = compute
        self._variable_dtype = variable

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's computations (inputs and weights are cast to it)."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's weights."""
        return self._variable_dtype

    @property
    def is_mixed(self) -> bool:
        """Whether weights and computations differ in dtype."""
        return self._compute_dtype != self._variable_dtype

    def get_config(self) -> dict[str, Any]:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DTypePolicy:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DTypePolicy) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


_state: dict[str, DTypePolicy | None] = {"global": None}


def set_global_policy(policy: str | DTypePolicy | None) -> None:
    """The policy of layers created from now on without ``dtype=`` (None: floatx)."""
    if policy is None:
        _state["global"] = None
        return
    policy = get(policy)
    if policy.compute_dtype not in _FLOATS:
        raise ValueError(
            f"set_global_policy accepts floating-point policies only; received "
            f"{policy.name!r}. Pass dtype={policy.name!r} to the layers that need it instead."
        )
    _state["global"] = policy


def global_policy() -> DTypePolicy:
    """The global policy (``DTypePolicy(floatx())`` unless set)."""
    found = _state["global"]
    return found if found is not None else DTypePolicy(select.floatx())


def get(identifier: Any) -> DTypePolicy:
    """A policy from None (the global one), a name, a policy, a dtype object, or a
    Keras config (``{"class_name": "DTypePolicy", "config": {"name": ...}}``)."""
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    if isinstance(identifier, dict):
        config = identifier.get("config", identifier)
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            return DTypePolicy(config["name"])
        raise ValueError(f"A dtype policy config must hold a policy name; received {identifier!r}.")
    name = getattr(identifier, "name", None) or str(identifier).rsplit(".", 1)[-1]
    if isinstance(name, str) and (name in _FLOATS or name in _OTHERS):
        return DTypePolicy(name)
    raise TypeError(
        f"Expected a dtype policy name ('mixed_float16', 'float32', ...) or a DTypePolicy; "
        f"received {identifier!r}."
    )


def check_backend_has(dtype_name: str, backend_name: str) -> None:
    """Raise a ValueError when ``backend_name`` has no ``dtype_name`` (half precisions)."""
    have = _HAVE.get(dtype_name)
    if have is not None and backend_name not in have:
        raise ValueError(
            f"The {backend_name!r} backend has no {dtype_name} dtype, so a layer with a "
            f"{dtype_name} compute dtype (policy 'mixed_{dtype_name}') cannot run on it. "
            f"{dtype_name} exists on: {', '.join(have)}. Select one of those backends "
            "(xn.set_backend(...)), or use the 'float32' policy."
        )


def overflow_expected():
    """A context in which float overflow, inf - inf and 0/0 raise no NumPy warning: a
    loss-scaled float16 step overflows by design (the step is then skipped)."""
    from xpnet.backend import host_numpy

    return host_numpy.errstate(over="ignore", invalid="ignore", divide="ignore")
