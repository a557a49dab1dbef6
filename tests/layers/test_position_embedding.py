import keras_hub
import numpy as np
import tensorflow as tf

from keras_bert_lab.layers import PositionEmbedding
from tests.layers import checks


def test_returns_rows_of_the_table_for_each_position():
    layer = PositionEmbedding(sequence_length=20)
    outputs = np.asarray(layer(np.zeros((3, 7, 8), "float32")))
    table = np.asarray(layer.position_embeddings)
    assert outputs.shape == (3, 7, 8)
    np.testing.assert_array_equal(outputs[1], table[:7])


def test_parity_with_keras_hub_position_embedding():
    inputs = np.zeros((2, 9, 8), "float32")
    reference = keras_hub.layers.PositionEmbedding(sequence_length=16)
    reference(inputs)
    ours = PositionEmbedding(sequence_length=16)
    ours(inputs)
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(ours(inputs), reference(inputs), atol=1e-6)


def test_start_index_for_incremental_decoding():
    layer = PositionEmbedding(sequence_length=20)
    full = np.asarray(layer(np.zeros((1, 12, 4))))
    step = np.asarray(layer(np.zeros((1, 1, 4)), start_index=tf.constant(5)))
    np.testing.assert_array_equal(step[0, 0], full[0, 5])


def test_layer_contract():
    inputs = tf.random.stateless_normal((2, 9, 12), (0, 1))
    checks.check_layer_contract(
        PositionEmbedding(sequence_length=16),
        lambda layer, training=None: layer(inputs),
    )
