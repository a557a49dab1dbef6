"""The Transformer's position-wise feed-forward network."""

import keras

from keras_bert_lab.layers.dropout import Dropout
from keras_bert_lab.layers.initializers import clone_initializer

ACTIVATIONS = {
    "relu": keras.activations.relu,
    "gelu": keras.activations.gelu,
    # BERT's original GELU, the tanh approximation.
    "gelu_approximate": lambda x: keras.activations.gelu(x, approximate=True),
}


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class FeedForward(keras.layers.Layer):
    """`FFN(x) = activation(x W_1 + b_1) W_2 + b_2`, applied at every position.

    The same two dense layers act on each position independently; dropout is
    applied to the output, before the block's residual connection.

    Args:
        intermediate_dim: int, inner size `d_ff` (4 × hidden in BERT).
        activation: `"relu"` (the paper), `"gelu"` or `"gelu_approximate"`
            (BERT).
        dropout: float, dropout rate on the output.
        kernel_initializer: initializer for the kernels.
        bias_initializer: initializer for the biases.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: `[batch_size, sequence_length, hidden_dim]`.

    Returns:
        `[batch_size, sequence_length, hidden_dim]`.

    Example:
    >>> FeedForward(64)(keras.random.normal((2, 5, 16))).shape
    TensorShape([2, 5, 16])

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), §3.3.
    """

    def __init__(
        self,
        intermediate_dim,
        activation="relu",
        dropout=0.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.dropout = dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        self.intermediate_dense = keras.layers.Dense(
            self.intermediate_dim,
            activation=ACTIVATIONS[self.activation],
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self.intermediate_dense.build(inputs_shape)
        self.output_dense = keras.layers.Dense(
            hidden_dim,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="output_dense",
        )
        self.output_dense.build(tuple(inputs_shape[:-1]) + (self.intermediate_dim,))
        self.output_dropout = Dropout(self.dropout, dtype=self.dtype_policy, name="output_dropout")
        self.built = True

    def call(self, inputs, training=None):
        hidden = self.output_dense(self.intermediate_dense(inputs))
        return self.output_dropout(hidden, training=training)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": self.activation,
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
