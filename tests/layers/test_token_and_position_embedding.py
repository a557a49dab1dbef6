import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.layers import TokenAndPositionEmbedding, TransformerEncoderBlock
from tests.layers import checks

TOKEN_IDS = np.array([[5, 9, 2, 0, 0], [1, 2, 3, 4, 7]], "int32")
SEGMENT_IDS = np.array([[0, 0, 1, 0, 0], [0, 0, 1, 1, 1]], "int32")


def test_sum_of_token_position_and_segment_embeddings():
    layer = TokenAndPositionEmbedding(10, 8, 6, num_segments=2)
    outputs = np.asarray(layer(TOKEN_IDS, segment_ids=SEGMENT_IDS))
    tokens = np.asarray(layer.token_embedding.embeddings)
    positions = np.asarray(layer.position_embedding.position_embeddings)
    segments = np.asarray(layer.segment_embedding.embeddings)
    expected = tokens[TOKEN_IDS] + positions[None, :5] + segments[SEGMENT_IDS]
    np.testing.assert_allclose(outputs, expected, atol=1e-6)


def test_scaled_sinusoidal_variant_of_the_paper():
    layer = TokenAndPositionEmbedding(
        10, 8, 6, position_encoding="sinusoidal", scale_token_embeddings=True
    )
    outputs = np.asarray(layer(TOKEN_IDS))
    tokens = np.asarray(layer.token_embedding.embeddings)[TOKEN_IDS] * math.sqrt(6)
    positions = np.asarray(layer.position_embedding(np.zeros((2, 5, 6))))
    np.testing.assert_allclose(outputs, tokens + positions, atol=1e-5)


def test_padding_mask_from_token_id_zero():
    layer = TokenAndPositionEmbedding(10, 8, 6)
    mask = layer.compute_mask(TOKEN_IDS)
    np.testing.assert_array_equal(mask, TOKEN_IDS != 0)
    assert np.array_equal(layer(TOKEN_IDS)._keras_mask, TOKEN_IDS != 0)


def test_mask_flows_through_a_functional_model():
    """Input -> embedding -> encoder blocks ignores padding by itself."""
    token_ids = keras.Input((None,), dtype="int32")
    x = TokenAndPositionEmbedding(20, 16, 8)(token_ids)
    for _ in range(2):
        x = TransformerEncoderBlock(num_heads=2, intermediate_dim=16)(x)
    model = keras.Model(token_ids, x)
    short = np.array([[3, 4, 5]], "int32")
    padded = np.array([[3, 4, 5, 0, 0, 0]], "int32")
    np.testing.assert_allclose(model(padded)[:, :3], model(short), atol=1e-5)


def test_start_index_continues_positions():
    layer = TokenAndPositionEmbedding(10, 8, 6)
    full = np.asarray(layer(TOKEN_IDS))
    step = np.asarray(layer(TOKEN_IDS[:, 2:3], start_index=2))
    np.testing.assert_allclose(step[:, 0], full[:, 2], atol=1e-6)


def test_layer_norm_and_dropout_of_bert():
    layer = TokenAndPositionEmbedding(10, 8, 6, use_layer_norm=True, dropout=0.5)
    outputs = np.asarray(layer(TOKEN_IDS))
    np.testing.assert_allclose(outputs.mean(-1), 0, atol=1e-5)
    assert (np.asarray(layer(TOKEN_IDS, training=True)) == 0).any()


def test_clear_errors():
    with pytest.raises(ValueError, match="position_encoding must be"):
        TokenAndPositionEmbedding(10, 8, 6, position_encoding="rotary")
    with pytest.raises(ValueError, match="pass segment_ids"):
        TokenAndPositionEmbedding(10, 8, 6, num_segments=2)(TOKEN_IDS)


@pytest.mark.parametrize("position_encoding", ["learned", "sinusoidal"])
def test_layer_contract(position_encoding):
    token_ids, segment_ids = tf.constant(TOKEN_IDS), tf.constant(SEGMENT_IDS)
    checks.check_layer_contract(
        TokenAndPositionEmbedding(
            10,
            8,
            6,
            position_encoding=position_encoding,
            num_segments=2,
            use_layer_norm=True,
        ),
        lambda layer, training=None: layer(token_ids, segment_ids=segment_ids, training=training),
    )
