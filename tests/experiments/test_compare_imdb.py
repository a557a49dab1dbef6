"""`compare_imdb` runs every IMDB model and tabulates them; the README table
is regenerated from results files."""

import json

from experiments import compare_imdb, results_table


def test_smoke_comparison_of_every_model(tiny_imdb_dir, tmp_path):
    rows = compare_imdb.main(
        [
            "--preset",
            "smoke",
            "--data-dir",
            str(tiny_imdb_dir),
            "--logdir",
            str(tmp_path),
            "--with-word2vec",
            "--quiet",
        ]
    )
    assert [row["experiment"] for row in rows] == [
        "imdb_lstm",
        "bert_imdb",
        "bert_imdb",
        "imdb_lstm",
        "imdb_lstm",
    ]
    assert [row["model"] for row in rows][3:] == [
        "BiLSTM + word2vec (fine-tuned)",
        "BiLSTM + word2vec (frozen)",
    ]
    assert all(row["strategy"] == "default × 1" for row in rows)
    assert all(0 <= row["test_accuracy"] <= 1 for row in rows)
    table = (tmp_path / "compare_imdb" / "smoke" / "comparison.md").read_text()
    assert "from scratch" in table and "pre-trained" in table
    assert json.loads((tmp_path / "compare_imdb/smoke/comparison.json").read_text()) == rows


def test_readme_table_is_generated_from_results_files(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "imdb_lstm-cpu.json").write_text(
        json.dumps(
            {
                "experiment": "imdb_lstm",
                "model": "BiLSTM",
                "strategy": "default",
                "replicas": 1,
                "wall_time_seconds": 600,
                "command": "python -m x",
                "hparams": {"preset": "cpu"},
                "config": {"sequence_length": 400, "tail_length": 0},
                "metrics": {"test_accuracy": 0.8563, "test_f1": 0.8456, "parameters": 10},
            }
        )
    )
    (results / "bert_imdb-cpu.json").write_text(
        json.dumps(
            {
                "experiment": "bert_imdb",
                "model": "BERT",
                "strategy": "default",
                "replicas": 1,
                "wall_time_seconds": 60,
                "command": "python -m y",
                "hparams": {"preset": "cpu"},
                "config": {"sequence_length": 256, "tail_length": 192},
                "metrics": {"test_accuracy": 0.8865, "test_f1": 0.8841, "parameters": 20},
            }
        )
    )
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\nrest\n")
    results_table.main(["--results-dir", str(results), "--readme", str(readme), "--write"])
    text = readme.read_text()
    assert "old" not in text
    assert "| BiLSTM | imdb_lstm | cpu | default × 1 | 400 | 85.63% |" in text
    assert "| BERT | bert_imdb | cpu | default × 1 | 256 (last 192) | 88.65% |" in text
    assert text.startswith("intro\n") and text.endswith("rest\n")
