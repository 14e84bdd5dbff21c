"""MultiHeadAttention and TransformerEncoder: contract rows, a NumPy reference, masks."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from layer_contract import LayerCase

# The key bias adds q . b_k to every logit of a query row, which softmax ignores: its
# gradient is exactly zero, and gradcheck's relative error of two zeros (numerical noise
# ~1e-10 against 0) is 1. Rows with a key bias therefore skip the contract's gradcheck
# and test_gradients_with_biases checks every other weight, and that one is zero.
LAYER_CASES = [
    LayerCase(lambda: layers.MultiHeadAttention(2, 3), (2, 4, 6), (2, 4, 6),
              3 * (6 * 2 * 3 + 2 * 3) + 2 * 3 * 6 + 6, gradcheck=False),
    LayerCase(lambda: layers.MultiHeadAttention(2, 3, value_dim=2, output_shape=5,
                                                use_bias=False),
              [(2, 3, 4), (2, 5, 6)], (2, 3, 5), 4 * 6 + 6 * 6 + 6 * 4 + 4 * 5,
              label="cross, value_dim, output_shape, no bias"),
    LayerCase(lambda: layers.MultiHeadAttention(1, 4), (2, 5, 3), (2, 5, 3),
              3 * (3 * 4 + 4) + 4 * 3 + 3, label="causal", gradcheck=False,
              call_kwargs={"use_causal_mask": True}),
    LayerCase(lambda: layers.MultiHeadAttention(2, 2, dropout=0.5, use_bias=False), (2, 3, 4),
              (2, 3, 4), 4 * 4 * 4, label="dropout (inference), no bias"),
    LayerCase(lambda: layers.TransformerEncoder(8, 2), (2, 3, 4), (2, 3, 4),
              4 * (4 * 4 + 4) + (4 * 8 + 8) + (8 * 4 + 4) + 2 * 8, gradcheck=False),
    LayerCase(lambda: layers.TransformerEncoder(6, 1, normalize_first=True, activation="tanh"),
              (2, 4, 2), (2, 4, 2), 4 * (2 * 2 + 2) + (2 * 6 + 6) + (6 * 2 + 2) + 2 * 4,
              label="pre-norm, tanh", gradcheck=False),
]  # fmt: skip


def np_mha(q, v, weights, heads, mask=None):
    """Scaled dot-product attention per head, straight from the formula."""
    wq, bq, wk, bk, wv, bv, wo, bo = weights
    qh = np.einsum("btd,dhk->bhtk", q, wq) + bq[None, :, None, :]
    kh = np.einsum("bsd,dhk->bhsk", v, wk) + bk[None, :, None, :]
    vh = np.einsum("bsd,dhk->bhsk", v, wv) + bv[None, :, None, :]
    logits = np.einsum("bhtk,bhsk->bhts", qh, kh) / np.sqrt(wq.shape[-1])
    if mask is not None:
        logits = np.where(mask[:, None], logits, logits - 1e9)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    a = e / e.sum(-1, keepdims=True)
    ctx = np.einsum("bhts,bhsk->bthk", a, vh)
    return np.einsum("bthk,hko->bto", ctx, wo) + bo, a


def test_values_match_the_formula_with_masks():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 3, 4)).astype(np.float32)
    v = rng.standard_normal((2, 5, 6)).astype(np.float32)
    mha = layers.MultiHeadAttention(2, 3, value_dim=2)
    mha(q, v)
    weights = [w.astype(np.float64) for w in mha.get_weights()]
    for w in mha.weights:  # nonzero biases too
        w.data = xn.backend.asarray(rng.standard_normal(w.shape) * 0.5)
    weights = [w.astype(np.float64) for w in mha.get_weights()]
    mask = rng.random((2, 3, 5)) > 0.3
    mask[:, :, 0] = True
    out, scores = mha(q, v, attention_mask=mask, return_attention_scores=True)
    ref_out, ref_scores = np_mha(q.astype(np.float64), v.astype(np.float64), weights, 2, mask)
    np.testing.assert_allclose(xn.to_numpy(out), ref_out, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(xn.to_numpy(scores), ref_scores, rtol=2e-5, atol=2e-6)
    assert (xn.to_numpy(scores)[np.broadcast_to(~mask[:, None], scores.shape)] < 1e-6).all()


def test_causal_mask_and_list_inputs():
    x = np.random.default_rng(1).standard_normal((1, 4, 4)).astype(np.float32)
    mha = layers.MultiHeadAttention(2, 2)
    _, scores = mha([x, x], use_causal_mask=True, return_attention_scores=True)
    s = xn.to_numpy(scores)[0, 0]
    assert np.allclose(np.triu(s, 1), 0.0) and np.allclose(s.sum(-1), 1.0)
    # a prefix does not see the future: outputs of the first 2 steps ignore steps 2, 3
    full = xn.to_numpy(mha(x, use_causal_mask=True))
    prefix = xn.to_numpy(mha(x[:, :2], use_causal_mask=True))
    np.testing.assert_allclose(full[:, :2], prefix, rtol=1e-5, atol=1e-6)


def test_embedding_mask_hides_padding_keys():
    emb = layers.Embedding(6, 4, mask_zero=True)
    mha = layers.MultiHeadAttention(1, 4)
    tokens = emb(np.array([[3, 1, 0, 0]]))
    _, scores = mha(tokens, tokens, return_attention_scores=True)
    assert np.allclose(xn.to_numpy(scores)[0, 0][:2, 2:], 0.0)


def test_transformer_padding_mask_ignores_padded_steps():
    rng = np.random.default_rng(2)
    block = layers.TransformerEncoder(8, 2)
    x = rng.standard_normal((1, 5, 4)).astype(np.float32)
    mask = np.array([[True, True, True, False, False]])
    padded = xn.to_numpy(block(x, padding_mask=mask))
    short = xn.to_numpy(block(x[:, :3]))
    np.testing.assert_allclose(padded[:, :3], short, rtol=1e-5, atol=1e-6)


def test_dropout_only_in_training():
    x = np.ones((2, 3, 4), dtype=np.float32) + np.arange(4, dtype=np.float32)
    block = layers.TransformerEncoder(8, 2, dropout=0.5)
    a = xn.to_numpy(block(x))
    np.testing.assert_array_equal(a, xn.to_numpy(block(x)))
    assert not np.allclose(xn.to_numpy(block(x, training=True)), a)


def test_attention_arguments_are_validated():
    with pytest.raises(ValueError, match="positive integer for num_heads"):
        layers.MultiHeadAttention(0, 2)
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 2, attention_axes=(1, 2))
    with pytest.raises(ValueError, match="divisible by num_heads=3"):
        layers.TransformerEncoder(8, 3)(np.ones((1, 2, 4), dtype=np.float32))
    mha = layers.MultiHeadAttention(2, 2)
    mha(np.ones((1, 2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="was built for"):
        mha(np.ones((1, 2, 5), dtype=np.float32))


@pytest.mark.parametrize(
    "make, inputs, kwargs",
    [
        (lambda: layers.MultiHeadAttention(2, 3), [(2, 4, 6), (2, 3, 5)], {}),
        (lambda: layers.MultiHeadAttention(1, 4), [(2, 5, 3)], {"use_causal_mask": True}),
        (lambda: layers.TransformerEncoder(8, 2), [(2, 3, 4)], {}),
        (lambda: layers.TransformerEncoder(6, 1, normalize_first=True), [(2, 4, 2)], {}),
    ],
)
def test_gradients_with_biases(make, inputs, kwargs):
    rng = np.random.default_rng(4)
    raw = [rng.standard_normal(s) for s in inputs]
    layer = make()
    layer(*[x.astype(np.float32) for x in raw], **kwargs)
    for p in layer.weights:  # nonzero biases and LayerNorm parameters
        p.data = xn.backend.asarray(rng.standard_normal(p.shape) * 0.5)
    key_biases = [p for p in layer.weights if p.name.endswith("key_bias")]
    params = [p for p in layer.trainable_weights if not p.name.endswith("key_bias")]
    assert key_biases and len(params) == len(layer.trainable_weights) - len(key_biases)

    def fn(*xs):
        out = layer(*xs, **kwargs)
        return (out * out).sum()

    assert xn.gradcheck(fn, *raw, params=params).passed
    xs = [xn.Tensor(x, dtype="float32") for x in raw]
    fn(*xs).backward()
    for b in key_biases:
        assert np.abs(xn.to_numpy(b.grad)).max() < 1e-4 * np.abs(xn.to_numpy(params[0].grad)).max()
