import keras_hub
import numpy as np
import tensorflow as tf

from keras_bert_lab.layers import SinusoidalPositionEncoding
from tests.layers import checks


def test_matches_the_paper_formula():
    inputs = np.zeros((2, 6, 8), "float32")
    encoding = np.asarray(SinusoidalPositionEncoding()(inputs))
    assert encoding.shape == (2, 6, 8)
    for pos in range(6):
        for i in range(4):
            angle = pos / 10000 ** (2 * i / 8)
            np.testing.assert_allclose(encoding[0, pos, 2 * i], np.sin(angle), atol=1e-5)
            np.testing.assert_allclose(encoding[0, pos, 2 * i + 1], np.cos(angle), atol=1e-5)


def test_parity_with_keras_hub_sine_position_encoding():
    inputs = np.zeros((2, 50, 32), "float32")
    ours = SinusoidalPositionEncoding()(inputs)
    reference = keras_hub.layers.SinePositionEncoding()(inputs)
    assert np.abs(np.asarray(ours) - np.asarray(reference)).max() <= 1e-5


def test_start_index_gives_later_positions():
    full = np.asarray(SinusoidalPositionEncoding()(np.zeros((1, 10, 16))))
    step = SinusoidalPositionEncoding()(np.zeros((1, 1, 16)), start_index=7)
    np.testing.assert_allclose(step[0, 0], full[0, 7], atol=1e-6)


def test_layer_contract():
    layer = SinusoidalPositionEncoding()
    inputs = tf.random.stateless_normal((2, 9, 12), (0, 1))
    checks.check_layer_contract(layer, lambda built, training=None: built(inputs))
    assert not layer.weights
