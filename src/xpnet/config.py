"""``xn.config``: global settings under Keras 3's names (``keras.config``).

``floatx``/``set_floatx`` (the default float dtype), ``epsilon``/``set_epsilon``
(the fuzz factor Keras adds in losses and metrics; xpnet's own code keeps its
constants, this records the value for user code that asks), ``backend()``
(xpnet's active array backend), ``image_data_format`` (always
``"channels_last"``: xpnet's layers are channels-last only).
"""

from __future__ import annotations

import numbers

from xpnet import backend as B

__all__ = [
    "backend",
    "disable_interactive_logging",
    "enable_interactive_logging",
    "epsilon",
    "floatx",
    "image_data_format",
    "is_interactive_logging_enabled",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
]

floatx = B.floatx
set_floatx = B.set_floatx

_state = {"epsilon": 1e-7, "interactive_logging": True}


def epsilon() -> float:
    """The fuzz factor (``1e-7`` by default, as in Keras)."""
    return _state["epsilon"]


def set_epsilon(value: float) -> None:
    """Set the fuzz factor returned by :func:`epsilon`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"set_epsilon expected a positive float; received {value!r}.")
    _state["epsilon"] = float(value)


def backend() -> str:
    """The name of the active array backend (``"numpy"``, ``"cupy"``, ``"torch"``, ...)."""
    return B.get_backend().name


def image_data_format() -> str:
    """``"channels_last"``: the only layout xpnet's image layers use."""
    return "channels_last"


def set_image_data_format(data_format: str) -> None:
    """Accepts ``"channels_last"`` only (xpnet's image layers are channels-last)."""
    if data_format != "channels_last":
        raise ValueError(
            f"xpnet's image layers are channels-last only; received {data_format!r}. "
            "Transpose your data to (batch, height, width, channels)."
        )


def enable_interactive_logging() -> None:
    _state["interactive_logging"] = True


def disable_interactive_logging() -> None:
    _state["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    return _state["interactive_logging"]
