"""Presets of the French-to-English Transformer."""

import dataclasses


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
        source_vocabulary_size=120,
        target_vocabulary_size=120,
        sequence_length=16,
        num_layers=1,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        dropout=0.0,
        batch_size=8,
        epochs=2,
        steps_per_epoch=30,
        warmup_steps=10,
        learning_rate=0.5,
        decode_batch_size=8,
        xla_decoding=False,
        validation_fraction=0.2,
        test_fraction=0.2,
        reload_check_sources=8,
        speed_sentences=8,
        tensorboard_examples=2,
    ),
    "cpu": TranslateFrEnPreset(),
    # The base model of the paper (6+6 layers, d_model 512, d_ff 2048,
    # 8 heads, dropout and label smoothing 0.1, 4000 warm-up steps).
    "gpu": TranslateFrEnPreset(
        source_vocabulary_size=16000,
        target_vocabulary_size=16000,
        sequence_length=64,
        num_layers=6,
        hidden_dim=512,
        num_heads=8,
        intermediate_dim=2048,
        batch_size=256,
        epochs=30,
        warmup_steps=4000,
        decode_batch_size=256,
        speed_sentences=1024,
    ),
}
