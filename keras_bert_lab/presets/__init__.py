"""Every preset of the project, in one place: experiments, BERT sizes and benchmarks.

`smoke` runs in seconds on tiny data (tests); `cpu` is a real run sized for
a 2-core machine; `gpu` is the full recipe for a machine with an accelerator.
Experiments select a preset with `--preset` and override single fields with
`--epochs`, `--batch-size`, ... or `--set FIELD=VALUE`.
"""

from keras_bert_lab.presets.analysis import (
    ATTENTION_MAPS_PRESETS,
    EMBEDDING_PROBE_PRESETS,
    TUNE_DECODING_PRESETS,
    AttentionMapsPreset,
    EmbeddingProbePreset,
    TuneDecodingPreset,
)
from keras_bert_lab.presets.benchmarks import (
    BENCHMARK_PRESETS,
    STRATEGY_BENCHMARK_PRESETS,
    BenchmarkConfig,
    StrategyBenchmarkConfig,
)
from keras_bert_lab.presets.bert import (
    BERT_CONFIGS,
    BERT_IMDB_PRESETS,
    BERT_PRETRAIN_PRESETS,
    BertImdbPreset,
    BertPretrainPreset,
)
from keras_bert_lab.presets.imdb import (
    IMDB_LSTM_PRESETS,
    IMDB_NGRAMS_PRESETS,
    WORD2VEC_IMDB_PRESETS,
    ImdbLstmPreset,
    ImdbNgramsPreset,
    Word2VecPreset,
)
from keras_bert_lab.presets.translation import TRANSLATE_FR_EN_PRESETS, TranslateFrEnPreset

__all__ = [
    "ATTENTION_MAPS_PRESETS",
    "BENCHMARK_PRESETS",
    "BERT_CONFIGS",
    "BERT_IMDB_PRESETS",
    "BERT_PRETRAIN_PRESETS",
    "EMBEDDING_PROBE_PRESETS",
    "IMDB_LSTM_PRESETS",
    "IMDB_NGRAMS_PRESETS",
    "STRATEGY_BENCHMARK_PRESETS",
    "TRANSLATE_FR_EN_PRESETS",
    "TUNE_DECODING_PRESETS",
    "WORD2VEC_IMDB_PRESETS",
    "AttentionMapsPreset",
    "BenchmarkConfig",
    "BertImdbPreset",
    "BertPretrainPreset",
    "EmbeddingProbePreset",
    "ImdbLstmPreset",
    "ImdbNgramsPreset",
    "StrategyBenchmarkConfig",
    "TranslateFrEnPreset",
    "TuneDecodingPreset",
    "Word2VecPreset",
]
