"""`compare_imdb` runs every IMDB model and tabulates them; the README table
is regenerated from results files."""

import json
import signal
import time
from pathlib import Path

import pytest
import tensorflow as tf

from experiments import compare_imdb, results_table
from tests.experiments import cluster


def test_smoke_comparison_of_every_model(tiny_imdb_dir, tmp_path, capsys):
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
            "--epochs",
            "1",
            "--seed",
            "7",
            "--set",
            "sequence_length=24",
        ]
    )
    commands = [line for line in capsys.readouterr().out.splitlines() if line.startswith("$ ")]
    assert len(commands) == 7
    assert all(line.startswith("$ python -m experiments.") for line in commands)
    assert "--epochs 1 --seed 7" not in commands[4]  # Flags go in the parser's order:
    assert "--seed 7" in commands[4] and "--epochs 1" in commands[4]
    assert "sequence_length" not in commands[4]  # word2vec_imdb has no such field.
    for experiment, run_name in (("imdb_lstm", "smoke"), ("bert_pretrain", "smoke")):
        results = json.loads((tmp_path / experiment / run_name / "results.json").read_text())
        assert results["config"]["epochs"] == 1 and results["config"]["sequence_length"] == 24
        assert results["hparams"]["seed"] == 7
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


def children(pid):
    """The pids of the processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_signal_reaches_the_running_stage_and_leaves_no_orphan(tiny_imdb_dir, tmp_path):
    args = ["--preset", "smoke", "--data-dir", str(tiny_imdb_dir), "--logdir", str(tmp_path)]
    args += ["--quiet", "--epochs", "60", "--checkpoint-every", "4"]
    checkpoints = tmp_path / "imdb_lstm" / "smoke" / "checkpoints"
    log = tmp_path / "compare.log"
    parent = cluster.start("compare_imdb", args, log)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and parent.poll() is None:
            latest = tf.train.latest_checkpoint(str(checkpoints))
            if latest and int(latest.rsplit("-", 1)[1]) >= 8:
                break
            time.sleep(0.1)
        (child,) = children(parent.pid)
        parent.send_signal(signal.SIGINT)
        code = parent.wait(timeout=60)  # Acted on at the next step, not after 60 epochs.
    finally:
        cluster.stop([parent])
    text = log.read_text()
    assert code == 130, (code, text[-3000:])
    assert not Path(f"/proc/{child}").exists()  # Waited for: no orphan writes checkpoints.
    assert "Traceback" not in text
    assert "imdb_lstm: interrupted at step " in text
    assert "compare_imdb: interrupted in imdb_lstm (smoke); run the same command" in text


def test_a_set_no_stage_takes_is_a_flag_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        compare_imdb.main(["--logdir", str(tmp_path), "--set", "window_size=3"])
    assert exit_info.value.code == 2
    assert "--set 'window_size=3': no stage" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compare_imdb.main(["--logdir", str(tmp_path), "--set", "dropout=2"])
    error = capsys.readouterr().err
    assert "imdb_lstm, preset cpu: dropout must be a number in [0, 1], got 2.0" in error
    assert not list(tmp_path.iterdir())
