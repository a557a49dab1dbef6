"""One Transformer decoder layer: causal self-attention, cross-attention over
the encoder output, and feed-forward."""

import keras
from keras import ops

from keras_bert_lab.layers import masking
from keras_bert_lab.layers.transformer_block import TransformerBlockBase


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class TransformerDecoderBlock(TransformerBlockBase):
    """Causal self-attention, cross-attention and feed-forward, each with
    dropout, a residual connection and layer normalisation (post-LN as in the
    paper, or pre-LN with `normalize_first=True`; `TransformerBlockBase`).

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

    Args: those of `TransformerBlockBase` (`num_heads`, `intermediate_dim`,
        `dropout`, `activation`, `normalize_first`, ...), documented there.

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

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        self._check_hidden_dim(decoder_sequence_shape[-1])
        encoder_sequence_shape = encoder_sequence_shape or decoder_sequence_shape
        self._build_self_attention(decoder_sequence_shape)
        self.cross_attention_layer = self._attention_layer(
            "cross_attention_layer", decoder_sequence_shape, encoder_sequence_shape
        )
        self.cross_attention_dropout = self._dropout_layer("cross_attention_dropout")
        self.cross_attention_layer_norm = self._layer_norm(
            "cross_attention_layer_norm", decoder_sequence_shape
        )
        self._build_feedforward(decoder_sequence_shape)
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

        x, self_attention_cache, self_weights = self._self_attention_sublayer(
            decoder_sequence,
            decoder_padding_mask,
            self_attention_cache,
            self_attention_cache_update_index,
            training=training,
        )
        x, cross_weights = self._cross_attention_sublayer(
            x, encoder_sequence, encoder_padding_mask, cross_attention_cache, training=training
        )
        x = self._feedforward_sublayer(x, training=training)

        results = (x,)
        if caching:
            results += (self_attention_cache, cross_attention_cache)
        if return_attention_scores:
            results += ({"self_attention": self_weights, "cross_attention": cross_weights},)
        return results[0] if len(results) == 1 else results

    def _self_attention_sublayer(self, x, padding_mask, cache, cache_update_index, training=None):
        """Causal self-attention over the decoder steps, with its residual
        connection.

        With `cache`, the new steps' keys and values are written into it at
        `cache_update_index` and the attention runs over the whole cache:
        the causal mask hides the slots after the current step, and
        `padding_mask` (which covers the new steps only) is not used.

        Returns:
            `(outputs, cache, weights)`; `cache` is the updated cache, or
            None without one.
        """
        return self._attention_sublayer(
            x,
            self.self_attention_layer,
            self.self_attention_layer_norm,
            self.self_attention_dropout,
            value_mask=padding_mask if cache is None else None,
            use_causal_mask=True,
            cache=cache,
            cache_update_index=cache_update_index,
            training=training,
        )

    def _cross_attention_sublayer(
        self, x, encoder_sequence, encoder_padding_mask, cache, training=None
    ):
        """Attention over the encoder output, or over its keys and values
        computed once per sentence (`cache`), with its residual connection.

        Returns:
            `(outputs, weights)`.
        """
        if cache is None:
            value, value_mask = encoder_sequence, encoder_padding_mask
        else:
            # Keys and values come from the cache: the queries stand in for
            # the unused `value`.
            value, value_mask = None, self._cache_padding_mask(encoder_padding_mask, cache)
        x, _, weights = self._attention_sublayer(
            x,
            self.cross_attention_layer,
            self.cross_attention_layer_norm,
            self.cross_attention_dropout,
            value=value,
            value_mask=value_mask,
            cache=cache,
            training=training,
        )
        return x, weights

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
