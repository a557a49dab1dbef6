"""The flags every experiment shares: overrides of the preset, and values checked when they
are parsed."""

import argparse
import dataclasses

import pytest

from keras_bert_lab.presets.fields import CheckedPreset, positive, rate
from keras_bert_lab.tasks import flags


@dataclasses.dataclass(frozen=True)
class Preset(CheckedPreset):
    units: int = positive(8)
    epochs: int = positive(2)
    batch_size: int = positive(4)
    learning_rate: float = positive(1e-3)
    steps_per_epoch: int | None = positive(None)
    dropout: float = rate(0.1)
    pooling: str = "mean"
    shuffle: bool = True


PRESETS = {"smoke": Preset(), "cpu": Preset(epochs=5, units=16)}


def parse(*argv):
    return flags.parse_flags(flags.experiment_parser("test", PRESETS), PRESETS, list(argv))


def error_of(capsys, *argv):
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_flags_override_the_preset():
    args, config = parse("--preset", "smoke", "--epochs", "3", "--set", "units=16")
    assert args.preset == "smoke" and args.checkpoint_every == 200
    assert config == Preset(epochs=3, units=16)
    _, config = parse(
        "--set", "dropout=0", "--set", "pooling=123", "--set", "shuffle=false", "--set",
        "steps_per_epoch=null", "--learning-rate", "0.5",
    )  # fmt: skip
    assert (config.dropout, config.pooling, config.shuffle) == (0.0, "123", False)
    assert config.learning_rate == 0.5 and config.steps_per_epoch is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--set", "units=many"], "--set 'units=many': units takes an integer, got 'many'"),
        (["--set", "units=2.5"], "units takes an integer, got '2.5'"),
        (["--set", "units=true"], "units takes an integer, got 'true'"),
        (["--set", "steps_per_epoch=x"], "steps_per_epoch takes an integer or null"),
        (["--set", "dropout=high"], "dropout takes a number, got 'high'"),
        (["--set", "shuffle=1"], "shuffle takes true or false, got '1'"),
        (["--set", "unit=4"], "expected FIELD=VALUE with FIELD one of batch_size, dropout"),
        (["--set", "units"], "expected FIELD=VALUE"),
        (["--set", "units=0"], "preset cpu: units must be a positive integer, got 0"),
        (["--set", "dropout=1.01"], "dropout must be a number in [0, 1], got 1.01"),
        (["--set", "learning_rate=0"], "learning_rate must be a positive number, got 0.0"),
        (["--epochs", "-4"], "argument --epochs: expected a positive integer, got '-4'"),
        (["--batch-size", "0"], "argument --batch-size: expected a positive integer, got '0'"),
        (["--learning-rate", "nan"], "argument --learning-rate: expected a positive number"),
        (["--seed", "x"], "argument --seed: expected an integer >= 0, got 'x'"),
        (["--data-dir", "/no/such"], "argument --data-dir: /no/such is not a folder"),
    ],
)
def test_bad_values_are_argparse_errors(capsys, argv, message):
    error = error_of(capsys, *argv)
    assert message in error, error


def test_value_types():
    assert flags.positive_int("3") == 3 and flags.non_negative_int("0") == 0
    assert flags.positive_float("1e-3") == 1e-3 and flags.non_negative_float("0") == 0.0
    for function, text in (
        (flags.positive_int, "0"),
        (flags.non_negative_int, "-1"),
        (flags.positive_float, "inf"),
        (flags.positive_float, "-0.1"),
        (flags.non_negative_float, "-0.1"),
        (flags.non_negative_float, "nan"),
        (flags.non_negative_float, "abc"),
    ):
        with pytest.raises(argparse.ArgumentTypeError):
            function(text)


def test_existing_paths(tmp_path):
    (tmp_path / "file").write_text("x")
    assert flags.existing_dir(str(tmp_path)) == str(tmp_path)
    assert flags.existing_path(str(tmp_path / "file")) == str(tmp_path / "file")
    with pytest.raises(argparse.ArgumentTypeError, match="is not a folder"):
        flags.existing_dir(str(tmp_path / "file"))
    with pytest.raises(argparse.ArgumentTypeError, match="does not exist"):
        flags.existing_path(str(tmp_path / "missing"))


def test_help_shows_a_set_example_of_the_presets_own_fields():
    help_text = " ".join(flags.experiment_parser("test", PRESETS).format_help().split())
    assert "e.g. --set units=16; fields: units, epochs," in help_text
    assert flags.set_example(PRESETS) == "units=16"
    assert "--verbose" in help_text and "--force" in help_text


def test_the_description_is_the_docstrings_whole_first_paragraph():
    docstring = """Compare the models in one go,
    under one strategy.

    Details."""
    assert flags.docstring_summary(docstring) == "Compare the models in one go, under one strategy."
