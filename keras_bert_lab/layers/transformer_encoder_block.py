"""One Transformer encoder layer: self-attention and feed-forward."""

import keras

from keras_bert_lab.layers import masking
from keras_bert_lab.layers.transformer_block import TransformerBlockBase


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class TransformerEncoderBlock(TransformerBlockBase):
    """Self-attention then a feed-forward network, each wrapped in dropout,
    a residual connection and layer normalisation (`TransformerBlockBase`).

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

    Args: those of `TransformerBlockBase` (`num_heads`, `intermediate_dim`,
        `dropout`, `activation`, `normalize_first`, ...), documented there.

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

    def build(self, inputs_shape):
        self._check_hidden_dim(inputs_shape[-1])
        self._build_self_attention(inputs_shape)
        self._build_feedforward(inputs_shape)
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

        # Self-attention: the queries are `inputs`, the keys and values the
        # whole sequence (`key_value`, or `inputs` itself).
        if key_value is not None:
            key_value = self._sublayer_input(key_value, self.self_attention_layer_norm)
        x, _, attention_weights = self._attention_sublayer(
            inputs,
            self.self_attention_layer,
            self.self_attention_layer_norm,
            self.self_attention_dropout,
            value=key_value,
            value_mask=padding_mask,
            attention_mask=attention_mask,
            training=training,
        )
        x = self._feedforward_sublayer(x, training=training)

        if return_attention_scores:
            return x, attention_weights
        return x
