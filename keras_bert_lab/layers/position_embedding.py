"""BERT's learned position embedding."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class PositionEmbedding(keras.layers.Layer):
    """A learned vector for each position, as in BERT and GPT.

    Holds a `[sequence_length, hidden_dim]` table and returns its rows for
    the positions of the input, to be added to the token embeddings.

    Args:
        sequence_length: int, the largest number of positions.
        initializer: initializer for the table (BERT: truncated normal with
            standard deviation 0.02).
        **kwargs: base layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: `[batch_size, sequence_length, hidden_dim]` embeddings; only
            their shape is used.
        start_index: int or scalar tensor, the position of the first step
            (non-zero in incremental decoding).

    Returns:
        `[batch_size, sequence_length, hidden_dim]`.

    Example:
    >>> embeddings = keras.random.normal((2, 10, 16))
    >>> PositionEmbedding(sequence_length=128)(embeddings).shape
    TensorShape([2, 10, 16])

    References:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), §3.
    """

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = sequence_length
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, inputs_shape):
        self.position_embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, inputs_shape[-1]),
            initializer=self.initializer,
        )
        self.built = True

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        positions = ops.slice(self.position_embeddings, (start_index, 0), (shape[-2], shape[-1]))
        return ops.broadcast_to(ops.cast(positions, self.compute_dtype), shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
