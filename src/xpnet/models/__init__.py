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


def save_model(model, filepath, overwrite: bool = True, **kwargs):
    """``model.save(filepath)`` as a function (``keras.models.save_model``)."""
    return model.save(filepath, overwrite=overwrite, **kwargs)


def model_from_json(json_string: str, custom_objects=None):
    """A model (new weights) from ``model.to_json()``'s text; classes are looked up by name
    among xpnet's own and ``custom_objects``, never imported from the text."""
    import json

    from xpnet.layers.serialization import custom_object_scope, deserialize_layer

    try:
        spec = json.loads(json_string)
    except (TypeError, ValueError) as err:
        raise ValueError(f"model_from_json expected JSON text; it does not parse ({err}).") from err
    with custom_object_scope(custom_objects):
        return deserialize_layer(spec)


__all__ = [
    "Functional",
    "Input",
    "InputLayer",
    "Model",
    "Sequential",
    "SymbolicTensor",
    "clone_model",
    "load_model",
    "model_from_json",
    "save_model",
]
