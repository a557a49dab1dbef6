"""Presets of the step benchmark (`experiments.benchmark`) and the strategy benchmark."""

import dataclasses

from keras_bert_lab.presets.bert import BERT_PRETRAIN_PRESETS
from keras_bert_lab.presets.imdb import IMDB_LSTM_PRESETS, ImdbLstmPreset


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig:
    """Sizes and repetitions of a benchmark run (see `BENCHMARK_PRESETS`)."""

    # BERT (both families), float32.
    num_layers: int = 4
    hidden_dim: int = 256
    num_heads: int = 4
    intermediate_dim: int = 1024
    # A 16,000-token WordPiece vocabulary, as in the committed benchmark.json.
    vocabulary_size: int = 16000
    sequence_length: int = 128
    max_position_embeddings: int = 512
    batch_size: int = 32
    max_predictions: int | None = None  # None: 15% of sequence_length.
    num_classes: int = 2
    dropout: float = 0.1
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    jit_modes: tuple[bool, ...] = (False, True)
    # The Keras dtype policy of the profiled steps (`--profile`).
    profile_precision: str = "float32"
    # Timing.
    repetitions: int = 5
    steps_per_repetition: int = 1
    warmup_steps: int = 2
    matmul_size: int = 2048
    # Translator decoding (same layer sizes as BERT above).
    decode_batch_size: int = 8
    decode_source_length: int = 16
    decode_length: int = 40
    beam_size: int = 4
    translator_vocabulary_size: int = 8000
    decode_repetitions: int = 3
    # Input pipelines on synthetic text.
    pipeline_texts: int = 2048
    mean_words: float = 230.0
    pipeline_vocabulary_size: int = 16000
    padding_max_length: int = 512
    pretraining_examples: int = 4096
    translation_pairs: int = 8192
    # LSTM: the sizes of an `ImdbLstmPreset`.
    lstm: ImdbLstmPreset = IMDB_LSTM_PRESETS["cpu"]
    lstm_repetitions: int = 7
    # Short steps: several per round, so that a burst of load on the
    # machine weighs less.
    lstm_steps_per_repetition: int = 3
    seed: int = 0


BENCHMARK_PRESETS = {
    # The target: BERT-mini sizes, sequence 128, batch 32, float32.
    "default": BenchmarkConfig(),
    # Every section and field in a few seconds, for the tests.
    "tiny": BenchmarkConfig(
        num_layers=1,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        vocabulary_size=64,
        sequence_length=16,
        max_position_embeddings=16,
        batch_size=2,
        repetitions=2,
        warmup_steps=1,
        matmul_size=64,
        decode_batch_size=2,
        decode_source_length=4,
        decode_length=4,
        beam_size=2,
        translator_vocabulary_size=32,
        decode_repetitions=2,
        pipeline_texts=16,
        mean_words=20.0,
        pipeline_vocabulary_size=60,
        padding_max_length=32,
        pretraining_examples=16,
        translation_pairs=16,
        lstm=IMDB_LSTM_PRESETS["smoke"],
        lstm_repetitions=2,
        lstm_steps_per_repetition=1,
    ),
}


_BERT_CPU = BERT_PRETRAIN_PRESETS["cpu"]


@dataclasses.dataclass(frozen=True)
class StrategyBenchmarkConfig:
    """The model (a `BERT_CONFIGS` size), the global batch and the timing."""

    config_name: str = _BERT_CPU.config_name
    vocabulary_size: int = _BERT_CPU.vocabulary_size
    sequence_length: int = _BERT_CPU.sequence_length
    global_batch_size: int = 32
    steps: int = 20
    repetitions: int = 3
    timeout_seconds: int = 900


STRATEGY_BENCHMARK_PRESETS = {
    # BERT-tiny at the sizes of the `cpu` BERT presets.
    "default": StrategyBenchmarkConfig(),
    # Every field in seconds, for the tests.
    "tiny": StrategyBenchmarkConfig(
        vocabulary_size=64,
        sequence_length=16,
        global_batch_size=4,
        steps=2,
        repetitions=2,
        timeout_seconds=300,
    ),
}
