"""Word2vec: skip-gram with negative sampling (SGNS), the static word vectors of the suite."""

import keras
import tensorflow as tf
from keras import ops

from keras_bert_lab.training.objectives import Term


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class Word2Vec(keras.Model):
    """Skip-gram with negative sampling (Mikolov et al., 2013).

    Each word has two vectors: `target_embedding` (the word vectors one keeps) and
    `context_embedding` (used only for training). The logit of a (target, context) pair is the
    dot product of their vectors; training raises it for observed pairs and lowers it for
    sampled negative contexts. As in word2vec's C code, target vectors start uniform in
    `±0.5 / embedding_dim` and context vectors at zero.

    Args:
        vocabulary_size: int, number of word ids.
        embedding_dim: int, size of the word vectors.
        **kwargs: `keras.Model` arguments such as `name` and `dtype`.

    Inputs: dict with `target` int `[batch_size]` and `context` int
        `[batch_size, num_contexts]` (the true context first, then the negatives, from
        `keras_bert_lab.data.skipgrams.skipgram_dataset`).

    Outputs: logits `[batch_size, num_contexts]`.

    Example:
    >>> model = Word2Vec(vocabulary_size=100, embedding_dim=8)
    >>> model({"target": np.array([7, 9]), "context": np.array([[8, 40, 51], [10, 7, 12]])}).shape
    TensorShape([2, 3])
    >>> model.vectors.shape
    (100, 8)

    References:
        - [Mikolov et al., 2013a](https://arxiv.org/abs/1301.3781), the skip-gram model.
        - [Mikolov et al., 2013b](https://arxiv.org/abs/1310.4546), negative sampling and
          subsampling of frequent words.
    """

    def __init__(self, vocabulary_size, embedding_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        scale = 0.5 / embedding_dim
        self.target_embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=keras.initializers.RandomUniform(-scale, scale),
            dtype=self.dtype_policy,
            name="target_embedding",
        )
        self.context_embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer="zeros",
            dtype=self.dtype_policy,
            name="context_embedding",
        )

    def build(self, inputs_shape=None):
        self.target_embedding.build((None,))
        self.context_embedding.build((None, None))
        self.built = True

    def call(self, inputs):
        target = self.target_embedding(inputs["target"])  # [batch, dim]
        context = self.context_embedding(inputs["context"])  # [batch, contexts, dim]
        return ops.einsum("bd,bcd->bc", target, context)

    @property
    def vectors(self):
        """The word vectors: the target embedding table `[vocabulary_size, embedding_dim]`."""
        return self.target_embedding.embeddings

    def get_config(self):
        return super().get_config() | {
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
        }


def negative_sampling_objective(labels, logits):
    """The SGNS loss, as a `keras_bert_lab.training.objectives` objective.

    Per pair: `-log σ(v_c·v_t) - Σ_negatives log σ(-v_n·v_t)` (eq. 4 of Mikolov et al.,
    2013b), i.e. a sigmoid cross-entropy per context summed over the contexts (the tutorial's
    softmax over the contexts is a different loss). `accuracy` is the share of pairs whose true
    context outscores all its negatives.

    Args:
        labels: float `[batch_size, num_contexts]`, 1 for the true context, 0 for negatives.
        logits: `[batch_size, num_contexts]`.
    """
    labels = tf.cast(labels, tf.float32)
    logits = tf.cast(logits, tf.float32)
    pair_losses = tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), axis=-1
    )
    true_logits = tf.reduce_sum(labels * logits, axis=-1)
    best_negative = tf.reduce_max(tf.where(labels > 0, -float("inf"), logits), axis=-1)
    correct = true_logits > best_negative  # strict: all-zero logits at the start are wrong
    pairs = tf.cast(tf.shape(pair_losses)[0], tf.float32)
    return {
        "loss": Term(tf.reduce_sum(pair_losses), pairs),
        "accuracy": Term(tf.reduce_sum(tf.cast(correct, tf.float32)), pairs),
    }
