"""The BERT encoder network and the input conventions of every BERT model.

Every model takes a dict of int32 `[batch_size, sequence_length]` tensors
named `INPUT_NAMES`: `token_ids`, `segment_ids` (0 for sentence A, 1 for
sentence B) and `padding_mask` (1 at real tokens, 0 at padding).
"""

import keras
from keras import ops

from keras_bert_lab.layers import TokenAndPositionEmbedding, TransformerEncoderBlock
from keras_bert_lab.presets.bert import BERT_CONFIGS

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")


def bert_initializer(stddev):
    """BERT's truncated normal initializer (the layers give each sub-layer
    its own copy, so no two weights start equal)."""
    return keras.initializers.TruncatedNormal(stddev=stddev)


def symbolic_inputs(names):
    """`keras.Input`s, int32 `[batch_size, sequence_length]`, by name."""
    return {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in names}


def select_inputs(inputs, names):
    """Keeps the model's own inputs: a functional model given a dict with
    extra keys (e.g. the pre-training features, labels aside) would match
    them by position instead of by name."""
    if isinstance(inputs, dict):
        return {name: inputs[name] for name in names}
    return inputs


def _policy_config(model):
    return {
        "name": model.name,
        "trainable": model.trainable,
        "dtype": keras.dtype_policies.serialize(model.dtype_policy),
    }


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class BertEncoder(keras.Model):
    """The BERT encoder network, without pre-training heads.

    `x = Dropout(LayerNorm(token + position + segment embeddings))`, then
    `num_layers` post-LN `TransformerEncoderBlock`s with GELU (tanh
    approximation, as in BERT's code), then the pooler
    `tanh(x[:, 0] W + b)` on the `[CLS]` token. All weights start from a
    truncated normal with standard deviation `initializer_range`. With
    `normalize_first`, the blocks are pre-LN (each sub-layer normalises its
    input; Xiong et al., 2020, stable at larger learning rates) and a last
    LayerNorm (`final_norm`) follows them.

    Masking: `padding_mask` is given to every block, so padded keys get zero
    attention weight and the outputs at real positions do not depend on the
    padding. The outputs at padded positions are meaningless.

    Args:
        vocabulary_size: int, number of token ids.
        num_layers: int, number of encoder blocks.
        num_heads: int, attention heads per block; divides `hidden_dim`.
        hidden_dim: int, size of the hidden states and of the pooler.
        intermediate_dim: int, inner size of the feed-forward networks.
        dropout: float, dropout on embeddings, sub-layer outputs and
            attention weights.
        max_sequence_length: int, number of learned position embeddings.
        num_segments: int, number of segment ids.
        activation: feed-forward activation, `"gelu_approximate"` (BERT) or
            `"gelu"` (the exact GELU of Hugging Face's BERT).
        layer_norm_epsilon: float, epsilon of every layer normalisation.
        initializer_range: float, standard deviation of the initializer.
        normalize_first: bool, pre-LN blocks and a final LayerNorm instead of
            BERT's post-LN blocks.
        dtype: dtype policy of the layers, e.g. `"mixed_float16"`; None for
            the global policy.
        **kwargs: `keras.Model` arguments such as `name`.

    Inputs: dict of int32 `[batch_size, sequence_length]` tensors
        `token_ids`, `segment_ids`, `padding_mask` (1 at tokens).

    Outputs: dict with
        `sequence_output` `[batch_size, sequence_length, hidden_dim]` and
        `pooled_output` `[batch_size, hidden_dim]`.
    Every layer's output and attention weights: `layer_outputs()`.

    Example:
    >>> encoder = BertEncoder.from_config_name(
    ...     "tiny", vocabulary_size=1000, max_sequence_length=64)
    >>> batch = {
    ...     "token_ids": np.array([[2, 7, 9, 3, 0]]),
    ...     "segment_ids": np.array([[0, 0, 0, 0, 0]]),
    ...     "padding_mask": np.array([[1, 1, 1, 1, 0]]),
    ... }
    >>> encoder(batch)["sequence_output"].shape
    TensorShape([1, 5, 128])

    References:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), §3 and
          appendix A.
        - [Turc et al., 2019](https://arxiv.org/abs/1908.08962), the
          compact sizes of `BERT_CONFIGS`.
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        max_sequence_length=512,
        num_segments=2,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        normalize_first=False,
        dtype=None,
        **kwargs,
    ):
        dtype = None if dtype is None else keras.dtype_policies.get(dtype)
        # === Layers ===
        embeddings = TokenAndPositionEmbedding(
            vocabulary_size,
            max_sequence_length,
            hidden_dim,
            position_encoding="learned",
            num_segments=num_segments,
            use_layer_norm=True,
            layer_norm_epsilon=layer_norm_epsilon,
            dropout=dropout,
            embeddings_initializer=bert_initializer(initializer_range),
            dtype=dtype,
            name="embeddings",
        )
        transformer_layers = _build_blocks(
            num_layers,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
            dropout=dropout,
            activation=activation,
            layer_norm_epsilon=layer_norm_epsilon,
            initializer_range=initializer_range,
            normalize_first=normalize_first,
            dtype=dtype,
        )
        final_norm, pooled_dense = _build_output_layers(
            hidden_dim, normalize_first, layer_norm_epsilon, initializer_range, dtype
        )

        # === Functional model ===
        inputs = symbolic_inputs(INPUT_NAMES)
        outputs = _encode(inputs, embeddings, transformer_layers, final_norm, pooled_dense)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        if dtype is not None:
            self.dtype_policy = dtype

        self.embeddings = embeddings
        self.transformer_layers = transformer_layers
        self.final_norm = final_norm
        self.pooled_dense = pooled_dense

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.normalize_first = normalize_first

    def call(self, inputs, training=None, mask=None):
        return super().call(select_inputs(inputs, INPUT_NAMES), training=training, mask=mask)

    @classmethod
    def from_config_name(cls, config_name, vocabulary_size, max_sequence_length=512, **overrides):
        """An encoder of a size named in `BERT_CONFIGS`.

        Args:
            config_name: `"tiny"`, `"mini"`, `"small"` or `"base"`.
            vocabulary_size: int, number of token ids.
            max_sequence_length: int, number of position embeddings.
            **overrides: any other constructor argument (`dropout`, `dtype`,
                or a size such as `num_layers`).
        """
        if config_name not in BERT_CONFIGS:
            raise ValueError(
                f"config_name must be one of {sorted(BERT_CONFIGS)}, got {config_name!r}"
            )
        arguments = BERT_CONFIGS[config_name] | {
            "vocabulary_size": vocabulary_size,
            "max_sequence_length": max_sequence_length,
        }
        return cls(**(arguments | overrides))

    def with_dropout(self, dropout):
        """A copy of this encoder, with the same weights, whose dropout rate is `dropout`:
        how fine-tuning brings back the dropout a pre-training without it left out.

        Args:
            dropout: float, the copy's dropout rate.
        """
        copy = type(self).from_config(self.get_config() | {"dropout": dropout})
        copy.set_weights(self.get_weights())
        return copy

    @property
    def token_embedding(self):
        """The `keras.layers.Embedding` of token ids; its `embeddings`
        variable `[vocabulary_size, hidden_dim]` is shared with the MLM
        output projection."""
        return self.embeddings.token_embedding

    def outputs_at(self, inputs, positions=None, training=None):
        """The encoder's outputs where a head reads them, computing the
        last block only there.

        Pre-training heads read the last layer at `[CLS]` (pooler) and at
        the masked tokens; a classifier only at `[CLS]`. The last block then
        runs its queries, output projection and feed-forward network on
        those positions alone (keys and values still cover the sequence:
        `TransformerEncoderBlock(key_value=...)`): of `T` positions, the
        last block computes `P + 1`, which saves nearly `1 / num_layers` of
        the encoder's work when `P + 1` is small against `T`. The results
        equal `call`'s at those positions (up to rounding). Works on
        symbolic inputs, to build models.

        Args:
            inputs: dict of int `[batch_size, sequence_length]` tensors
                `token_ids`, `segment_ids`, `padding_mask`.
            positions: int `[batch_size, P]`, the positions whose outputs
                are wanted; None for the pooled output alone.
            training: bool, whether dropout is active.

        Returns:
            dict with `pooled_output` `[batch_size, hidden_dim]` and, with
            `positions`, `sequence_output` `[batch_size, P, hidden_dim]`.
        """
        token_ids, segment_ids, padding_mask = (inputs[name] for name in INPUT_NAMES)
        x = self.embeddings(token_ids, segment_ids=segment_ids, training=training)
        for block in self.transformer_layers[:-1]:
            x = block(x, padding_mask=padding_mask, training=training)
        cls_position = ops.zeros_like(token_ids[:, :1], dtype="int32")
        query_positions = (
            cls_position
            if positions is None
            else ops.concatenate([cls_position, ops.cast(positions, "int32")], axis=1)
        )
        queries = ops.take_along_axis(x, query_positions[:, :, None], axis=1)
        x = self._final(
            self.transformer_layers[-1](
                queries, padding_mask=padding_mask, key_value=x, training=training
            )
        )
        outputs = {"pooled_output": self.pooled_dense(x[:, 0, :])}
        if positions is not None:
            outputs["sequence_output"] = x[:, 1:, :]
        return outputs

    def layer_outputs(self, inputs, training=False):
        """Runs the encoder and keeps every intermediate result.

        Uses the encoder's own layers, so the results are those of
        `encoder(inputs)`; for probing and attention maps.

        Args:
            inputs: dict of int `[batch_size, sequence_length]` tensors
                `token_ids`, `segment_ids`, `padding_mask`.
            training: bool, whether dropout is active.

        Returns:
            dict with
            - `embedding_output`: `[batch_size, sequence_length, hidden_dim]`,
              the embedding block's output (input of the first block);
            - `encoder_layer_outputs`: list of `num_layers` tensors
              `[batch_size, sequence_length, hidden_dim]`, the last one being
              `sequence_output`;
            - `attention_weights`: list of `num_layers` tensors
              `[batch_size, num_heads, sequence_length, sequence_length]`
              (query by key; zero at padded keys, rows sum to 1);
            - `sequence_output` and `pooled_output` as from `call`.
        """
        token_ids, segment_ids, padding_mask = (
            ops.convert_to_tensor(inputs[name], "int32") for name in INPUT_NAMES
        )
        x = self.embeddings(token_ids, segment_ids=segment_ids, training=training)
        outputs = {
            "embedding_output": x,
            "encoder_layer_outputs": [],
            "attention_weights": [],
        }
        for index, block in enumerate(self.transformer_layers):
            x, weights = block(
                x,
                padding_mask=padding_mask,
                return_attention_scores=True,
                training=training,
            )
            if index == self.num_layers - 1:
                x = self._final(x)
            outputs["encoder_layer_outputs"].append(x)
            outputs["attention_weights"].append(weights)
        outputs["sequence_output"] = x
        outputs["pooled_output"] = self.pooled_dense(x[:, 0, :])
        return outputs

    def _final(self, x):
        """The last block's output as the heads read it (`final_norm` of a pre-LN stack)."""
        return x if self.final_norm is None else self.final_norm(x)

    def layer_outputs_model(self):
        """A `keras.Model` mapping the encoder's inputs to the dict of
        `layer_outputs()`, sharing this encoder's weights (e.g. to run
        `predict` over a dataset). Not meant to be saved."""
        inputs = symbolic_inputs(INPUT_NAMES)
        outputs = _LayerOutputs(self, dtype=self.dtype_policy)(inputs)
        return keras.Model(inputs, outputs, name=f"{self.name}_layer_outputs")

    def get_config(self):
        return _policy_config(self) | {
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "max_sequence_length": self.max_sequence_length,
            "num_segments": self.num_segments,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": self.initializer_range,
            "normalize_first": self.normalize_first,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _encode(inputs, embeddings, transformer_layers, final_norm, pooled_dense):
    """The encoder's function, on the symbolic inputs of its functional model.

    Returns:
        dict with `sequence_output` `[batch_size, sequence_length,
        hidden_dim]`, the last block's output (through `final_norm` unless
        None), and `pooled_output` `[batch_size, hidden_dim]`, the pooler on
        `[CLS]`.
    """
    x = embeddings(inputs["token_ids"], segment_ids=inputs["segment_ids"])
    for block in transformer_layers:
        x = block(x, padding_mask=inputs["padding_mask"])
    if final_norm is not None:
        x = final_norm(x)
    return {
        "sequence_output": x,
        "pooled_output": pooled_dense(x[:, 0, :]),
    }


def _build_blocks(num_layers, initializer_range, dtype, **block_arguments):
    """The encoder's `num_layers` `TransformerEncoderBlock`s, named
    `transformer_layer_{i}` (as in keras-hub, for weight conversion)."""
    return [
        TransformerEncoderBlock(
            kernel_initializer=bert_initializer(initializer_range),
            dtype=dtype,
            name=f"transformer_layer_{i}",
            **block_arguments,
        )
        for i in range(num_layers)
    ]


def _build_output_layers(hidden_dim, normalize_first, layer_norm_epsilon, initializer_range, dtype):
    """`(final_norm, pooled_dense)`: the LayerNorm after a pre-LN stack (None after a post-LN
    one) and the pooler's dense layer."""
    final_norm = None
    if normalize_first:
        final_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="final_norm"
        )
    pooled_dense = keras.layers.Dense(
        hidden_dim,
        activation="tanh",
        kernel_initializer=bert_initializer(initializer_range),
        dtype=dtype,
        name="pooled_dense",
    )
    return final_norm, pooled_dense


class _LayerOutputs(keras.layers.Layer):
    """Wraps `BertEncoder.layer_outputs` as a layer of a functional model.

    (`TransformerEncoderBlock` declares a single output shape, so its
    attention weights cannot be taken from a symbolic call; this layer runs
    the blocks inside its own `call` instead.)
    """

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder

    def call(self, inputs, training=False):
        return self.encoder.layer_outputs(inputs, training=training)
