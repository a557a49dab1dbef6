"""BERT sizes (`BERT_CONFIGS`), pre-training and IMDB fine-tuning presets."""

import dataclasses

from keras_bert_lab.presets.fields import (
    LEARNING_RATE_DECAYS,
    PRECISIONS,
    CheckedPreset,
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
class BertPretrainPreset(CheckedPreset):
    """BERT pre-training (MLM + NSP) on IMDB unlabelled + train reviews.

    The `cpu` preset is BERT-tiny (2 layers, hidden 128) at 128 tokens, sized so that
    16,000 steps (512,000 sequences, about two passes over the 240,000 examples) train
    within the hour on 2 cores, where a larger encoder sees too little text in that time
    (the README's Performance section has the measured speeds). `steps_per_epoch` ×
    `epochs` caps the run (an "epoch" is then a slice of the stream of
    examples, for validation and logging).
    `sequence_length` is also the encoder's number of positions, so
    `bert_imdb` fine-tunes at most at this length; BERT's second phase
    (`--init-from` an earlier run with a longer `sequence_length`) widens it.
    `max_per_split`: reviews kept per split by `data.imdb.load_imdb` (None: all).
    `dropout` and `normalize_first` (pre-LN blocks, `models.bert.BertEncoder`) shape a new
    encoder; one started from an earlier run (`--init-from`) keeps its own. `nsp`: False
    minimises the MLM loss alone (the ablation; the inputs keep their sentence pairs).
    `learning_rate_decay`: how the rate falls to 0 after the warm-up, along a cosine or a
    line (BERT's).
    """

    config_name: str = one_of("tiny", BERT_CONFIGS)
    vocabulary_size: int = positive(10000)
    dropout: float = rate(0.1)
    normalize_first: bool = False
    sequence_length: int = positive(128)
    max_predictions: int = positive(20)
    nsp: bool = True
    batch_size: int = positive(32)
    epochs: int = positive(16)
    steps_per_epoch: int | None = positive(1000)
    learning_rate: float = positive(1e-3)
    learning_rate_decay: str = one_of("cosine", LEARNING_RATE_DECAYS)
    warmup_fraction: float = rate(0.05)
    weight_decay: float = at_least_zero(0.01)
    validation_fraction: float = rate(0.02)
    max_documents: int | None = positive(None)
    max_per_split: int | None = positive(None)
    precision: str = one_of("float32", PRECISIONS)


BERT_PRETRAIN_PRESETS = {
    "smoke": BertPretrainPreset(
        config_name="tiny",
        vocabulary_size=300,
        sequence_length=32,
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
        config_name="small",
        vocabulary_size=30000,
        sequence_length=512,
        max_predictions=77,
        batch_size=64,
        epochs=20,
        steps_per_epoch=None,
        learning_rate=2e-4,
    ),
}


@dataclasses.dataclass(frozen=True)
class BertImdbPreset(CheckedPreset):
    """BERT fine-tuned on IMDB sentiment (or trained from scratch).

    `config_name` and `vocabulary_size` size the encoder trained from
    scratch (`--no-pretrain`); a pre-trained one brings its own.
    `sequence_length` must not exceed the pre-trained encoder's positions;
    long reviews keep their first tokens and their last `tail_length`
    (`data.pipelines.truncate_token_ids`). `max_per_split`: reviews kept per split by
    `data.imdb.load_imdb` (None: all). `learning_rate_decay`: how the rate falls to 0 after
    the warm-up, along a cosine or a line (BERT's).
    """

    config_name: str = one_of("tiny", BERT_CONFIGS)
    vocabulary_size: int = positive(10000)
    sequence_length: int = positive(128)
    tail_length: int = at_least_zero(96)
    batch_size: int = positive(32)
    epochs: int = positive(4)
    steps_per_epoch: int | None = positive(None)
    learning_rate: float = positive(2e-4)
    learning_rate_decay: str = one_of("cosine", LEARNING_RATE_DECAYS)
    warmup_fraction: float = rate(0.1)
    weight_decay: float = at_least_zero(0.01)
    dropout: float = rate(0.1)
    max_train_examples: int | None = positive(None)
    max_per_split: int | None = positive(None)
    precision: str = one_of("float32", PRECISIONS)


BERT_IMDB_PRESETS = {
    "smoke": BertImdbPreset(
        config_name="tiny",
        vocabulary_size=300,
        sequence_length=32,
        tail_length=8,
        batch_size=8,
        epochs=2,
        max_per_split=SMOKE_REVIEWS_PER_SPLIT,
    ),
    "cpu": BertImdbPreset(),
    "gpu": BertImdbPreset(
        config_name="small",
        vocabulary_size=30000,
        sequence_length=512,
        tail_length=384,
        batch_size=32,
        epochs=4,
        learning_rate=5e-5,
    ),
}
