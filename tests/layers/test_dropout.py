import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.layers import Dropout

SHAPE = (8, 4, 128, 128)  # 524,288 elements, one attention-weights tensor.


def _dropped(rate, jit_compile, shape=SHAPE, seed=3):
    layer = Dropout(rate, seed=seed)
    inputs = tf.ones(shape)
    run = tf.function(lambda: layer(inputs, training=True), jit_compile=jit_compile)
    return np.asarray(run())


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_drops_the_rate_and_keeps_the_expectation(rate, jit_compile):
    outputs = _dropped(rate, jit_compile)
    kept = outputs != 0
    # Binomial standard deviation sqrt(rate (1 - rate) / n) < 7e-4.
    assert abs(kept.mean() - (1 - rate)) < 4e-3
    threshold = round(rate * 2**16)
    np.testing.assert_allclose(outputs[kept], 2**16 / (2**16 - threshold), rtol=1e-6)
    # The scale uses the rounded rate: E[output] = input exactly, so the
    # mean only carries the sampling noise.
    assert abs(outputs.mean() - 1) < 4e-3 / (1 - rate)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_decisions_are_independent_across_positions(jit_compile):
    # Neighbours share a 32-bit random word (16 bits each): they must not
    # share its decision. Drop both with probability rate², not rate.
    kept = _dropped(0.5, jit_compile).reshape(-1, 2) != 0
    both_dropped = (~kept[:, 0] & ~kept[:, 1]).mean()
    assert abs(both_dropped - 0.25) < 4e-3
    # Rows, columns and heads differ too.
    matrix = kept.reshape(SHAPE)[0, 0]
    assert not (matrix == matrix[:1]).all()
    assert not (matrix == matrix[:, :1]).all()


def test_odd_sizes_and_dynamic_shapes():
    layer = Dropout(0.3, seed=1)
    run = tf.function(
        lambda x: layer(x, training=True), input_signature=[tf.TensorSpec([None, None], "float32")]
    )
    outputs = np.asarray(run(tf.ones((3, 7))))
    assert outputs.shape == (3, 7)
    assert set(np.unique(outputs)) <= {0.0, np.float32(2**16 / (2**16 - 19661))}


def test_each_call_draws_a_new_mask_and_seeds_repeat():
    layer = Dropout(0.5, seed=7)
    inputs = tf.ones((64, 64))
    first, second = (np.asarray(layer(inputs, training=True)) for _ in "ab")
    assert (first != second).any()
    again = Dropout(0.5, seed=7)
    np.testing.assert_array_equal(np.asarray(again(inputs, training=True)), first)


def test_inference_and_edge_rates():
    inputs = tf.random.stateless_normal((4, 6), (0, 1))
    for rate in (0.0, 0.1):
        np.testing.assert_array_equal(Dropout(rate)(inputs), inputs)
    np.testing.assert_array_equal(Dropout(0.0)(inputs, training=True), inputs)
    np.testing.assert_array_equal(Dropout(1.0)(inputs, training=True), np.zeros((4, 6), "float32"))


def test_mixed_precision_keeps_the_dtype():
    layer = Dropout(0.1, seed=4, dtype="mixed_bfloat16")
    run = tf.function(lambda x: layer(x, training=True), jit_compile=True)
    outputs = run(tf.ones((64, 256), "bfloat16"))
    assert outputs.dtype == tf.bfloat16
    assert abs((np.asarray(outputs) != 0).mean() - 0.9) < 1e-2


def test_gradient_is_the_mask_times_the_scale():
    layer = Dropout(0.25, seed=2)
    inputs = tf.random.stateless_normal((32, 32), (0, 1))

    @tf.function(jit_compile=True)
    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs, training=True)
        return outputs, tape.gradient(outputs, inputs)

    outputs, gradient = (np.asarray(t) for t in forward_backward())
    np.testing.assert_allclose(outputs, np.asarray(inputs) * gradient, rtol=1e-6)


def test_config_round_trip_and_noise_shape_error():
    layer = Dropout(0.2, seed=5, name="drop")
    clone = Dropout.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, Dropout) and restored.rate == 0.2
    with pytest.raises(ValueError, match="noise_shape is not supported"):
        Dropout(0.2, noise_shape=(1, 3))
