"""Presets of the static and recurrent IMDB models: the BiLSTM baseline and word2vec."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class ImdbLstmPreset:
    """The bidirectional LSTM baseline on IMDB (word-level vocabulary)."""

    vocabulary_size: int = 10000
    sequence_length: int = 400
    tail_length: int = 0
    embedding_dim: int = 128
    lstm_units: int = 64
    num_lstm_layers: int = 1
    embedding_dropout: float = 0.3
    dropout: float = 0.5
    pooling: str = "mean"
    batch_size: int = 32
    epochs: int = 3
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-3
    max_train_examples: int | None = None


IMDB_LSTM_PRESETS = {
    "smoke": ImdbLstmPreset(
        vocabulary_size=200,
        sequence_length=32,
        embedding_dim=8,
        lstm_units=4,
        batch_size=8,
        epochs=2,
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
class Word2VecPreset:
    """Skip-gram word2vec with negative sampling on IMDB train + unlabelled reviews.

    `subsample_threshold` is word2vec's `-sample` (0 keeps every token); `steps_per_epoch`
    None means about one pass over the skip-gram pairs.
    """

    vocabulary_size: int = 20000
    embedding_dim: int = 100
    window_size: int = 4
    num_negatives: int = 5
    subsample_threshold: float = 1e-3
    batch_size: int = 1024
    epochs: int = 1
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-3
    shuffle_texts: int = 64
    max_texts: int | None = None


WORD2VEC_IMDB_PRESETS = {
    "smoke": Word2VecPreset(
        vocabulary_size=200,
        embedding_dim=8,
        window_size=2,
        num_negatives=2,
        batch_size=64,
        epochs=2,
        shuffle_texts=16,
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
