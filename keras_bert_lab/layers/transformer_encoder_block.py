"""One Transformer encoder layer: self-attention and feed-forward."""

import keras

from keras_bert_lab.layers import masking
from keras_bert_lab.layers.dropout import Dropout
from keras_bert_lab.layers.feed_forward import FeedForward
from keras_bert_lab.layers.initializers import clone_initializer
from keras_bert_lab.layers.multi_head_attention import MultiHeadAttention


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class TransformerEncoderBlock(keras.layers.Layer):
    """Self-attention then a feed-forward network, each wrapped in dropout,
    a residual connection and layer normalisation.

    Post-LN (the paper and BERT, the default):
        `x = LayerNorm(x + Dropout(SelfAttention(x)))`,
        `x = LayerNorm(x + FeedForward(x))`.
    Pre-LN (`normalize_first=True`, more stable for deep stacks):
        `x = x + Dropout(SelfAttention(LayerNorm(x)))`,
        `x = x + FeedForward(LayerNorm(x))`.

    Masking: padded keys are ignored; the padding mask is taken from the
    Keras mask of `inputs` (set by `TokenAndPositionEmbedding`) unless
    `padding_mask` is given, and is combined with `attention_mask`. The
    output keeps the input's Keras mask.

    With `key_value`, `inputs` holds only some positions of the sequence
    `key_value`: they attend over all of `key_value` and only their outputs
    are computed. Every sub-layer but the attention works position by
    position, so these outputs equal the full block's at those positions;
    BERT's last block is read only at `[CLS]` and the masked tokens, so
    this saves most of its work (`BertEncoder.outputs_at`).

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

    Call arguments:
        inputs: `[batch_size, query_length, hidden_dim]`.
        padding_mask: bool `[batch_size, key_length]`, True at tokens.
        attention_mask: bool `[batch_size, query_length, key_length]`.
        key_value: `[batch_size, key_length, hidden_dim]`, the sequence
            `inputs` is taken from (see above); default `inputs` itself, so
            that `key_length = query_length = sequence_length`.
        return_attention_scores: bool, also return the attention weights
            `[batch_size, num_heads, query_length, key_length]`.

    Returns:
        `[batch_size, query_length, hidden_dim]` (and the weights).

    Example:
    >>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=64)
    >>> block(keras.random.normal((2, 10, 16))).shape
    TensorShape([2, 10, 16])

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), §3.1.
        - [Xiong et al., 2020](https://arxiv.org/abs/2002.04745) (pre-LN).
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

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(
                f"{self.name}: hidden size {hidden_dim} is not divisible by "
                f"num_heads={self.num_heads}"
            )
        self.self_attention_layer = MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=hidden_dim // self.num_heads,
            dropout=self.attention_dropout,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="self_attention_layer",
        )
        self.self_attention_layer.build(inputs_shape, inputs_shape)
        self.self_attention_dropout = Dropout(
            self.dropout, dtype=self.dtype_policy, name="self_attention_dropout"
        )
        self.self_attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="self_attention_layer_norm",
        )
        self.self_attention_layer_norm.build(inputs_shape)
        self.feedforward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            dropout=self.dropout,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="feedforward",
        )
        self.feedforward.build(inputs_shape)
        self.feedforward_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="feedforward_layer_norm",
        )
        self.feedforward_layer_norm.build(inputs_shape)
        self.built = True

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        key_value=None,
        return_attention_scores=False,
        training=None,
    ):
        if padding_mask is None:
            padding_mask = masking.keras_mask(inputs if key_value is None else key_value)

        residual = inputs
        x = self.self_attention_layer_norm(inputs) if self.normalize_first else inputs
        if key_value is None:
            attended = x
        elif self.normalize_first:
            attended = self.self_attention_layer_norm(key_value)
        else:
            attended = key_value
        x, attention_weights = self.self_attention_layer(
            x,
            attended,
            value_mask=padding_mask,
            attention_mask=attention_mask,
            return_attention_scores=True,
            training=training,
        )
        x = residual + self.self_attention_dropout(x, training=training)
        if not self.normalize_first:
            x = self.self_attention_layer_norm(x)

        residual = x
        if self.normalize_first:
            x = self.feedforward_layer_norm(x)
        x = residual + self.feedforward(x, training=training)
        if not self.normalize_first:
            x = self.feedforward_layer_norm(x)

        if return_attention_scores:
            return x, attention_weights
        return x

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
