"""Embedding: integer ids to dense vectors (a row lookup with a scatter-add gradient)."""

from __future__ import annotations

from typing import Any

from xpnet import _checks, constraints, initializers, ops, regularizers
from xpnet import backend as B
from xpnet.layers import _mask
from xpnet.layers.base import Layer, in_dry_run, weight_options_config
from xpnet.layers.core import positive_int

__all__ = ["Embedding"]


class Embedding(Layer):
    """Turn integer ids of shape ``(batch, ...)`` into vectors ``(batch, ..., output_dim)``.

    ``y[..., :] = embeddings[ids[...], :]``. The gradient is a scatter-add into
    the rows that were looked up, so an id that appears several times in a batch
    gets the sum of its gradients, on every backend (JAX's immutable arrays too;
    see :func:`xpnet.backend.scatter_add`).

    Args:
        input_dim: size of the vocabulary (ids lie in ``0 .. input_dim - 1``).
        output_dim: size of each vector.
        embeddings_initializer: Keras's default ``"uniform"`` (uniform in [-0.05, 0.05]).
        embeddings_regularizer, embeddings_constraint: for the ``(input_dim, output_dim)`` matrix.
        mask_zero: treat id 0 as padding: the output carries a mask ``ids != 0`` that the
            recurrent layers, GlobalAveragePooling1D and MultiHeadAttention use (so
            ``input_dim`` should count the padding id).
        weights: optional initial ``[embeddings]`` array.

    Ids outside ``0 .. input_dim - 1`` are a clear error (JAX would silently
    clamp them, a GPU would stop on a device-side assert). Host ids (NumPy)
    cost nothing to check and are checked at every call; device ids cost a
    read, so they are checked until one check has passed: at the layer's first
    call, or when ``fit``, ``evaluate`` or ``predict`` check their whole input
    before the first step (host data on the host, before they move). Host ids
    given to a direct call on another backend are moved by ``Layer.__call__``
    before ``call`` sees them, so they count as device ids.

    >>> import numpy as np, xpnet as xn
    >>> emb = xn.layers.Embedding(10, 3)
    >>> emb(np.array([[1, 2, 2]])).shape
    (1, 3, 3)
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        weights: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.input_dim = positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = positive_int("Embedding", "output_dim", output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = _checks.boolean(type(self).__name__, "mask_zero", mask_zero)
        self._ids_checked = False  # a check of ids passed: device ids are not read again
        if weights is not None:
            self.build(None)
            self.built = True
            self.set_weights(weights)

    def build(self, input_shape) -> None:
        self.embeddings = self.add_weight(
            "embeddings",
            (self.input_dim, self.output_dim),
            self.embeddings_initializer,
            self.embeddings_regularizer,
            self.embeddings_constraint,
        )

    def call(self, inputs):
        xp = inputs.xp
        ids = _integral(xp, inputs.data)
        unchecked = not self._ids_checked or B.is_host_data(ids)
        # (a dry run's zeros are no ids, and a compiled step's ids have no values yet)
        if unchecked and not in_dry_run() and not B.is_traced(ids):
            self.check_input_values(inputs.data)  # (before the cast: fractional ids refused)
        out = ops.take(self.embeddings, ids, axis=0)
        return _mask.set_mask(out, self.compute_mask(inputs))

    def check_input_values(self, ids) -> None:
        """Raise a clear error unless every id lies in ``0 .. input_dim - 1``.

        ``ids``: an array of any backend or shape, or a list (fit passes its
        whole input). One reduction and one read (free on host data);
        afterwards the layer no longer reads device ids.
        """
        if B.is_host_data(ids):
            ids = B.host_numpy.asarray(ids)  # lists too
        xp = B.namespace(ids)
        if not xp.isdtype(ids.dtype, ("integral", "real floating", "bool")):
            raise TypeError(
                f"Embedding layer '{self.name}' expected integer ids; received dtype {ids.dtype}."
            )
        if xp.isdtype(ids.dtype, "real floating") and bool(xp.any(xp.floor(ids) != ids)):
            raise ValueError(
                f"Embedding layer '{self.name}' expected whole-number ids; received float ids "
                "with a fractional part (they would be truncated). Round them or pass integers."
            )
        ids = _integral(xp, ids)
        if ids.size and bool(xp.any(xp.logical_or(ids < 0, ids >= self.input_dim))):
            lo, hi = int(xp.min(ids)), int(xp.max(ids))
            raise ValueError(
                f"Embedding layer '{self.name}' got ids in [{lo}, {hi}], but input_dim="
                f"{self.input_dim} allows 0 .. {self.input_dim - 1} (JAX would silently clamp "
                "them). Increase input_dim or fix the ids."
            )
        self._ids_checked = True

    def compute_mask(self, inputs, mask=None):
        """``ids != 0`` when ``mask_zero``, else None."""
        if not self.mask_zero:
            return None
        data = inputs.data if hasattr(inputs, "data") else inputs
        return data != 0

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            output_dim=self.output_dim,
            **weight_options_config(self, "embeddings"),
            mask_zero=self.mask_zero,
        )
        return config


def _integral(xp, ids):
    """Ids as integers (Keras accepts float ids too)."""
    return ids if xp.isdtype(ids.dtype, "integral") else xp.astype(ids, B.index_dtype(xp))
