"""Dropout for the Transformer layers, with a cheaper random draw."""

import keras
import tensorflow as tf
from tensorflow.python.ops import control_flow_util

# Each element's keep/drop decision reads 16 random bits.
_LEVELS = 2**16


def random_number_algorithm():
    """The counter-based generator the dropout masks are drawn from.

    ThreeFry inside an XLA compilation (`tf.function(jit_compile=True)`,
    TPU), Philox elsewhere (TensorFlow's CPU and GPU kernels have no
    ThreeFry). XLA's CPU code for Philox is slow (the benchmark's profile:
    README, Performance); ThreeFry is also JAX's default generator.
    """
    graph = tf.compat.v1.get_default_graph()
    if control_flow_util.GraphOrParentsInXlaContext(graph):
        return "threefry"
    return "philox"


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class Dropout(keras.layers.Dropout):
    """`keras.layers.Dropout` drawing 16 random bits per element.

    In training, each element is zeroed with probability `rate` and the
    others are scaled by `1 / (1 - rate)` (Srivastava et al., 2014), one
    independent draw per element. Two changes make the draw cheaper than
    Keras's (which converts 32 random bits per element to a float):
    - each 32-bit random word decides two elements, 16 bits each; `rate`
      is therefore rounded to a multiple of 2**-16 (0.1 becomes 0.100006),
      and the scale uses the rounded rate so the expectation is exact;
    - under XLA the bits come from ThreeFry (`random_number_algorithm`).

    `python -m experiments.benchmark` times it against
    `keras.layers.Dropout`, alone and inside the BERT training step (README,
    Performance).

    Args:
        rate: float in `[0, 1]`, the fraction of elements dropped.
        seed: int or None, seeds the layer's `SeedGenerator`.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: a tensor of any shape.
        training: bool, drop only when True.

    Returns:
        A tensor of the shape and dtype of `inputs`.

    Example:
    >>> x = keras.ops.ones((2, 4))
    >>> Dropout(0.5, seed=1)(x, training=True).shape
    TensorShape([2, 4])

    References:
        - [Srivastava et al., 2014](https://jmlr.org/papers/v15/srivastava14a.html)
        - [Salmon et al., 2011](https://doi.org/10.1145/2063384.2063405)
          (Philox and ThreeFry).
    """

    def __init__(self, rate, seed=None, **kwargs):
        # `noise_shape` comes back from `get_config` of the parent class.
        if kwargs.pop("noise_shape", None) is not None:
            raise ValueError(
                "keras_bert_lab.layers.Dropout draws one decision per "
                "element; noise_shape is not supported"
            )
        super().__init__(rate, seed=seed, **kwargs)
        self.threshold = round(rate * _LEVELS)

    def call(self, inputs, training=False):
        if not training or self.threshold == 0:
            return inputs
        if self.threshold == _LEVELS:
            return tf.zeros_like(inputs)
        # Stateless ops under XLA take int32 seeds.
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max), tf.int32)
        keep = self._keep_mask(tf.shape(inputs), seed)
        scale = tf.cast(_LEVELS / (_LEVELS - self.threshold), inputs.dtype)
        return tf.where(keep, inputs * scale, tf.zeros_like(inputs))

    def _keep_mask(self, shape, seed):
        """A boolean tensor of `shape`, True with probability
        `1 - threshold / 2**16`."""
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
        return tf.reshape(halves >= tf.constant(self.threshold, tf.uint16), shape)
