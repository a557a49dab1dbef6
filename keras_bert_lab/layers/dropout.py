"""Dropout for the Transformer layers, with a cheaper random draw."""

import keras
from keras import ops

from keras_bert_lab.layers import kernels


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
    - under XLA the bits come from ThreeFry
      (`kernels.random_number_algorithm`).

    `python -m experiments.benchmark` times it against
    `keras.layers.Dropout`, alone and inside the BERT training step
    (docs/performance.md).

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
        # Elements whose 16 random bits fall below `threshold` are dropped.
        self.threshold = round(rate * kernels.DROPOUT_LEVELS)

    def call(self, inputs, training=False):
        if not training or self.threshold == 0:
            return inputs
        if self.threshold == kernels.DROPOUT_LEVELS:
            return ops.zeros_like(inputs)
        keep = kernels.dropout_keep_mask(inputs, self.seed_generator.next(), self.threshold)
        levels = kernels.DROPOUT_LEVELS
        scale = ops.cast(levels / (levels - self.threshold), inputs.dtype)
        return ops.where(keep, inputs * scale, ops.zeros_like(inputs))
