"""BERT's masked-language-model head, tied to the token embeddings."""

import keras
from keras import ops

from keras_bert_lab.models.bert.encoder import bert_initializer


class MaskedLMHead(keras.layers.Layer):
    """BERT's masked-language-model head, evaluated at the masked positions.

    `logits = LayerNorm(GELU(h W + b)) Eᵀ + b_out`, where `h` are the
    encoder outputs gathered at `mask_positions` and `E` is the token
    embedding matrix (tied weights: the head has no `[hidden, vocabulary]`
    kernel of its own, only the output bias `b_out`).

    Args:
        token_embedding: the encoder's `keras.layers.Embedding`.
        layer_norm_epsilon: float.
        initializer_range: float, standard deviation of the dense kernel.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Call arguments:
        sequence_output: `[batch_size, sequence_length, hidden_dim]`.
        mask_positions: int `[batch_size, max_predictions]`; None when
            `sequence_output` holds only the masked positions already
            (`[batch_size, max_predictions, hidden_dim]`, as from
            `BertEncoder.outputs_at`).

    Returns:
        float32 `[batch_size, max_predictions, vocabulary_size]`.
    """

    def __init__(
        self,
        token_embedding,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # The encoder's padding mask does not apply to prediction slots.
        self.supports_masking = True
        self.token_embedding = token_embedding
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range

    def build(self, sequence_output_shape, mask_positions_shape=None):
        hidden_dim = self.token_embedding.output_dim
        self.intermediate_dense = keras.layers.Dense(
            hidden_dim,
            kernel_initializer=bert_initializer(self.initializer_range),
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self.intermediate_dense.build((None, None, sequence_output_shape[-1]))
        self.intermediate_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="intermediate_layer_norm",
        )
        self.intermediate_layer_norm.build((None, None, hidden_dim))
        self.output_bias = self.add_weight(
            name="output_bias",
            shape=(self.token_embedding.input_dim,),
            initializer="zeros",
        )
        self.built = True

    def call(self, sequence_output, mask_positions=None):
        # [B, T, H] gathered at [B, P] -> [B, P, H]: only the masked
        # positions go through the (vocabulary-sized) output projection.
        x = sequence_output
        if mask_positions is not None:
            mask_positions = ops.expand_dims(ops.cast(mask_positions, "int32"), -1)
            x = ops.take_along_axis(sequence_output, mask_positions, axis=1)
        x = keras.activations.gelu(self.intermediate_dense(x), approximate=True)
        x = self.intermediate_layer_norm(x)
        embedding_matrix = ops.cast(self.token_embedding.embeddings, x.dtype)
        logits = ops.matmul(x, ops.transpose(embedding_matrix))
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def compute_mask(self, sequence_output, mask_positions=None, previous_mask=None):
        return None

    def compute_output_shape(self, sequence_output_shape, mask_positions_shape=None):
        slots = (
            sequence_output_shape
            if mask_positions_shape is None
            else (tuple(mask_positions_shape) + (None,))
        )
        return tuple(slots[:2]) + (self.token_embedding.input_dim,)
