"""End-to-end runs of `python -m experiments.imdb_lstm` on a tiny IMDB.

A whole run on a cluster of two worker processes, a SIGKILL mid-run and a dead worker of a
cluster, each followed by a resume that must end with the uninterrupted run's steps and weights,
are the chaos run's tests (`tests/benchmarks/test_chaos.py`, both strategies)."""

import json
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from experiments import imdb_lstm, word2vec_imdb
from keras_bert_lab.tasks.run import command_line
from tests.experiments import cluster


def smoke_args(data_dir, logdir, *extra):
    return [
        "--preset",
        "smoke",
        "--data-dir",
        str(data_dir),
        "--logdir",
        str(logdir),
        "--quiet",
        *extra,
    ]


def scalar_tags(folder):
    events = event_accumulator.EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return set(events.Tags()["tensors"]) | set(events.Tags()["scalars"])


def test_smoke_run_trains_logs_saves_and_reloads(tiny_imdb_dir, tmp_path, capsys):
    results = imdb_lstm.main(smoke_args(tiny_imdb_dir, tmp_path))
    run_dir = tmp_path / "imdb_lstm" / "smoke"
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"imdb_lstm: run folder {run_dir}"
    assert out[1].startswith("data: ") and "files read 200, " in out[1]
    assert out[1].endswith("empty skipped 0, bad names skipped 0; at most 300 per split")
    assert out[-1].startswith("imdb_lstm: test accuracy ") and ", test F1 " in out[-1]
    on_disk = json.loads((run_dir / "results.json").read_text())
    assert on_disk["data_stats"] == {
        "files_read": 200,
        "decoded_with_replacement": 0,
        "empty_skipped": 0,
        "bad_names_skipped": 0,
    }
    assert on_disk["metrics"] == results["metrics"]
    for key in (
        "test_accuracy",
        "test_f1",
        "validation_accuracy",
        "parameters",
        "train_examples_per_second",
        "optimizer_steps",
    ):
        assert on_disk["metrics"][key] is not None, key
    assert on_disk["metrics"]["test_examples"] == 80
    for key in (
        "config",
        "data_source",
        "strategy",
        "replicas",
        "wall_time_seconds",
        "git_commit",
        "command",
    ):
        assert key in on_disk, key
    assert on_disk["replicas"] == 1

    assert {"loss", "accuracy", "learning_rate", "examples_per_second"} <= scalar_tags(
        run_dir / "train"
    )
    assert {"loss", "accuracy"} <= scalar_tags(run_dir / "validation")
    hparams = event_accumulator.EventAccumulator(str(run_dir))
    hparams.Reload()
    assert "_hparams_/session_start_info" in hparams.Tags()["tensors"]

    # The saved model answers raw strings in a fresh process, and the
    # SavedModel export does too, with the same probabilities.
    script = textwrap.dedent(f"""
        import keras, numpy as np, tensorflow as tf
        import keras_bert_lab.export.raw_text
        texts = tf.constant(["A wonderful, moving film.", "Awful and boring."])
        model = keras.saving.load_model({str(run_dir / "model.keras")!r})
        probabilities = np.asarray(model(texts))
        exported = tf.saved_model.load({str(run_dir / "saved_model")!r})
        served = exported.serve(texts)["probabilities"]
        np.testing.assert_allclose(served, probabilities, atol=1e-6)
        assert probabilities.shape == (2, 2)
        np.testing.assert_allclose(probabilities.sum(-1), 1, atol=1e-6)
        print("RAW STRINGS OK")
    """)
    process = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env=cluster.environment(),
    )
    assert "RAW STRINGS OK" in process.stdout, process.stderr[-3000:]


def test_mirrored_over_two_logical_cpus(tiny_imdb_dir, tmp_path):
    results = imdb_lstm.main(
        smoke_args(tiny_imdb_dir, tmp_path, "--strategy", "mirrored", "--cpu-devices", "2")
    )
    assert results["replicas"] == 2 and results["strategy"] == "mirrored"
    assert results["hparams"]["global_batch_size"] == 16


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--strategy", "horovod"], "invalid choice: 'horovod'"),
        (["--strategy", "mirrored", "--global-batch-size", "7"], "does not divide over 2 replicas"),
        (["--set", "lstm_unit=4"], "expected FIELD=VALUE with FIELD one of"),
        (["--set", "lstm_units=many"], "lstm_units takes an integer, got 'many'"),
        (["--set", "max_per_split=1.5"], "max_per_split takes an integer or null"),
        (["--set", "dropout=1.5"], "dropout must be a number in [0, 1], got 1.5"),
        (["--set", "batch_size=0"], "batch_size must be a positive integer, got 0"),
        (["--set", "learning_rate=-1"], "learning_rate must be a positive number"),
        (["--batch-size", "0"], "argument --batch-size: expected a positive integer, got '0'"),
        (["--batch-size", "-4"], "argument --batch-size: expected a positive integer"),
        (["--epochs", "0"], "argument --epochs: expected a positive integer"),
        (["--steps-per-epoch", "x"], "argument --steps-per-epoch: expected a positive integer"),
        (["--checkpoint-every", "0"], "argument --checkpoint-every: expected a positive"),
        (["--global-batch-size", "0"], "argument --global-batch-size: expected a positive"),
        (["--learning-rate", "0"], "argument --learning-rate: expected a positive number"),
        (["--seed", "-1"], "argument --seed: expected an integer >= 0"),
        (["--cpu-devices", "0"], "argument --cpu-devices: expected a positive integer"),
        (["--data-dir", "/no/such/folder"], "argument --data-dir: /no/such/folder is not a"),
        (["--init-embeddings", "/no/such/run"], "argument --init-embeddings: /no/such/run is"),
    ],
)
def test_bad_flags_are_one_clear_line(tiny_imdb_dir, tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        imdb_lstm.main(smoke_args(tiny_imdb_dir, tmp_path, *flags))
    assert exit_info.value.code == 2
    error_lines = [
        line
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("imdb_lstm") or "error:" in line
    ]
    assert len(error_lines) == 1 and message in error_lines[0], error_lines
    assert not list(tmp_path.iterdir())  # Nothing written.


def test_a_signal_to_one_worker_stops_the_cluster_at_a_step_it_saves(tiny_imdb_dir, tmp_path):
    """SIGTERM to the follower only: its vote, carried by the next step's all-reduce, stops
    both workers after the same step, which they save together (saving is collective)."""
    args = smoke_args(
        tiny_imdb_dir,
        tmp_path / "logs",
        "--strategy",
        "multi_worker",
        "--epochs",
        "400",
        "--checkpoint-every",
        "1000",
    )
    checkpoints = tmp_path / "logs/imdb_lstm/smoke/checkpoints"
    workers = cluster.start_cluster("imdb_lstm", args, tmp_path)
    try:
        # The first epoch's checkpoint (5 steps): both workers are training.
        assert cluster.wait_for_checkpoint(checkpoints, 5, workers[0]) is not None
        workers[1].send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=60) for worker in workers]
    finally:
        cluster.stop(workers)
    logs = [(tmp_path / f"worker{index}.log").read_text() for index in (0, 1)]
    assert codes == [143, 143], [log[-2000:] for log in logs]
    steps = [int(log.split("interrupted at step ")[1].split(";")[0]) for log in logs]
    assert steps[0] == steps[1] > 5, steps
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith(f"ckpt-{steps[0]}")
    assert "Traceback" not in logs[0] + logs[1]


@pytest.mark.parametrize("stopped", [0, 1], ids=["leader", "follower"])
def test_a_hung_worker_fails_the_cluster_quickly(tiny_imdb_dir, tmp_path, stopped):
    """A worker stopped by SIGSTOP is alive (its sockets stay open) but sends no heartbeats:
    the coordination service finds it as it finds a dead one, with no collective timeout.
    Worker 0 hosts the service, so stopping it is the other path (its peer's heartbeats go
    unanswered)."""
    args = smoke_args(
        tiny_imdb_dir,
        tmp_path / "logs",
        "--strategy",
        "multi_worker",
        "--epochs",
        "400",
        "--checkpoint-every",
        "5",
    )
    workers = cluster.start_cluster("imdb_lstm", args, tmp_path)
    survivor = workers[1 - stopped]
    try:
        reached = cluster.wait_for_checkpoint(
            tmp_path / "logs/imdb_lstm/smoke/checkpoints", 10, survivor
        )
        assert reached is not None, (tmp_path / "worker0.log").read_text()[-3000:]
        workers[stopped].send_signal(signal.SIGSTOP)
        stopped_at = time.time()
        try:
            survivor_code = survivor.wait(timeout=60)
        except subprocess.TimeoutExpired:
            survivor_code = None
        seconds_to_fail = time.time() - stopped_at
    finally:
        workers[stopped].kill()  # SIGKILL ends a stopped process too
        cluster.stop(workers)
    last_line = (tmp_path / f"worker{1 - stopped}.log").read_text().strip().splitlines()[-1]
    assert survivor_code == 1, (survivor_code, last_line)
    assert last_line.startswith("imdb_lstm: error: lost a worker after step"), last_line
    print(f"survivor failed {seconds_to_fail:.1f} s after worker {stopped} was stopped")


@pytest.fixture(scope="module")
def word2vec_dir(tiny_imdb_dir, tmp_path_factory):
    """The folder of one smoke word2vec run."""
    logdir = tmp_path_factory.mktemp("word2vec")
    word2vec_imdb.main(smoke_args(tiny_imdb_dir, logdir))
    return logdir / "word2vec_imdb" / "smoke"


@pytest.mark.xdist_group("imdb_lstm_word2vec")  # One worker, so that word2vec trains once.
@pytest.mark.parametrize("frozen", [False, True])
def test_embeddings_start_from_word2vec(tiny_imdb_dir, word2vec_dir, tmp_path, frozen):
    vectors = np.load(word2vec_dir / "vectors.npy")
    extra = ["--init-embeddings", str(word2vec_dir)] + (["--freeze-embeddings"] if frozen else [])
    results = imdb_lstm.main(smoke_args(tiny_imdb_dir, tmp_path, *extra))
    assert results["model"] == (
        "BiLSTM + word2vec (frozen)" if frozen else "BiLSTM + word2vec (fine-tuned)"
    )
    model = keras.saving.load_model(tmp_path / "imdb_lstm" / "smoke" / "model.keras")
    table = np.asarray(model.classifier.get_layer("token_embedding").embeddings)
    assert table.shape == vectors.shape
    assert np.array_equal(table, vectors) == frozen  # fine-tuning moves the vectors
    assert model.tokenizer.get_vocabulary() == (
        (word2vec_dir / "vocabulary.txt").read_text().splitlines()
    )


def test_freeze_without_word2vec_is_one_clear_line(tiny_imdb_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        imdb_lstm.main(smoke_args(tiny_imdb_dir, tmp_path, "--freeze-embeddings"))
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "--init-embeddings" in errors[0]


def test_a_finished_run_prints_its_results_and_force_trains_again(tiny_imdb_dir, tmp_path, capsys):
    args = smoke_args(tiny_imdb_dir, tmp_path)
    first = imdb_lstm.main(args)
    run_dir = tmp_path / "imdb_lstm" / "smoke"
    files = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")}
    capsys.readouterr()

    with pytest.raises(SystemExit) as exit_info:
        imdb_lstm.main(args)  # Crashed in log_hparams after saving model.keras again.
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"imdb_lstm: {run_dir} is finished" in out
    assert f"test accuracy {100 * first['metrics']['test_accuracy']:.2f}%" in out
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")} == files

    (run_dir / "stale.txt").write_text("from the first run")
    forced = imdb_lstm.main([*args, "--force"])
    assert not (run_dir / "stale.txt").exists()
    assert forced["metrics"]["epochs_trained_this_invocation"] == 2  # From scratch.
    assert forced["metrics"]["optimizer_steps"] == first["metrics"]["optimizer_steps"]


def test_a_run_that_fails_on_its_data_leaves_no_folder(tmp_path, capsys):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "aclImdb_v1.tar.gz").write_bytes(b"not a gzip file")
    logdir = tmp_path / "logs"
    args = smoke_args(data_dir, logdir)
    with pytest.raises(SystemExit) as exit_info:
        command_line(lambda: imdb_lstm.main(args))
    assert ": error: could not extract " in str(exit_info.value.code)
    assert not (logdir / "imdb_lstm" / "smoke").exists()

    # A folder that was there before (a run to resume) stays as it was.
    checkpoint = logdir / "imdb_lstm" / "smoke" / "checkpoints" / "checkpoint"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_text("kept")
    with pytest.raises(SystemExit):
        command_line(lambda: imdb_lstm.main(args))
    assert checkpoint.read_text() == "kept"


def test_ctrl_c_saves_a_checkpoint_and_the_run_resumes(tiny_imdb_dir, tmp_path):
    """SIGINT here; SIGTERM (exit status 143) is the cluster's signal test above."""
    args = smoke_args(tiny_imdb_dir, tmp_path, "--epochs", "8", "--checkpoint-every", "4")
    checkpoints = tmp_path / "imdb_lstm" / "smoke" / "checkpoints"
    log = tmp_path / "first.log"
    first = cluster.start("imdb_lstm", args, log)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and first.poll() is None:
            latest = tf.train.latest_checkpoint(str(checkpoints))
            if latest and int(latest.rsplit("-", 1)[1]) >= 8:
                break
            time.sleep(0.1)
        assert first.poll() is None, "the run ended before the signal"
        first.send_signal(signal.SIGINT)
        code = first.wait(timeout=60)
    finally:
        cluster.stop([first])
    text = log.read_text()
    assert code == 130, (code, text[-3000:])
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    lines = [line for line in text.splitlines() if "interrupted at step" in line]
    assert len(lines) == 1, text[-3000:]
    step = int(lines[0].split("interrupted at step ")[1].split(";")[0])
    assert lines[0] == f"imdb_lstm: interrupted at step {step}; run the same command to resume"
    assert int(tf.train.latest_checkpoint(str(checkpoints)).rsplit("-", 1)[1]) == step

    second = cluster.start("imdb_lstm", args, tmp_path / "second.log")
    assert second.wait(timeout=300) == 0, (tmp_path / "second.log").read_text()[-3000:]
    assert f"Resuming from step {step} of 72" in (tmp_path / "second.log").read_text()
    results = json.loads((tmp_path / "imdb_lstm/smoke/results.json").read_text())
    assert results["metrics"]["optimizer_steps"] == 72
    # The epochs the first invocation ended come back from its checkpoint.
    assert [epoch["epoch"] for epoch in results["history"]] == list(range(1, 9))
    # The first invocation's time up to its checkpoint counts in the run's total.
    assert results["total_wall_time_seconds"] > results["wall_time_seconds"]
