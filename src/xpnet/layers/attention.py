"""Attention layers: MultiHeadAttention (Keras) and a TransformerEncoder block (KerasHub).

Scaled dot-product attention (Vaswani et al. 2017) written with ops:
``softmax(q k^T / sqrt(key_dim) + mask) v`` per head, so its gradient comes
from matmul, softmax and the projections.

Weights of MultiHeadAttention, in Keras's shapes (``H`` heads):
``query_kernel (d_q, H, key_dim)``, ``key_kernel (d_k, H, key_dim)``,
``value_kernel (d_v, H, value_dim)``, ``output_kernel (H, value_dim, d_out)``,
with biases ``(H, key_dim)``, ``(H, key_dim)``, ``(H, value_dim)``, ``(d_out,)``.
PyTorch's ``nn.MultiheadAttention`` (``batch_first=True``, ``kdim = vdim =
embed_dim``, ``key_dim * H == embed_dim``) maps as: ``in_proj_weight`` rows
``[q; k; v] = kernel.reshape(d, H * key_dim).T`` and
``out_proj.weight = output_kernel.reshape(H * value_dim, d_out).T``.
"""

from __future__ import annotations

import math
from typing import Any

from xpnet import _checks, activations, constraints, initializers, ops, regularizers
from xpnet import backend as B
from xpnet.layers import _mask
from xpnet.layers.base import Layer, weight_options_config
from xpnet.layers.core import Dense, positive_int
from xpnet.layers.einsum_dense import AsMatrix
from xpnet.layers.normalization import LayerNormalization
from xpnet.layers.regularization import Dropout
from xpnet.tensor import Tensor

__all__ = ["Attention", "MultiHeadAttention", "TransformerEncoder"]

# Keras's "large negative number" added to masked logits (float16 cannot hold -1e9)
_MASK_FILL = {"float16": -3e4}


def _mask_fill(dtype) -> float:
    return _MASK_FILL.get(str(dtype).rsplit(".", 1)[-1].strip("'>"), -1e9)


class MultiHeadAttention(Layer):
    """Multi-head attention, as Keras's ``MultiHeadAttention`` for (batch, steps, features).

    For each head ``h``: ``q_h = query @ Wq_h + bq_h``, ``k_h``, ``v_h`` likewise;
    ``a_h = softmax(q_h k_h^T / sqrt(key_dim) + M)`` where ``M`` is 0 where attention
    is allowed and -1e9 where it is masked; ``out = sum_h (a_h v_h) @ Wo_h + bo``.

    Args:
        num_heads: number of heads.
        key_dim: size of each head's query and key.
        value_dim: size of each head's value (default key_dim).
        dropout: dropout rate on the attention weights (training only).
        use_bias: biases in the four projections.
        output_shape: size of the output's last axis (default: the query's).
        attention_axes: only None (attend over the steps axis) is supported.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: for the four projections.
        seed: accepted as in Keras.

    Call arguments: ``query`` (B, T, d_q); ``value`` (B, S, d_v) (default: ``query``,
    self-attention; ``[query, value(, key)]`` as one list also works); ``key`` (default
    ``value``); ``attention_mask`` (B, T, S) booleans, True where attention is allowed;
    ``query_mask`` (B, T) / ``value_mask`` / ``key_mask`` (B, S) (by default the masks an
    ``Embedding(mask_zero=True)`` attached); ``use_causal_mask``: step t attends only to
    steps <= t; ``return_attention_scores``: also return the weights (B, H, T, S);
    ``training``.

    >>> import numpy as np, xpnet as xn
    >>> mha = xn.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = np.ones((3, 5, 8), dtype="float32")
    >>> out, scores = mha(x, x, return_attention_scores=True, use_causal_mask=True)
    >>> out.shape, scores.shape
    ((3, 5, 8), (3, 2, 5, 5))
    """

    supports_masking = True

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape: Any = None,
        attention_axes: Any = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        who = "MultiHeadAttention"
        self.num_heads = positive_int(who, "num_heads", num_heads)
        self.key_dim = positive_int(who, "key_dim", key_dim)
        self.value_dim = (
            self.key_dim if value_dim is None else positive_int(who, "value_dim", value_dim)
        )
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, (int, float))
            or not 0 <= dropout < 1
        ):
            raise ValueError(f"{who}: expected dropout in [0, 1). Received: dropout={dropout!r}")
        self.dropout = float(dropout)
        self.use_bias = _checks.boolean(type(self).__name__, "use_bias", use_bias)
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise ValueError(
                    f"{who}: only a last-axis output_shape is supported. "
                    f"Received: output_shape={output_shape!r}"
                )
            output_shape = output_shape[0]
        self.output_shape = (
            None if output_shape is None else positive_int(who, "output_shape", output_shape)
        )
        if attention_axes not in (None, 1, (1,), [1]):
            raise ValueError(
                f"{who}: only attention over the steps axis (attention_axes=None) is supported. "
                f"Received: attention_axes={attention_axes!r}"
            )
        self.attention_axes = None
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self.attention_dropout = Dropout(self.dropout, seed=seed, name=f"{self.name}_dropout")
        self._built_weights = False

    # ------------------------------------------------------------------ weights
    def _projection(
        self, name: str, shape: tuple[int, ...], bias_shape: tuple[int, ...], n_in: int = 1
    ):
        # Keras's EinsumDense tells its initializer which kernel axes are inputs (the first
        # n_in) and which are outputs, so fans are (prod(inputs), prod(outputs)), not a
        # convolution's: drawing the (fan_in, fan_out) matrix and reshaping it gives that
        fans = (math.prod(shape[:n_in]), math.prod(shape[n_in:]))
        kernel = self.add_weight(
            f"{name}_kernel", shape, AsMatrix(self.kernel_initializer, fans),
            self.kernel_regularizer, self.kernel_constraint,
        )  # fmt: skip
        bias = None
        if self.use_bias:
            bias = self.add_weight(
                f"{name}_bias", bias_shape, self.bias_initializer, self.bias_regularizer,
                self.bias_constraint,
            )  # fmt: skip
        return kernel, bias

    def build(self, input_shape) -> None:
        """Nothing yet: the weights need the value's and key's sizes too (see call)."""

    def _build_weights(self, d_query: int, d_value: int | None = None, d_key: int | None = None):
        if self._built_weights:
            return
        d_value = d_query if d_value is None else d_value
        d_key = d_value if d_key is None else d_key
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        d_out = self.output_shape or d_query
        self.query_kernel, self.query_bias = self._projection("query", (d_query, h, kd), (h, kd))
        self.key_kernel, self.key_bias = self._projection("key", (d_key, h, kd), (h, kd))
        self.value_kernel, self.value_bias = self._projection("value", (d_value, h, vd), (h, vd))
        self.output_kernel, self.output_bias = self._projection(
            "output", (h, vd, d_out), (d_out,), n_in=2
        )
        self._dims = (d_query, d_value, d_key)
        self._built_weights = True

    # ------------------------------------------------------------------ calling
    def __call__(self, query, value=None, key=None, **kwargs):
        if isinstance(query, (list, tuple)):
            if value is not None or not 2 <= len(query) <= 3:
                raise ValueError(
                    "MultiHeadAttention: pass query, value (and key) as arguments or as one "
                    f"list [query, value(, key)]; got a list of {len(query)}."
                )
            query, value, key = [*query, None][:3]
        return super().__call__(query, value, key, **kwargs)

    def call(
        self,
        query,
        value=None,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores: bool = False,
        training=None,
        use_causal_mask: bool = False,
    ):
        value = query if value is None else _as_input(value, self.dtype)
        key = value if key is None else _as_input(key, self.dtype)
        self._check_dims(query, value, key)
        q = self._heads(query, self.query_kernel, self.query_bias) * (1.0 / math.sqrt(self.key_dim))
        k = self._heads(key, self.key_kernel, self.key_bias)
        v = self._heads(value, self.value_kernel, self.value_bias)
        logits = ops.matmul(q, ops.matrix_transpose(k))  # (B, H, T, S)
        mask = self._attention_mask(
            query, value, key, query_mask, value_mask, key_mask, attention_mask, use_causal_mask
        )
        if mask is not None:
            xp = logits.xp
            logits = logits + xp.astype(~mask, logits.dtype)[:, None, :, :] * _mask_fill(
                logits.dtype
            )
        scores = ops.softmax(logits, axis=-1)
        context = ops.matmul(self.attention_dropout(scores, training=training), v)  # (B, H, T, vd)
        b, _, t, vd = context.shape
        merged = ops.reshape(ops.permute(context, (0, 2, 1, 3)), (b, t, self.num_heads * vd))
        wo = ops.reshape(self.output_kernel, (self.num_heads * vd, -1))
        out = ops.linear(merged, wo, self.output_bias)
        return (out, scores) if return_attention_scores else out

    def _check_dims(self, query, value, key) -> None:
        if not self._built_weights:
            self._build_weights(query.shape[-1], value.shape[-1], key.shape[-1])
        got = (query.shape[-1], value.shape[-1], key.shape[-1])
        if got != self._dims or any(t.ndim != 3 for t in (query, value, key)):
            raise ValueError(
                f"MultiHeadAttention layer '{self.name}' was built for (batch, steps, features) "
                f"query/value/key with features {self._dims}; got shapes {query.shape}, "
                f"{value.shape}, {key.shape}."
            )

    def _heads(self, x, kernel, bias):
        """(B, T, d) -> (B, H, T, dim) through a (d, H, dim) kernel."""
        d, h, dim = kernel.shape
        flat_b = None if bias is None else ops.reshape(bias, (h * dim,))
        y = ops.linear(x, ops.reshape(kernel, (d, h * dim)), flat_b)
        b, t = x.shape[:2]
        return ops.permute(ops.reshape(y, (b, t, h, dim)), (0, 2, 1, 3))

    def _attention_mask(self, query, value, key, q_mask, v_mask, k_mask, attn_mask, causal):
        """(B, T, S) booleans or None: Keras's combination of all the masks."""
        xp = query.xp
        q_mask = _mask.resolve(query, q_mask)
        v_mask = _mask.resolve(value, v_mask)
        k_mask = _mask.resolve(key, k_mask) if key is not value else None
        mask = None if attn_mask is None else _bool_data(attn_mask, xp)

        def both(a, b):
            return b if a is None else xp.logical_and(a, b)

        if q_mask is not None:
            mask = both(mask, q_mask[:, :, None])
        if v_mask is not None:
            mask = both(mask, v_mask[:, None, :])
        if k_mask is not None:
            mask = both(mask, k_mask[:, None, :])
        if causal:
            t, s = query.shape[1], value.shape[1]
            rows = xp.arange(t, device=B.device_of(query.data))[:, None]
            cols = xp.arange(s, device=B.device_of(query.data))[None, :]
            mask = both(mask, (cols <= rows)[None, :, :])
        if mask is not None:
            shape = (query.shape[0], query.shape[1], value.shape[1])
            mask = xp.broadcast_to(mask, shape)
        return mask

    def compute_output_shape(self, input_shape):
        q = input_shape[0] if isinstance(input_shape, list) else input_shape
        return (*tuple(q)[:-1], self.output_shape or q[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            value_dim=self.value_dim,
            dropout=self.dropout,
            use_bias=self.use_bias,
            output_shape=self.output_shape,
            attention_axes=self.attention_axes,
            **weight_options_config(self, "kernel", "bias"),
            seed=self.seed,
        )
        return config


def _as_input(x, dtype) -> Tensor:
    from xpnet.layers.base import to_tensor

    return to_tensor(x, dtype)


def _bool_data(mask, xp):
    data = mask.data if isinstance(mask, Tensor) else B.asarray(mask)
    return data if data.dtype == xp.bool else data != 0


class TransformerEncoder(Layer):
    """A Transformer encoder block (KerasHub's ``TransformerEncoder``).

    Post-norm (default)::

        x = LayerNorm(x + Dropout(MultiHeadAttention(x, x, mask)))
        y = LayerNorm(x + Dropout(Dense(hidden)(Dense(intermediate_dim, activation)(x))))

    With ``normalize_first=True`` each LayerNorm moves to the start of its branch
    (pre-norm). The heads have ``key_dim = hidden // num_heads``.

    Args:
        intermediate_dim: width of the feed-forward layer.
        num_heads: attention heads (must divide the input's feature size).
        dropout: rate for the attention weights and both residual branches.
        activation: of the feed-forward layer (default "relu").
        layer_norm_epsilon: 1e-5.
        kernel_initializer, bias_initializer: for every projection.
        normalize_first: pre-norm instead of post-norm.

    Call arguments: ``inputs`` (B, T, hidden); ``padding_mask`` (B, T), True for real
    tokens (default: the mask an ``Embedding(mask_zero=True)`` attached);
    ``attention_mask`` (B, T, T); ``training``.

    >>> import numpy as np, xpnet as xn
    >>> block = xn.layers.TransformerEncoder(intermediate_dim=16, num_heads=2)
    >>> block(np.ones((2, 5, 8), dtype="float32")).shape
    (2, 5, 8)
    """

    def __init__(
        self,
        intermediate_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        activation: Any = "relu",
        layer_norm_epsilon: float = 1e-5,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        normalize_first: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        who = "TransformerEncoder"
        self.intermediate_dim = positive_int(who, "intermediate_dim", intermediate_dim)
        self.num_heads = positive_int(who, "num_heads", num_heads)
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, (int, float))
            or not 0 <= dropout < 1
        ):
            raise ValueError(f"{who}: expected dropout in [0, 1). Received: dropout={dropout!r}")
        self.dropout = float(dropout)
        self.activation = activations.get(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.normalize_first = _checks.boolean(
            type(self).__name__, "normalize_first", normalize_first
        )

    def build(self, input_shape) -> None:
        hidden = int(input_shape[-1])
        if hidden % self.num_heads:
            raise ValueError(
                f"TransformerEncoder layer '{self.name}': the feature size {hidden} must be "
                f"divisible by num_heads={self.num_heads}."
            )
        init = {
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
        self.attention = MultiHeadAttention(
            self.num_heads, hidden // self.num_heads, dropout=self.dropout,
            name=f"{self.name}_self_attention", **init,
        )  # fmt: skip
        self.attention_norm = LayerNormalization(
            epsilon=self.layer_norm_epsilon, name=f"{self.name}_attention_norm"
        )
        self.attention_dropout = Dropout(self.dropout, name=f"{self.name}_attention_dropout")
        self.intermediate = Dense(
            self.intermediate_dim, activations.serialize(self.activation),
            name=f"{self.name}_intermediate", **init,
        )  # fmt: skip
        self.output_dense = Dense(hidden, name=f"{self.name}_output", **init)
        self.feedforward_norm = LayerNormalization(
            epsilon=self.layer_norm_epsilon, name=f"{self.name}_feedforward_norm"
        )
        self.feedforward_dropout = Dropout(self.dropout, name=f"{self.name}_feedforward_dropout")

    def call(self, inputs, padding_mask=None, attention_mask=None, training=None):
        padding_mask = _mask.resolve(inputs, padding_mask)
        mask = None
        if padding_mask is not None:
            mask = _bool_data(padding_mask, inputs.xp)[:, None, :]
        if attention_mask is not None:
            extra = _bool_data(attention_mask, inputs.xp)
            mask = extra if mask is None else inputs.xp.logical_and(mask, extra)
        if mask is not None:
            mask = inputs.xp.broadcast_to(mask, (inputs.shape[0], inputs.shape[1], inputs.shape[1]))
        x = inputs
        h = self.attention_norm(x) if self.normalize_first else x
        h = self.attention(h, h, attention_mask=mask, training=training)
        x = x + self.attention_dropout(h, training=training)
        if not self.normalize_first:
            x = self.attention_norm(x)
        h = self.feedforward_norm(x) if self.normalize_first else x
        h = self.output_dense(self.intermediate(h))
        x = x + self.feedforward_dropout(h, training=training)
        if not self.normalize_first:
            x = self.feedforward_norm(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            intermediate_dim=self.intermediate_dim,
            num_heads=self.num_heads,
            dropout=self.dropout,
            activation=activations.serialize(self.activation),
            layer_norm_epsilon=self.layer_norm_epsilon,
            **weight_options_config(self, "kernel", "bias", kinds=("initializer",)),
            normalize_first=self.normalize_first,
        )
        return config


class Attention(Layer):
    """Dot-product (Luong-style) attention, as Keras's ``Attention``.

    Called on ``[query, value]`` or ``[query, value, key]`` (``key`` defaults to
    ``value``), each ``(batch, steps, dim)``: ``scores = query @ key^T`` (times a
    learned scalar with ``use_scale``), or with ``score_mode="concat"``
    ``sum(tanh(query_i + key_j))`` (times a learned scalar weight); padded value
    steps (the value's mask) get no attention; the result ``softmax(scores) @ value``
    is zeroed at padded query steps.

    Args:
        use_scale: learn a scalar that scales the scores (starts at 1).
        score_mode: "dot" or "concat".
        dropout: dropout rate on the attention weights (training only).
        seed: the dropout's seed.
    """

    supports_masking = True

    def __init__(
        self,
        use_scale: bool = False,
        score_mode: str = "dot",
        dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                f"Attention: score_mode must be 'dot' or 'concat'; received {score_mode!r}."
            )
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self.attention_dropout = Dropout(self.dropout, seed=seed, name=f"{self.name}_dropout")

    def build(self, input_shape) -> None:
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) not in (2, 3):
            raise ValueError(
                f"Attention layer '{self.name}' expects a list [query, value] or "
                f"[query, value, key]; received input shape {input_shape}."
            )
        self.scale = self.add_weight("scale", (), "ones") if self.use_scale else None
        self.concat_score_weight = (
            self.add_weight("concat_score_weight", (), "ones")
            if self.score_mode == "concat"
            else None
        )

    def _scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.matrix_transpose(key))
            return scores * self.scale if self.scale is not None else scores
        q = ops.expand_dims(query, -2)  # (B, T, 1, d)
        k = ops.expand_dims(key, -3)  # (B, 1, S, d)
        summed = q + k if self.scale is None else (q + k) * self.scale
        return ops.sum(ops.tanh(summed), axis=-1) * self.concat_score_weight

    def call(
        self,
        inputs,
        mask=None,
        training=None,
        return_attention_scores: bool = False,
        use_causal_mask: bool = False,
    ):
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask, None]
        q_mask = masks[0] if masks else None
        v_mask = masks[1] if len(masks) > 1 else None
        scores = self._scores(query, key)  # (B, T, S)
        xp = scores.xp
        hide = None
        if v_mask is not None:
            hide = ~_bool_data(v_mask, xp)[:, None, :]
        if use_causal_mask:
            t, s = scores.shape[-2], scores.shape[-1]
            rows = xp.arange(t, device=B.device_of(scores.data))[:, None]
            cols = xp.arange(s, device=B.device_of(scores.data))[None, :]
            causal = (cols > rows)[None, :, :]
            hide = causal if hide is None else (hide | causal)
        if hide is not None:
            scores = scores + xp.astype(hide, scores.dtype) * _mask_fill(scores.dtype)
        weights = ops.softmax(scores, axis=-1)
        dropped = self.attention_dropout(weights, training=training) if self.dropout else weights
        out = ops.matmul(dropped, value)
        if q_mask is not None:
            out = out * xp.astype(_bool_data(q_mask, xp), out.dtype)[:, :, None]
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            return mask[0]
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(
            use_scale=self.use_scale, score_mode=self.score_mode, dropout=self.dropout,
            seed=self.seed,
        )  # fmt: skip
        return config
