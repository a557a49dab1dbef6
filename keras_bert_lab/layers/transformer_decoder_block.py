"""One Transformer decoder layer: causal self-attention, cross-attention over
the encoder output, and feed-forward."""

import keras
from keras import ops

from keras_bert_lab.layers import masking
from keras_bert_lab.layers.dropout import Dropout
from keras_bert_lab.layers.feed_forward import FeedForward
from keras_bert_lab.layers.initializers import clone_initializer
from keras_bert_lab.layers.multi_head_attention import MultiHeadAttention


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class TransformerDecoderBlock(keras.layers.Layer):
    """Causal self-attention, cross-attention and feed-forward, each with
    dropout, a residual connection and layer normalisation (post-LN as in the
    paper, or pre-LN with `normalize_first=True`).

    Masking: self-attention is causal and ignores padded decoder positions
    (`decoder_padding_mask`, or the Keras mask of `decoder_sequence`);
    cross-attention ignores padded encoder positions (`encoder_padding_mask`,
    or the Keras mask of `encoder_sequence`).

    Incremental decoding: build the caches with
    `initial_self_attention_cache` and `compute_cross_attention_cache`, then
    call the block on one (or more) new decoder steps with
    `self_attention_cache_update_index` set to the position of the first new
    step. The block writes the new keys and values into the self-attention
    cache, reuses the cross-attention keys and values computed once per
    sentence, and returns `(outputs, self_attention_cache,
    cross_attention_cache)`; outputs equal those of running the whole prefix
    at once.

    Args:
        num_heads: int, attention heads; must divide the hidden size.
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
        decoder_sequence: `[batch_size, target_length, hidden_dim]`.
        encoder_sequence: `[batch_size, source_length, hidden_dim]`; may be
            omitted when `cross_attention_cache` is given.
        decoder_padding_mask: bool `[batch_size, target_length]`.
        encoder_padding_mask: bool `[batch_size, source_length]`.
        self_attention_cache: `[batch_size, 2, max_length, num_heads,
            key_dim]`.
        self_attention_cache_update_index: int or scalar tensor.
        cross_attention_cache: `[batch_size, 2, source_length, num_heads,
            key_dim]`.
        return_attention_scores: bool, also return a dict with the
            `"self_attention"` and `"cross_attention"` weights,
            `[batch_size, num_heads, target_length, key_length]`.

    Returns:
        `[batch_size, target_length, hidden_dim]`, then the two caches if
        `self_attention_cache` was given, then the weights if asked for.

    Example:
    >>> block = TransformerDecoderBlock(num_heads=2, intermediate_dim=64)
    >>> target = keras.random.normal((2, 7, 16))
    >>> source = keras.random.normal((2, 9, 16))
    >>> block(target, source).shape
    TensorShape([2, 7, 16])

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), §3.1.
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

    def _attention(self, name, hidden_dim):
        return MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=hidden_dim // self.num_heads,
            dropout=self.attention_dropout,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def _layer_norm(self, name, shape):
        layer = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )
        layer.build(shape)
        return layer

    def _dropout(self, name):
        return Dropout(self.dropout, dtype=self.dtype_policy, name=name)

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        hidden_dim = decoder_sequence_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(
                f"{self.name}: hidden size {hidden_dim} is not divisible by "
                f"num_heads={self.num_heads}"
            )
        encoder_sequence_shape = encoder_sequence_shape or decoder_sequence_shape
        self.self_attention_layer = self._attention("self_attention_layer", hidden_dim)
        self.self_attention_layer.build(decoder_sequence_shape, decoder_sequence_shape)
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        self.self_attention_layer_norm = self._layer_norm(
            "self_attention_layer_norm", decoder_sequence_shape
        )
        self.cross_attention_layer = self._attention("cross_attention_layer", hidden_dim)
        self.cross_attention_layer.build(decoder_sequence_shape, encoder_sequence_shape)
        self.cross_attention_dropout = self._dropout("cross_attention_dropout")
        self.cross_attention_layer_norm = self._layer_norm(
            "cross_attention_layer_norm", decoder_sequence_shape
        )
        self.feedforward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            dropout=self.dropout,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="feedforward",
        )
        self.feedforward.build(decoder_sequence_shape)
        self.feedforward_layer_norm = self._layer_norm(
            "feedforward_layer_norm", decoder_sequence_shape
        )
        self.built = True

    def initial_self_attention_cache(self, batch_size, max_length):
        """An empty self-attention cache:
        `[batch_size, 2, max_length, num_heads, key_dim]` of zeros."""
        attention = self.self_attention_layer
        return ops.zeros(
            (batch_size, 2, max_length, attention.num_heads, attention.key_dim),
            dtype=self.compute_dtype,
        )

    def compute_cross_attention_cache(self, encoder_sequence):
        """Encoder keys and values, computed once per sentence:
        `[batch_size, 2, source_length, num_heads, key_dim]`."""
        return self.cross_attention_layer.compute_key_value_cache(encoder_sequence)

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        decoder_padding_mask=None,
        encoder_padding_mask=None,
        self_attention_cache=None,
        self_attention_cache_update_index=None,
        cross_attention_cache=None,
        return_attention_scores=False,
        training=None,
    ):
        if encoder_sequence is None and cross_attention_cache is None:
            raise ValueError(f"{self.name}: pass encoder_sequence or cross_attention_cache")
        if decoder_padding_mask is None:
            decoder_padding_mask = masking.keras_mask(decoder_sequence)
        if encoder_padding_mask is None and encoder_sequence is not None:
            encoder_padding_mask = masking.keras_mask(encoder_sequence)
        caching = self_attention_cache is not None
        if caching and cross_attention_cache is None:
            cross_attention_cache = self.compute_cross_attention_cache(encoder_sequence)

        # Causal self-attention. With a cache, slots after the current step
        # are hidden by the causal mask.
        x = decoder_sequence
        residual = x
        if self.normalize_first:
            x = self.self_attention_layer_norm(x)
        if caching:
            x, self_attention_cache, self_weights = self.self_attention_layer(
                x,
                x,
                use_causal_mask=True,
                cache=self_attention_cache,
                cache_update_index=self_attention_cache_update_index,
                return_attention_scores=True,
                training=training,
            )
        else:
            x, self_weights = self.self_attention_layer(
                x,
                x,
                value_mask=decoder_padding_mask,
                use_causal_mask=True,
                return_attention_scores=True,
                training=training,
            )
        x = residual + self.self_attention_dropout(x, training=training)
        if not self.normalize_first:
            x = self.self_attention_layer_norm(x)

        # Cross-attention over the encoder output (or its cached keys and
        # values, computed once per sentence).
        residual = x
        if self.normalize_first:
            x = self.cross_attention_layer_norm(x)
        if cross_attention_cache is None:
            x, cross_weights = self.cross_attention_layer(
                x,
                encoder_sequence,
                value_mask=encoder_padding_mask,
                return_attention_scores=True,
                training=training,
            )
        else:
            x, _, cross_weights = self.cross_attention_layer(
                x,
                x,  # Unused: keys and values come from the cache.
                value_mask=self._cache_padding_mask(encoder_padding_mask, cross_attention_cache),
                cache=cross_attention_cache,
                return_attention_scores=True,
                training=training,
            )
        x = residual + self.cross_attention_dropout(x, training=training)
        if not self.normalize_first:
            x = self.cross_attention_layer_norm(x)

        residual = x
        if self.normalize_first:
            x = self.feedforward_layer_norm(x)
        x = residual + self.feedforward(x, training=training)
        if not self.normalize_first:
            x = self.feedforward_layer_norm(x)

        results = (x,)
        if caching:
            results += (self_attention_cache, cross_attention_cache)
        if return_attention_scores:
            results += ({"self_attention": self_weights, "cross_attention": cross_weights},)
        return results[0] if len(results) == 1 else results

    @staticmethod
    def _cache_padding_mask(encoder_padding_mask, cache):
        """The encoder padding mask, or all-True over the cached keys.

        Given explicitly so that Keras does not fill the attention layer's
        `value_mask` from the decoder step passed in place of `value`.
        """
        if encoder_padding_mask is not None:
            return encoder_padding_mask
        shape = ops.shape(cache)
        return ops.ones((shape[0], shape[2]), dtype="bool")

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
