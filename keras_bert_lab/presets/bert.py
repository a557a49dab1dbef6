"""BERT sizes (`BERT_CONFIGS`), pre-training and IMDB fine-tuning presets."""

import dataclasses

from keras_bert_lab.presets.fields import (
    LEARNING_RATE_DECAYS,
    TrainingPreset,
    at_least_zero,
    one_of,
    positive,
    rate,
)
from keras_bert_lab.presets.imdb import SMOKE_REVIEWS_PER_SPLIT

BERT_CONFIGS = {
    # The compact models of Turc et al. (2019) and BERT-Base.
    "tiny": dict(num_layers=2, hidden_dim=128, num_heads=2, intermediate_dim=512),
    "mini": dict(num_layers=4, hidden_dim=256, num_heads=4, intermediate_dim=1024),
    "small": dict(num_layers=4, hidden_dim=512, num_heads=8, intermediate_dim=2048),
    "base": dict(num_layers=12, hidden_dim=768, num_heads=12, intermediate_dim=3072),
}
"""Named sizes; `BertEncoder.from_config_name` adds vocabulary and length."""


@dataclasses.dataclass(frozen=True)
class BertPreset(TrainingPreset):
    """The fields of both BERT presets: the size of a new encoder and the schedule of BERT's
    AdamW (`training.optimizers.bert_adamw`).

    `learning_rate_decay`: how the rate falls to 0 after the warm-up, along a cosine or a line
    (BERT's).
    """

    config_name: str = one_of("tiny", BERT_CONFIGS)
    vocabulary_size: int = positive(10000)
    sequence_length: int = positive(128)
    dropout: float = rate(0.1)
    learning_rate_decay: str = one_of("cosine", LEARNING_RATE_DECAYS)
    warmup_fraction: float = rate(0.1)
    weight_decay: float = at_least_zero(0.01)


@dataclasses.dataclass(frozen=True)
class BertPretrainPreset(BertPreset):
    """BERT pre-training (MLM + NSP) on IMDB unlabelled + train reviews.

    The `cpu` preset is BERT-tiny (2 layers, hidden 128) at 128 tokens, sized so that
    16,000 steps (512,000 sequences, about two passes over the 240,000 examples) train
    within the hour on 2 cores, where a larger encoder sees too little text in that time
    (docs/performance.md has the measured speeds). `steps_per_epoch` ×
    `epochs` caps the run (an "epoch" is then a slice of the stream of
    examples, for validation and logging).
    `sequence_length` is also the encoder's number of positions, so
    `bert_imdb` fine-tunes at most at this length; BERT's second phase
    (`--init-from` an earlier run with a longer `sequence_length`) widens it.
    `dropout` and `normalize_first` (pre-LN blocks, `models.bert.BertEncoder`) shape a new
    encoder; one started from an earlier run (`--init-from`) keeps its own. `nsp`: False
    minimises the MLM loss alone (the ablation; the inputs keep their sentence pairs).
    """

    epochs: int = positive(16)
    steps_per_epoch: int | None = positive(1000)
    warmup_fraction: float = rate(0.05)

    normalize_first: bool = False
    max_predictions: int = positive(20)
    nsp: bool = True
    validation_fraction: float = rate(0.02)
    max_documents: int | None = positive(None)


_ENCODERS = {
    "smoke": dict(config_name="tiny", vocabulary_size=300, sequence_length=32),
    "gpu": dict(config_name="small", vocabulary_size=30000, sequence_length=512),
}
"""The encoder of the `smoke` and `gpu` BERT presets (`cpu`'s is `BertPreset`'s defaults), the
same in pre-training and fine-tuning: a classifier trained from scratch has the size of the
pre-trained one, and reads as many tokens as that one has positions."""


BERT_PRETRAIN_PRESETS = {
    "smoke": BertPretrainPreset(
        **_ENCODERS["smoke"],
        max_predictions=5,
        batch_size=8,
        epochs=1,
        steps_per_epoch=None,
        validation_fraction=0.2,
        max_documents=150,
        max_per_split=SMOKE_REVIEWS_PER_SPLIT,
    ),
    "cpu": BertPretrainPreset(),
    "gpu": BertPretrainPreset(
        **_ENCODERS["gpu"],
        max_predictions=77,
        batch_size=64,
        epochs=20,
        steps_per_epoch=None,
        learning_rate=2e-4,
    ),
}


@dataclasses.dataclass(frozen=True)
class BertImdbPreset(BertPreset):
    """BERT fine-tuned on IMDB sentiment (or trained from scratch).

    `config_name` and `vocabulary_size` size the encoder trained from
    scratch (`--no-pretrain`); a pre-trained one brings its own. `dropout`
    applies in the encoder and on its pooled output, whatever dropout a
    pre-trained encoder was pre-trained with.
    `sequence_length` must not exceed the pre-trained encoder's positions;
    long reviews keep their first tokens and their last `tail_length`
    (`data.pipelines.truncate_token_ids`).
    """

    epochs: int = positive(4)
    learning_rate: float = positive(2e-4)

    tail_length: int = at_least_zero(96)
    max_train_examples: int | None = positive(None)


BERT_IMDB_PRESETS = {
    "smoke": BertImdbPreset(
        **_ENCODERS["smoke"],
        tail_length=8,
        batch_size=8,
        epochs=2,
        max_per_split=SMOKE_REVIEWS_PER_SPLIT,
    ),
    "cpu": BertImdbPreset(),
    "gpu": BertImdbPreset(
        **_ENCODERS["gpu"],
        tail_length=384,
        batch_size=32,
        epochs=4,
        learning_rate=5e-5,
    ),
}
