"""``Model``: a Layer that trains. Subclass it (write ``call``) or build it functionally.

``xn.Model(inputs, outputs)`` returns a functional model (see
:mod:`xpnet.models.functional`); ``class Net(xn.Model)`` with layers as
attributes and a ``call`` method is a subclassed model. Both get Keras's
``compile``/``fit``/``evaluate``/``predict``, ``summary``, ``get_layer``,
``get_weights``/``set_weights`` and ``save``.

>>> import xpnet as xn
>>> class TwoLayer(xn.Model):
...     def __init__(self):
...         super().__init__()
...         self.hidden = xn.layers.Dense(8, activation="relu", name="hidden")
...         self.out = xn.layers.Dense(2, name="out")
...     def call(self, x):
...         return self.out(self.hidden(x))
>>> net = TwoLayer()
>>> net(xn.Tensor([[1.0, 2.0, 3.0]])).shape
(1, 2)
>>> [layer.name for layer in net.layers]
['hidden', 'out']
"""

from __future__ import annotations

import os
from typing import Any

from xpnet import backend as B
from xpnet.layers.base import Layer, check_placeholder, dry_run
from xpnet.models.training import Trainer, _State
from xpnet.tensor import Tensor, no_grad

__all__ = ["Model"]


class Model(Trainer, Layer):
    """A trainable stack of layers with Keras's training API.

    Args:
        inputs, outputs: (functional API) symbolic tensors from ``xn.Input``
            and layer calls; ``Model(inputs, outputs)`` returns a Functional model.
        name: the model's name; trainable: whether its weights train.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from xpnet.models.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(
        self,
        *args,
        trainable: bool = True,
        name: str | None = None,
        dtype: str | None = None,
        **kwargs: Any,
    ) -> None:
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__ got inputs/outputs: only xn.Model(inputs, "
                "outputs) builds a functional model; a subclass defines call() instead."
            )
        Layer.__init__(self, trainable=trainable, name=name, dtype=dtype, **kwargs)
        self._state = _State()
        self.stop_training = False
        self.history = None
        self._build_input_shape = None

    # ------------------------------------------------------------------ building and calling
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` by one dry run on zeros."""
        self._build_input_shape = _listify_shape(input_shape)
        self.built = True
        if type(self).call is Model.call:
            return
        with no_grad(), dry_run():
            self(_zeros(input_shape), training=False)

    def call(self, inputs, training=None):
        raise NotImplementedError(
            f"{type(self).__name__} has no call(): subclass xn.Model and define "
            "call(self, inputs), or build a model with xn.Model(inputs, outputs) or "
            "xn.Sequential([...])."
        )

    @property
    def layers(self) -> list[Layer]:
        """The layers assigned as attributes (directly or in lists/dicts), in order."""
        found: list[Layer] = []
        seen: set[int] = set()

        def visit(obj):
            if isinstance(obj, Layer):
                if id(obj) not in seen:
                    seen.add(id(obj))
                    found.append(obj)
            elif isinstance(obj, (list, tuple)):
                for v in obj:
                    visit(v)
            elif isinstance(obj, dict):
                for v in obj.values():
                    visit(v)

        for value in self._children():
            visit(value)
        return found

    @property
    def input_names(self) -> list[str]:
        return ["input"]

    @property
    def output_names(self) -> list[str]:
        return [self.name]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by ``name`` or by ``index`` in :attr:`layers`."""
        layers = self.layers
        if index is not None and name is not None:
            raise ValueError("get_layer(): pass name or index, not both.")
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"get_layer(index={index}): the model has only {len(layers)} layers."
                )
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name!r}. Existing layers: {[lay.name for lay in layers]}."
            )
        raise ValueError("get_layer() needs a name or an index.")

    def set_weights(self, weights) -> None:
        super().set_weights(weights)
        self._state.backend = None  # the weights may have moved to another backend

    # ------------------------------------------------------------------ summary and saving
    def summary(
        self,
        line_length: int | None = None,
        positions=None,
        print_fn=None,
        expand_nested: bool = False,
        show_trainable: bool = False,
    ) -> None:
        """Print a table of layers, output shapes and parameter counts, then the totals."""
        from xpnet.models.summary import summary_lines

        lines = summary_lines(
            self,
            line_length=line_length,
            show_trainable=show_trainable,
            expand_nested=expand_nested,
        )
        emit = print_fn or print
        for line in lines:
            emit(line)

    def save(
        self, filepath: str | os.PathLike, overwrite: bool = True, include_optimizer: bool = True
    ) -> None:
        """Save architecture, weights and optimizer state to one file, atomically."""
        from xpnet import saving

        saving.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON text (``xn.models.model_from_json`` rebuilds it);
        ``kwargs`` go to ``json.dumps``."""
        import json

        from xpnet.layers.serialization import serialize_layer

        return json.dumps(serialize_layer(self), **kwargs)

    def save_weights(self, filepath: str | os.PathLike, overwrite: bool = True) -> None:
        """Save only the weights (a .npz file keyed by weight names), atomically."""
        from xpnet import saving

        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str | os.PathLike) -> None:
        """Load weights saved by :meth:`save_weights` or :meth:`save` (all or nothing)."""
        from xpnet import saving

        saving.load_weights(self, filepath)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


def _listify_shape(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [_listify_shape(s) for s in shape]
    if shape is None:
        return None
    dims = [None if d is None else int(d) for d in shape]
    return [None, *dims[1:]] if dims else dims


def _zeros(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [_zeros(s) for s in shape]
    dims = tuple(1 if (i == 0 or d is None) else int(d) for i, d in enumerate(shape))
    check_placeholder(dims)
    xp = B.xp()
    return Tensor._make(xp.zeros(dims, dtype=B.dtype(None, xp), device=B.device()), None)
