import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.layers import TransformerDecoderBlock
from tests.layers import checks

BATCH, TARGET, SOURCE, HIDDEN, HEADS, INTERMEDIATE = 2, 6, 8, 16, 4, 32


def random(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def inputs_and_masks():
    decoder = random(BATCH, TARGET, HIDDEN)
    encoder = random(BATCH, SOURCE, HIDDEN, seed=1)
    decoder_mask = np.arange(TARGET)[None, :] < [[TARGET], [4]]
    encoder_mask = np.arange(SOURCE)[None, :] < [[SOURCE], [5]]
    return decoder, encoder, decoder_mask, encoder_mask


def copy_keras_hub_decoder_weights(ours, reference):
    checks.copy_attention_weights(ours.self_attention_layer, reference._self_attention_layer)
    checks.copy_attention_weights(ours.cross_attention_layer, reference._cross_attention_layer)
    for our_layer, reference_layer in [
        (ours.self_attention_layer_norm, reference._self_attention_layer_norm),
        (ours.cross_attention_layer_norm, reference._cross_attention_layer_norm),
        (ours.feedforward.intermediate_dense, reference._feedforward_intermediate_dense),
        (ours.feedforward.output_dense, reference._feedforward_output_dense),
        (ours.feedforward_layer_norm, reference._feedforward_layer_norm),
    ]:
        our_layer.set_weights(reference_layer.get_weights())


@pytest.mark.parametrize("normalize_first", [False, True])
def test_parity_with_keras_hub_transformer_decoder(normalize_first):
    decoder, encoder, decoder_mask, encoder_mask = inputs_and_masks()
    kwargs = dict(intermediate_dim=INTERMEDIATE, num_heads=HEADS, normalize_first=normalize_first)
    reference = keras_hub.layers.TransformerDecoder(**kwargs)
    reference(decoder, encoder)
    ours = TransformerDecoderBlock(**kwargs)
    ours(decoder, encoder)
    copy_keras_hub_decoder_weights(ours, reference)
    expected = reference(
        decoder,
        encoder,
        decoder_padding_mask=decoder_mask,
        encoder_padding_mask=encoder_mask,
    )
    actual = ours(
        decoder,
        encoder,
        decoder_padding_mask=decoder_mask,
        encoder_padding_mask=encoder_mask,
    )
    difference = np.abs(np.asarray(actual) - np.asarray(expected)).max()
    assert difference <= 1e-5, difference


def test_causal_and_encoder_padding():
    block = TransformerDecoderBlock(HEADS, INTERMEDIATE)
    decoder, encoder, _, encoder_mask = inputs_and_masks()
    base = np.asarray(block(decoder, encoder, encoder_padding_mask=encoder_mask))
    future = decoder.copy()
    future[:, 4:] += 3.0
    changed = np.asarray(block(future, encoder, encoder_padding_mask=encoder_mask))
    np.testing.assert_allclose(changed[:, :4], base[:, :4], atol=1e-5)
    padded_encoder = encoder.copy()
    padded_encoder[1, 5:] = 100.0  # padded positions: ignored
    ignored = np.asarray(block(decoder, padded_encoder, encoder_padding_mask=encoder_mask))
    np.testing.assert_allclose(ignored, base, atol=1e-5)


@pytest.mark.parametrize("normalize_first", [False, True])
def test_cached_decoding_equals_full_sequence_step_by_step(normalize_first):
    block = TransformerDecoderBlock(HEADS, INTERMEDIATE, normalize_first=normalize_first)
    decoder, encoder, _, encoder_mask = inputs_and_masks()
    full = np.asarray(block(decoder, encoder, encoder_padding_mask=encoder_mask))
    self_cache = block.initial_self_attention_cache(BATCH, TARGET)
    cross_cache = block.compute_cross_attention_cache(encoder)
    for step in range(TARGET):
        output, self_cache, cross_cache = block(
            decoder[:, step : step + 1],
            encoder_padding_mask=encoder_mask,
            self_attention_cache=self_cache,
            self_attention_cache_update_index=step,
            cross_attention_cache=cross_cache,
        )
        difference = np.abs(np.asarray(output[:, 0]) - full[:, step]).max()
        assert difference <= 1e-5, (step, difference)


def test_returns_self_and_cross_attention_weights():
    block = TransformerDecoderBlock(HEADS, INTERMEDIATE)
    decoder, encoder, _, encoder_mask = inputs_and_masks()
    _, weights = block(
        decoder,
        encoder,
        encoder_padding_mask=encoder_mask,
        return_attention_scores=True,
    )
    assert weights["self_attention"].shape == (BATCH, HEADS, TARGET, TARGET)
    cross = np.asarray(weights["cross_attention"])
    assert cross.shape == (BATCH, HEADS, TARGET, SOURCE)
    assert (cross[1, ..., 5:] == 0).all()
    np.testing.assert_allclose(cross.sum(-1), 1, atol=1e-6)


def test_needs_encoder_sequence_or_cache():
    block = TransformerDecoderBlock(HEADS, INTERMEDIATE)
    decoder, encoder, _, _ = inputs_and_masks()
    block(decoder, encoder)
    with pytest.raises(ValueError, match="pass encoder_sequence or cross_attention_cache"):
        block(decoder)


def test_layer_contract():
    decoder, encoder, decoder_mask, encoder_mask = (tf.constant(a) for a in inputs_and_masks())
    checks.check_layer_contract(
        TransformerDecoderBlock(HEADS, INTERMEDIATE, dropout=0.1, activation="gelu"),
        lambda layer, training=None: layer(
            decoder,
            encoder,
            decoder_padding_mask=decoder_mask,
            encoder_padding_mask=encoder_mask,
            training=False,
        ),
    )
