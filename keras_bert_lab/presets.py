"""Every experiment's presets, in one place.

`smoke` runs in seconds on tiny data (tests); `cpu` is a real run sized for
a 2-core machine; `gpu` is the full recipe for a machine with an accelerator.
Experiments select a preset with `--preset` and override single fields with
`--epochs`, `--batch-size`, ... or `--set FIELD=VALUE`.
"""

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
        vocabulary_size=200, sequence_length=32, embedding_dim=8, lstm_units=4,
        batch_size=8, epochs=2,
    ),
    "cpu": ImdbLstmPreset(),
    "gpu": ImdbLstmPreset(
        vocabulary_size=30000, sequence_length=512, embedding_dim=256,
        lstm_units=128, num_lstm_layers=2, batch_size=64, epochs=4,
    ),
}


@dataclasses.dataclass(frozen=True)
class BertPretrainPreset:
    """BERT pre-training (MLM + NSP) on IMDB unlabelled + train reviews.

    The `cpu` preset is BERT-tiny (2 layers, hidden 128) at 128 tokens: on
    2 cores, BERT-mini (4 layers, hidden 256) takes about 1.6 s a step of
    32 sequences, too slow to see enough text within the hour; tiny takes
    about 0.17 s, so 16,000 steps (512,000 sequences, about two passes
    over the 240,000 examples) take about 45 minutes. `steps_per_epoch` ×
    `epochs` caps the run (an "epoch" is then a slice of the stream of
    examples, for validation and logging).
    `sequence_length` is also the encoder's number of positions, so
    `bert_imdb` fine-tunes at most at this length; BERT's second phase
    (`--init-from` an earlier run with a longer `sequence_length`) widens it.
    """

    config_name: str = "tiny"
    vocabulary_size: int = 10000
    sequence_length: int = 128
    max_predictions: int = 20
    batch_size: int = 32
    epochs: int = 16
    steps_per_epoch: int | None = 1000
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    validation_fraction: float = 0.02
    max_documents: int | None = None


BERT_PRETRAIN_PRESETS = {
    "smoke": BertPretrainPreset(
        config_name="tiny", vocabulary_size=300, sequence_length=32,
        max_predictions=5, batch_size=8, epochs=1, steps_per_epoch=None,
        validation_fraction=0.2,
    ),
    "cpu": BertPretrainPreset(),
    "gpu": BertPretrainPreset(
        config_name="small", vocabulary_size=30000, sequence_length=512,
        max_predictions=77, batch_size=64, epochs=20, steps_per_epoch=None,
        learning_rate=2e-4,
    ),
}


@dataclasses.dataclass(frozen=True)
class BertImdbPreset:
    """BERT fine-tuned on IMDB sentiment (or trained from scratch).

    `config_name` and `vocabulary_size` size the encoder trained from
    scratch (`--no-pretrain`); a pre-trained one brings its own.
    `sequence_length` must not exceed the pre-trained encoder's positions;
    long reviews keep their first tokens and their last `tail_length`
    (`data.pipelines.truncate_token_ids`).
    """

    config_name: str = "tiny"
    vocabulary_size: int = 10000
    sequence_length: int = 128
    tail_length: int = 96
    batch_size: int = 32
    epochs: int = 4
    steps_per_epoch: int | None = None
    learning_rate: float = 2e-4
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    dropout: float = 0.1
    max_train_examples: int | None = None


BERT_IMDB_PRESETS = {
    "smoke": BertImdbPreset(
        config_name="tiny", vocabulary_size=300, sequence_length=32,
        tail_length=8, batch_size=8, epochs=2,
    ),
    "cpu": BertImdbPreset(),
    "gpu": BertImdbPreset(
        config_name="small", vocabulary_size=30000, sequence_length=512,
        tail_length=384, batch_size=32, epochs=4, learning_rate=5e-5,
    ),
}


@dataclasses.dataclass(frozen=True)
class TranslateFrEnPreset:
    """The Transformer translator, French to English (Tatoeba fra-eng).

    WordPiece vocabularies (cased English; French cased unless
    `lowercase_source`) are learned from the training split only; the
    learner may return fewer tokens than asked. `sequence_length` is the
    most tokens per sentence on each side (and per translation).
    `learning_rate` scales the schedule of §5.3 of the paper
    (`training.schedules.TransformerLearningRateSchedule`), with Adam
    β2 = 0.98, ε = 1e-9. `batch_size` is per replica. `max_*` fields limit
    a split (None: all of it); `max_test_sources` counts distinct test
    sources, each scored against all its references. The split fractions
    go to `data.fra_eng.load_fra_eng` (the tiny smoke corpus needs larger
    ones to have a validation split at all). `reload_check_sources` test
    sources are translated again by the reloaded `.keras` pipeline and the
    SavedModel; `speed_sentences` are decoded to time the search;
    `tensorboard_examples` validation sentences are translated at each
    epoch end (three of them also get a cross-attention heatmap).

    The defaults are the `cpu` preset, sized for a 2-core CPU with
    AVX512-BF16 and `--precision mixed_bfloat16` (about 1.5× faster than
    float32 there): 2,090 steps of 64 pairs per epoch at about 0.2 s a
    step, so 7 epochs take about an hour.
    """

    source_vocabulary_size: int = 8000
    target_vocabulary_size: int = 8000
    lowercase_source: bool = False
    sequence_length: int = 40
    num_layers: int = 3
    hidden_dim: int = 256
    num_heads: int = 4
    intermediate_dim: int = 1024
    dropout: float = 0.1
    normalize_first: bool = False
    label_smoothing: float = 0.1
    batch_size: int = 64
    epochs: int = 7
    steps_per_epoch: int | None = None
    learning_rate: float = 1.0
    warmup_steps: int = 3000
    adam_beta_2: float = 0.98
    adam_epsilon: float = 1e-9
    beam_size: int = 4
    length_penalty: float = 0.6
    decode_batch_size: int = 64
    xla_decoding: bool = True
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    max_train_pairs: int | None = None
    max_validation_pairs: int | None = None
    max_test_sources: int | None = None
    reload_check_sources: int = 512
    speed_sentences: int = 256
    tensorboard_examples: int = 4


TRANSLATE_FR_EN_PRESETS = {
    "smoke": TranslateFrEnPreset(
        source_vocabulary_size=120, target_vocabulary_size=120,
        sequence_length=16, num_layers=1, hidden_dim=16, num_heads=2,
        intermediate_dim=32, dropout=0.0, batch_size=8, epochs=2,
        steps_per_epoch=30, warmup_steps=10, learning_rate=0.5,
        decode_batch_size=8, xla_decoding=False,
        validation_fraction=0.2, test_fraction=0.2,
        reload_check_sources=8, speed_sentences=8, tensorboard_examples=2,
    ),
    "cpu": TranslateFrEnPreset(),
    # The base model of the paper (6+6 layers, d_model 512, d_ff 2048,
    # 8 heads, dropout and label smoothing 0.1, 4000 warm-up steps).
    "gpu": TranslateFrEnPreset(
        source_vocabulary_size=16000, target_vocabulary_size=16000,
        sequence_length=64, num_layers=6, hidden_dim=512, num_heads=8,
        intermediate_dim=2048, batch_size=256, epochs=30, warmup_steps=4000,
        decode_batch_size=256, speed_sentences=1024,
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
