import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.layers import TransformerEncoderBlock
from tests.layers import checks

BATCH, LENGTH, HIDDEN, HEADS, INTERMEDIATE = 2, 6, 16, 4, 32


def random(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def copy_keras_hub_encoder_weights(ours, reference):
    checks.copy_attention_weights(ours.self_attention_layer, reference._self_attention_layer)
    for our_layer, reference_layer in [
        (ours.self_attention_layer_norm, reference._self_attention_layer_norm),
        (ours.feedforward.intermediate_dense, reference._feedforward_intermediate_dense),
        (ours.feedforward.output_dense, reference._feedforward_output_dense),
        (ours.feedforward_layer_norm, reference._feedforward_layer_norm),
    ]:
        our_layer.set_weights(reference_layer.get_weights())


@pytest.mark.parametrize("normalize_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_parity_with_keras_hub_transformer_encoder(normalize_first, activation):
    inputs = random(BATCH, LENGTH, HIDDEN)
    padding_mask = np.ones((BATCH, LENGTH), bool)
    padding_mask[1, 4:] = False
    attention_mask = np.random.default_rng(1).random((BATCH, LENGTH, LENGTH)) > 0.3
    attention_mask[:, :, 0] = True
    kwargs = dict(
        intermediate_dim=INTERMEDIATE,
        num_heads=HEADS,
        activation=activation,
        normalize_first=normalize_first,
    )
    reference = keras_hub.layers.TransformerEncoder(**kwargs)
    reference(inputs)
    ours = TransformerEncoderBlock(**kwargs)
    ours(inputs)
    copy_keras_hub_encoder_weights(ours, reference)
    expected = reference(inputs, padding_mask=padding_mask, attention_mask=attention_mask)
    actual = ours(inputs, padding_mask=padding_mask, attention_mask=attention_mask)
    difference = np.abs(np.asarray(actual) - np.asarray(expected)).max()
    assert difference <= 1e-5, difference


def test_padding_does_not_change_real_positions():
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE)
    inputs = random(BATCH, LENGTH, HIDDEN)
    padded = np.concatenate([inputs, random(BATCH, 3, HIDDEN, seed=5)], axis=1)
    mask = np.arange(LENGTH + 3)[None, :].repeat(BATCH, 0) < LENGTH
    np.testing.assert_allclose(
        block(padded, padding_mask=mask)[:, :LENGTH], block(inputs), atol=1e-5
    )


@pytest.mark.parametrize("normalize_first", [False, True])
def test_key_value_computes_only_the_given_positions(normalize_first):
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE, normalize_first=normalize_first)
    inputs = random(BATCH, LENGTH, HIDDEN)
    padding_mask = np.ones((BATCH, LENGTH), bool)
    padding_mask[1, 4:] = False
    attention_mask = np.random.default_rng(1).random((BATCH, LENGTH, LENGTH)) > 0.3
    attention_mask[:, :, 0] = True
    positions = [[0, 3], [2, 2]]
    full, full_weights = block(
        inputs,
        padding_mask=padding_mask,
        attention_mask=attention_mask,
        return_attention_scores=True,
    )
    rows = np.asarray(positions)[:, :, None]
    some, some_weights = block(
        np.take_along_axis(inputs, rows, axis=1),
        padding_mask=padding_mask,
        attention_mask=np.take_along_axis(attention_mask, rows, axis=1),
        key_value=inputs,
        return_attention_scores=True,
    )
    assert some.shape == (BATCH, 2, HIDDEN)
    np.testing.assert_allclose(some, np.take_along_axis(np.asarray(full), rows, axis=1), atol=1e-5)
    np.testing.assert_allclose(
        some_weights,
        np.take_along_axis(np.asarray(full_weights), rows[:, None], axis=2),
        atol=1e-6,
    )


def test_returns_attention_weights():
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE)
    outputs, weights = block(random(BATCH, LENGTH, HIDDEN), return_attention_scores=True)
    assert outputs.shape == (BATCH, LENGTH, HIDDEN)
    assert weights.shape == (BATCH, HEADS, LENGTH, LENGTH)


def test_heads_must_divide_hidden_size():
    with pytest.raises(ValueError, match="not divisible by num_heads=3"):
        TransformerEncoderBlock(3, INTERMEDIATE)(random(1, 2, HIDDEN))


@pytest.mark.parametrize("normalize_first", [False, True])
def test_layer_contract(normalize_first):
    inputs = tf.constant(random(BATCH, LENGTH, HIDDEN))
    padding_mask = tf.constant(np.arange(LENGTH)[None, :] < [[LENGTH], [3]])
    checks.check_layer_contract(
        TransformerEncoderBlock(
            HEADS,
            INTERMEDIATE,
            dropout=0.1,
            activation="gelu",
            normalize_first=normalize_first,
        ),
        lambda layer, training=None: layer(inputs, padding_mask=padding_mask, training=False),
    )


def test_attention_weights_in_a_functional_model():
    import keras

    inputs = keras.Input((None, HIDDEN))
    outputs, weights = TransformerEncoderBlock(HEADS, INTERMEDIATE)(
        inputs, return_attention_scores=True
    )
    model = keras.Model(inputs, [outputs, weights])
    result = model(random(BATCH, LENGTH, HIDDEN))
    assert result[1].shape == (BATCH, HEADS, LENGTH, LENGTH)
