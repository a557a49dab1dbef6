"""TensorFlow-specific kernels behind the layers.

Each function here computes what a plain Keras op would (the same values, the
same gradients) in a form that TensorFlow, with or without XLA, runs better, so
that the layer files can read like the papers:

- dropout masks from 16 random bits per element, drawn with the generator
  that suits the compiler (`random_number_algorithm`, `dropout_keep_mask`);
- the attention's head projections as one 2-D matrix product
  (`HeadsProjection`), whose bias gradient is also a matrix product
  (`add_bias`).

docs/performance.md shows what each one buys in the benchmark.
"""

import math

import keras
import tensorflow as tf
from keras import ops

# The public API cannot tell whether the function being traced will be compiled by XLA:
# `tf.config.optimizer.get_jit()` reports only the global auto-clustering switch, not
# `tf.function(jit_compile=True)` or a TPU computation, and neither Keras nor `tf.xla`
# expose the context. `control_flow_util` is where TensorFlow itself looks (e.g. in its
# gradient code), so the private import is kept, here only.
from tensorflow.python.ops import control_flow_util

# === Dropout ===

DROPOUT_LEVELS = 2**16
"""Each element's keep/drop decision reads 16 random bits: `rate` is a
multiple of `1 / DROPOUT_LEVELS`."""


def random_number_algorithm():
    """The counter-based generator the dropout masks are drawn from.

    ThreeFry inside an XLA compilation (`tf.function(jit_compile=True)`,
    TPU), Philox elsewhere: TensorFlow's CPU and GPU kernels have no
    ThreeFry, and XLA's CPU code for Philox is slow (docs/performance.md).
    ThreeFry is also JAX's default generator.

    Returns:
        `"threefry"` or `"philox"`, an `alg` of `tf.random.stateless_uniform`.
    """
    graph = tf.compat.v1.get_default_graph()
    if control_flow_util.GraphOrParentsInXlaContext(graph):
        return "threefry"
    return "philox"


def dropout_keep_mask(inputs, seed, threshold):
    """Which elements of `inputs` dropout keeps.

    One 32-bit random word decides two elements, 16 bits each: an element is
    kept where its 16 bits are at least `threshold`, so with probability
    `1 - threshold / DROPOUT_LEVELS`, independently of every other element.

    Args:
        inputs: a tensor of any shape; only its shape is read.
        seed: int `[2]`, e.g. from a `keras.random.SeedGenerator`.
        threshold: int in `[0, DROPOUT_LEVELS]`, `rate * DROPOUT_LEVELS`.

    Returns:
        bool tensor of the shape of `inputs`.
    """
    # Stateless ops under XLA take int32 seeds.
    seed = tf.cast(tf.math.floormod(seed, tf.int32.max), tf.int32)
    shape = tf.shape(inputs)
    size = tf.reduce_prod(shape)
    words = tf.random.stateless_uniform(
        [(size + 1) // 2],
        seed,
        minval=None,
        maxval=None,
        dtype=tf.uint32,
        alg=random_number_algorithm(),
    )
    halves = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:size]
    return tf.reshape(halves >= tf.constant(threshold, tf.uint16), shape)


# === Attention head projections ===

SPLIT_HEADS = "btd,dnh->btnh"
"""`[B, T, dim] x [dim, N, H] -> [B, T, N, H]`: one matrix per head."""

MERGE_HEADS = "btnh,nhd->btd"
"""`[B, T, N, H] x [N, H, dim] -> [B, T, dim]`: `Concat(head_1..head_h) W_O`."""


class HeadsProjection(keras.layers.EinsumDense):
    """`EinsumDense` for `SPLIT_HEADS` and `MERGE_HEADS`, as one matrix product.

    Computes the same contraction on the same weights (and so loads the
    weights of `keras.layers.MultiHeadAttention`'s projections) as a 2-D
    product, `[B·T, dim] x [dim, N·H]` or `[B·T, N·H] x [N·H, dim]`:
    TensorFlow runs these `einsum`s as batched products (`BatchMatMulV2`),
    which its CPU kernels compute less efficiently than one `MatMul`. The
    bias goes through `add_bias`.
    """

    def call(self, inputs, training=None):
        batch_size, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        if self.equation == SPLIT_HEADS:
            dim, heads, size = self.kernel.shape
            outputs = ops.matmul(inputs, ops.reshape(self.kernel, (dim, heads * size)))
            outputs = ops.reshape(outputs, (batch_size, length, heads, size))
        elif self.equation == MERGE_HEADS:
            heads, size, dim = self.kernel.shape
            outputs = ops.matmul(
                ops.reshape(inputs, (batch_size, length, heads * size)),
                ops.reshape(self.kernel, (heads * size, dim)),
            )
        else:
            raise ValueError(f"unexpected equation {self.equation!r}")
        if self.bias is not None:
            outputs = add_bias(outputs, ops.cast(self.bias, outputs.dtype))
        return outputs


@ops.custom_gradient
def add_bias(inputs, bias):
    """`inputs + bias`, with the bias gradient as a matrix product.

    The bias gradient is the sum of the upstream gradient over all leading
    axes; here it is one product with a row of ones, `[1, rows] x [rows,
    bias size]`, in float32. XLA on CPU compiles the plain sum into a tree
    of `reduce-window`s, slower than the product; TensorFlow without XLA
    runs the two alike.

    Args:
        inputs: `[..., *bias.shape]`.
        bias: the bias, of the trailing shape of `inputs`.

    Returns:
        `inputs + bias`, of the shape and dtype of `inputs`.
    """

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        rows = ops.reshape(ops.cast(upstream, "float32"), (-1, math.prod(bias.shape)))
        sums = ops.matmul(ops.ones((1, ops.shape(rows)[0]), "float32"), rows)
        return upstream, ops.cast(ops.reshape(sums, bias.shape), bias.dtype)

    return inputs + bias, grad
