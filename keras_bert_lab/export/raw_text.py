"""Models that take raw strings: a trained classifier wrapped with its tokenizer, so that
`keras.saving.load_model(path)(["A wonderful film."])` works after `import keras_bert_lab`."""

import weakref

import keras
import numpy as np
import tensorflow as tf

from keras_bert_lab.text.packing import pack_token_ids, to_ragged_ids
from keras_bert_lab.text.special_tokens import UNK_TOKEN, bert_special_ids
from keras_bert_lab.utils import Progress

IMDB_CLASS_NAMES = ("negative", "positive")


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class RawTextClassifier(keras.Model):
    """Strings in, class probabilities out: tokenizer + classifier.

    Tokenisation and truncation match `data.pipelines.classification_dataset`
    with the same `sequence_length`, `bert_inputs` and `tail_length`. A classifier that reads
    strings itself (the bag-of-n-grams model) comes with `tokenizer=None`.

    Call it on a Python list of strings (or a string tensor). Column `i` of the output is the
    probability of `class_names[i]`: for IMDB, `("negative", "positive")`. A text with no
    token (empty or whitespace only) reads as one unknown word, so its result is defined; an
    empty batch gives `[0, num_classes]`.

    Args:
        classifier: a model from token-id features (`{"token_ids"}`, plus
            `segment_ids` and `padding_mask` when `bert_inputs`) to logits, or from
            strings to logits when `tokenizer` is None.
        tokenizer: a `keras_hub.tokenizers.WordPieceTokenizer` (a keras-hub
            `BertTokenizer` included), or None.
        sequence_length: int, tokens kept per text, special tokens included.
        bert_inputs: bool, wrap texts as `[CLS] text [SEP]` for BERT.
        tail_length: int, tokens kept from the end of a long text.
        class_names: the name of each output column.

    Call arguments:
        text: string `[batch_size]`, or a list of `batch_size` strings.

    Returns:
        float32 `[batch_size, num_classes]` probabilities.
    """

    def __init__(
        self,
        classifier,
        tokenizer,
        sequence_length,
        bert_inputs,
        tail_length=0,
        class_names=IMDB_CLASS_NAMES,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.classifier = classifier
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length
        self.bert_inputs = bert_inputs
        self.tail_length = tail_length
        self.class_names = tuple(class_names)

    def __call__(self, text, *args, **kwargs):
        # Keras accepts only tensors as positional inputs; a list of strings is the natural one.
        if isinstance(text, list | tuple | np.ndarray):
            text = tf.constant(text, dtype=tf.string)
        return super().__call__(text, *args, **kwargs)

    def _token_ids(self, text):
        """Ragged ids `[batch_size, None]`, with `[UNK]` for a text that has no token."""
        token_ids = to_ragged_ids(self.tokenizer(text))
        empty = tf.cast(tf.equal(token_ids.row_lengths(), 0), tf.int64)
        unknown = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(empty)], self.tokenizer.token_to_id(UNK_TOKEN)), empty
        )
        return tf.concat([token_ids, tf.cast(unknown, token_ids.dtype)], axis=1)

    def call(self, text, training=None):
        probabilities = (
            self._string_probabilities if self.tokenizer is None else self._probabilities
        )
        # Keras' LSTM cannot run a batch of 0 (its bias add fails), so an empty batch skips it.
        return tf.cond(
            tf.size(text) > 0,
            lambda: probabilities(text, training),
            lambda: tf.zeros([0, len(self.class_names)]),
        )

    def _probabilities(self, text, training):
        """float32 `[batch_size, num_classes]` for a non-empty batch."""
        cls_id, sep_id = bert_special_ids(self.tokenizer) if self.bert_inputs else (None, None)
        token_ids = pack_token_ids(
            self._token_ids(text),
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

    def _string_probabilities(self, text, training):
        return tf.nn.softmax(tf.cast(self.classifier(text, training=training), tf.float32))

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
            "class_names": list(self.class_names),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("classifier", "tokenizer"):
            if config[key] is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def raw_text_classifier(classifier, tokenizer, *, sequence_length=None, bert_inputs, tail_length=0):
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


# One traced function per raw-text model: a run scores its test set and then the same model
# again in its reload check.
_PREDICTORS = weakref.WeakKeyDictionary()


def _predictor(model):
    """`model`'s inference as a tf.function of a string batch `[batch_size]`, traced once
    for every batch size (the last, smaller batch would otherwise trace the whole
    tokenizer-and-model graph again)."""
    if model not in _PREDICTORS:
        # A weak reference, so that the cached function does not keep its key alive.
        model_ref = weakref.ref(model)
        _PREDICTORS[model] = tf.function(
            lambda batch: model_ref()(batch, training=False),
            input_signature=[tf.TensorSpec([None], tf.string)],
        )
    return _PREDICTORS[model]


def predict_texts(model, texts, batch_size=128, label="scoring"):
    """Runs a raw-text model over `texts` in batches of similar length (so
    little is spent on padding); returns outputs in the order of `texts`. A long pass prints
    a `label: done/total` line every 30 s (`utils.Progress`)."""
    order = np.argsort([len(text) for text in texts], kind="stable")
    sorted_texts = tf.constant([texts[i] for i in order])
    dataset = tf.data.Dataset.from_tensor_slices(sorted_texts).batch(batch_size)
    predict = _predictor(model)
    progress = Progress(label, len(texts))
    batches = []
    for batch in dataset:
        batches.append(np.asarray(predict(batch)))
        progress.advance(len(batches[-1]))
    outputs = np.concatenate(batches)
    restored = np.empty_like(outputs)
    restored[order] = outputs
    return restored
