"""The encoder-decoder Transformer of "Attention Is All You Need" (its learning-rate schedule
is `keras_bert_lab.training.schedules.TransformerLearningRateSchedule`).

`Translator` is trained with teacher forcing (`call`) and decodes one token
at a time with a key/value cache (`encode`, `initial_cache`, `decode_step`);
`keras_bert_lab.models.translator.decoding` runs greedy and beam search on top of these, and
`keras_bert_lab.models.translator.pipeline.TranslationPipeline` adds the two tokenizers.
"""

import keras
from keras import ops

from keras_bert_lab.layers.token_and_position_embedding import TokenAndPositionEmbedding
from keras_bert_lab.layers.transformer_decoder_block import TransformerDecoderBlock
from keras_bert_lab.layers.transformer_encoder_block import TransformerEncoderBlock
from keras_bert_lab.text.special_tokens import START_ID


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class Translator(keras.Model):
    """Encoder-decoder Transformer for translation (Vaswani et al., 2017).

    Source and target token ids are embedded (token embeddings scaled by
    `√hidden_dim`, plus sinusoidal or learned positions), the source goes
    through `num_layers` `TransformerEncoderBlock`s, the target through
    `num_layers` causal `TransformerDecoderBlock`s that attend to the encoder
    output, and a final projection gives next-token logits. With
    `tie_output_embeddings=True` the projection is the transposed target
    token-embedding matrix (§3.4 of the paper), without bias. With
    `share_source_embeddings=True` the source is embedded by the target's
    embedding layer too: one token matrix for both sides (and the output),
    as the paper's shared source-target vocabulary does.

    Teacher forcing: for a target `y1 .. yn`, `decoder_inputs` is
    `[START] y1 .. yn` and the labels are `y1 .. yn [END]`; the logits at
    position `t` predict label `t`.

    Masking: id 0 (`[PAD]`) is padding on both sides. Padded source tokens
    are never attended to; padded target positions are ignored as keys and
    their logits are meaningless (the loss gives them weight 0).

    Truncation: a source longer than `sequence_length` tokens is cut to its
    first `sequence_length` tokens (in `call`, `encode` and so in decoding).
    Target positions are not truncated: with `position_encoding="learned"`,
    `decoder_inputs` must be at most `sequence_length` long.

    Mixed precision: with a `mixed_*` dtype policy the computation runs in
    the compute dtype (layer normalisation and attention softmax in float32,
    as the layers do) and the logits are returned in float32.

    Args:
        source_vocabulary_size: int, number of source token ids.
        target_vocabulary_size: int, number of target token ids.
        sequence_length: int, most positions on each side; longer sources
            are truncated, and decoding produces at most this many tokens.
        num_layers: int, number of encoder blocks and of decoder blocks `N`.
        hidden_dim: int, model size `d_model`.
        num_heads: int, attention heads `h`; must divide `hidden_dim`.
        intermediate_dim: int, feed-forward inner size `d_ff`.
        dropout: float, dropout on embeddings and on each sub-layer output
            (`P_drop`); also used on attention weights.
        activation: feed-forward activation, `"relu"` (the paper), `"gelu"`
            or `"gelu_approximate"`.
        layer_norm_epsilon: float, epsilon of the layer normalisations.
        normalize_first: bool, pre-LN blocks; a final layer normalisation is
            then added after each stack.
        position_encoding: `"sinusoidal"` (the paper) or `"learned"`.
        tie_output_embeddings: bool, project onto the transposed target
            token embeddings instead of a separate `Dense` layer.
        share_source_embeddings: bool, embed the source with the target's
            embedding layer (`source_embedding is target_embedding`, named
            `shared_embedding`); the two vocabulary sizes must be equal.
        embeddings_initializer: initializer for the token embeddings;
            `None` means normal with standard deviation `hidden_dim^-0.5`,
            so that scaled embeddings (and tied logits) have unit scale.
        kernel_initializer: initializer for the blocks' and the output
            projection's kernels.
        **kwargs: base model arguments such as `name` and `dtype`.

    Call arguments:
        inputs: dict with `"encoder_inputs"`, int `[batch_size,
            source_length]`, and `"decoder_inputs"`, int `[batch_size,
            target_length]`.
        training: bool, whether dropout is active.

    Returns:
        float32 logits `[batch_size, target_length, target_vocabulary_size]`.

    Example:
    >>> translator = Translator(100, 120, sequence_length=16, num_layers=1,
    ...                         hidden_dim=16, num_heads=2, intermediate_dim=32)
    >>> logits = translator({
    ...     "encoder_inputs": keras.ops.ones((2, 7), "int32"),
    ...     "decoder_inputs": keras.ops.ones((2, 5), "int32"),
    ... })
    >>> logits.shape
    TensorShape([2, 5, 120])

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762).
        - [Press & Wolf, 2017](https://arxiv.org/abs/1608.05859) (tied
          output embeddings).
    """

    def __init__(
        self,
        source_vocabulary_size,
        target_vocabulary_size,
        sequence_length=128,
        num_layers=6,
        hidden_dim=512,
        num_heads=8,
        intermediate_dim=2048,
        dropout=0.1,
        activation="relu",
        layer_norm_epsilon=1e-5,
        normalize_first=False,
        position_encoding="sinusoidal",
        tie_output_embeddings=True,
        share_source_embeddings=False,
        embeddings_initializer=None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        if share_source_embeddings and source_vocabulary_size != target_vocabulary_size:
            raise ValueError(
                "share_source_embeddings needs equal vocabulary sizes, got "
                f"{source_vocabulary_size} (source) and {target_vocabulary_size} (target)"
            )
        super().__init__(**kwargs)
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.sequence_length = sequence_length
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.position_encoding = position_encoding
        self.tie_output_embeddings = tie_output_embeddings
        self.share_source_embeddings = share_source_embeddings
        self.embeddings_initializer = (
            None
            if embeddings_initializer is None
            else keras.initializers.get(embeddings_initializer)
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

        if share_source_embeddings:
            self.source_embedding = self._embedding(source_vocabulary_size, "shared_embedding")
            self.target_embedding = self.source_embedding
        else:
            self.source_embedding = self._embedding(source_vocabulary_size, "source_embedding")
            self.target_embedding = self._embedding(target_vocabulary_size, "target_embedding")
        self.encoder_blocks = [
            TransformerEncoderBlock(**self._block_arguments(), name=f"encoder_block_{i}")
            for i in range(num_layers)
        ]
        self.decoder_blocks = [
            TransformerDecoderBlock(**self._block_arguments(), name=f"decoder_block_{i}")
            for i in range(num_layers)
        ]
        # Pre-LN stacks leave their output unnormalised: normalise it once.
        self.encoder_layer_norm = self.decoder_layer_norm = None
        if normalize_first:
            self.encoder_layer_norm = self._layer_norm("encoder_layer_norm")
            self.decoder_layer_norm = self._layer_norm("decoder_layer_norm")
        self.output_projection = None
        if not tie_output_embeddings:
            self.output_projection = keras.layers.Dense(
                target_vocabulary_size,
                kernel_initializer=self.kernel_initializer,
                dtype=self.dtype_policy,
                name="output_projection",
            )

    def _embedding(self, vocabulary_size, name):
        """Scaled token embeddings plus positions, for one side."""
        return TokenAndPositionEmbedding(
            vocabulary_size,
            self.sequence_length,
            self.hidden_dim,
            position_encoding=self.position_encoding,
            scale_token_embeddings=True,
            dropout=self.dropout,
            embeddings_initializer=self.embeddings_initializer
            or keras.initializers.RandomNormal(stddev=self.hidden_dim**-0.5),
            dtype=self.dtype_policy,
            name=name,
        )

    def _block_arguments(self):
        """The hyper-parameters every encoder and decoder block shares."""
        return dict(
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            dropout=self.dropout,
            activation=self.activation,
            layer_norm_epsilon=self.layer_norm_epsilon,
            normalize_first=self.normalize_first,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
        )

    def _layer_norm(self, name):
        return keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )

    def build(self, inputs_shape=None):
        # Nothing depends on the lengths or the batch size: build once for
        # any input, so that a reloaded model needs no example input. Layers
        # already built by a direct call (e.g. `encode` before the first
        # `__call__`) are left alone.
        ids_shape = (None, None)
        hidden_shape = (None, None, self.hidden_dim)
        shapes = [(self.source_embedding, (ids_shape,)), (self.target_embedding, (ids_shape,))]
        shapes += [(block, (hidden_shape,)) for block in self.encoder_blocks]
        shapes += [(block, (hidden_shape, hidden_shape)) for block in self.decoder_blocks]
        shapes += [
            (layer, (hidden_shape,))
            for layer in (
                self.encoder_layer_norm,
                self.decoder_layer_norm,
                self.output_projection,
            )
            if layer is not None
        ]
        for layer, layer_shapes in shapes:
            if not layer.built:
                layer.build(*layer_shapes)
        self.built = True

    def call(self, inputs, training=None):
        encoder_outputs, encoder_padding_mask = self.encode(
            inputs["encoder_inputs"], training=training
        )
        hidden = self.decode(
            inputs["decoder_inputs"],
            encoder_outputs,
            encoder_padding_mask,
            training=training,
        )
        return self.output_logits(hidden)

    def encode(self, source_ids, training=None):
        """Runs the encoder once per sentence.

        Args:
            source_ids: int `[batch_size, source_length]`, 0 for padding;
                truncated to the first `sequence_length` tokens.
            training: bool, whether dropout is active.

        Returns:
            `encoder_outputs` `[batch_size, min(source_length,
            sequence_length), hidden_dim]` and `encoder_padding_mask`, bool
            of the same `[batch_size, length]`, True at real tokens.
        """
        source_ids = ops.convert_to_tensor(source_ids, "int32")
        source_ids = source_ids[:, : self.sequence_length]
        padding_mask = ops.not_equal(source_ids, 0)
        x = self.source_embedding(source_ids, training=training)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=padding_mask, training=training)
        if self.encoder_layer_norm is not None:
            x = self.encoder_layer_norm(x)
        return x, padding_mask

    def decode(self, target_ids, encoder_outputs, encoder_padding_mask, training=None):
        """Runs the decoder over a whole target prefix (no cache).

        Args:
            target_ids: int `[batch_size, target_length]`, `[START] y1 ..`,
                0 for padding.
            encoder_outputs, encoder_padding_mask: from `encode`.
            training: bool, whether dropout is active.

        Returns:
            `[batch_size, target_length, hidden_dim]`, the final decoder
            states; `output_logits` turns them into logits.
        """
        target_ids = ops.convert_to_tensor(target_ids, "int32")
        padding_mask = ops.not_equal(target_ids, 0)
        x = self.target_embedding(target_ids, training=training)
        for block in self.decoder_blocks:
            x = block(
                x,
                encoder_outputs,
                decoder_padding_mask=padding_mask,
                encoder_padding_mask=encoder_padding_mask,
                training=training,
            )
        if self.decoder_layer_norm is not None:
            x = self.decoder_layer_norm(x)
        return x

    def attention_weights(self, source_ids, output_ids):
        """Every block's attention weights while the model produced
        `output_ids` (teacher forcing on `[START]` + `output_ids[:, :-1]`, no
        dropout): the decoder's rows are its steps, as in greedy decoding.

        Args:
            source_ids: int `[batch_size, source_length]`, 0 for padding.
            output_ids: int `[batch_size, length]`, e.g. from
                `decoding.generate`; 0 for padding.

        Returns:
            dict of float32 `[batch_size, num_layers, num_heads, queries,
            keys]`: `encoder_self_attention` (source × source),
            `decoder_self_attention` (output × output) and `cross_attention`
            (output × source: row `t` is where the decoder looked in the
            French sentence while predicting output token `t`).
        """
        source_ids = ops.convert_to_tensor(source_ids, "int32")[:, : self.sequence_length]
        output_ids = ops.convert_to_tensor(output_ids, "int32")
        source_mask = ops.not_equal(source_ids, 0)
        weights = {
            "encoder_self_attention": [],
            "decoder_self_attention": [],
            "cross_attention": [],
        }
        x = self.source_embedding(source_ids)
        for block in self.encoder_blocks:
            x, scores = block(x, padding_mask=source_mask, return_attention_scores=True)
            weights["encoder_self_attention"].append(scores)
        if self.encoder_layer_norm is not None:
            x = self.encoder_layer_norm(x)
        decoder_inputs = ops.concatenate(
            [ops.full((ops.shape(output_ids)[0], 1), START_ID, "int32"), output_ids[:, :-1]],
            axis=1,
        )
        y = self.target_embedding(decoder_inputs)
        for block in self.decoder_blocks:
            y, scores = block(
                y,
                x,
                decoder_padding_mask=ops.not_equal(decoder_inputs, 0),
                encoder_padding_mask=source_mask,
                return_attention_scores=True,
            )
            weights["decoder_self_attention"].append(scores["self_attention"])
            weights["cross_attention"].append(scores["cross_attention"])
        return {
            name: ops.cast(ops.stack(per_layer, axis=1), "float32")
            for name, per_layer in weights.items()
        }

    def output_logits(self, hidden):
        """`[..., hidden_dim]` decoder states -> float32 logits
        `[..., target_vocabulary_size]`."""
        if self.output_projection is not None:
            logits = self.output_projection(hidden)
        else:
            embeddings = self.target_embedding.token_embedding.embeddings
            logits = ops.matmul(hidden, ops.transpose(ops.cast(embeddings, hidden.dtype)))
        return ops.cast(logits, "float32")

    def initial_cache(self, encoder_outputs, max_length):
        """The decoding cache of a batch of source sentences.

        The cross-attention keys and values are computed here, once per
        sentence; the self-attention caches start empty and `decode_step`
        fills them one position at a time.

        Args:
            encoder_outputs: `[batch_size, source_length, hidden_dim]`, from
                `encode`.
            max_length: int, number of decoder positions to cache.

        Returns:
            dict with `"self_attention"`, a tuple of `num_layers` tensors
            `[batch_size, 2, max_length, num_heads, key_dim]` (zeros), and
            `"cross_attention"`, a tuple of `num_layers` tensors
            `[batch_size, 2, source_length, num_heads, key_dim]`.
        """
        batch_size = ops.shape(encoder_outputs)[0]
        return {
            "self_attention": tuple(
                block.initial_self_attention_cache(batch_size, max_length)
                for block in self.decoder_blocks
            ),
            "cross_attention": tuple(
                block.compute_cross_attention_cache(encoder_outputs)
                for block in self.decoder_blocks
            ),
        }

    def decode_step(self, token_ids, index, cache, encoder_padding_mask):
        """Decodes new target positions with the cache (incremental decoding).

        The outputs equal those of `decode` on the whole prefix at these
        positions, at the cost of the new positions only.

        Args:
            token_ids: int `[batch_size, num_new]`, the tokens at positions
                `index .. index + num_new - 1` (usually `num_new = 1`).
            index: int or scalar int tensor, position of the first new token.
            cache: from `initial_cache` or the previous `decode_step`; the
                positions before `index` must have been filled.
            encoder_padding_mask: bool `[batch_size, source_length]`.

        Returns:
            float32 logits `[batch_size, num_new, target_vocabulary_size]`
            and the cache with these positions written in.
        """
        x = self.target_embedding(token_ids, start_index=index)
        self_caches = []
        for block, self_cache, cross_cache in zip(
            self.decoder_blocks,
            cache["self_attention"],
            cache["cross_attention"],
        ):
            x, self_cache, _ = block(
                x,
                encoder_padding_mask=encoder_padding_mask,
                self_attention_cache=self_cache,
                self_attention_cache_update_index=index,
                cross_attention_cache=cross_cache,
            )
            self_caches.append(self_cache)
        if self.decoder_layer_norm is not None:
            x = self.decoder_layer_norm(x)
        cache = {
            "self_attention": tuple(self_caches),
            "cross_attention": cache["cross_attention"],
        }
        return self.output_logits(x), cache

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "source_vocabulary_size": self.source_vocabulary_size,
                "target_vocabulary_size": self.target_vocabulary_size,
                "sequence_length": self.sequence_length,
                "num_layers": self.num_layers,
                "hidden_dim": self.hidden_dim,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "normalize_first": self.normalize_first,
                "position_encoding": self.position_encoding,
                "tie_output_embeddings": self.tie_output_embeddings,
                "share_source_embeddings": self.share_source_embeddings,
                "embeddings_initializer": None
                if self.embeddings_initializer is None
                else keras.initializers.serialize(self.embeddings_initializer),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
