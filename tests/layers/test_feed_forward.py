import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.layers import FeedForward
from tests.layers import checks


@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu_approximate"])
def test_matches_the_formula(activation):
    layer = FeedForward(32, activation=activation)
    inputs = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    outputs = np.asarray(layer(inputs))
    w1, b1, w2, b2 = layer.get_weights()
    hidden = inputs @ w1 + b1
    if activation == "relu":
        hidden = np.maximum(hidden, 0)
    else:
        hidden = np.asarray(tf.nn.gelu(hidden, approximate=activation != "gelu"))
    np.testing.assert_allclose(outputs, hidden @ w2 + b2, atol=1e-5)


def test_positions_are_independent():
    layer = FeedForward(32)
    inputs = np.random.default_rng(0).normal(size=(1, 5, 8)).astype("float32")
    changed = inputs.copy()
    changed[0, 3] += 1.0
    before, after = np.asarray(layer(inputs)), np.asarray(layer(changed))
    np.testing.assert_array_equal(np.delete(before, 3, 1), np.delete(after, 3, 1))


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match="activation must be one of"):
        FeedForward(8, activation="swishy")


def test_layer_contract():
    inputs = tf.random.stateless_normal((2, 7, 12), (0, 1))
    checks.check_layer_contract(
        FeedForward(48, activation="gelu", dropout=0.1),
        lambda layer, training=None: layer(inputs, training=False),
    )
