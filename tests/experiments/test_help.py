"""Every experiment module's `--help`: a whole sentence of description, `--verbose` accepted,
and an example `--set` that the experiment itself accepts."""

import importlib
import pkgutil
import re

import pytest

import experiments
from experiments import compare_imdb
from keras_bert_lab import presets
from keras_bert_lab.tasks.flags import parse_flags

MODULES = sorted(module.name for module in pkgutil.iter_modules(experiments.__path__))
PRESETS = {
    "imdb_lstm": presets.IMDB_LSTM_PRESETS,
    "bert_pretrain": presets.BERT_PRETRAIN_PRESETS,
    "bert_imdb": presets.BERT_IMDB_PRESETS,
    "word2vec_imdb": presets.WORD2VEC_IMDB_PRESETS,
    "translate_fr_en": presets.TRANSLATE_FR_EN_PRESETS,
    "embedding_probe": presets.EMBEDDING_PROBE_PRESETS,
    "attention_maps": presets.ATTENTION_MAPS_PRESETS,
    "tune_decoding": presets.TUNE_DECODING_PRESETS,
}
REQUIRED_FLAGS = {"tune_decoding": ["--translator", "."]}


def help_of(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(f"experiments.{name}").main(["--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", MODULES)
def test_help_describes_in_a_whole_sentence_and_takes_verbose(name, capsys):
    text = help_of(name, capsys)
    description = " ".join(text.split("\n\n")[1].split())
    assert description.endswith("."), description
    assert "--verbose" in text


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_set_example_is_accepted(name, capsys):
    text = " ".join(help_of(name, capsys).split())
    (example,) = re.findall(r"e\.g\. --set (\S+?);", text)
    module = importlib.import_module(f"experiments.{name}")
    argv = REQUIRED_FLAGS.get(name, []) + ["--set", example]
    args, config = parse_flags(module.build_parser(), PRESETS[name], argv)
    field, value = example.split("=")
    assert str(getattr(config, field)) == value
    assert "lstm_units" not in text or name == "imdb_lstm"


def test_the_comparisons_set_example_is_accepted(capsys):
    text = " ".join(help_of("compare_imdb", capsys).split())
    (example,) = re.findall(r"e\.g\. --set (\S+)\)?", text)
    parser = compare_imdb.build_parser()
    args = parser.parse_args(["--set", example.rstrip(")")])
    stages = compare_imdb.planned_stages(parser, args)
    taken = compare_imdb.stage_assignments(parser, args, stages)
    assert any(taken.values())
