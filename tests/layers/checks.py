"""Checks every layer must pass: config round-trip, XLA, mixed precision,
`MirroredStrategy` and gradients. Each layer's test file calls these."""

import numpy as np
import tensorflow as tf

MIXED_TOLERANCE = {"mixed_float16": 2e-2, "mixed_bfloat16": 1e-1}


def as_list(outputs):
    return [np.asarray(o) for o in tf.nest.flatten(outputs)]


def assert_all_close(actual, expected, atol):
    for a, e in zip(as_list(actual), as_list(expected), strict=True):
        np.testing.assert_allclose(a.astype("float32"), e.astype("float32"), atol=atol, rtol=0)


def rebuild(layer, config_overrides=None, call=None):
    """A fresh layer from `layer.get_config()`, built and given its weights."""
    config = layer.get_config() | (config_overrides or {})
    clone = type(layer).from_config(config)
    call(clone)
    clone.set_weights(layer.get_weights())
    return clone


def check_config_round_trip(layer, call):
    clone = rebuild(layer, call=call)
    assert clone.get_config() == layer.get_config()
    assert_all_close(call(clone), call(layer), atol=0)


def check_jit_compile(layer, call):
    compiled = tf.function(lambda: call(layer), jit_compile=True)
    assert_all_close(compiled(), call(layer), atol=1e-5)


def check_mixed_precision(layer, call):
    reference = call(layer)
    for policy, tolerance in MIXED_TOLERANCE.items():
        mixed = rebuild(layer, {"dtype": policy}, call=call)
        outputs = call(mixed)
        for output in as_list(outputs):
            assert np.isfinite(output.astype("float32")).all(), policy
        assert_all_close(outputs, reference, atol=tolerance)


def check_mirrored_strategy(layer, call):
    """Builds a copy under a 2-replica MirroredStrategy; each replica must
    compute what the single-device layer computes."""
    devices = [d.name for d in tf.config.list_logical_devices("CPU")[:2]]
    assert len(devices) == 2, "tests/conftest.py should create 2 CPU devices"
    strategy = tf.distribute.MirroredStrategy(devices)
    with strategy.scope():
        replicated = rebuild(layer, call=call)
    per_replica = strategy.run(tf.function(lambda: call(replicated)))
    reference = call(layer)
    for replica_outputs in strategy.experimental_local_results(per_replica):
        assert_all_close(replica_outputs, reference, atol=1e-5)


def check_gradients(layer, call):
    """Every trainable weight receives a non-zero gradient."""
    with tf.GradientTape() as tape:
        outputs = [o for o in tf.nest.flatten(call(layer, training=True)) if o.dtype.is_floating]
        # A random projection, so no gradient cancels by symmetry.
        loss = sum(tf.reduce_sum(o * tf.random.stateless_normal(o.shape, (1, 2))) for o in outputs)
    gradients = tape.gradient(loss, layer.trainable_weights)
    assert layer.trainable_weights
    for weight, gradient in zip(layer.trainable_weights, gradients):
        assert gradient is not None, weight.path
        assert np.abs(np.asarray(tf.convert_to_tensor(gradient))).max() > 0, weight.path


def check_layer_contract(layer, call):
    """Runs every check. `call(layer, training=None)` returns the outputs."""
    call(layer)
    check_config_round_trip(layer, call)
    check_jit_compile(layer, call)
    check_mixed_precision(layer, call)
    check_mirrored_strategy(layer, call)
    if layer.trainable_weights:
        check_gradients(layer, call)


def copy_attention_weights(ours, reference):
    """Copies a `keras.layers.MultiHeadAttention`'s weights into ours."""
    pairs = [
        (ours.query_dense, reference._query_dense),
        (ours.key_dense, reference._key_dense),
        (ours.value_dense, reference._value_dense),
        (ours.output_dense, reference._output_dense),
    ]
    for our_projection, reference_projection in pairs:
        our_projection.set_weights(reference_projection.get_weights())
