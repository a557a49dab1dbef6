"""The Transformer's fixed sinusoidal position encoding."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Fixed sine/cosine position encoding of "Attention Is All You Need".

    `PE(pos, 2i) = sin(pos / max_wavelength^(2i / d_model))` and
    `PE(pos, 2i + 1) = cos(pos / max_wavelength^(2i / d_model))`: each pair
    of dimensions turns at its own frequency, so that `PE(pos + k)` is a
    linear function of `PE(pos)`. The layer has no weights; it returns the
    encoding for the positions of its input, to be added to the embeddings.

    Args:
        max_wavelength: float, the longest wavelength (10000 in the paper).
        **kwargs: base layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: `[batch_size, sequence_length, hidden_dim]` embeddings; only
            their shape is used.
        start_index: int or scalar tensor, the absolute position of the first
            step (non-zero in incremental decoding).

    Returns:
        `[batch_size, sequence_length, hidden_dim]`, the encoding of positions
        `start_index .. start_index + sequence_length - 1`.

    Example:
    >>> embeddings = keras.random.normal((2, 10, 16))
    >>> (embeddings + SinusoidalPositionEncoding()(embeddings)).shape
    TensorShape([2, 10, 16])

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), §3.5.
    """

    def __init__(self, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = max_wavelength
        self.supports_masking = True
        self.built = True

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        sequence_length, hidden_dim = shape[-2], shape[-1]
        positions = ops.cast(ops.arange(sequence_length) + start_index, "float32")
        dimension = ops.arange(hidden_dim)
        # Dimensions 2i and 2i + 1 share the frequency 1 / wavelength^(2i/d).
        pair_index = ops.cast(dimension // 2 * 2, "float32")
        frequencies = ops.power(
            ops.cast(self.max_wavelength, "float32"),
            -pair_index / ops.cast(hidden_dim, "float32"),
        )
        angles = positions[:, None] * frequencies[None, :]
        encoding = ops.where(dimension[None, :] % 2 == 0, ops.sin(angles), ops.cos(angles))
        encoding = ops.cast(encoding, self.compute_dtype)
        return ops.broadcast_to(encoding, shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config
