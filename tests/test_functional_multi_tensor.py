"""Layers called on several symbolic tensors as separate arguments (``mha(q, v)``)."""

from __future__ import annotations

import numpy as np

import xpnet as xn
from xpnet import layers


def _data():
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((2, 3, 4)).astype("float32"),
        rng.standard_normal((2, 5, 6)).astype("float32"),
        rng.standard_normal((2, 5, 6)).astype("float32"),
    )


def test_cross_attention_query_value_and_key_as_arguments(tmp_path):
    q_in, v_in, k_in = xn.Input((3, 4)), xn.Input((5, 6)), xn.Input((5, 6))
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    two = mha(q_in, v_in)
    three = mha(q_in, v_in, k_in)
    model = xn.Model([q_in, v_in, k_in], [two, three])
    assert two.shape == (None, 3, 4) and three.shape == (None, 3, 4)
    q, v, k = _data()
    out_two, out_three = model([q, v, k])
    # the same as calling the layer eagerly
    np.testing.assert_allclose(xn.to_numpy(out_two), xn.to_numpy(mha(q, v)), rtol=1e-6)
    np.testing.assert_allclose(xn.to_numpy(out_three), xn.to_numpy(mha(q, v, k)), rtol=1e-6)
    assert not np.allclose(xn.to_numpy(out_two), xn.to_numpy(out_three))
    path = tmp_path / "m.xpnet"
    model.save(path)
    clone = xn.models.load_model(path)
    for a, b in zip(clone.predict([q, v, k]), model.predict([q, v, k])):
        np.testing.assert_allclose(xn.to_numpy(a), xn.to_numpy(b), rtol=1e-6)


def test_attention_mask_as_a_symbolic_tensor():
    q_in, v_in = xn.Input((3, 4)), xn.Input((5, 6))
    m_in = xn.Input((3, 5), dtype="bool")
    mha = layers.MultiHeadAttention(num_heads=1, key_dim=2)
    out = mha(q_in, v_in, attention_mask=m_in)
    model = xn.Model([q_in, v_in, m_in], out)
    q, v, _ = _data()
    mask = np.ones((2, 3, 5), bool)
    mask[:, :, 3:] = False  # the last two value steps are hidden
    got = xn.to_numpy(model([q, v, mask]))
    np.testing.assert_allclose(got, xn.to_numpy(mha(q, v, attention_mask=mask)), rtol=1e-6)
    # hiding steps 3 and 4 is the same as not passing them
    np.testing.assert_allclose(got, xn.to_numpy(mha(q, v[:, :3])), rtol=1e-5, atol=1e-6)
