"""Recurrent layers: contract rows, fused sequences against the loop of ops, masks, states,
dropout, and the PyTorch weight mapping."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers
from xpnet.layers import recurrent
from xpnet.ops import rnn as rnn_ops

from helpers import OpCase
from layer_contract import LayerCase

# --------------------------------------------------------------------------- NumPy references


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_simple(xw, w, h0):
    h, out = h0, []
    for t in range(xw.shape[1]):
        h = np.tanh(xw[:, t] + h @ w)
        out.append(h)
    return np.stack(out, 1)


def np_lstm(xw, w, h0, c0):
    u = w.shape[0]
    h, c, hs, cs = h0, c0, [], []
    for t in range(xw.shape[1]):
        z = xw[:, t] + h @ w
        i, f, g, o = (
            _sig(z[:, :u]),
            _sig(z[:, u : 2 * u]),
            np.tanh(z[:, 2 * u : 3 * u]),
            _sig(z[:, 3 * u :]),
        )
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.concatenate([np.stack(hs, 1), np.stack(cs, 1)], axis=2)


def np_gru(xw, w, b, h0):
    u = w.shape[0]
    h, out = h0, []
    for t in range(xw.shape[1]):
        hu = h @ w + b
        z = _sig(xw[:, t, :u] + hu[:, :u])
        r = _sig(xw[:, t, u : 2 * u] + hu[:, u : 2 * u])
        n = np.tanh(xw[:, t, 2 * u :] + r * hu[:, 2 * u :])
        h = z * h + (1 - z) * n
        out.append(h)
    return np.stack(out, 1)


def _small(rng, *shape):
    return rng.standard_normal(shape) * 0.5


OP_CASES = [
    OpCase("rnn_ops.flip", lambda x: rnn_ops.flip(x, 1), lambda x: x[:, ::-1], [(2, 3, 2)]),
    OpCase(
        "rnn_ops.SimpleRNNSequence",
        lambda xw, w, h0: rnn_ops.SimpleRNNSequence.apply(xw, w, h0),
        np_simple,
        make=lambda r: [_small(r, 2, 4, 3), _small(r, 3, 3), _small(r, 2, 3)],
    ),
    OpCase(
        "rnn_ops.LSTMSequence",
        lambda xw, w, h0, c0: rnn_ops.LSTMSequence.apply(xw, w, h0, c0),
        np_lstm,
        make=lambda r: [_small(r, 2, 4, 8), _small(r, 2, 8), _small(r, 2, 2), _small(r, 2, 2)],
    ),
    OpCase(
        "rnn_ops.GRUSequence",
        lambda xw, w, b, h0: rnn_ops.GRUSequence.apply(xw, w, b, h0),
        np_gru,
        make=lambda r: [_small(r, 2, 4, 9), _small(r, 3, 9), _small(r, 9), _small(r, 2, 3)],
    ),
]

LAYER_CASES = [
    LayerCase(lambda: layers.SimpleRNN(3), (2, 4, 5), (2, 3), 5 * 3 + 3 * 3 + 3),
    LayerCase(
        lambda: layers.SimpleRNN(2, activation="relu", return_sequences=True, go_backwards=True),
        (2, 3, 4), (2, 3, 2), 4 * 2 + 2 * 2 + 2, label="relu, sequences, backwards",
    ),
    LayerCase(
        lambda: layers.SimpleRNN(2, activation="sigmoid", return_state=True),
        (2, 3, 2), [(2, 2), (2, 2)], 2 * 2 + 2 * 2 + 2, label="unfused, state",
    ),
    LayerCase(lambda: layers.LSTM(3), (2, 4, 5), (2, 3), 4 * (5 * 3 + 3 * 3 + 3)),
    LayerCase(
        lambda: layers.LSTM(2, return_sequences=True, return_state=True, go_backwards=True),
        (2, 3, 4), [(2, 3, 2), (2, 2), (2, 2)], 4 * (4 * 2 + 2 * 2 + 2),
        label="sequences, state, backwards",
    ),
    LayerCase(
        lambda: layers.LSTM(2, recurrent_activation="tanh", use_bias=False, dropout=0.5),
        (2, 3, 2), (2, 2), 4 * (2 * 2 + 2 * 2), label="unfused, no bias, dropout (inference)",
    ),
    LayerCase(lambda: layers.GRU(3), (2, 4, 5), (2, 3), 3 * (5 * 3 + 3 * 3) + 2 * 9),
    LayerCase(
        lambda: layers.GRU(2, reset_after=False, return_sequences=True),
        (2, 3, 4), (2, 3, 2), 3 * (4 * 2 + 2 * 2 + 2), label="reset_after=False",
    ),
    LayerCase(
        lambda: layers.GRU(2, return_state=True, use_bias=False),
        (2, 3, 2), [(2, 2), (2, 2)], 3 * (2 * 2 + 2 * 2), label="state, no bias",
    ),
    LayerCase(
        lambda: layers.Bidirectional(layers.LSTM(2, return_sequences=True)),
        (2, 3, 4), (2, 3, 4), 2 * 4 * (4 * 2 + 2 * 2 + 2),
    ),
    LayerCase(
        lambda: layers.Bidirectional(layers.GRU(2, return_state=True), merge_mode="sum"),
        (2, 3, 2), [(2, 2), (2, 2), (2, 2)], 2 * (3 * (2 * 2 + 2 * 2) + 12),
        label="sum, state",
    ),
    LayerCase(
        lambda: layers.TimeDistributed(layers.Dense(3)),
        (2, 4, 5), (2, 4, 3), 5 * 3 + 3,
    ),
    LayerCase(
        lambda: layers.TimeDistributed(layers.Conv2D(2, 3, activation="tanh")),
        (2, 2, 4, 4, 1), (2, 2, 2, 2, 2), 9 * 2 + 2, label="Conv2D",
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_op_forward_matches_numpy(case):
    raw = case.inputs()
    out = case.fn(*[xn.Tensor(a, dtype="float32") for a in raw])
    assert out.dtype == xn.backend.dtype("float32", out.xp)
    expected = case.ref(*[a.astype(np.float32).astype(np.float64) for a in raw])
    np.testing.assert_allclose(xn.to_numpy(out), expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_op_backward_matches_finite_differences(case):
    assert xn.gradcheck(case.fn, *case.inputs()).passed


# --------------------------------------------------------------------------- fused == unfused

_MAKERS = {
    "SimpleRNN": lambda **kw: layers.SimpleRNN(3, **kw),
    "LSTM": lambda **kw: layers.LSTM(3, **kw),
    "GRU": lambda **kw: layers.GRU(3, **kw),
}


def _run(layer, x, mask, fused, training=None):
    layer._fused = (lambda: True) if fused else (lambda: False)
    xs = xn.Tensor(x, dtype="float64", requires_grad=True)
    xn.set_seed(3)  # the same dropout masks in both runs
    outs = layer(xs, mask=mask, training=training)
    outs = outs if isinstance(outs, list) else [outs]
    total = sum((o * float(k + 1)).sum() for k, o in enumerate(outs))
    layer.zero_grad()
    total.backward()
    return (
        [xn.to_numpy(o) for o in outs]
        + [xn.to_numpy(xs.grad)]
        + [xn.to_numpy(p.grad) for p in layer.trainable_weights]
    )


@pytest.mark.parametrize("kind", sorted(_MAKERS))
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("dropout", [False, True])
def test_fused_sequence_equals_loop_of_ops(kind, masked, dropout):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4))
    mask = (
        np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 1, 1, 0]], dtype=bool)
        if masked
        else None
    )
    kw = {"return_sequences": True, "return_state": True}
    if dropout:
        kw.update(dropout=0.3, recurrent_dropout=0.4)
    layer = _MAKERS[kind](**kw)
    layer(x.astype(np.float32))
    for p in layer.weights:
        p.data = xn.backend.asarray(xn.to_numpy(p.data), dtype="float64")
    mask_arr = None if mask is None else xn.backend.asarray(mask)
    fused = _run(layer, x, mask_arr, True, training=dropout)
    loop = _run(layer, x, mask_arr, False, training=dropout)
    for a, b in zip(fused, loop):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(_MAKERS))
def test_mask_equals_running_on_the_unpadded_sequence(kind):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 6, 3)).astype(np.float32)
    layer = _MAKERS[kind]()
    short = xn.to_numpy(layer(x[:, :4]))
    padded = np.concatenate([x[:, :4], rng.standard_normal((1, 2, 3)).astype(np.float32)], axis=1)
    mask = xn.backend.asarray(np.array([[1, 1, 1, 1, 0, 0]], dtype=bool))
    np.testing.assert_allclose(xn.to_numpy(layer(padded, mask=mask)), short, rtol=1e-6)


def test_embedding_mask_reaches_the_rnn():
    emb = layers.Embedding(5, 3, mask_zero=True)
    lstm = layers.LSTM(2)
    with_pad = lstm(emb(np.array([[1, 4, 2, 0, 0]])))
    without = lstm(emb(np.array([[1, 4, 2]])))
    np.testing.assert_allclose(xn.to_numpy(with_pad), xn.to_numpy(without), rtol=1e-6)


def test_go_backwards_reverses_the_sequence():
    x = np.random.default_rng(2).standard_normal((2, 4, 3)).astype(np.float32)
    fwd = layers.GRU(2, return_sequences=True)
    bwd = layers.GRU(2, return_sequences=True, go_backwards=True)
    a = fwd(x[:, ::-1].copy())
    bwd(x)
    bwd.set_weights(fwd.get_weights())
    np.testing.assert_allclose(xn.to_numpy(bwd(x)), xn.to_numpy(a), rtol=1e-6)


def test_initial_state_stateful_and_reset():
    x = np.random.default_rng(3).standard_normal((2, 3, 2)).astype(np.float32)
    lstm = layers.LSTM(2, return_state=True)
    _, h, c = lstm(x)
    again, _, _ = lstm(x, initial_state=[h, c])
    st = layers.LSTM(2, stateful=True)
    st(x)
    st.set_weights(lstm.get_weights())
    st.reset_states()
    st(x)
    np.testing.assert_allclose(xn.to_numpy(st(x)), xn.to_numpy(again), rtol=1e-6)
    with pytest.raises(ValueError, match="expects 2 initial state"):
        lstm(x, initial_state=[h])


def test_dropout_only_in_training():
    x = np.ones((4, 3, 5), dtype=np.float32)
    rnn = layers.SimpleRNN(3, dropout=0.5, recurrent_dropout=0.5)
    a, b = xn.to_numpy(rnn(x)), xn.to_numpy(rnn(x))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(xn.to_numpy(rnn(x, training=True)), a)


def test_lstm_forget_bias_starts_at_one():
    lstm = layers.LSTM(2)
    lstm(np.ones((1, 1, 3), dtype=np.float32))
    assert xn.to_numpy(lstm.bias).tolist() == [0, 0, 1, 1, 0, 0, 0, 0]
    plain = layers.LSTM(2, unit_forget_bias=False)
    plain(np.ones((1, 1, 3), dtype=np.float32))
    assert not xn.to_numpy(plain.bias).any()


@pytest.mark.parametrize("kind", sorted(_MAKERS))
def test_torch_weight_mapping_round_trips(kind):
    layer = _MAKERS[kind]()
    layer(np.ones((1, 2, 4), dtype=np.float32))
    state = recurrent.to_torch_weights(layer)
    gates = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
    assert state["weight_ih_l0"].shape == (gates * 3, 4)
    assert state["weight_hh_l0"].shape == (gates * 3, 3)
    clone = _MAKERS[kind]()
    recurrent.from_torch_weights(clone, state)
    for a, b in zip(layer.get_weights(), clone.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(ValueError, match="no PyTorch equivalent"):
        recurrent.to_torch_weights(layers.GRU(2, reset_after=False))


def test_recurrent_arguments_are_validated():
    with pytest.raises(ValueError, match="positive integer for units"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match=r"dropout in \[0, 1\)"):
        layers.GRU(2, dropout=1.0)
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="expected a recurrent layer"):
        layers.Bidirectional(layers.Dense(2))
    with pytest.raises(ValueError, match=r"expected inputs \(batch, timesteps, features\)"):
        layers.SimpleRNN(2)(np.ones((2, 3), dtype=np.float32))


def test_standard_activations_take_the_fused_path():
    assert layers.SimpleRNN(2)._fused() and layers.SimpleRNN(2, activation="relu")._fused()
    assert layers.LSTM(2)._fused() and layers.GRU(2)._fused()
    assert not layers.GRU(2, reset_after=False)._fused()
    assert not layers.LSTM(2, activation="sigmoid")._fused()
    x = xn.Tensor(np.ones((1, 3, 2), dtype=np.float32))
    lstm = layers.LSTM(2, return_sequences=True)
    y = lstm(x)
    assert isinstance(y._ctx.parents[0]._ctx, rnn_ops.LSTMSequence)  # one node, sliced


def test_gru_reset_before_matches_the_formula():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    gru = layers.GRU(2, reset_after=False, return_sequences=True)
    gru(x)
    for p in gru.weights:
        p.data = xn.backend.asarray(rng.standard_normal(p.shape).astype(np.float32) * 0.5)
    k, rk, b = (w.astype(np.float64) for w in gru.get_weights())
    h, outs = np.zeros((2, 2)), []
    for t in range(4):
        xw = x[:, t].astype(np.float64) @ k + b
        z = _sig(xw[:, :2] + h @ rk[:, :2])
        r = _sig(xw[:, 2:4] + h @ rk[:, 2:4])
        n = np.tanh(xw[:, 4:] + (r * h) @ rk[:, 4:])
        h = z * h + (1 - z) * n
        outs.append(h)
    np.testing.assert_allclose(xn.to_numpy(gru(x)), np.stack(outs, 1), rtol=1e-5, atol=1e-6)
