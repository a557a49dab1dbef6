"""Presets of the static and recurrent IMDB models: the BiLSTM baseline and word2vec."""

import dataclasses

from keras_bert_lab.presets.fields import TrainingPreset, at_least_zero, positive, rate

# Reviews kept per split (train, validation, test, unlabelled) by the smoke presets: enough
# for every stage to run on the real archive within seconds.
SMOKE_REVIEWS_PER_SPLIT = 300


@dataclasses.dataclass(frozen=True)
class ImdbLstmPreset(TrainingPreset):
    """The bidirectional LSTM baseline on IMDB (word-level vocabulary)."""

    epochs: int = positive(3)

    vocabulary_size: int = positive(10000)
    sequence_length: int = positive(400)
    tail_length: int = at_least_zero(0)
    embedding_dim: int = positive(128)
    lstm_units: int = positive(64)
    num_lstm_layers: int = positive(1)
    embedding_dropout: float = rate(0.3)
    dropout: float = rate(0.5)
    pooling: str = "mean"
    max_train_examples: int | None = positive(None)


IMDB_LSTM_PRESETS = {
    "smoke": ImdbLstmPreset(
        vocabulary_size=200,
        sequence_length=32,
        embedding_dim=8,
        lstm_units=4,
        batch_size=8,
        epochs=2,
        max_per_split=SMOKE_REVIEWS_PER_SPLIT,
    ),
    "cpu": ImdbLstmPreset(),
    "gpu": ImdbLstmPreset(
        vocabulary_size=30000,
        sequence_length=512,
        embedding_dim=256,
        lstm_units=128,
        num_lstm_layers=2,
        batch_size=64,
        epochs=4,
    ),
}


@dataclasses.dataclass(frozen=True)
class Word2VecPreset(TrainingPreset):
    """Skip-gram word2vec with negative sampling on IMDB train + unlabelled reviews.

    `subsample_threshold` is word2vec's `-sample` (0 keeps every token); `steps_per_epoch`
    None means about one pass over the skip-gram pairs.
    """

    batch_size: int = positive(1024)

    vocabulary_size: int = positive(20000)
    embedding_dim: int = positive(100)
    window_size: int = positive(4)
    num_negatives: int = positive(5)
    subsample_threshold: float = rate(1e-3)
    shuffle_texts: int = positive(64)
    max_texts: int | None = positive(None)


WORD2VEC_IMDB_PRESETS = {
    "smoke": Word2VecPreset(
        vocabulary_size=200,
        embedding_dim=8,
        window_size=2,
        num_negatives=2,
        batch_size=64,
        epochs=2,
        shuffle_texts=16,
        max_per_split=SMOKE_REVIEWS_PER_SPLIT,
    ),
    "cpu": Word2VecPreset(),
    "gpu": Word2VecPreset(
        vocabulary_size=30000,
        embedding_dim=300,
        window_size=5,
        num_negatives=10,
        batch_size=4096,
        epochs=5,
        learning_rate=2e-3,
        shuffle_texts=256,
    ),
}


@dataclasses.dataclass(frozen=True)
class ImdbNgramsPreset(TrainingPreset):
    """The bag-of-n-grams baseline on IMDB (`models.ngrams`): word 1- to `ngrams`-grams, the
    `max_tokens` most frequent in the training reviews, weighted `"nbsvm"` or `"tf_idf"`, one
    linear layer."""

    batch_size: int = positive(64)
    epochs: int = positive(3)
    learning_rate: float = positive(3e-3)

    max_tokens: int = positive(200_000)
    ngrams: int = positive(2)
    weighting: str = "nbsvm"
    dropout: float = rate(0.0)
    max_train_examples: int | None = positive(None)


IMDB_NGRAMS_PRESETS = {
    "smoke": ImdbNgramsPreset(
        max_tokens=2000, batch_size=16, epochs=1, max_per_split=SMOKE_REVIEWS_PER_SPLIT
    ),
    "cpu": ImdbNgramsPreset(),
    "gpu": ImdbNgramsPreset(max_tokens=1_000_000, ngrams=3, batch_size=256),
}
