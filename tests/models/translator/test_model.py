"""The Translator model (shapes, masking, cache, truncation, mixed precision,
saving) and the Transformer learning-rate schedule."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.models.translator.model import Translator
from keras_bert_lab.training.schedules import TransformerLearningRateSchedule

SOURCE_VOCABULARY, TARGET_VOCABULARY, SEQUENCE_LENGTH = 23, 29, 12


def tiny_translator(**overrides):
    keras.utils.set_random_seed(0)
    kwargs = dict(
        source_vocabulary_size=SOURCE_VOCABULARY,
        target_vocabulary_size=TARGET_VOCABULARY,
        sequence_length=SEQUENCE_LENGTH,
        num_layers=2,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        dropout=0.1,
    )
    return Translator(**(kwargs | overrides))


def batch():
    """Two sentences; the second source and target are padded."""
    return {
        "encoder_inputs": np.array([[7, 8, 9, 10, 11, 12], [13, 14, 15, 0, 0, 0]], "int32"),
        "decoder_inputs": np.array([[5, 7, 8, 9, 10], [5, 11, 12, 0, 0]], "int32"),
    }


VARIANTS = {
    "paper": {},
    "pre_ln_untied_learned": dict(
        normalize_first=True,
        tie_output_embeddings=False,
        position_encoding="learned",
        activation="gelu",
    ),
    "shared_embeddings": dict(
        source_vocabulary_size=TARGET_VOCABULARY, share_source_embeddings=True
    ),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_logits_shape_and_dtype(variant):
    translator = tiny_translator(**VARIANTS[variant])
    logits = translator(batch())
    assert logits.shape == (2, 5, TARGET_VOCABULARY)
    assert logits.dtype == tf.float32
    # Dropout is active only in training.
    np.testing.assert_array_equal(translator(batch()), logits)
    assert not np.allclose(translator(batch(), training=True), logits)


def test_tied_output_projection_is_the_target_embedding():
    tied, untied = tiny_translator(), tiny_translator(tie_output_embeddings=False)
    tied(batch()), untied(batch())
    assert tied.output_projection is None
    extra = untied.count_params() - tied.count_params()
    assert extra == (16 + 1) * TARGET_VOCABULARY  # kernel and bias
    embeddings = tied.target_embedding.token_embedding.embeddings
    hidden = tf.random.normal((3, 16))
    np.testing.assert_allclose(
        tied.output_logits(hidden), hidden @ tf.transpose(embeddings), atol=1e-6
    )


def test_shared_source_embeddings_are_the_target_embeddings():
    shared = tiny_translator(**VARIANTS["shared_embeddings"])
    separate = tiny_translator(source_vocabulary_size=TARGET_VOCABULARY)
    shared(batch()), separate(batch())
    assert shared.source_embedding is shared.target_embedding
    assert separate.count_params() - shared.count_params() == TARGET_VOCABULARY * 16
    source_ids = batch()["encoder_inputs"]
    np.testing.assert_array_equal(
        shared.source_embedding(source_ids), shared.target_embedding(source_ids)
    )
    # The encoder trains the matrix the decoder and the output use. (A weighted sum: a plain
    # sum of layer-normalised states does not depend on the inputs.)
    (embeddings,) = shared.target_embedding.token_embedding.trainable_weights
    with tf.GradientTape() as tape:
        hidden, _ = shared.encode(source_ids)
        loss = tf.reduce_sum(hidden * tf.random.stateless_normal(hidden.shape, (1, 2)))
    (gradient,) = tape.gradient(loss, [embeddings])
    assert np.count_nonzero(tf.convert_to_tensor(gradient)) > 0
    with pytest.raises(ValueError, match="needs equal vocabulary sizes, got 23 .source. and 29"):
        tiny_translator(share_source_embeddings=True)


@pytest.mark.parametrize("variant", VARIANTS)
def test_causal_and_padding_masks(variant):
    translator = tiny_translator(**VARIANTS[variant])
    inputs = batch()
    logits = np.asarray(translator(inputs))
    # A later target token does not change earlier logits.
    changed = dict(inputs, decoder_inputs=inputs["decoder_inputs"].copy())
    changed["decoder_inputs"][:, 3] = 20
    np.testing.assert_allclose(np.asarray(translator(changed))[:, :3], logits[:, :3], atol=1e-6)
    # More padding on either side changes nothing at the real positions.
    padded = {key: np.pad(ids, [(0, 0), (0, 3)]) for key, ids in inputs.items()}
    np.testing.assert_allclose(np.asarray(translator(padded))[:, :5], logits, atol=1e-5)
    encoder_outputs, mask = translator.encode(inputs["encoder_inputs"])
    assert encoder_outputs.shape == (2, 6, 16)
    np.testing.assert_array_equal(mask, inputs["encoder_inputs"] != 0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_decode_step_with_cache_equals_full_decode(variant):
    translator = tiny_translator(**VARIANTS[variant])
    inputs = batch()
    logits = np.asarray(translator(inputs))
    encoder_outputs, mask = translator.encode(inputs["encoder_inputs"])
    cache = translator.initial_cache(encoder_outputs, max_length=SEQUENCE_LENGTH)
    assert len(cache["self_attention"]) == 2
    assert cache["self_attention"][0].shape == (2, 2, SEQUENCE_LENGTH, 2, 8)
    assert cache["cross_attention"][0].shape == (2, 2, 6, 2, 8)
    for index in range(3):  # the unpadded positions of both rows
        step_logits, cache = translator.decode_step(
            inputs["decoder_inputs"][:, index : index + 1], index, cache, mask
        )
        np.testing.assert_allclose(step_logits[:, 0], logits[:, index], atol=1e-5)


def test_long_sources_are_truncated():
    translator = tiny_translator()
    rng = np.random.default_rng(0)
    long_source = rng.integers(7, SOURCE_VOCABULARY, (2, 3 * SEQUENCE_LENGTH))
    target = np.array([[5, 7, 8], [5, 9, 10]], "int32")
    encoder_outputs, mask = translator.encode(long_source)
    assert encoder_outputs.shape[1] == mask.shape[1] == SEQUENCE_LENGTH
    np.testing.assert_array_equal(
        translator({"encoder_inputs": long_source, "decoder_inputs": target}),
        translator(
            {
                "encoder_inputs": long_source[:, :SEQUENCE_LENGTH],
                "decoder_inputs": target,
            }
        ),
    )


def test_every_weight_gets_a_gradient():
    translator = tiny_translator(dropout=0.0)
    translator(batch())
    with tf.GradientTape() as tape:
        logits = translator(batch(), training=True)
        loss = tf.reduce_sum(logits * tf.random.stateless_normal(logits.shape, (1, 2)))
    gradients = tape.gradient(loss, translator.trainable_weights)
    for weight, gradient in zip(translator.trainable_weights, gradients):
        assert gradient is not None, weight.path
        assert np.abs(np.asarray(tf.convert_to_tensor(gradient))).max() > 0, weight.path


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_gives_float32_logits(policy):
    reference = tiny_translator(dropout=0.0)
    logits = reference(batch())
    mixed = tiny_translator(dropout=0.0, dtype=policy)
    mixed(batch())
    mixed.set_weights(reference.get_weights())
    assert mixed.decoder_blocks[0].compute_dtype == policy.split("_")[1]
    assert mixed.target_embedding.token_embedding.embeddings.dtype == "float32"
    mixed_logits = mixed(batch())
    assert mixed_logits.dtype == tf.float32
    assert np.isfinite(mixed_logits).all()
    # Only the real (unpadded) positions are compared.
    np.testing.assert_allclose(
        np.asarray(mixed_logits)[:, :3],
        np.asarray(logits)[:, :3],
        atol={"mixed_float16": 5e-2, "mixed_bfloat16": 3e-1}[policy],
    )


def test_jit_compiled_call_matches_eager():
    translator = tiny_translator(dropout=0.0)
    compiled = tf.function(lambda inputs: translator(inputs), jit_compile=True)
    np.testing.assert_allclose(compiled(batch()), translator(batch()), atol=1e-5)


def test_mirrored_strategy_replicas_match_single_device():
    reference = tiny_translator(dropout=0.0)
    expected = reference(batch())
    devices = [d.name for d in tf.config.list_logical_devices("CPU")[:2]]
    assert len(devices) == 2, "tests/conftest.py should create 2 CPU devices"
    strategy = tf.distribute.MirroredStrategy(devices)
    with strategy.scope():
        replicated = tiny_translator(dropout=0.0)
        replicated(batch())
        replicated.set_weights(reference.get_weights())
    per_replica = strategy.run(tf.function(lambda: replicated(batch())))
    for logits in strategy.experimental_local_results(per_replica):
        np.testing.assert_allclose(logits, expected, atol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_config_round_trip(variant):
    translator = tiny_translator(
        **VARIANTS[variant],
        embeddings_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
    )
    translator(batch())
    clone = Translator.from_config(translator.get_config())
    assert clone.get_config() == translator.get_config()
    clone(batch())
    clone.set_weights(translator.get_weights())
    np.testing.assert_array_equal(clone(batch()), translator(batch()))


@pytest.mark.parametrize(
    "overrides",
    [dict(normalize_first=True), VARIANTS["shared_embeddings"]],
    ids=["pre_ln", "shared_embeddings"],
)
def test_saves_and_reloads_with_identical_outputs(tmp_path, overrides):
    translator = tiny_translator(**overrides)
    expected = translator(batch())
    path = tmp_path / "translator.keras"
    translator.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded, Translator)
    assert reloaded.get_config() == translator.get_config()
    np.testing.assert_array_equal(reloaded(batch()), expected)
    assert [w.path for w in reloaded.weights] == [w.path for w in translator.weights]
    assert (reloaded.source_embedding is reloaded.target_embedding) == bool(
        overrides.get("share_source_embeddings")
    )


def test_learning_rate_schedule_follows_the_paper():
    schedule = TransformerLearningRateSchedule(512, warmup_steps=4000)
    for iteration in [0, 1, 99, 3998, 3999, 4000, 10_000, 100_000]:
        step = iteration + 1
        expected = 512**-0.5 * min(step**-0.5, step * 4000**-1.5)
        np.testing.assert_allclose(float(schedule(iteration)), expected, rtol=1e-6)
    peak = float(schedule(3999))
    assert peak == pytest.approx((512 * 4000) ** -0.5, rel=1e-6)
    assert float(schedule(3998)) < peak and float(schedule(4000)) < peak
    scaled = TransformerLearningRateSchedule(512, warmup_steps=4000, scale=2.0)
    assert float(scaled(10)) == pytest.approx(2 * float(schedule(10)))


def test_learning_rate_schedule_serializes_and_drives_adam():
    schedule = TransformerLearningRateSchedule(64, warmup_steps=10, scale=0.5)
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    assert isinstance(restored, TransformerLearningRateSchedule)
    assert restored.get_config() == schedule.get_config()
    optimizer = keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
    variable = keras.Variable(1.0)
    optimizer.apply_gradients([(tf.constant(1.0), variable)])
    # Adam's first step moves by about the learning rate.
    assert 1.0 - float(variable.numpy()) == pytest.approx(float(schedule(0)), rel=1e-3)


def test_attention_weights_are_distributions_that_skip_padding():
    translator = tiny_translator()
    sources = batch()["encoder_inputs"]
    outputs = np.array([[7, 8, 6, 0], [9, 6, 0, 0]], "int32")
    weights = {k: np.asarray(v) for k, v in translator.attention_weights(sources, outputs).items()}
    assert weights["encoder_self_attention"].shape == (2, 2, 2, 6, 6)
    assert weights["decoder_self_attention"].shape == (2, 2, 2, 4, 4)
    assert weights["cross_attention"].shape == (2, 2, 2, 4, 6)
    for values in weights.values():
        np.testing.assert_allclose(values.sum(axis=-1), 1.0, atol=1e-5)
    # The second source has 3 real tokens; nobody attends to its padding.
    assert np.all(weights["cross_attention"][1, ..., 3:] == 0)
    assert np.all(weights["encoder_self_attention"][1, ..., 3:] == 0)
    # The decoder is causal.
    assert np.all(np.triu(weights["decoder_self_attention"][0, 0, 0], k=1) == 0)
