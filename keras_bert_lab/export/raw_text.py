"""Models that take raw strings: a trained classifier wrapped with its
tokenizer, so that `keras.saving.load_model(path)(strings)` works."""

import keras
import numpy as np
import tensorflow as tf

from keras_bert_lab.text.packing import pack_token_ids, to_ragged_ids
from keras_bert_lab.text.special_tokens import bert_special_ids


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class RawTextClassifier(keras.Model):
    """Strings in, class probabilities out: tokenizer + classifier.

    Tokenisation and truncation match `data.pipelines.classification_dataset`
    with the same `sequence_length`, `bert_inputs` and `tail_length`.

    Args:
        classifier: a model from token-id features (`{"token_ids"}`, plus
            `segment_ids` and `padding_mask` when `bert_inputs`) to logits.
        tokenizer: a `keras_hub.tokenizers.WordPieceTokenizer` (a keras-hub
            `BertTokenizer` included).
        sequence_length: int, tokens kept per text, special tokens included.
        bert_inputs: bool, wrap texts as `[CLS] text [SEP]` for BERT.
        tail_length: int, tokens kept from the end of a long text.

    Call arguments:
        text: string `[batch_size]`.

    Returns:
        float32 `[batch_size, num_classes]` probabilities.
    """

    def __init__(
        self, classifier, tokenizer, sequence_length, bert_inputs, tail_length=0, **kwargs
    ):
        super().__init__(**kwargs)
        self.classifier = classifier
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length
        self.bert_inputs = bert_inputs
        self.tail_length = tail_length

    def call(self, text, training=None):
        cls_id, sep_id = bert_special_ids(self.tokenizer) if self.bert_inputs else (None, None)
        token_ids = pack_token_ids(
            to_ragged_ids(self.tokenizer(text)),
            self.sequence_length,
            start_id=cls_id,
            end_id=sep_id,
            tail_length=self.tail_length,
        )
        features = {"token_ids": token_ids}
        if self.bert_inputs:
            features["segment_ids"] = tf.zeros_like(token_ids)
            features["padding_mask"] = tf.not_equal(token_ids, 0)
        logits = self.classifier(features, training=training)
        return tf.nn.softmax(tf.cast(logits, tf.float32))

    @property
    def input_dtype(self):
        # Read by Keras when it writes a default SavedModel signature.
        return "string"

    def build_from_config(self, config):
        # The classifier builds from its own config and the tokenizer has no
        # weights (its vocabulary is loaded afterwards, as an asset).
        self.built = True

    def get_config(self):
        return {
            "name": self.name,
            "classifier": keras.saving.serialize_keras_object(self.classifier),
            "tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
            "sequence_length": self.sequence_length,
            "bert_inputs": self.bert_inputs,
            "tail_length": self.tail_length,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("classifier", "tokenizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def raw_text_classifier(classifier, tokenizer, *, sequence_length, bert_inputs, tail_length=0):
    """A built `RawTextClassifier`."""
    model = RawTextClassifier(
        classifier,
        tokenizer,
        sequence_length,
        bert_inputs,
        tail_length,
        name="raw_text_classifier",
    )
    model(tf.constant(["build"]))
    return model


def predict_texts(model, texts, batch_size=128):
    """Runs a raw-text model over `texts` in batches of similar length (so
    little is spent on padding); returns outputs in the order of `texts`."""
    order = np.argsort([len(text) for text in texts], kind="stable")
    sorted_texts = tf.constant([texts[i] for i in order])
    dataset = tf.data.Dataset.from_tensor_slices(sorted_texts).batch(batch_size)
    predict = tf.function(lambda batch: model(batch, training=False))
    outputs = np.concatenate([np.asarray(predict(batch)) for batch in dataset])
    restored = np.empty_like(outputs)
    restored[order] = outputs
    return restored
