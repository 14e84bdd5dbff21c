"""``xn.Variable``: a weight created outside ``add_weight``, with Keras 3's constructor."""

from __future__ import annotations

from typing import Any

from xpnet import backend as B
from xpnet import initializers
from xpnet.tensor import Parameter, Tensor

__all__ = ["Variable"]


class Variable(Parameter):
    """A :class:`~xpnet.tensor.Parameter` built as ``keras.Variable`` is.

    Args:
        initializer: an initial value (array, list, number, Tensor) or an
            initializer (name or object), which then needs ``shape``.
        shape: the shape, for an initializer.
        dtype: default floatx (float32). Variables are floating (xpnet's
            weights carry gradients); keep integer counters as Python ints.
        trainable: whether training updates it.
        name: a name for messages and saving.

    Assigned to a layer's attribute, it is tracked as one of its weights.
    """

    __slots__ = ()

    def __init__(
        self,
        initializer: Any,
        shape: Any = None,
        dtype: str | None = None,
        trainable: bool = True,
        autocast: bool = True,
        aggregation: str = "none",
        synchronization: str = "auto",
        name: str | None = None,
    ) -> None:
        dtype = dtype or B.floatx()
        if isinstance(initializer, str) or (
            callable(initializer)
            and not isinstance(initializer, Tensor)
            and not B.is_array(initializer)
        ):
            if shape is None:
                raise ValueError(
                    f"Variable: an initializer ({initializer!r}) needs shape=; received none."
                )
            value = initializers.get(initializer)(tuple(int(s) for s in shape), dtype)
        else:
            value = initializer.data if isinstance(initializer, Tensor) else initializer
            value = B.asarray(value, B.dtype(dtype))
            if shape is not None and tuple(value.shape) != tuple(int(s) for s in shape):
                raise ValueError(
                    f"Variable: the initial value has shape {tuple(value.shape)}, but "
                    f"shape={tuple(shape)} was given."
                )
        super().__init__(value, trainable=trainable, dtype=dtype, name=name or "variable")

    @property
    def value(self) -> Tensor:
        """The current value (a Tensor sharing this variable's array)."""
        return Tensor._make(self.data, None)

    def _operand(self, value):
        if isinstance(value, Tensor):
            return value.data
        if isinstance(value, (int, float)):
            return float(value)
        return B.asarray(value, self.data.dtype)  # user data moves to this variable's backend

    def assign_add(self, value) -> None:
        self.assign(self.data + self._operand(value))

    def assign_sub(self, value) -> None:
        self.assign(self.data - self._operand(value))

    def __repr__(self) -> str:
        return "Variable" + Tensor.__repr__(self)[len("Tensor") :]
