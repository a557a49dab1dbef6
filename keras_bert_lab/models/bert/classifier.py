"""Sequence classification on the `[CLS]` output of a BERT encoder."""

import keras
from keras import ops

from keras_bert_lab.layers import Dropout
from keras_bert_lab.models.bert.encoder import BertEncoder, bert_initializer, symbolic_inputs
from keras_bert_lab.models.bert.task import BertTask


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class BertClassifier(BertTask):
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
            kernel_initializer=bert_initializer(encoder.initializer_range),
            dtype=policy,
            name="logits_dense",
        )

        inputs = symbolic_inputs(self.INPUT_NAMES)
        encoded = encoder.outputs_at(inputs) if prune_last_layer else encoder(inputs)
        pooled = encoded["pooled_output"]
        logits = ops.cast(logits_dense(classifier_dropout(pooled)), "float32")
        super().__init__(encoder, inputs, logits, **kwargs)

        self.classifier_dropout = classifier_dropout
        self.logits_dense = logits_dense
        self.num_classes = num_classes
        self.dropout = dropout
        self.prune_last_layer = prune_last_layer

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
        return super().get_config() | {
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "prune_last_layer": self.prune_last_layer,
        }
