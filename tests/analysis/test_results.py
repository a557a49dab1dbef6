"""The README's results table from results files."""

from keras_bert_lab.analysis.results import comparison_rows, markdown_table


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
