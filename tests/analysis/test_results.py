"""The README's results table from results files."""

import pytest
import tensorflow as tf
from tensorboard.plugins.hparams import plugin_data_pb2

from keras_bert_lab.analysis.results import (
    comparison_rows,
    markdown_table,
    skipped_row,
    study_summary,
    write_hparams_sessions,
)
from keras_bert_lab.figures import accuracy_figure, render


def _result(wall_time_seconds, accuracy):
    return {
        "experiment": "imdb_ngrams",
        "model": "NBSVM 2-grams",
        "hparams": {"preset": "cpu"},
        "strategy": "default",
        "replicas": 1,
        "config": {},
        "metrics": {"test_accuracy": accuracy, "test_f1": 0.9, "parameters": 10},
        "wall_time_seconds": wall_time_seconds,
        "command": "python -m experiments.imdb_ngrams --preset cpu",
    }


def test_a_run_under_a_minute_is_minutes_not_a_percentage():
    table = markdown_table(comparison_rows([_result(54.0, 0.9143), _result(600.0, 0.5)]))
    rows = table.splitlines()[2:]
    assert "| 0.9 |" in rows[0] and "100" not in rows[0] and "| 91.43% |" in rows[0]
    assert "| 10.0 |" in rows[1] and "| 50.00% |" in rows[1]


def _rows():
    scored = comparison_rows([_result(54.0, 0.9143), _result(600.0, 0.8756)])
    scored[1]["model"] = "BiLSTM"
    return [*scored, skipped_row("MiniLM-L6", "bert_imdb", "no real checkpoint")]


def test_the_study_summary_numbers_its_rows_and_lists_their_commands_below():
    lines = study_summary(_rows()).splitlines()
    assert lines[0] == (
        "| # | Model | Input tokens | Test accuracy | Test F1 | Parameters | Minutes |"
    )
    assert lines[2].startswith("| 1 | NBSVM 2-grams | — | 91.43% | 90.00% | 10 | 0.9 |")
    assert lines[4].startswith("| 3 | MiniLM-L6 | — | — |")
    block = lines[lines.index("```bash") + 1 : -1]
    assert block == [
        "# 1. NBSVM 2-grams",
        "python -m experiments.imdb_ngrams --preset cpu",
        "# 2. BiLSTM",
        "python -m experiments.imdb_ngrams --preset cpu",
        "# 3. MiniLM-L6",
        "# skipped: no real checkpoint",
    ]


def test_the_accuracy_chart_has_a_bar_per_scored_row():
    figure = accuracy_figure(_rows())
    (axes,) = figure.axes
    assert [label.get_text() for label in axes.get_yticklabels()] == ["NBSVM 2-grams", "BiLSTM"]
    assert [round(bar.get_width(), 2) for bar in axes.patches] == [91.43, 87.56]
    assert axes.get_xlim() == (80.0, 100.0)
    assert render(figure).shape[2] == 4


def test_the_hparams_experiment_has_a_session_per_scored_row(tmp_path):
    write_hparams_sessions(_rows(), tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_dir()) == ["1", "2"]

    def events(folder):
        (path,) = folder.glob("events.out.tfevents.*")
        return [
            event for event in tf.compat.v1.train.summary_iterator(str(path)) if event.summary.value
        ]

    (config,) = events(tmp_path)
    assert config.summary.value[0].metadata.plugin_data.plugin_name == "hparams"
    values = {value.tag: value for event in events(tmp_path / "2") for value in event.summary.value}
    assert tf.make_ndarray(values["test_accuracy"].tensor) == pytest.approx(0.8756)
    session = plugin_data_pb2.HParamsPluginData.FromString(
        values["_hparams_/session_start_info"].metadata.plugin_data.content
    )
    assert session.session_start_info.hparams["model"].string_value == "BiLSTM"
