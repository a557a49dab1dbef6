"""Multi-head scaled dot-product attention, written from the paper."""

import math

import keras
from keras import ops

from keras_bert_lab.layers import kernels, masking
from keras_bert_lab.layers.dropout import Dropout
from keras_bert_lab.layers.initializers import clone_initializer


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention from "Attention Is All You Need" (Vaswani et al.).

    Each head projects queries, keys and values with its own matrices
    (`W_Q`, `W_K`, `W_V`), computes `softmax(Q Kᵀ / √d_k) V`, and the heads'
    results are concatenated and projected by `W_O`. The weights are laid out
    as in `keras.layers.MultiHeadAttention` (kernels `[hidden, num_heads,
    key_dim]`, output kernel `[num_heads, value_dim, output_dim]`) so that
    weights move between the two without reshaping.

    Masking: a key is attended to only where every given mask allows it. The
    masks combined are the key padding mask (`value_mask`, filled in by Keras
    mask propagation from `value`), `key_mask`, a causal mask
    (`use_causal_mask=True`) and an explicit `attention_mask` of shape
    `[batch_size, query_length, key_length]`. Padded *queries* are not
    masked: their outputs are ignored downstream because the query's Keras
    mask is passed on to the output. Masked scores are replaced by the most
    negative float32 value and the softmax runs in float32, so masked
    positions get exactly zero weight and stay finite under `float16` and
    `bfloat16`. A query that may see no key at all gets uniform weights, as
    in `keras.layers.MultiHeadAttention`; its output is meaningless and is
    ignored downstream through the padding mask.

    Incremental decoding: pass `cache` of shape `[batch_size, 2, cache_length,
    num_heads, key_dim]` (keys at index 0, values at 1).
    - With `cache_update_index=i`, the keys and values of the new query steps
      are written into the cache at position `i` and attention runs over the
      whole cache (use a causal mask so that empty slots are never seen).
    - With `cache_update_index=None`, the cache is used as the keys and
      values (cross-attention: computed once with `compute_key_value_cache`).
    The layer then returns `(output, cache)`.

    Args:
        num_heads: int, number of attention heads `h`.
        key_dim: int, size of each head's queries and keys `d_k`.
        value_dim: int, size of each head's values `d_v`. Defaults to
            `key_dim`.
        output_dim: int, size of the output. Defaults to the query's last
            dimension.
        dropout: float, dropout rate on the attention weights.
        use_bias: bool, whether the projections have biases.
        kernel_initializer: initializer for the projection kernels.
        bias_initializer: initializer for the projection biases.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Call arguments:
        query: `[batch_size, query_length, query_dim]`.
        value: `[batch_size, key_length, value_dim_in]`.
        key: `[batch_size, key_length, key_dim_in]`, defaults to `value`.
        value_mask, key_mask: bool `[batch_size, key_length]` padding masks
            of the keys; filled in from Keras masks when not given. Ignored
            while a cache is being updated (they would cover only the new
            steps): give masks over the cache through `attention_mask`.
        attention_mask: bool `[batch_size, query_length, key_length]`.
        use_causal_mask: bool, forbid attending to later positions.
        return_attention_scores: bool, also return the attention weights
            `[batch_size, num_heads, query_length, key_length]`.
        cache, cache_update_index: see above.

    Returns:
        `[batch_size, query_length, output_dim]`, followed by the updated
        cache if `cache` was given and the attention weights if asked for.

    Example:
    >>> layer = MultiHeadAttention(num_heads=2, key_dim=8)
    >>> x = keras.random.normal((3, 5, 16))
    >>> layer(x, x).shape
    TensorShape([3, 5, 16])

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), §3.2.
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        output_dim=None,
        dropout=0.0,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.output_dim = output_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _projection(self, equation, output_shape, bias_axes, name):
        """One of `W_Q`, `W_K`, `W_V` (`kernels.SPLIT_HEADS`) or `W_O`
        (`kernels.MERGE_HEADS`), with its bias."""
        projection = kernels.HeadsProjection(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes if self.use_bias else None,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )
        # Padding masks are handled by this layer; let them pass silently.
        projection.supports_masking = True
        return projection

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        output_dim = self.output_dim or query_shape[-1]
        self.query_dense = self._projection(
            kernels.SPLIT_HEADS, (None, self.num_heads, self.key_dim), "nh", "query"
        )
        self.query_dense.build(query_shape)
        self.key_dense = self._projection(
            kernels.SPLIT_HEADS, (None, self.num_heads, self.key_dim), "nh", "key"
        )
        self.key_dense.build(key_shape)
        self.value_dense = self._projection(
            kernels.SPLIT_HEADS, (None, self.num_heads, self.value_dim), "nh", "value"
        )
        self.value_dense.build(value_shape)
        self.output_dense = self._projection(
            kernels.MERGE_HEADS, (None, output_dim), "d", "attention_output"
        )
        self.output_dense.build((query_shape[0], query_shape[1], self.num_heads, self.value_dim))
        self.attention_dropout = Dropout(
            self.dropout, dtype=self.dtype_policy, name="attention_dropout"
        )
        self.built = True

    def compute_key_value_cache(self, key, value=None):
        """Projects keys and values once, e.g. the encoder output.

        Args:
            key: `[batch_size, key_length, key_dim_in]`.
            value: `[batch_size, key_length, value_dim_in]`, defaults to `key`.

        Returns:
            `[batch_size, 2, key_length, num_heads, key_dim]`.
        """
        value = key if value is None else value
        return ops.stack([self.key_dense(key), self.value_dense(value)], axis=1)

    def attend(self, query, key, value, attention_mask=None, training=None):
        """Scaled dot-product attention on projected heads.

        Args:
            query: `[batch_size, query_length, num_heads, key_dim]`.
            key: `[batch_size, key_length, num_heads, key_dim]`.
            value: `[batch_size, key_length, num_heads, value_dim]`.
            attention_mask: bool, broadcastable to
                `[batch_size, query_length, key_length]`, or None.

        Returns:
            context `[batch_size, query_length, num_heads, value_dim]` and
            weights `[batch_size, num_heads, query_length, key_length]`.
        """
        # Scaling the queries before the product (rather than the scores
        # after it) keeps float16 products well inside their range.
        query = query * ops.cast(1.0 / math.sqrt(self.key_dim), query.dtype)
        scores = ops.einsum("bqnh,bknh->bnqk", query, key)
        # Softmax in float32: exact zeros at masked keys, no float16 overflow.
        scores = ops.cast(scores, "float32")
        if attention_mask is not None:
            scores = ops.where(
                attention_mask[:, None, :, :],
                scores,
                masking.most_negative("float32"),
            )
        weights = ops.cast(ops.softmax(scores, axis=-1), self.compute_dtype)
        dropped = self.attention_dropout(weights, training=training)
        context = ops.einsum("bnqk,bknh->bqnh", dropped, value)
        return context, weights

    def call(
        self,
        query,
        value,
        key=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        cache=None,
        cache_update_index=None,
        training=None,
    ):
        key = value if key is None else key
        projected_query = self.query_dense(query)
        if cache is None:
            projected_key = self.key_dense(key)
            projected_value = self.value_dense(value)
        elif cache_update_index is None:
            projected_key, projected_value = cache[:, 0], cache[:, 1]
        else:
            start = [0, cache_update_index, 0, 0]
            projected_key = ops.slice_update(cache[:, 0], start, self.key_dense(key))
            projected_value = ops.slice_update(cache[:, 1], start, self.value_dense(value))
            cache = ops.stack([projected_key, projected_value], axis=1)

        query_length = ops.shape(query)[1]
        key_length = ops.shape(projected_key)[1]
        if cache_update_index is not None:
            # Padding masks of `value` cover the new steps, not the cache.
            value_mask = key_mask = None
        combined_mask = masking.combine_masks(
            attention_mask,
            masking.key_padding_mask(value_mask),
            masking.key_padding_mask(key_mask),
            masking.causal_mask(
                query_length,
                key_length,
                query_offset=0 if cache_update_index is None else cache_update_index,
            )
            if use_causal_mask
            else None,
        )
        context, weights = self.attend(
            projected_query,
            projected_key,
            projected_value,
            attention_mask=combined_mask,
            training=training,
        )
        output = self.output_dense(context)

        results = (output,)
        if cache is not None:
            results += (cache,)
        if return_attention_scores:
            results += (weights,)
        return results[0] if len(results) == 1 else results

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "output_dim": self.output_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
