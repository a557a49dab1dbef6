"""Presets of the word2vec and analysis experiments (to be merged into
`keras_bert_lab.presets`).

`smoke` runs in seconds on tiny data or tiny random models (tests); `cpu` is a real run sized
for a 2-core machine; `gpu` is the full recipe.
"""

import dataclasses


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
        vocabulary_size=200, embedding_dim=8, window_size=2, num_negatives=2,
        batch_size=64, epochs=2, shuffle_texts=16,
    ),
    "cpu": Word2VecPreset(),
    "gpu": Word2VecPreset(
        vocabulary_size=30000, embedding_dim=300, window_size=5, num_negatives=10,
        batch_size=4096, epochs=5, learning_rate=2e-3, shuffle_texts=256,
    ),
}


@dataclasses.dataclass(frozen=True)
class EmbeddingProbePreset:
    """The static-versus-contextual probe.

    `random_models`: build tiny random models for the sources not given on the command line
    (vocabularies learned from the probe sentences), so that the probe runs end to end without
    trained models.
    """

    batch_size: int = 32
    random_models: bool = False
    random_vocabulary_size: int = 600
    random_embedding_dim: int = 16
    random_lstm_layers: int = 2
    random_bert_config: str = "tiny"


EMBEDDING_PROBE_PRESETS = {
    "smoke": EmbeddingProbePreset(random_models=True),
    "cpu": EmbeddingProbePreset(),
    "gpu": EmbeddingProbePreset(batch_size=256),
}


@dataclasses.dataclass(frozen=True)
class AttentionMapsPreset:
    """Attention heatmaps of a BERT encoder.

    `random_models`: use a tiny random BERT when `--bert` is not given. `top_k`: keys listed
    per head by `--head-summary`.
    """

    batch_size: int = 32
    random_models: bool = False
    random_vocabulary_size: int = 2000
    random_bert_config: str = "tiny"
    top_k: int = 3
    max_columns: int = 4


ATTENTION_MAPS_PRESETS = {
    "smoke": AttentionMapsPreset(random_models=True),
    "cpu": AttentionMapsPreset(),
    "gpu": AttentionMapsPreset(batch_size=256),
}
