"""xpnet: Keras-style deep learning written once against the Python Array API.

The same model trains on NumPy (CPU) and CuPy (CUDA GPU), and on PyTorch, JAX
and array-api-strict arrays, switched by one backend flag::

    import xpnet as xn
    xn.set_backend("cupy")          # or XPNET_BACKEND=cupy
"""

from xpnet import (
    activations,
    averages,
    backend,
    callbacks,
    config,
    constraints,
    data,
    datasets,
    distribution,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,  # first: binds Tensor's operators
    optimizers,
    random,
    regularizers,
    saving,
    utils,
)
from xpnet.backend import (
    BackendError,
    MixedBackendError,
    available_backends,
    floatx,
    get_backend,
    prefer_gpu,
    require_gpu,
    set_backend,
    set_floatx,
    set_seed,
    use_backend,
)
from xpnet.gradcheck import GradcheckError, GradcheckResult, gradcheck
from xpnet.layers import InputSpec, Layer
from xpnet.models import Input, Model, Sequential
from xpnet.tensor import (
    Function,
    Parameter,
    Tensor,
    enable_grad,
    is_grad_enabled,
    no_grad,
    to_numpy,
)
from xpnet.variables import Variable

# Keras 3's top-level names for the base classes and the symbolic tensor
Constraint = constraints.Constraint
Initializer = initializers.Initializer
KerasTensor = models.SymbolicTensor
Loss = losses.Loss
Metric = metrics.Metric
Optimizer = optimizers.Optimizer
Regularizer = regularizers.Regularizer


def version() -> str:
    """xpnet's version (``keras.version()`` gives Keras's)."""
    return __version__


__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "Constraint",
    "Function",
    "GradcheckError",
    "GradcheckResult",
    "Initializer",
    "Input",
    "InputSpec",
    "KerasTensor",
    "Layer",
    "Loss",
    "Metric",
    "MixedBackendError",
    "Model",
    "Optimizer",
    "Parameter",
    "Regularizer",
    "Sequential",
    "Tensor",
    "Variable",
    "__version__",
    "activations",
    "available_backends",
    "averages",
    "backend",
    "callbacks",
    "config",
    "constraints",
    "data",
    "datasets",
    "distribution",
    "enable_grad",
    "floatx",
    "get_backend",
    "gradcheck",
    "initializers",
    "is_grad_enabled",
    "layers",
    "losses",
    "metrics",
    "models",
    "no_grad",
    "ops",
    "optimizers",
    "prefer_gpu",
    "random",
    "regularizers",
    "require_gpu",
    "saving",
    "set_backend",
    "set_floatx",
    "set_seed",
    "to_numpy",
    "use_backend",
    "utils",
    "version",
]
