"""Token + position (+ segment) embeddings: the input block of BERT and the
Transformer."""

import math

import keras
from keras import ops

from keras_bert_lab.layers.dropout import Dropout
from keras_bert_lab.layers.initializers import clone_initializer
from keras_bert_lab.layers.position_embedding import PositionEmbedding
from keras_bert_lab.layers.sinusoidal_position_encoding import (
    SinusoidalPositionEncoding,
)


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Sums token, position and optional segment embeddings.

    With `position_encoding="sinusoidal"` and `scale_token_embeddings=True`
    this is the input of "Attention Is All You Need" (token embeddings scaled
    by `√d_model`, §3.4); with `position_encoding="learned"`, `num_segments=2`,
    `use_layer_norm=True` and dropout it is BERT's embedding block.

    Masking: token id 0 (`[PAD]`) is padding; the layer returns the Keras
    mask `token_ids != 0`, so later layers ignore padding by themselves.

    Args:
        vocabulary_size: int, number of token ids.
        sequence_length: int, largest number of positions.
        embedding_dim: int, size of the embeddings `d_model`.
        position_encoding: `"learned"` or `"sinusoidal"`.
        num_segments: int, number of segment (token type) ids; 0 for none.
        use_layer_norm: bool, normalise the summed embeddings (BERT).
        layer_norm_epsilon: float, epsilon of that normalisation.
        dropout: float, dropout rate on the output.
        scale_token_embeddings: bool, multiply token embeddings by
            `√embedding_dim`, as in the Transformer paper.
        embeddings_initializer: initializer for the learned tables.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Call arguments:
        token_ids: int `[batch_size, sequence_length]`.
        segment_ids: int `[batch_size, sequence_length]`, needed when
            `num_segments > 0`.
        start_index: int or scalar tensor, position of the first token
            (non-zero in incremental decoding).

    Returns:
        `[batch_size, sequence_length, embedding_dim]` with a padding mask.

    Example:
    >>> layer = TokenAndPositionEmbedding(1000, 128, 64, num_segments=2)
    >>> ids = keras.ops.ones((2, 10), "int32")
    >>> layer(ids, segment_ids=keras.ops.zeros((2, 10), "int32")).shape
    TensorShape([2, 10, 64])

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), §3.4-3.5.
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), §3.
    """

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        embedding_dim,
        position_encoding="learned",
        num_segments=0,
        use_layer_norm=False,
        layer_norm_epsilon=1e-12,
        dropout=0.0,
        scale_token_embeddings=False,
        embeddings_initializer="uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if position_encoding not in ("learned", "sinusoidal"):
            raise ValueError(
                f"position_encoding must be 'learned' or 'sinusoidal', got {position_encoding!r}"
            )
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.position_encoding = position_encoding
        self.num_segments = num_segments
        self.use_layer_norm = use_layer_norm
        self.layer_norm_epsilon = layer_norm_epsilon
        self.dropout = dropout
        self.scale_token_embeddings = scale_token_embeddings
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.supports_masking = True

        # === Layers ===
        self.token_embedding = self._embedding(vocabulary_size, "token_embedding")
        self.position_embedding = self._position_layer()
        self.segment_embedding = (
            self._embedding(num_segments, "segment_embedding") if num_segments else None
        )
        self.embeddings_layer_norm = (
            keras.layers.LayerNormalization(
                epsilon=layer_norm_epsilon,
                dtype=self.dtype_policy,
                name="embeddings_layer_norm",
            )
            if use_layer_norm
            else None
        )
        self.embeddings_dropout = Dropout(
            dropout, dtype=self.dtype_policy, name="embeddings_dropout"
        )

    def _embedding(self, input_dim, name):
        """A learned table `[input_dim, embedding_dim]` (token or segment)."""
        return keras.layers.Embedding(
            input_dim,
            self.embedding_dim,
            embeddings_initializer=clone_initializer(self.embeddings_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def _position_layer(self):
        """The learned `[sequence_length, embedding_dim]` table, or the fixed
        sinusoids of the Transformer paper."""
        if self.position_encoding == "learned":
            return PositionEmbedding(
                self.sequence_length,
                initializer=clone_initializer(self.embeddings_initializer),
                dtype=self.dtype_policy,
                name="position_embedding",
            )
        return SinusoidalPositionEncoding(dtype=self.dtype_policy, name="position_embedding")

    def build(self, token_ids_shape, segment_ids_shape=None):
        embedded_shape = tuple(token_ids_shape) + (self.embedding_dim,)
        self.token_embedding.build(token_ids_shape)
        self.position_embedding.build(embedded_shape)
        if self.segment_embedding is not None:
            self.segment_embedding.build(token_ids_shape)
        if self.embeddings_layer_norm is not None:
            self.embeddings_layer_norm.build(embedded_shape)
        self.built = True

    def call(self, token_ids, segment_ids=None, start_index=0, training=None):
        embeddings = self.token_embedding(token_ids)
        if self.scale_token_embeddings:
            embeddings = embeddings * ops.cast(math.sqrt(self.embedding_dim), embeddings.dtype)
        embeddings = embeddings + self.position_embedding(embeddings, start_index=start_index)
        if self.segment_embedding is not None:
            if segment_ids is None:
                raise ValueError(
                    f"{self.name} has num_segments={self.num_segments}: pass segment_ids"
                )
            embeddings = embeddings + self.segment_embedding(segment_ids)
        if self.embeddings_layer_norm is not None:
            embeddings = self.embeddings_layer_norm(embeddings)
        return self.embeddings_dropout(embeddings, training=training)

    def compute_mask(self, token_ids, previous_mask=None):
        return ops.not_equal(token_ids, 0)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return tuple(token_ids_shape) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "embedding_dim": self.embedding_dim,
                "position_encoding": self.position_encoding,
                "num_segments": self.num_segments,
                "use_layer_norm": self.use_layer_norm,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "dropout": self.dropout,
                "scale_token_embeddings": self.scale_token_embeddings,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
            }
        )
        return config
