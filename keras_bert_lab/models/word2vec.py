"""Word2vec: skip-gram with negative sampling (SGNS), the static word vectors of the suite."""

import keras
from keras import ops


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
