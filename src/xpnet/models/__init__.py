"""Models: ``Sequential``, functional ``Model(inputs, outputs)``, subclassed ``Model``.

Also ``load_model`` (the inverse of ``model.save``) and ``Input``.
"""

from xpnet.layers.serialization import register_builtin
from xpnet.layers.symbolic import Input, InputLayer, SymbolicTensor
from xpnet.models.cloning import clone_model
from xpnet.models.functional import Functional
from xpnet.models.model import Model
from xpnet.models.sequential import Sequential

register_builtin(Functional, Model, Sequential)  # for nested models in saved configs


def load_model(filepath, custom_objects=None, compile: bool = True):
    """Rebuild a model saved by ``model.save(filepath)``: architecture, weights, optimizer.

    Args:
        filepath: the file written by ``model.save``.
        custom_objects: ``{"Name": class}`` for your own layers and models.
        compile: also restore the compile settings and the optimizer state
            (so training resumes where it stopped).
    """
    from xpnet import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile)


__all__ = [
    "Functional",
    "Input",
    "InputLayer",
    "Model",
    "Sequential",
    "SymbolicTensor",
    "clone_model",
    "load_model",
]
