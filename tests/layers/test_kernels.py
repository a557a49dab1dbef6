"""The TensorFlow-specific kernels: the dropout generator's choice (the
dropout statistics are in test_dropout.py, the projections' values and
gradients against Keras in test_multi_head_attention.py)."""

import tensorflow as tf

from keras_bert_lab.layers.kernels import random_number_algorithm


def test_generator_is_threefry_under_xla_and_philox_elsewhere():
    seen = []

    def trace():
        seen.append(random_number_algorithm())
        return tf.constant(0)

    trace()
    tf.function(trace)()
    tf.function(trace, jit_compile=True)()
    assert seen == ["philox", "philox", "threefry"]
