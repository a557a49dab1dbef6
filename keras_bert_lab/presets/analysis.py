"""Presets of the analysis experiments: the embedding probe, the attention maps and the
search for a translator's decoding settings."""

import dataclasses

from keras_bert_lab.presets.bert import BERT_CONFIGS
from keras_bert_lab.presets.fields import CheckedPreset, one_of, positive


@dataclasses.dataclass(frozen=True)
class RandomModelsPreset(CheckedPreset):
    """The fields of the analyses that can run without trained models: `random_models`, tiny
    random models in place of those not given on the command line (the `smoke` presets')."""

    batch_size: int = positive(32)
    random_models: bool = False


def analysis_presets(preset_class):
    """`smoke` on random models, `cpu` the defaults of `preset_class`, `gpu` in larger batches."""
    return {
        "smoke": preset_class(random_models=True),
        "cpu": preset_class(),
        "gpu": preset_class(batch_size=256),
    }


@dataclasses.dataclass(frozen=True)
class EmbeddingProbePreset(RandomModelsPreset):
    """The static-versus-contextual probe.

    `random_models`: build tiny random models for the sources not given on the command line
    (vocabularies learned from the probe sentences), so that the probe runs end to end without
    trained models.
    """

    random_vocabulary_size: int = positive(600)
    random_embedding_dim: int = positive(16)
    random_lstm_layers: int = positive(2)
    random_bert_config: str = one_of("tiny", BERT_CONFIGS)


EMBEDDING_PROBE_PRESETS = analysis_presets(EmbeddingProbePreset)


@dataclasses.dataclass(frozen=True)
class AttentionMapsPreset(RandomModelsPreset):
    """Attention heatmaps of a BERT encoder.

    `random_models`: use a tiny random BERT when `--bert` is not given. `top_k`: keys listed
    per head by `--head-summary`.
    """

    random_vocabulary_size: int = positive(2000)
    random_bert_config: str = one_of("tiny", BERT_CONFIGS)
    top_k: int = positive(3)
    max_columns: int = positive(4)


ATTENTION_MAPS_PRESETS = analysis_presets(AttentionMapsPreset)


@dataclasses.dataclass(frozen=True)
class TuneDecodingPreset(CheckedPreset):
    """The search for a translator's beam size and length penalty on its validation split.

    `validation_sources`: distinct validation sources decoded with each setting (the first
    ones of the split's shuffled order; None: all). `batch_size`: sentences per decoding
    batch. `xla_decoding`: compile the search with XLA.
    """

    validation_sources: int | None = positive(2000)
    batch_size: int = positive(64)
    xla_decoding: bool = True


TUNE_DECODING_PRESETS = {
    "smoke": TuneDecodingPreset(validation_sources=16, batch_size=8, xla_decoding=False),
    "cpu": TuneDecodingPreset(),
    "gpu": TuneDecodingPreset(validation_sources=None, batch_size=256),
}
