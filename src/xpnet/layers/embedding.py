"""Embedding: integer ids to dense vectors (a row lookup with a scatter-add gradient)."""

from __future__ import annotations

from typing import Any

from xpnet import backend as B
from xpnet import constraints, initializers, ops, regularizers
from xpnet.layers import _mask
from xpnet.layers.base import Layer
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
        self.mask_zero = bool(mask_zero)
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
        ids = inputs.data
        if not xp.isdtype(ids.dtype, "integral"):
            ids = xp.astype(ids, xp.int64)  # Keras accepts float ids too
        # TEMPORARY (branch jit, until the no-reads branch moves this check to the host
        # copy of fit's data): a compiled step's ids are placeholders, not read here
        checkable = ids.size and not B.is_traced(ids)
        if checkable and (bool(xp.any(ids < 0)) or bool(xp.any(ids >= self.input_dim))):
            lo, hi = int(xp.min(ids)), int(xp.max(ids))
            raise ValueError(
                f"Embedding layer '{self.name}' got ids in [{lo}, {hi}], but input_dim="
                f"{self.input_dim} allows 0 .. {self.input_dim - 1} (JAX would silently clamp "
                "them). Increase input_dim or fix the ids."
            )
        out = ops.take(self.embeddings, ids, axis=0)
        return _mask.set_mask(out, self.compute_mask(inputs))

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
            embeddings_initializer=initializers.serialize(self.embeddings_initializer),
            embeddings_regularizer=regularizers.serialize(self.embeddings_regularizer),
            embeddings_constraint=constraints.serialize(self.embeddings_constraint),
            mask_zero=self.mask_zero,
        )
        return config
