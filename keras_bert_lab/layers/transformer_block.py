"""What the Transformer's encoder and decoder blocks share: their
hyper-parameters, their sub-layers and the residual connection around each."""

import keras

from keras_bert_lab.layers.dropout import Dropout
from keras_bert_lab.layers.feed_forward import FeedForward
from keras_bert_lab.layers.initializers import clone_initializer
from keras_bert_lab.layers.multi_head_attention import MultiHeadAttention


class TransformerBlockBase(keras.layers.Layer):
    """The base of `TransformerEncoderBlock` and `TransformerDecoderBlock`.

    Keeps the hyper-parameters the two blocks share, builds their sub-layers
    (attention, feed-forward network, dropout, layer normalisation, each
    with its own copy of the initializers) and wraps each sub-layer in a
    residual connection, post-LN or pre-LN (`normalize_first`):
        post-LN: `x = LayerNorm(x + Dropout(Sublayer(x)))`,
        pre-LN:  `x = x + Dropout(Sublayer(LayerNorm(x)))`.
    Not a layer to use alone: the subclasses build and call it.

    Args:
        num_heads: int, number of attention heads; must divide the hidden
            size.
        intermediate_dim: int, inner size of the feed-forward network.
        dropout: float, dropout on each sub-layer's output.
        attention_dropout: float, dropout on attention weights; defaults to
            `dropout`.
        activation: feed-forward activation, `"relu"`, `"gelu"` or
            `"gelu_approximate"`.
        layer_norm_epsilon: float, epsilon of the layer normalisations.
        normalize_first: bool, pre-LN instead of post-LN.
        kernel_initializer: initializer for all kernels.
        bias_initializer: initializer for all biases.
        **kwargs: base layer arguments such as `name` and `dtype`.
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        attention_dropout=None,
        activation="relu",
        layer_norm_epsilon=1e-5,
        normalize_first=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.attention_dropout = dropout if attention_dropout is None else attention_dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    # === Sub-layers, built in `build` ===

    def _build_self_attention(self, inputs_shape):
        """`self_attention_layer`, with its dropout and layer normalisation."""
        self.self_attention_layer = self._attention_layer(
            "self_attention_layer", inputs_shape, inputs_shape
        )
        self.self_attention_dropout = self._dropout_layer("self_attention_dropout")
        self.self_attention_layer_norm = self._layer_norm("self_attention_layer_norm", inputs_shape)

    def _build_feedforward(self, inputs_shape):
        """`feedforward`, with its layer normalisation (it drops its own output)."""
        self.feedforward = self._feedforward_layer(inputs_shape)
        self.feedforward_layer_norm = self._layer_norm("feedforward_layer_norm", inputs_shape)

    def _check_hidden_dim(self, hidden_dim):
        if hidden_dim % self.num_heads:
            raise ValueError(
                f"{self.name}: hidden size {hidden_dim} is not divisible by "
                f"num_heads={self.num_heads}"
            )

    def _attention_layer(self, name, query_shape, value_shape):
        """A built `MultiHeadAttention` with `num_heads` heads of size
        `hidden_dim / num_heads`."""
        layer = MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=query_shape[-1] // self.num_heads,
            dropout=self.attention_dropout,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )
        layer.build(query_shape, value_shape)
        return layer

    def _feedforward_layer(self, inputs_shape):
        """The built position-wise `FeedForward`, named `feedforward`."""
        layer = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            dropout=self.dropout,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="feedforward",
        )
        layer.build(inputs_shape)
        return layer

    def _dropout_layer(self, name):
        return Dropout(self.dropout, dtype=self.dtype_policy, name=name)

    def _layer_norm(self, name, inputs_shape):
        layer = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )
        layer.build(inputs_shape)
        return layer

    # === The residual connection around each sub-layer ===

    def _sublayer_input(self, x, layer_norm):
        """What a sub-layer reads: `LayerNorm(x)` in pre-LN, `x` in post-LN."""
        return layer_norm(x) if self.normalize_first else x

    def _add_and_normalize(self, residual, x, layer_norm, dropout=None, training=None):
        """`residual + Dropout(x)`, normalised in post-LN.

        Args:
            residual: the sub-layer's input before normalisation.
            x: the sub-layer's output.
            layer_norm: the sub-layer's `LayerNormalization`.
            dropout: a `Dropout` for `x`; None when the sub-layer drops its
                own output (the feed-forward network).
            training: bool, whether dropout is active.
        """
        if dropout is not None:
            x = dropout(x, training=training)
        x = residual + x
        return x if self.normalize_first else layer_norm(x)

    def _attention_sublayer(
        self, x, attention, layer_norm, dropout, value=None, training=None, **attention_arguments
    ):
        """An attention sub-layer with its residual connection.

        Args:
            x: the sub-layer's input, `[batch_size, query_length, hidden_dim]`;
                the queries are taken from it.
            attention, layer_norm, dropout: the sub-layer's
                `MultiHeadAttention`, `LayerNormalization` and `Dropout`.
            value: the sequence attended over, as the attention layer reads
                it; None for the queries themselves (self-attention).
            training: bool, whether dropout is active.
            **attention_arguments: the masks and cache of `attention`.

        Returns:
            `(outputs, cache, weights)`: the updated cache is None unless
            `cache` is given.
        """
        query = self._sublayer_input(x, layer_norm)
        results = attention(
            query,
            query if value is None else value,
            return_attention_scores=True,
            training=training,
            **attention_arguments,
        )
        outputs = self._add_and_normalize(x, results[0], layer_norm, dropout, training=training)
        # With a cache, `MultiHeadAttention` returns `(output, cache, weights)`.
        cache = results[1] if len(results) == 3 else None
        return outputs, cache, results[-1]

    def _feedforward_sublayer(self, x, training=None):
        """The feed-forward network with its residual connection (the
        subclasses build `feedforward` and `feedforward_layer_norm`)."""
        residual = x
        x = self.feedforward(
            self._sublayer_input(x, self.feedforward_layer_norm), training=training
        )
        return self._add_and_normalize(residual, x, self.feedforward_layer_norm)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "normalize_first": self.normalize_first,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
