"""Masks as Keras 3 carries them: Masking, Lambda, supports_masking, merges, compute_mask.

The expected values are masked reductions computed by hand in NumPy from the
layers' own weights: a mean over the real (unmasked) steps only.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from layer_contract import LayerCase


@xn.saving.register_keras_serializable(package="tests")
def doubled(x):
    return x * 2.0


def _padded(rng):
    x = rng.standard_normal((3, 5, 4))
    x[0, 3:] = 0.0  # two padded steps
    x[2, 1:] = 0.0  # four
    return x


LAYER_CASES = [
    # the mask is a step function of the values: finite differences at a padded (exactly
    # zero) step jump, so the input gradient is checked by hand below instead
    LayerCase(
        lambda: layers.Masking(),
        (3, 5, 4),
        (3, 5, 4),
        0,
        inputs=_padded,
        train_step=False,
        gradcheck_inputs=False,
    ),
    LayerCase(lambda: layers.Lambda(doubled), (2, 3), (2, 3), 0, train_step=False),
]

IDS = np.array([[3, 5, 7, 0, 0], [2, 0, 0, 0, 0], [1, 4, 6, 8, 9]])
KEEP = IDS != 0


def _masked_mean(h, keep):
    w = keep[..., None].astype(np.float64)
    return (h * w).sum(axis=1) / w.sum(axis=1)


def _np(t):
    return np.asarray(xn.to_numpy(t), dtype=np.float64)


def test_mask_passes_dense_activation_layernorm_and_dropout_in_training():
    emb = layers.Embedding(10, 4, mask_zero=True)
    dense = layers.Dense(6)
    act = layers.Activation("tanh")
    norm = layers.LayerNormalization()
    drop = layers.Dropout(0.5)
    pool = layers.GlobalAveragePooling1D()
    e = emb(IDS)
    h = norm(act(dense(e)))
    with xn.no_grad():
        dropped = drop(h, training=True)
    out = pool(dropped)
    assert xn.layers._mask.get_mask(dropped) is not None
    np.testing.assert_array_equal(xn.to_numpy(xn.layers._mask.get_mask(dropped)), KEEP)
    np.testing.assert_allclose(_np(out), _masked_mean(_np(dropped), KEEP), rtol=1e-5, atol=1e-6)
    # and by hand from the weights, without dropout
    table = _np(emb.embeddings)
    z = np.tanh(table[IDS] @ _np(dense.kernel) + _np(dense.bias))
    z = (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(_np(pool(h)), _masked_mean(z, KEEP), rtol=1e-4, atol=1e-5)


def test_functional_residual_add_and_batchnorm_keep_the_mask():
    inp = xn.Input(shape=(None,), dtype="int32")
    e = layers.Embedding(10, 4, mask_zero=True)(inp)
    h = layers.BatchNormalization()(layers.Dense(4)(e))
    r = layers.add([e, h])
    t = layers.TimeDistributed(layers.Dense(3))(r)
    out = layers.GlobalAveragePooling1D()(t)
    model = xn.Model(inp, [out, t])
    pooled, seq = model(IDS)
    np.testing.assert_allclose(_np(pooled), _masked_mean(_np(seq), KEEP), rtol=1e-5, atol=1e-6)
    # the unmasked mean differs: the test can tell a dropped mask
    assert not np.allclose(_np(pooled), _np(seq).mean(axis=1), atol=1e-3)


def test_masking_layer_zeros_and_marks_padded_steps():
    x = _padded(np.random.default_rng(0))
    keep = np.abs(x).sum(-1) != 0
    m = layers.Masking()
    y = m(xn.Tensor(x, dtype="float32"))
    np.testing.assert_array_equal(xn.to_numpy(xn.layers._mask.get_mask(y)), keep)
    pooled = layers.GlobalAveragePooling1D()(layers.Dense(2)(y))
    assert pooled.shape == (3, 2)
    x2 = x.copy()
    x2[1, 2] = 7.0
    y2 = layers.Masking(mask_value=7.0)(xn.Tensor(x2, dtype="float32"))
    assert not xn.to_numpy(xn.layers._mask.get_mask(y2))[1, 2]
    np.testing.assert_array_equal(xn.to_numpy(y2)[1, 2], np.zeros(4))


def test_concatenate_and_merges_combine_masks():
    a_ids = np.array([[1, 2, 0], [3, 0, 0]])
    b_ids = np.array([[1, 0, 0], [3, 4, 5]])
    ea = layers.Embedding(6, 2, mask_zero=True)(a_ids)
    eb = layers.Embedding(6, 2, mask_zero=True)(b_ids)
    both = a_ids != 0
    both &= b_ids != 0
    cat = layers.concatenate([ea, eb])  # features: a step is real where both are
    np.testing.assert_array_equal(xn.to_numpy(xn.layers._mask.get_mask(cat)), both)
    added = layers.Add()([ea, eb])
    np.testing.assert_array_equal(xn.to_numpy(xn.layers._mask.get_mask(added)), both)
    steps = layers.Concatenate(axis=1)([ea, eb])  # along the steps: masks join
    np.testing.assert_array_equal(
        xn.to_numpy(xn.layers._mask.get_mask(steps)), np.concatenate([a_ids, b_ids], 1) != 0
    )
    plain = xn.Tensor(np.ones((2, 3, 2)), dtype="float32")
    half = layers.Concatenate(axis=1)([ea, plain])  # an unmasked input counts as all real
    np.testing.assert_array_equal(
        xn.to_numpy(xn.layers._mask.get_mask(half)),
        np.concatenate([a_ids != 0, np.ones((2, 3), bool)], 1),
    )


def test_custom_layers_get_mask_in_call_and_set_it_with_compute_mask():
    seen = {}

    class Recorder(layers.Layer):
        supports_masking = True

        def call(self, inputs, mask=None):
            seen["mask"] = mask
            return inputs * 1.0

    class DropFirstStep(layers.Layer):
        def call(self, inputs):
            return inputs * 1.0

        def compute_mask(self, inputs, mask=None):
            xp = inputs.xp
            first = xp.zeros((mask.shape[0], 1), dtype=xp.bool, device=mask.device)
            return xp.concat([first, mask[:, 1:]], axis=1)

    e = layers.Embedding(10, 3, mask_zero=True)(IDS)
    r = Recorder()(e)
    np.testing.assert_array_equal(xn.to_numpy(seen["mask"]), KEEP)
    np.testing.assert_array_equal(xn.to_numpy(xn.layers._mask.get_mask(r)), KEEP)
    d = DropFirstStep()(e)
    expected = KEEP.copy()
    expected[:, 0] = False
    np.testing.assert_array_equal(xn.to_numpy(xn.layers._mask.get_mask(d)), expected)
    # a layer that does not support masking drops it, as in Keras
    flat = layers.Flatten()(e)
    assert xn.layers._mask.get_mask(flat) is None


def test_lambda_saves_by_registered_name_only(tmp_path):
    model = xn.Sequential([xn.Input(shape=(3,)), layers.Lambda(doubled), layers.Dense(2)])
    path = tmp_path / "m.xpnet"
    model.save(path)
    clone = xn.models.load_model(path)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(xn.to_numpy(clone.predict(x)), xn.to_numpy(model.predict(x)))
    anon = xn.Sequential([xn.Input(shape=(3,)), layers.Lambda(lambda t: t + 1.0)])
    with pytest.raises(ValueError, match="never store code.*register_keras_serializable"):
        anon.save(tmp_path / "anon.xpnet")
    assert not (tmp_path / "anon.xpnet").exists()
    with pytest.raises(ValueError, match="no registered function named 'os.system'"):
        layers.Lambda.from_config({"function": "os.system"})


def test_masking_gradient_is_one_on_real_steps_and_zero_on_padding():
    x = _padded(np.random.default_rng(1))
    t = xn.Tensor(x, dtype="float32", requires_grad=True)
    layers.Masking()(t).sum().backward()
    keep = (np.abs(x).sum(-1) != 0)[..., None]
    np.testing.assert_array_equal(xn.to_numpy(t.grad), np.broadcast_to(keep, x.shape) * 1.0)


def _seq_model():
    inp = xn.Input(shape=(None,), dtype="int32")
    h = layers.Embedding(10, 4, mask_zero=True)(inp)
    out = layers.Dense(3)(h)
    return xn.Model(inp, out)


def _masked_ce(logits, labels, keep):
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    per = -np.take_along_axis(logp, labels[..., None], -1)[..., 0]
    return (per * keep).sum() / keep.sum()


def test_evaluate_and_fit_losses_and_metrics_honour_the_mask(backend):
    model = _seq_model()
    model.compile(
        optimizer="sgd",
        loss=xn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    labels = np.array([[0, 1, 2, 1, 0], [2, 2, 1, 0, 1], [1, 0, 2, 2, 1]])
    logits = _np(model.predict(IDS, verbose=0))
    loss, acc = model.evaluate(IDS, labels, batch_size=3, verbose=0)
    # Keras 3: sum over the real steps / their number (padded steps weigh 0)
    assert loss == pytest.approx(_masked_ce(logits, labels, KEEP), rel=1e-5)
    assert acc == pytest.approx(((logits.argmax(-1) == labels) * KEEP).sum() / KEEP.sum())
    # the unmasked mean differs: the test can tell
    assert abs(loss - _masked_ce(logits, labels, np.ones_like(KEEP))) > 1e-4
    # padded steps get no gradient: changing their labels changes nothing in training
    w0 = model.get_weights()
    model.train_on_batch(IDS, labels)
    after_a = model.get_weights()
    model.set_weights(w0)
    other = np.where(KEEP, labels, (labels + 1) % 3)
    model.train_on_batch(IDS, other)
    for a, b in zip(after_a, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_loss_with_an_explicit_mask_matches_keras_apply_mask():
    y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    p = xn.Tensor(np.array([[0.5, 0.2, 0.9], [0.1, 0.4, 0.3]]), dtype="float32")
    keep = np.array([[True, True, False], [True, False, False]])
    per = (y - xn.to_numpy(p)) ** 2
    loss = xn.losses.MeanSquaredError()(y[..., None], p[..., None], mask=keep)
    assert float(xn.to_numpy(loss)) == pytest.approx((per * keep).sum() / keep.sum(), rel=1e-5)
    with pytest.raises(ValueError, match="does not fit"):
        xn.losses.MeanSquaredError()(y, p, mask=np.ones((3, 2), bool))
