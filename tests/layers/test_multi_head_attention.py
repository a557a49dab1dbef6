import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.layers import MultiHeadAttention
from tests.layers import checks

BATCH, QUERY_LENGTH, KEY_LENGTH, HIDDEN, HEADS = 2, 5, 7, 16, 4


def random(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def paired_layers(**kwargs):
    """Our layer and Keras' with identical weights."""
    reference = keras.layers.MultiHeadAttention(HEADS, HIDDEN // HEADS, **kwargs)
    ours = MultiHeadAttention(HEADS, HIDDEN // HEADS, **kwargs)
    query, value = random(BATCH, QUERY_LENGTH, HIDDEN), random(BATCH, KEY_LENGTH, HIDDEN, seed=1)
    reference(query, value)
    ours(query, value)
    checks.copy_attention_weights(ours, reference)
    return ours, reference, query, value


def test_output_shapes():
    ours, reference, query, value = paired_layers()
    output, weights = ours(query, value, return_attention_scores=True)
    assert output.shape == (BATCH, QUERY_LENGTH, HIDDEN)
    assert weights.shape == (BATCH, HEADS, QUERY_LENGTH, KEY_LENGTH)
    assert [w.shape for w in ours.weights] == [w.shape for w in reference.weights]
    projected = MultiHeadAttention(HEADS, 3, value_dim=5, output_dim=12)
    assert projected(query, value).shape == (BATCH, QUERY_LENGTH, 12)


@pytest.mark.parametrize("masking", ["none", "attention", "causal", "padding", "all"])
def test_parity_with_keras_multi_head_attention(masking):
    ours, reference, query, _ = paired_layers()
    value = query  # self-attention so that the causal mask is square
    rng = np.random.default_rng(3)
    kwargs = {}
    if masking in ("attention", "all"):
        attention_mask = rng.random((BATCH, QUERY_LENGTH, QUERY_LENGTH)) > 0.3
        attention_mask[:, :, 0] = True  # no fully masked rows
        kwargs["attention_mask"] = attention_mask
    if masking in ("causal", "all"):
        kwargs["use_causal_mask"] = True
    if masking in ("padding", "all"):
        kwargs["value_mask"] = np.array([[True] * QUERY_LENGTH, [True] * 3 + [False] * 2])
    ours_out, ours_weights = ours(query, value, return_attention_scores=True, **kwargs)
    ref_out, ref_weights = reference(query, value, return_attention_scores=True, **kwargs)
    difference = np.abs(np.asarray(ours_out) - np.asarray(ref_out)).max()
    assert difference <= 1e-5, difference
    np.testing.assert_allclose(ours_weights, ref_weights, atol=1e-6)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_gradients_match_keras_multi_head_attention(jit_compile):
    """Our bias gradients are products with a ones row (`kernels.add_bias`); every
    weight's and input's gradient must still be Keras'."""
    ours, reference, query, value = paired_layers()
    value_mask = np.ones((BATCH, KEY_LENGTH), bool)
    value_mask[1, -3:] = False
    projection = random(BATCH, QUERY_LENGTH, HIDDEN, seed=4)

    def gradients(layer):
        @tf.function(jit_compile=jit_compile)
        def run(query, value):
            with tf.GradientTape() as tape:
                tape.watch([query, value])
                output = layer(query, value, value_mask=value_mask)
                loss = tf.reduce_sum(output * projection)
            return tape.gradient(loss, [query, value] + layer.trainable_weights)

        return run(tf.constant(query), tf.constant(value))

    ours_gradients, reference_gradients = gradients(ours), gradients(reference)
    assert len(ours_gradients) == len(reference_gradients) == 10
    for ours_gradient, reference_gradient in zip(ours_gradients, reference_gradients):
        np.testing.assert_allclose(ours_gradient, reference_gradient, atol=2e-5)


def test_attention_rows_sum_to_one_and_skip_padded_keys():
    ours, _, query, value = paired_layers()
    value_mask = np.ones((BATCH, KEY_LENGTH), bool)
    value_mask[1, 4:] = False
    _, weights = ours(query, value, value_mask=value_mask, return_attention_scores=True)
    weights = np.asarray(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert (weights[1, :, :, 4:] == 0).all()


def test_padding_does_not_change_real_positions():
    ours, _, query, value = paired_layers()
    padded_value = np.concatenate([value, random(BATCH, 3, HIDDEN, seed=9)], axis=1)
    mask = np.concatenate([np.ones((BATCH, KEY_LENGTH), bool), np.zeros((BATCH, 3), bool)], axis=1)
    unpadded = ours(query, value)
    padded = ours(query, padded_value, value_mask=mask)
    np.testing.assert_allclose(padded, unpadded, atol=1e-6)


def test_keras_mask_propagation_is_used():
    ours, _, query, value = paired_layers()
    ids = np.ones((BATCH, KEY_LENGTH), "int32")
    ids[0, 5:] = 0
    masked_value = keras.layers.Masking(0.0)(value * ids[..., None])
    expected = ours(query, value, value_mask=ids.astype(bool))
    np.testing.assert_allclose(ours(query, masked_value), expected, atol=1e-6)


def test_causal_output_ignores_the_future():
    ours, _, query, _ = paired_layers()
    changed = query.copy()
    changed[:, 3:] += 5.0
    original = np.asarray(ours(query, query, use_causal_mask=True))
    modified = np.asarray(ours(changed, changed, use_causal_mask=True))
    np.testing.assert_allclose(original[:, :3], modified[:, :3], atol=1e-6)
    assert np.abs(original[:, 3:] - modified[:, 3:]).max() > 1e-3


def test_masks_combine_as_logical_and():
    ours, _, query, _ = paired_layers()
    attention_mask = np.ones((BATCH, QUERY_LENGTH, QUERY_LENGTH), bool)
    attention_mask[:, :, 1] = False
    value_mask = np.ones((BATCH, QUERY_LENGTH), bool)
    value_mask[:, 0] = False
    _, weights = ours(
        query,
        query,
        attention_mask=attention_mask,
        value_mask=value_mask,
        use_causal_mask=True,
        return_attention_scores=True,
    )
    weights = np.asarray(weights)
    allowed = np.tril(np.ones((QUERY_LENGTH, QUERY_LENGTH), bool))
    allowed[:, :2] = False  # key 0 padded, key 1 masked by attention_mask
    visible_rows = allowed.any(-1)
    assert visible_rows.tolist() == [False, False, True, True, True]
    assert (weights[:, :, visible_rows][..., ~allowed[visible_rows]] == 0).all()
    assert (weights[:, :, visible_rows][..., allowed[visible_rows]] > 0).all()
    # A query that may see no key gets uniform weights, as in Keras.
    np.testing.assert_allclose(weights[:, :, ~visible_rows], 1 / QUERY_LENGTH)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_masked_positions_stay_finite_in_half_precision(policy):
    layer = MultiHeadAttention(HEADS, HIDDEN // HEADS, dtype=policy)
    query = random(BATCH, QUERY_LENGTH, HIDDEN) * 10.0  # large scores
    value_mask = np.zeros((BATCH, QUERY_LENGTH), bool)
    value_mask[:, 0] = True
    output, weights = layer(
        query,
        query,
        value_mask=value_mask,
        use_causal_mask=True,
        return_attention_scores=True,
    )
    assert np.isfinite(np.asarray(output, "float32")).all()
    weights = np.asarray(weights, "float32")
    assert (weights[..., 1:] == 0).all()
    np.testing.assert_allclose(weights[..., 0], 1.0)


def test_cached_self_attention_equals_full_sequence():
    ours, _, query, _ = paired_layers()
    full = np.asarray(ours(query, query, use_causal_mask=True))
    cache = np.zeros((BATCH, 2, QUERY_LENGTH, HEADS, HIDDEN // HEADS), "float32")
    for step in range(QUERY_LENGTH):
        step_input = query[:, step : step + 1]
        output, cache = ours(
            step_input,
            step_input,
            use_causal_mask=True,
            cache=cache,
            cache_update_index=step,
        )
        np.testing.assert_allclose(output[:, 0], full[:, step], atol=1e-5)


def test_cross_attention_cache_is_computed_once():
    ours, _, query, value = paired_layers()
    cache = ours.compute_key_value_cache(value)
    assert cache.shape == (BATCH, 2, KEY_LENGTH, HEADS, HIDDEN // HEADS)
    output, returned_cache = ours(query, query, cache=cache)
    np.testing.assert_allclose(output, ours(query, value), atol=1e-6)
    assert returned_cache is cache


def test_attention_dropout_only_in_training():
    layer = MultiHeadAttention(HEADS, HIDDEN // HEADS, dropout=0.5)
    query = random(BATCH, QUERY_LENGTH, HIDDEN)
    inference = [np.asarray(layer(query, query)) for _ in range(2)]
    np.testing.assert_array_equal(*inference)
    training = np.asarray(layer(query, query, training=True))
    assert np.abs(training - inference[0]).max() > 1e-4


def test_layer_contract():
    query = random(BATCH, QUERY_LENGTH, HIDDEN)
    value = random(BATCH, KEY_LENGTH, HIDDEN, seed=1)
    value_mask = np.ones((BATCH, KEY_LENGTH), bool)
    value_mask[0, -2:] = False

    def call(layer, training=None):
        return layer(
            tf.constant(query),
            tf.constant(value),
            value_mask=tf.constant(value_mask),
            training=training,
        )

    checks.check_layer_contract(MultiHeadAttention(HEADS, HIDDEN // HEADS), call)


def test_projections_start_from_different_weights():
    """A shared initializer instance would start W_Q = W_K = W_V."""
    layer = MultiHeadAttention(HEADS, HIDDEN // HEADS)
    layer(random(1, 3, HIDDEN), random(1, 3, HIDDEN))
    query, key, value = (
        np.asarray(d.kernel) for d in (layer.query_dense, layer.key_dense, layer.value_dense)
    )
    assert not np.allclose(query, key) and not np.allclose(key, value)
