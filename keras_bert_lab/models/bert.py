"""BERT: the encoder, its pre-training heads and a sequence classifier.

Built only from `keras_bert_lab.layers`, following "BERT: Pre-training of Deep
Bidirectional Transformers for Language Understanding" (Devlin et al., 2019):

- `BertEncoder`: token + position + segment embeddings, a stack of post-LN
  Transformer encoder blocks and the `[CLS]` pooler. Weights are laid out so
  that a `keras_hub.models.BertBackbone` converts to it exactly
  (`convert_keras_hub_bert`, `load_keras_hub_bert`).
- `BertPretrainer`: the encoder with the masked-language-model head (tied to
  the token embeddings, evaluated only at the masked positions) and the
  next-sentence-prediction head. Its outputs are what
  `keras_bert_lab.training.objectives.bert_pretraining` expects.
- `BertClassifier`: dropout and a dense layer on the pooled output.

Every model takes a dict of int32 `[batch_size, sequence_length]` tensors:
`token_ids`, `segment_ids` (0 for sentence A, 1 for sentence B) and
`padding_mask` (1 at real tokens, 0 at padding). Logits are returned in
float32 under a mixed precision policy.
"""

import keras
from keras import ops

from keras_bert_lab.layers import Dropout, TokenAndPositionEmbedding, TransformerEncoderBlock
from keras_bert_lab.presets.bert import BERT_CONFIGS

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")
PRETRAINER_INPUT_NAMES = INPUT_NAMES + ("mask_positions",)


def _initializer(stddev):
    """BERT's truncated normal initializer (the layers give each sub-layer
    its own copy, so no two weights start equal)."""
    return keras.initializers.TruncatedNormal(stddev=stddev)


def _inputs(names):
    return {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in names}


def _select_inputs(inputs, names):
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
    truncated normal with standard deviation `initializer_range`.

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
            embeddings_initializer=_initializer(initializer_range),
            dtype=dtype,
            name="embeddings",
        )
        transformer_layers = [
            TransformerEncoderBlock(
                num_heads=num_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                activation=activation,
                layer_norm_epsilon=layer_norm_epsilon,
                kernel_initializer=_initializer(initializer_range),
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(num_layers)
        ]
        pooled_dense = keras.layers.Dense(
            hidden_dim,
            activation="tanh",
            kernel_initializer=_initializer(initializer_range),
            dtype=dtype,
            name="pooled_dense",
        )

        # === Functional model ===
        inputs = _inputs(INPUT_NAMES)
        x = embeddings(inputs["token_ids"], segment_ids=inputs["segment_ids"])
        for block in transformer_layers:
            x = block(x, padding_mask=inputs["padding_mask"])
        outputs = {
            "sequence_output": x,
            "pooled_output": pooled_dense(x[:, 0, :]),
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        if dtype is not None:
            self.dtype_policy = dtype

        self.embeddings = embeddings
        self.transformer_layers = transformer_layers
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

    def call(self, inputs, training=None, mask=None):
        return super().call(_select_inputs(inputs, INPUT_NAMES), training=training, mask=mask)

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
        x = self.transformer_layers[-1](
            queries, padding_mask=padding_mask, key_value=x, training=training
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
        for block in self.transformer_layers:
            x, weights = block(
                x,
                padding_mask=padding_mask,
                return_attention_scores=True,
                training=training,
            )
            outputs["encoder_layer_outputs"].append(x)
            outputs["attention_weights"].append(weights)
        outputs["sequence_output"] = x
        outputs["pooled_output"] = self.pooled_dense(x[:, 0, :])
        return outputs

    def layer_outputs_model(self):
        """A `keras.Model` mapping the encoder's inputs to the dict of
        `layer_outputs()`, sharing this encoder's weights (e.g. to run
        `predict` over a dataset). Not meant to be saved."""
        inputs = _inputs(INPUT_NAMES)
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
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


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
            kernel_initializer=_initializer(self.initializer_range),
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


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class BertPretrainer(keras.Model):
    """A `BertEncoder` with BERT's two pre-training heads.

    - Masked LM: the encoder outputs at `mask_positions` go through
      `MaskedLMHead` (dense + GELU + LayerNorm, then the transposed token
      embedding matrix and an output bias): the projection is tied to the
      input embeddings and computed only for the masked tokens.
    - Next sentence prediction: a 2-way dense layer on `pooled_output`.

    Train with `keras_bert_lab.training.objectives.bert_pretraining`, which
    weighs each prediction slot by `mlm_weights` (0 for padding slots).

    Args:
        encoder: a `BertEncoder`.
        prune_last_layer: bool, compute the encoder's last block only at
            `[CLS]` and the masked positions, the only ones the heads read
            (`BertEncoder.outputs_at`): the same outputs for less work.
            False runs the whole encoder (models saved before this option
            existed load that way: the two store the encoder's weights
            under different paths).
        **kwargs: `keras.Model` arguments such as `name`.

    Inputs: dict with the encoder's inputs (int32 `[batch_size,
        sequence_length]`) and `mask_positions` int32 `[batch_size,
        max_predictions]` (positions of the masked tokens; padding slots
        may point anywhere, e.g. 0).

    Outputs: dict with float32
        `mlm_logits` `[batch_size, max_predictions, vocabulary_size]` and
        `nsp_logits` `[batch_size, 2]` (class 0: B follows A).

    Example:
    >>> encoder = BertEncoder.from_config_name("tiny", vocabulary_size=1000)
    >>> pretrainer = BertPretrainer(encoder)
    >>> outputs = pretrainer({
    ...     "token_ids": np.array([[2, 7, 4, 3, 8, 3]]),
    ...     "segment_ids": np.array([[0, 0, 0, 0, 1, 1]]),
    ...     "padding_mask": np.array([[1, 1, 1, 1, 1, 1]]),
    ...     "mask_positions": np.array([[2, 0]]),
    ... })
    >>> outputs["mlm_logits"].shape, outputs["nsp_logits"].shape
    (TensorShape([1, 2, 1000]), TensorShape([1, 2]))

    References:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), §3.1
          and appendix A.1.
        - [Press & Wolf, 2017](https://arxiv.org/abs/1608.05859), tied
          input and output embeddings.
    """

    def __init__(self, encoder, prune_last_layer=True, **kwargs):
        policy = encoder.dtype_policy
        masked_lm_head = MaskedLMHead(
            encoder.token_embedding,
            layer_norm_epsilon=encoder.layer_norm_epsilon,
            initializer_range=encoder.initializer_range,
            dtype=policy,
            name="masked_lm_head",
        )
        next_sentence_dense = keras.layers.Dense(
            2,
            kernel_initializer=_initializer(encoder.initializer_range),
            dtype=policy,
            name="next_sentence_dense",
        )

        inputs = _inputs(PRETRAINER_INPUT_NAMES)
        if prune_last_layer:
            encoded = encoder.outputs_at(inputs, inputs["mask_positions"])
            mlm_logits = masked_lm_head(encoded["sequence_output"])
        else:
            encoded = encoder({name: inputs[name] for name in INPUT_NAMES})
            mlm_logits = masked_lm_head(encoded["sequence_output"], inputs["mask_positions"])
        outputs = {
            "mlm_logits": mlm_logits,
            "nsp_logits": ops.cast(next_sentence_dense(encoded["pooled_output"]), "float32"),
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.dtype_policy = policy

        self.encoder = encoder
        self.masked_lm_head = masked_lm_head
        self.next_sentence_dense = next_sentence_dense
        self.prune_last_layer = prune_last_layer

    def call(self, inputs, training=None, mask=None):
        return super().call(
            _select_inputs(inputs, PRETRAINER_INPUT_NAMES),
            training=training,
            mask=mask,
        )

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "prune_last_layer": self.prune_last_layer,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**_deserialized_encoder(config))


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class BertClassifier(keras.Model):
    """Sequence classification with BERT: `Dense(Dropout(pooled_output))`.

    Fine-tunes a pre-trained `BertEncoder` (pass the one from
    `BertPretrainer.encoder` or `load_keras_hub_bert`) or trains one from
    scratch (pass a new one, or use `from_config_name`).

    Args:
        encoder: a `BertEncoder`.
        num_classes: int, number of classes.
        dropout: float, dropout on the pooled output.
        prune_last_layer: bool, compute the encoder's last block only at
            `[CLS]`, the one position the classifier reads (as
            `BertPretrainer`'s option).
        **kwargs: `keras.Model` arguments such as `name`.

    Inputs: the encoder's dict of int32 `[batch_size, sequence_length]`
        tensors.

    Outputs: float32 logits `[batch_size, num_classes]`.

    Example:
    >>> classifier = BertClassifier.from_config_name(
    ...     "tiny", vocabulary_size=1000, num_classes=3)
    >>> classifier({
    ...     "token_ids": np.array([[2, 7, 3]]),
    ...     "segment_ids": np.array([[0, 0, 0]]),
    ...     "padding_mask": np.array([[1, 1, 1]]),
    ... }).shape
    TensorShape([1, 3])

    References:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), §4.1.
    """

    def __init__(self, encoder, num_classes=2, dropout=0.1, prune_last_layer=True, **kwargs):
        policy = encoder.dtype_policy
        classifier_dropout = Dropout(dropout, dtype=policy, name="classifier_dropout")
        logits_dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=_initializer(encoder.initializer_range),
            dtype=policy,
            name="logits_dense",
        )

        inputs = _inputs(INPUT_NAMES)
        encoded = encoder.outputs_at(inputs) if prune_last_layer else encoder(inputs)
        pooled = encoded["pooled_output"]
        logits = ops.cast(logits_dense(classifier_dropout(pooled)), "float32")
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.dtype_policy = policy

        self.encoder = encoder
        self.classifier_dropout = classifier_dropout
        self.logits_dense = logits_dense
        self.num_classes = num_classes
        self.dropout = dropout
        self.prune_last_layer = prune_last_layer

    def call(self, inputs, training=None, mask=None):
        return super().call(_select_inputs(inputs, INPUT_NAMES), training=training, mask=mask)

    @classmethod
    def from_config_name(
        cls,
        config_name,
        vocabulary_size,
        max_sequence_length=512,
        num_classes=2,
        dropout=0.1,
        **encoder_overrides,
    ):
        """A classifier on a new encoder of a size named in `BERT_CONFIGS`
        (see `BertEncoder.from_config_name`)."""
        encoder = BertEncoder.from_config_name(
            config_name,
            vocabulary_size=vocabulary_size,
            max_sequence_length=max_sequence_length,
            **encoder_overrides,
        )
        return cls(encoder, num_classes=num_classes, dropout=dropout)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "prune_last_layer": self.prune_last_layer,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**_deserialized_encoder(config))


def _deserialized_encoder(config):
    """A model's config with its encoder deserialised. Files saved before
    `prune_last_layer` existed ran the whole encoder."""
    config = {"prune_last_layer": False} | config
    config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
    return config


def _copy_weights(target, source):
    """Copies `source`'s weights into `target`, checking names and shapes."""
    target_names = [w.name for w in target.weights]
    source_names = [w.name for w in source.weights]
    if target_names != source_names:
        raise ValueError(
            f"Cannot copy {source.path} {source_names} into {target.path} {target_names}"
        )
    for target_weight, source_weight in zip(target.weights, source.weights):
        if tuple(target_weight.shape) != tuple(source_weight.shape):
            raise ValueError(
                f"Shape mismatch: {source_weight.path} {source_weight.shape} "
                f"-> {target_weight.path} {target_weight.shape}"
            )
        target_weight.assign(source_weight)


def extend_positions(encoder, max_sequence_length):
    """A copy of `encoder` with `max_sequence_length` position embeddings.

    BERT pre-trains mostly on short sequences and then briefly on long ones
    (Devlin et al., 2019, appendix A.2); an encoder pre-trained with fewer
    positions is widened here for that second phase. All weights are
    copied; the new position rows repeat the learned table (as Longformer
    does, Beltagy et al., 2020, §5), so they start with the learned local
    structure instead of noise.

    Args:
        encoder: a `BertEncoder`.
        max_sequence_length: int, at least `encoder.max_sequence_length`.

    Returns:
        a new `BertEncoder`; its outputs on sequences no longer than
        `encoder.max_sequence_length` equal `encoder`'s.
    """
    learned = encoder.max_sequence_length
    if max_sequence_length < learned:
        raise ValueError(
            f"max_sequence_length {max_sequence_length} is below the encoder's {learned} positions"
        )
    extended = BertEncoder.from_config(
        encoder.get_config() | {"max_sequence_length": max_sequence_length}
    )
    source_table = encoder.embeddings.position_embedding.position_embeddings
    target_table = extended.embeddings.position_embedding.position_embeddings
    for target, source in zip(extended.weights, encoder.weights):
        if target is not target_table:
            target.assign(source)
    repeats = -(-max_sequence_length // learned)
    target_table.assign(ops.tile(source_table, (repeats, 1))[:max_sequence_length])
    return extended


def convert_keras_hub_bert(backbone):
    """Converts a `keras_hub.models.BertBackbone` into a `BertEncoder`.

    The two networks compute the same function (keras-hub's BERT also uses
    the tanh GELU and epsilon 1e-12), so the weights map one to one:

    - `token_embedding`, `position_embedding`, `segment_embedding`,
      `embeddings_layer_norm` -> the same names under `embeddings`;
    - `transformer_layer_i`: `_self_attention_layer._{query,key,value,
      output}_dense` -> `self_attention_layer.{query,key,value,output}_dense`
      (the same `[hidden, heads, key_dim]` layout), `_self_attention_layer_norm`
      -> `self_attention_layer_norm`, `_feedforward_{intermediate,output}_dense`
      -> `feedforward.{intermediate,output}_dense`, `_feedforward_layer_norm`
      -> `feedforward_layer_norm`;
    - `pooled_dense` -> `pooled_dense`.

    Args:
        backbone: a built `keras_hub.models.BertBackbone`.

    Returns:
        a `BertEncoder` with the backbone's sizes, dropout and dtype policy,
        whose `sequence_output` and `pooled_output` equal the backbone's.
    """
    encoder = BertEncoder(
        vocabulary_size=backbone.vocabulary_size,
        num_layers=backbone.num_layers,
        num_heads=backbone.num_heads,
        hidden_dim=backbone.hidden_dim,
        intermediate_dim=backbone.intermediate_dim,
        dropout=backbone.dropout,
        max_sequence_length=backbone.max_sequence_length,
        num_segments=backbone.num_segments,
        dtype=backbone.dtype_policy,
    )
    embeddings = encoder.embeddings
    pairs = [
        (embeddings.token_embedding, backbone.token_embedding),
        (embeddings.position_embedding, backbone.position_embedding),
        (embeddings.segment_embedding, backbone.segment_embedding),
        (
            embeddings.embeddings_layer_norm,
            backbone.get_layer("embeddings_layer_norm"),
        ),
        (encoder.pooled_dense, backbone.get_layer("pooled_dense")),
    ]
    for i, block in enumerate(encoder.transformer_layers):
        theirs = backbone.get_layer(f"transformer_layer_{i}")
        attention = block.self_attention_layer
        their_attention = theirs._self_attention_layer
        pairs += [
            (attention.query_dense, their_attention._query_dense),
            (attention.key_dense, their_attention._key_dense),
            (attention.value_dense, their_attention._value_dense),
            (attention.output_dense, their_attention._output_dense),
            (block.self_attention_layer_norm, theirs._self_attention_layer_norm),
            (
                block.feedforward.intermediate_dense,
                theirs._feedforward_intermediate_dense,
            ),
            (block.feedforward.output_dense, theirs._feedforward_output_dense),
            (block.feedforward_layer_norm, theirs._feedforward_layer_norm),
        ]
    for ours, theirs in pairs:
        _copy_weights(ours, theirs)
    return encoder


def load_keras_hub_bert(preset):
    """Loads a pre-trained BERT with keras-hub and converts it.

    Args:
        preset: a keras-hub preset name (e.g. `"bert_tiny_en_uncased"`,
            downloaded), or a local preset folder in Keras or Hugging Face
            format (a Hugging Face folder needs the `safetensors` package).

    keras-hub builds every BERT with the tanh GELU; a Hugging Face
    checkpoint trained with the exact GELU (`"hidden_act": "gelu"`) is thus
    run with the approximation, by keras-hub and by the converted encoder
    alike.

    Returns:
        `(encoder, tokenizer)`: a `BertEncoder` and the checkpoint's own
        `keras_hub.models.BertTokenizer` (its vocabulary and casing; in
        Google's vocabularies `[CLS]` is 101 and `[SEP]` 102).

    Example:
    >>> encoder, tokenizer = load_keras_hub_bert("path/to/bert_folder")
    """
    import keras_hub

    backbone = keras_hub.models.BertBackbone.from_preset(preset)
    tokenizer = keras_hub.models.BertTokenizer.from_preset(preset)
    return convert_keras_hub_bert(backbone), tokenizer
