"""``xn.mixed_precision`` (Keras 3's ``keras.mixed_precision``).

>>> import xpnet as xn
>>> xn.mixed_precision.set_global_policy("mixed_float16")
>>> layer = xn.layers.Dense(4)
>>> layer.dtype_policy.name, layer.compute_dtype, layer.dtype
('mixed_float16', 'float16', 'float32')
>>> xn.mixed_precision.set_global_policy("float32")

Under ``"mixed_float16"`` / ``"mixed_bfloat16"`` layers keep float32 weights
and compute in float16 / bfloat16 (their inputs and weights cast inside
``call``; BatchNormalization, LayerNormalization, GroupNormalization and
RMSNormalization compute in float32 and cast their output). ``fit``/``evaluate``
compute losses and metrics in float32, and ``compile`` wraps the optimizer in a
:class:`LossScaleOptimizer` under ``"mixed_float16"``. float16 exists on the
numpy, cupy, torch and jax backends, bfloat16 on torch and jax; a layer whose
compute dtype the backend lacks raises a ValueError naming those backends at
its first call.
"""

from xpnet.backend.dtype_policy import DTypePolicy, global_policy, set_global_policy
from xpnet.optimizers.loss_scale import LossScaleOptimizer

__all__ = [
    "DTypePolicy",
    "LossScaleOptimizer",
    "Policy",
    "dtype_policy",
    "global_policy",
    "set_dtype_policy",
    "set_global_policy",
]

Policy = DTypePolicy
dtype_policy = global_policy
set_dtype_policy = set_global_policy
