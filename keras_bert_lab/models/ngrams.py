"""A linear model on bags of word n-grams: the static end of the IMDB story.

No embedding and no word order beyond the n-grams: each review becomes a sparse vector over
its words and word pairs, and one linear layer reads it. Two weightings:

- `"tf_idf"`: sub-linear term frequency `1 + log(count)` times the smoothed inverse document
  frequency `1 + log((1 + n) / (1 + df))`, each review's vector scaled to unit length (the
  weighting of scikit-learn's `TfidfVectorizer(sublinear_tf=True)`).
- `"nbsvm"` (Wang & Manning, 2012): binary features scaled by their log-count ratio
  `r = log((p / |p|₁) / (q / |q|₁))`, where `p` and `q` count the positive and negative
  training reviews holding each n-gram, plus a smoothing `alpha`.

Both scales are learned from the training reviews only and fixed (not trained).
"""

import keras
import numpy as np
import tensorflow as tf

WEIGHTINGS = ("tf_idf", "nbsvm")
# What Python's `str.splitlines` breaks lines at, besides `\n` and `\r`: Keras stores the n-gram
# vocabulary one term a line and reads it back with `splitlines`, so a term holding one of
# these (IMDB has U+0085 where a Windows ellipsis was) would come back as two.
_LINE_BREAKS = r"[\x0b\x0c\x1c\x1d\x1e\x{85}\x{2028}\x{2029}]"
# Keras' default punctuation (`TextVectorization(standardize="lower_and_strip_punctuation")`).
_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


@keras.saving.register_keras_serializable(package="keras_bert_lab")
def standardize_review(texts):
    """Keras' `lower_and_strip_punctuation`, with line-breaking characters as spaces.

    Args:
        texts: string `[batch_size]`.
    """
    texts = tf.strings.regex_replace(tf.strings.lower(texts), _LINE_BREAKS, " ")
    return tf.strings.regex_replace(texts, _PUNCTUATION, "")


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class FeatureScale(keras.layers.Layer):
    """Multiplies each feature by a fixed weight (inverse document frequency, NBSVM ratio).

    Call arguments:
        features: `[batch_size, num_features]` counts or 0/1, a `tf.SparseTensor` (or dense).

    Returns:
        float `[batch_size, num_features]`, sparse if `features` is: column `j` times
        `scale[j]`.
    """

    def __init__(self, num_features, **kwargs):
        super().__init__(**kwargs)
        self.num_features = num_features
        self.scale = self.add_weight(
            name="scale", shape=(num_features,), initializer="ones", trainable=False
        )

    def call(self, features):
        scale = tf.cast(self.scale, self.compute_dtype)
        if not isinstance(features, tf.SparseTensor):  # Keras traces the graph with dense specs.
            return tf.cast(features, self.compute_dtype) * scale
        values = tf.cast(features.values, self.compute_dtype)  # TextVectorization counts: int64
        values *= tf.gather(scale, features.indices[:, 1])
        return tf.SparseTensor(features.indices, values, features.dense_shape)

    def get_config(self):
        return {**super().get_config(), "num_features": self.num_features}


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class SublinearCounts(keras.layers.Layer):
    """Sub-linear term frequency: each stored count `c` becomes `1 + log(c)`.

    Call arguments:
        counts: `tf.SparseTensor` `[batch_size, num_features]` of positive counts (or dense,
            zeros staying zero).

    Returns:
        float `[batch_size, num_features]`, sparse if `counts` is.
    """

    def call(self, counts):
        if not isinstance(counts, tf.SparseTensor):  # Keras traces the graph with dense specs.
            counts = tf.cast(counts, self.compute_dtype)
            return tf.where(counts > 0, 1.0 + tf.math.log(tf.maximum(counts, 1.0)), 0.0)
        values = 1.0 + tf.math.log(tf.cast(counts.values, self.compute_dtype))
        return tf.SparseTensor(counts.indices, values, counts.dense_shape)


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class RowL2Normalize(keras.layers.Layer):
    """Scales each row to unit L2 norm; an all-zero row stays zero.

    Call arguments:
        features: float `tf.SparseTensor` `[batch_size, num_features]` (or dense).

    Returns:
        The same shape and kind.
    """

    def call(self, features):
        if not isinstance(features, tf.SparseTensor):  # Keras traces the graph with dense specs.
            return tf.math.l2_normalize(features, axis=-1)
        rows = features.indices[:, 0]
        squares = tf.math.unsorted_segment_sum(features.values**2, rows, features.dense_shape[0])
        values = features.values / tf.gather(tf.sqrt(squares), rows)
        return tf.SparseTensor(features.indices, values, features.dense_shape)


def log_count_ratios(positive_counts, negative_counts, alpha=1.0):
    """NBSVM's `r`, float32 `[num_features]`, from how many positive and how many negative
    training reviews hold each feature, smoothed by `alpha`."""
    positive = np.asarray(positive_counts, np.float64) + alpha
    negative = np.asarray(negative_counts, np.float64) + alpha
    return (np.log(positive / positive.sum()) - np.log(negative / negative.sum())).astype(
        np.float32
    )


def inverse_document_frequencies(document_counts, num_documents):
    """Smoothed idf, float32 `[num_features]`: `1 + log((1 + n) / (1 + df))`."""
    document_counts = np.asarray(document_counts, np.float64)
    return (1.0 + np.log((1.0 + num_documents) / (1.0 + document_counts))).astype(np.float32)


def build_ngram_classifier(
    train_texts,
    train_labels,
    *,
    max_tokens=200_000,
    ngrams=2,
    weighting="tf_idf",
    dropout=0.0,
    num_classes=2,
    name="ngram_classifier",
):
    """Strings in, logits out: n-gram counts (vocabulary and scales from `train_texts`) ->
    fixed weighting -> one linear layer.

    Args:
        train_texts: the training reviews.
        train_labels: their 0/1 labels (NBSVM's ratios).
        max_tokens: the most frequent n-grams kept (index 0 is out-of-vocabulary).
        ngrams: n-grams of 1 to `ngrams` words.
        weighting: `"tf_idf"` or `"nbsvm"` (module docstring).
        dropout: dropout on the weighted features.
        num_classes: number of classes.
        name: model name.

    Returns:
        A `keras.Model` from string `[batch_size]` to float32 logits `[batch_size,
        num_classes]`, saved whole as `.keras` (the vocabulary travels as an asset).
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    output_mode = "count" if weighting == "tf_idf" else "multi_hot"
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens,
        standardize=standardize_review,
        ngrams=ngrams,
        output_mode=output_mode,
        sparse=True,
        name="ngrams",
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(train_texts)).batch(1024))
    positive, negative = _document_counts(vectorizer, train_texts, train_labels)
    scale = FeatureScale(vectorizer.vocabulary_size(), name=f"{weighting}_scale")
    texts = keras.Input((), dtype="string", name="text")
    features = vectorizer(texts)
    if weighting == "tf_idf":
        features = SublinearCounts(name="sublinear_tf")(features)
        scale.scale.assign(inverse_document_frequencies(positive + negative, len(train_texts)))
        features = RowL2Normalize(name="l2_normalize")(scale(features))
    else:
        scale.scale.assign(log_count_ratios(positive, negative))
        features = scale(features)
    if dropout:
        features = keras.layers.Dropout(dropout, name="feature_dropout")(features)
    logits = keras.layers.Dense(num_classes, name="logits", dtype="float32")(features)
    return keras.Model(texts, logits, name=name)


def _document_counts(vectorizer, texts, labels, batch_size=2048):
    """How many positive and how many negative `texts` hold each feature, float64
    `[num_features]` each, one batch at a time."""
    positive = negative = 0.0
    for start in range(0, len(texts), batch_size):
        features = vectorizer(tf.constant(list(texts[start : start + batch_size])))
        present = tf.SparseTensor(
            features.indices, tf.ones_like(features.values, tf.float32), features.dense_shape
        )
        is_positive = tf.constant(np.asarray(labels[start : start + batch_size]), tf.float32)
        positive += tf.sparse.reduce_sum(present * is_positive[:, None], axis=0)
        negative += tf.sparse.reduce_sum(present * (1.0 - is_positive[:, None]), axis=0)
    return np.asarray(positive, np.float64), np.asarray(negative, np.float64)
