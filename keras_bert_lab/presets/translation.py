"""Presets of the French-to-English Transformer."""

import dataclasses

from keras_bert_lab.presets.fields import (
    PresetError,
    TrainingPreset,
    at_least_zero,
    one_of,
    positive,
    rate,
)

TRANSLATOR_LEARNING_RATE_DECAYS = ("linear", "rsqrt")
"""How the translator's learning rate falls after its warm-up (`transformer_optimizer`)."""


@dataclasses.dataclass(frozen=True)
class TranslateFrEnPreset(TrainingPreset):
    """The Transformer translator, French to English (Tatoeba fra-eng).

    WordPiece vocabularies (cased English; French cased unless
    `lowercase_source`) are learned from the training split only; the
    learner may return fewer tokens than asked. `shared_vocabulary`: one
    vocabulary learned from both sides' training text, and one token matrix
    embedding both sides and projecting the output (§3.4 of the paper;
    `Translator(share_source_embeddings=True)`); it needs equal vocabulary
    sizes and cased French. `sequence_length` is the
    most tokens per sentence on each side (and per translation).
    `learning_rate` scales the schedule of §5.3 of the paper
    (`training.schedules.TransformerLearningRateSchedule`), with Adam
    β2 = 0.98, ε = 1e-9. `learning_rate_decay`: after the warm-up the rate falls from its
    peak along a line to 0 at the run's last step (`"linear"`, the default: tied to the
    step budget as in Li et al. 2020, "Budgeted Training"; in the cpu recipe it beat the
    paper's decay by 1.2 BLEU on validation at equal steps: "Linear decay" in
    docs/translator.md), or as the inverse square root of the step (`"rsqrt"`, the paper's).
    `batch_size` is per replica. `max_*` fields limit a split (None: all of it);
    `max_test_sources` counts distinct test sources, each scored against all its references.
    The split fractions go to `data.fra_eng.load_fra_eng` (the tiny smoke corpus needs larger
    ones to have a validation split at all). `reload_check_sources` test
    sources are translated again by the reloaded `.keras` pipeline and the
    SavedModel; `speed_sentences` are decoded to time the search;
    `tensorboard_examples` validation sentences are translated at each
    epoch end (three of them also get a cross-attention heatmap). `split`: `"hard"`, no
    held-out sentence with a loosely-equal twin in training (the default), or `"source"`, by
    exact French sentence (`data.fra_eng`). `average_last_epochs` n > 1: the translator
    keeps the mean of its weights at the last n epoch ends instead of the best epoch's where
    the mean's validation loss is lower (checkpoint averaging, §6.1 of the paper;
    `tasks.workflow.keep_better_average`); 1: the best epoch's. The default, 3, won on
    validation loss in the cpu recipe ("Checkpoint averaging" in docs/translator.md).

    The defaults are the `cpu` preset, sized to train in about an hour on a 2-core CPU
    (docs/performance.md has the measured speeds; `--precision
    mixed_bfloat16` where the CPU has AVX-512 BF16).
    """

    batch_size: int = positive(64)
    epochs: int = positive(7)
    learning_rate: float = positive(1.0)

    source_vocabulary_size: int = positive(8000)
    target_vocabulary_size: int = positive(8000)
    lowercase_source: bool = False
    shared_vocabulary: bool = False
    sequence_length: int = positive(40)
    num_layers: int = positive(3)
    hidden_dim: int = positive(256)
    num_heads: int = positive(4)
    intermediate_dim: int = positive(1024)
    dropout: float = rate(0.1)
    normalize_first: bool = False
    label_smoothing: float = rate(0.1)
    average_last_epochs: int = positive(3)
    warmup_steps: int = positive(3000)
    learning_rate_decay: str = one_of("linear", TRANSLATOR_LEARNING_RATE_DECAYS)
    adam_beta_2: float = rate(0.98)
    adam_epsilon: float = positive(1e-9)
    beam_size: int = positive(4)
    length_penalty: float = at_least_zero(0.6)
    decode_batch_size: int = positive(64)
    xla_decoding: bool = True
    validation_fraction: float = rate(0.1)
    test_fraction: float = rate(0.1)
    max_train_pairs: int | None = positive(None)
    max_validation_pairs: int | None = positive(None)
    max_test_sources: int | None = positive(None)
    reload_check_sources: int = positive(512)
    speed_sentences: int = positive(256)
    tensorboard_examples: int = at_least_zero(4)
    split: str = "hard"

    def __post_init__(self):
        super().__post_init__()
        if self.split not in ("hard", "source"):  # data.fra_eng.SPLITS
            raise PresetError(f"split must be 'hard' or 'source', got {self.split!r}")
        if self.shared_vocabulary and (
            self.lowercase_source or self.source_vocabulary_size != self.target_vocabulary_size
        ):
            raise PresetError(
                "shared_vocabulary needs lowercase_source=False and equal vocabulary sizes, got "
                f"lowercase_source={self.lowercase_source}, source_vocabulary_size="
                f"{self.source_vocabulary_size}, target_vocabulary_size="
                f"{self.target_vocabulary_size}"
            )
        if self.validation_fraction + self.test_fraction >= 1:
            raise PresetError(
                "validation_fraction + test_fraction must be below 1, got "
                f"{self.validation_fraction} + {self.test_fraction}"
            )


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
        max_per_split=300,
    ),
    "cpu": TranslateFrEnPreset(),
    # The base model of the paper (6+6 layers, d_model 512, d_ff 2048, 8 heads,
    # dropout and label smoothing 0.1, 4000 warm-up steps, inverse square root decay).
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
        learning_rate_decay="rsqrt",
        decode_batch_size=256,
        speed_sentences=1024,
    ),
}
