"""Presets of the analysis experiments: the embedding probe and the attention maps."""

import dataclasses


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
