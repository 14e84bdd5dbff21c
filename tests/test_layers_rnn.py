"""RNN with SimpleRNNCell / LSTMCell / GRUCell / StackedRNNCells: contract rows, equality
with the SimpleRNN / LSTM / GRU layers given the same weights (fused and loop paths),
masks, states, a cell of one's own, and serialization."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from layer_contract import LayerCase

LAYER_CASES = [
    LayerCase(lambda: layers.RNN(layers.SimpleRNNCell(3)), (2, 4, 5), (2, 3), 5 * 3 + 3 * 3 + 3),
    LayerCase(
        lambda: layers.RNN(layers.LSTMCell(2), return_sequences=True, return_state=True,
                           go_backwards=True),
        (2, 3, 4), [(2, 3, 2), (2, 2), (2, 2)], 4 * (4 * 2 + 2 * 2 + 2),
        label="LSTMCell, sequences, state, backwards",
    ),
    LayerCase(
        lambda: layers.RNN(layers.GRUCell(2), zero_output_for_mask=True, return_sequences=True),
        (2, 3, 4), (2, 3, 2), 3 * (4 * 2 + 2 * 2) + 2 * 6, label="GRUCell, loop path",
    ),
    LayerCase(
        lambda: layers.RNN([layers.LSTMCell(3), layers.SimpleRNNCell(2)], return_state=True),
        (2, 3, 4), [(2, 2), (2, 3), (2, 3), (2, 2)],
        4 * (4 * 3 + 3 * 3 + 3) + (3 * 2 + 2 * 2 + 2), label="stacked",
    ),
    LayerCase(lambda: layers.SimpleRNNCell(3), (2, 5), [(2, 3), [(2, 3)]], 5 * 3 + 3 * 3 + 3),
    LayerCase(lambda: layers.LSTMCell(2), (2, 4), [(2, 2), [(2, 2), (2, 2)]], 4 * (4 * 2 + 4 + 2)),
    LayerCase(
        lambda: layers.GRUCell(2, reset_after=False), (2, 4), [(2, 2), [(2, 2)]],
        3 * (4 * 2 + 2 * 2 + 2), label="reset_after=False",
    ),
    LayerCase(
        lambda: layers.StackedRNNCells([layers.GRUCell(3), layers.LSTMCell(2)]),
        (2, 4), [(2, 2), [(2, 3), (2, 2), (2, 2)]],
        3 * (4 * 3 + 3 * 3) + 2 * 9 + 4 * (3 * 2 + 2 * 2 + 2),
    ),
]  # fmt: skip

PAIRS = [
    (layers.SimpleRNN, layers.SimpleRNNCell, {}),
    (layers.SimpleRNN, layers.SimpleRNNCell, {"activation": "sigmoid"}),
    (layers.LSTM, layers.LSTMCell, {}),
    (layers.LSTM, layers.LSTMCell, {"recurrent_activation": "hard_sigmoid"}),
    (layers.GRU, layers.GRUCell, {}),
    (layers.GRU, layers.GRUCell, {"reset_after": False}),
]


def _x(shape=(3, 6, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("loop", [False, True], ids=["sequence path", "loop of cell calls"])
@pytest.mark.parametrize("layer_cls,cell_cls,kw", PAIRS, ids=lambda v: getattr(v, "__name__", ""))
def test_rnn_of_a_cell_equals_the_layer(layer_cls, cell_cls, kw, loop):
    x = _x()
    mask = np.ones((3, 6), dtype=bool)
    mask[0, 4:] = False
    mask[2, 2:] = False
    ref = layer_cls(5, return_sequences=True, return_state=True, **kw)
    want = ref(x, mask=mask)
    rnn = layers.RNN(cell_cls(5, **kw), return_sequences=True, return_state=True)
    rnn(x)
    rnn.set_weights(ref.get_weights())
    got = rnn._loop(xn.Tensor(x), None, mask, False) if loop else rnn(x, mask=mask)
    assert len(got) == len(want)
    for a, b in zip(got[1:], want[1:]):  # final states (masked steps keep them)
        np.testing.assert_allclose(xn.to_numpy(a), xn.to_numpy(b), rtol=1e-5, atol=1e-6)
    seq_a, seq_b = xn.to_numpy(got[0]), xn.to_numpy(want[0])
    np.testing.assert_allclose(seq_a[mask], seq_b[mask], rtol=1e-5, atol=1e-6)


def test_cell_step_equals_the_layer_on_one_step():
    x = _x((2, 1, 3))
    lstm = layers.LSTM(4, return_state=True)
    out, h, c = lstm(x)
    cell = layers.LSTMCell(4)
    cell(x[:, 0])
    cell.set_weights(lstm.get_weights())
    zeros = np.zeros((2, 4), dtype="float32")
    o2, (h2, c2) = cell(x[:, 0], [zeros, zeros])
    for a, b in [(out, o2), (h, h2), (c, c2)]:
        np.testing.assert_allclose(xn.to_numpy(a), xn.to_numpy(b), rtol=1e-6, atol=1e-7)
    assert cell.state_size == [4, 4] and cell.output_size == 4
    assert layers.GRUCell(3).state_size == 3


def test_stacked_cells_equal_two_layers_in_sequence():
    x = _x()
    first = layers.GRU(4, return_sequences=True)
    second = layers.LSTM(3)
    want = second(first(x))
    rnn = layers.RNN([layers.GRUCell(4), layers.LSTMCell(3)])
    rnn(x)
    rnn.set_weights(first.get_weights() + second.get_weights())
    np.testing.assert_allclose(xn.to_numpy(rnn(x)), xn.to_numpy(want), rtol=1e-5, atol=1e-6)


def test_initial_state_and_stateful():
    x = _x()
    h0 = np.random.default_rng(1).standard_normal((3, 2)).astype("float32")
    ref = layers.GRU(2)
    want = ref(x, initial_state=[h0])
    rnn = layers.RNN(layers.GRUCell(2), stateful=True)
    rnn(x)
    rnn.set_weights(ref.get_weights())
    rnn.reset_states([h0])
    np.testing.assert_allclose(xn.to_numpy(rnn(x)), xn.to_numpy(want), rtol=1e-6, atol=1e-7)
    second = ref(x, initial_state=[want])  # the kept state is the last output
    np.testing.assert_allclose(xn.to_numpy(rnn(x)), xn.to_numpy(second), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="initial state"):
        layers.RNN(layers.LSTMCell(2))(x, initial_state=[h0])


class MinimalCell(layers.Layer):
    """The cell of Keras's RNN documentation: h = x @ W + h_prev @ U, no bias."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), name="recurrent_kernel"
        )

    def call(self, inputs, states):
        h = xn.ops.matmul(inputs, self.kernel) + xn.ops.matmul(states[0], self.recurrent_kernel)
        return h, [h]


def test_a_cell_of_ones_own_runs_as_a_loop():
    x = _x()
    rnn = layers.RNN(MinimalCell(3), return_sequences=True)
    out = xn.to_numpy(rnn(x))
    w, u = (xn.to_numpy(p) for p in rnn.get_weights())
    h = np.zeros((3, 3))
    for t in range(x.shape[1]):
        h = x[:, t] @ w + h @ u
        np.testing.assert_allclose(out[:, t], h, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(layers.Dense(3))


def test_zero_output_for_mask():
    x = _x()
    mask = np.ones((3, 6), dtype=bool)
    mask[1, 3:] = False
    rnn = layers.RNN(layers.SimpleRNNCell(2), return_sequences=True, zero_output_for_mask=True)
    out = xn.to_numpy(rnn(x, mask=mask))
    assert np.all(out[1, 3:] == 0) and np.all(out[1, :3] != 0)


def test_cells_refuse_sequence_options():
    with pytest.raises(TypeError, match="RNN\\(cell"):
        layers.LSTMCell(3, return_sequences=True)
    with pytest.raises(ValueError, match="return_sequences"):
        layers.RNN(layers.LSTMCell(3), return_sequences="yes")


def test_rnn_in_a_saved_model(tmp_path):
    model = xn.Sequential([xn.Input((6, 4)), layers.RNN(layers.LSTMCell(3)), layers.Dense(1)])
    x = _x()
    path = tmp_path / "m.xpnet"
    model.save(path)
    again = xn.models.load_model(path)
    np.testing.assert_allclose(xn.to_numpy(again(x)), xn.to_numpy(model(x)), rtol=1e-6)
