"""The recipe of the IMDB study (`experiments.compare_imdb`): what its stages change in
the presets of the experiments they run, preset by preset."""

import dataclasses

from keras_bert_lab.presets.fields import (
    LEARNING_RATE_DECAYS,
    PRECISIONS,
    CheckedPreset,
    at_least_zero,
    one_of,
    positive,
)


@dataclasses.dataclass(frozen=True)
class PretrainingPhase(CheckedPreset):
    """One phase of BERT pre-training: a `bert_pretrain` run at `sequence_length` tokens
    (`max_predictions` masked), started from the phase before it (if any). The schedule
    fields left None are the `bert_pretrain` preset's."""

    sequence_length: int = positive(128)
    max_predictions: int = positive(20)
    epochs: int | None = positive(None)
    steps_per_epoch: int | None = positive(None)
    learning_rate: float | None = positive(None)


@dataclasses.dataclass(frozen=True)
class ImdbStudyPreset(CheckedPreset):
    """What `compare_imdb` runs beyond each experiment's own preset of the same name.

    `pretraining_phases` are run in turn (BERT's recipe: most steps at 128 tokens, then a
    few at 512; here at most 256, for the time). Every BERT classifier reads
    `sequence_length` tokens of a review, its first ones and its last `tail_length`. The
    real checkpoint (`--init-from`, or the MiniLM-L6 package when it is installed) is
    fine-tuned for `real_checkpoint_epochs` at `real_checkpoint_learning_rate`, the range of
    published BERT fine-tuning (2e-5 to 5e-5, with the preset's warm-up), decaying as
    `real_checkpoint_decay` (BERT's: linear), under the `real_checkpoint_precision` policy.
    A real BERT checkpoint has positions for 512 tokens, which the encoders pre-trained here
    do not: it reads `real_checkpoint_sequence_length` tokens of a review, its last
    `real_checkpoint_tail_length` among them (None: the study's `sequence_length` and
    `tail_length`).
    """

    pretraining_phases: tuple[PretrainingPhase, ...] = (
        PretrainingPhase(),
        PretrainingPhase(
            sequence_length=256,
            max_predictions=40,
            epochs=4,
            steps_per_epoch=1000,
            learning_rate=5e-4,
        ),
    )
    sequence_length: int = positive(256)
    tail_length: int = at_least_zero(192)
    real_checkpoint_epochs: int = positive(1)
    real_checkpoint_learning_rate: float = positive(5e-5)
    real_checkpoint_decay: str = one_of("linear", LEARNING_RATE_DECAYS)
    real_checkpoint_precision: str = one_of("float32", PRECISIONS)
    real_checkpoint_sequence_length: int | None = positive(None)
    real_checkpoint_tail_length: int | None = at_least_zero(None)


IMDB_STUDY_PRESETS = {
    # The last phase's 64 positions hold the probe's sentences (`analysis.probe`) in the
    # smoke vocabulary's word pieces.
    "smoke": ImdbStudyPreset(
        pretraining_phases=(
            PretrainingPhase(sequence_length=32, max_predictions=5),
            PretrainingPhase(sequence_length=64, max_predictions=10, epochs=1),
        ),
        sequence_length=64,
        tail_length=16,
    ),
    # MiniLM-L6 at 512 tokens in bfloat16: 92.31% against 91.44% at 256 in float32 (docs/imdb.md);
    # in float32 on a CPU without bfloat16 instructions, where bfloat16 is slower.
    "cpu": ImdbStudyPreset(
        real_checkpoint_sequence_length=512,
        real_checkpoint_tail_length=384,
        real_checkpoint_precision="auto",
    ),
    "gpu": ImdbStudyPreset(
        # The cpu preset's first phase, then BERT's second at 512 tokens.
        pretraining_phases=(
            PretrainingPhase(),
            PretrainingPhase(sequence_length=512, max_predictions=77, epochs=2),
        ),
        sequence_length=512,
        tail_length=384,
        real_checkpoint_epochs=2,
        real_checkpoint_learning_rate=3e-5,
    ),
}
