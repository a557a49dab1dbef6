"""BERT pre-training: the encoder with the masked-LM and next-sentence heads."""

import keras
from keras import ops

from keras_bert_lab.models.bert.encoder import INPUT_NAMES, bert_initializer, symbolic_inputs
from keras_bert_lab.models.bert.heads import MaskedLMHead
from keras_bert_lab.models.bert.task import BertTask

PRETRAINER_INPUT_NAMES = INPUT_NAMES + ("mask_positions",)


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class BertPretrainer(BertTask):
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

    INPUT_NAMES = PRETRAINER_INPUT_NAMES

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
            kernel_initializer=bert_initializer(encoder.initializer_range),
            dtype=policy,
            name="next_sentence_dense",
        )

        inputs = symbolic_inputs(self.INPUT_NAMES)
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
        super().__init__(encoder, inputs, outputs, **kwargs)

        self.masked_lm_head = masked_lm_head
        self.next_sentence_dense = next_sentence_dense
        self.prune_last_layer = prune_last_layer

    def get_config(self):
        return super().get_config() | {"prune_last_layer": self.prune_last_layer}
