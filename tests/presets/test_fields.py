"""Preset fields declare the values they take; every preset is checked when it is made."""

import dataclasses

import pytest

from keras_bert_lab import presets
from keras_bert_lab.presets.fields import (
    CheckedPreset,
    PresetError,
    at_least_zero,
    one_of,
    positive,
    rate,
    type_phrase,
)


@dataclasses.dataclass(frozen=True)
class Preset(CheckedPreset):
    units: int = positive(8)
    tail: int = at_least_zero(0)
    dropout: float = rate(0.1)
    learning_rate: float = positive(1e-3)
    cap: int | None = positive(None)
    size: str = one_of("tiny", ("tiny", "base"))
    free: int = -3


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"units": 0}, "units must be a positive integer, got 0"),
        ({"units": "8"}, "units must be an integer, got '8'"),
        ({"units": True}, "units must be an integer, got True"),
        ({"tail": -1}, "tail must be an integer >= 0, got -1"),
        ({"dropout": 1.5}, "dropout must be a number in [0, 1], got 1.5"),
        ({"dropout": -0.1}, "dropout must be a number in [0, 1], got -0.1"),
        ({"learning_rate": 0.0}, "learning_rate must be a positive number, got 0.0"),
        ({"cap": 0}, "cap must be a positive integer, got 0"),
        ({"size": "huge"}, "size must be one of tiny, base, got 'huge'"),
    ],
)
def test_a_value_a_field_cannot_take_is_one_line(changes, message):
    with pytest.raises(PresetError) as error:
        dataclasses.replace(Preset(), **changes)
    assert str(error.value) == message


def test_values_a_field_can_take():
    preset = dataclasses.replace(Preset(), units=1, tail=0, dropout=1.0, cap=None, free=-9)
    assert preset.dropout == 1.0 and preset.free == -9
    fields = {field.name: field for field in dataclasses.fields(Preset)}
    assert type_phrase(fields["units"]) == "an integer"
    assert type_phrase(fields["cap"]) == "an integer or null"
    assert type_phrase(fields["dropout"]) == "a number"


def test_every_experiment_preset_is_checked_and_valid():
    groups = [
        presets.IMDB_LSTM_PRESETS,
        presets.WORD2VEC_IMDB_PRESETS,
        presets.BERT_PRETRAIN_PRESETS,
        presets.BERT_IMDB_PRESETS,
        presets.TRANSLATE_FR_EN_PRESETS,
        presets.EMBEDDING_PROBE_PRESETS,
        presets.ATTENTION_MAPS_PRESETS,
    ]
    for group in groups:
        for preset in group.values():
            assert isinstance(preset, CheckedPreset)
            with pytest.raises(PresetError):
                dataclasses.replace(preset, batch_size=0)


def test_smoke_presets_cap_the_data_for_runs_on_the_real_archives():
    for group in (
        presets.IMDB_LSTM_PRESETS,
        presets.WORD2VEC_IMDB_PRESETS,
        presets.BERT_PRETRAIN_PRESETS,
        presets.BERT_IMDB_PRESETS,
        presets.TRANSLATE_FR_EN_PRESETS,
    ):
        assert group["smoke"].max_per_split and group["cpu"].max_per_split is None


def test_the_translation_split_fractions_leave_a_training_split():
    with pytest.raises(PresetError, match="validation_fraction \\+ test_fraction must be below 1"):
        dataclasses.replace(
            presets.TRANSLATE_FR_EN_PRESETS["cpu"], validation_fraction=0.5, test_fraction=0.5
        )


@pytest.mark.parametrize(
    "overrides",
    [dict(lowercase_source=True), dict(source_vocabulary_size=4000)],
    ids=["lowercased_french", "unequal_sizes"],
)
def test_a_shared_vocabulary_needs_one_casing_and_one_size(overrides):
    cpu = presets.TRANSLATE_FR_EN_PRESETS["cpu"]
    assert dataclasses.replace(cpu, shared_vocabulary=True).shared_vocabulary
    with pytest.raises(PresetError, match="shared_vocabulary needs lowercase_source=False"):
        dataclasses.replace(cpu, shared_vocabulary=True, **overrides)
