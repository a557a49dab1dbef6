"""End-to-end runs of `python -m experiments.imdb_lstm` on a tiny IMDB."""

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


def test_smoke_run_trains_logs_saves_and_reloads(tiny_imdb_dir, tmp_path):
    results = imdb_lstm.main(smoke_args(tiny_imdb_dir, tmp_path))
    run_dir = tmp_path / "imdb_lstm" / "smoke"
    on_disk = json.loads((run_dir / "results.json").read_text())
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
        (["--set", "lstm_units=many"], "lstm_units takes a int"),
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


def test_multi_worker_cluster_of_two_processes(tiny_imdb_dir, tmp_path):
    workers = cluster.start_cluster(
        "imdb_lstm",
        smoke_args(tiny_imdb_dir, tmp_path / "logs", "--strategy", "multi_worker"),
        tmp_path,
    )
    try:
        codes = [worker.wait(timeout=300) for worker in workers]
    finally:
        cluster.stop(workers)
    logs = [(tmp_path / f"worker{i}.log").read_text()[-3000:] for i in range(2)]
    assert codes == [0, 0], logs
    results = json.loads((tmp_path / "logs/imdb_lstm/smoke/results.json").read_text())
    assert results["strategy"] == "multi_worker"
    assert results["replicas"] == 2


def test_sigkill_mid_epoch_then_resume_finishes_with_the_same_steps(tiny_imdb_dir, tmp_path):
    args = smoke_args(tiny_imdb_dir, tmp_path, "--epochs", "60", "--checkpoint-every", "5")
    checkpoints = tmp_path / "imdb_lstm" / "smoke" / "checkpoints"
    first = cluster.start("imdb_lstm", args, tmp_path / "first.log")
    try:
        deadline = time.time() + 240
        while time.time() < deadline and first.poll() is None:
            latest = tf.train.latest_checkpoint(str(checkpoints))
            if latest and int(latest.rsplit("-", 1)[1]) >= 40:
                break
            time.sleep(0.2)
        assert first.poll() is None, "the run ended before it could be killed"
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        cluster.stop([first])
    killed_at = int(tf.train.latest_checkpoint(str(checkpoints)).rsplit("-", 1)[1])
    assert killed_at < 60 * 9  # 72 training reviews / batch 8 = 9 steps per epoch

    started = time.time()
    second = cluster.start("imdb_lstm", args, tmp_path / "second.log")
    assert second.wait(timeout=300) == 0, (tmp_path / "second.log").read_text()[-3000:]
    resumed_seconds = time.time() - started
    log = (tmp_path / "second.log").read_text()
    assert f"Resuming from step {killed_at} of 540" in log
    results = json.loads((tmp_path / "imdb_lstm/smoke/results.json").read_text())
    assert results["metrics"]["optimizer_steps"] == 540
    print(
        f"killed at step {killed_at}; resumed run took {resumed_seconds:.1f} s; "
        f"test accuracy {results['metrics']['test_accuracy']:.3f}"
    )


def test_a_dead_worker_fails_the_cluster_quickly_and_a_restart_resumes(tiny_imdb_dir, tmp_path):
    args = smoke_args(
        tiny_imdb_dir,
        tmp_path / "logs",
        "--strategy",
        "multi_worker",
        "--epochs",
        "40",
        "--checkpoint-every",
        "5",
    )
    checkpoints = tmp_path / "logs/imdb_lstm/smoke/checkpoints"
    workers = cluster.start_cluster("imdb_lstm", args, tmp_path)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and workers[0].poll() is None:
            latest = tf.train.latest_checkpoint(str(checkpoints))
            if latest and int(latest.rsplit("-", 1)[1]) >= 10:
                break
            time.sleep(0.2)
        workers[1].kill()
        killed = time.time()
        survivor_code = workers[0].wait(timeout=180)
        seconds_to_fail = time.time() - killed
    finally:
        cluster.stop(workers)
    last_line = (tmp_path / "worker0.log").read_text().strip().splitlines()[-1]
    assert survivor_code == 1, last_line
    assert last_line.startswith("imdb_lstm: error: lost a worker after step"), last_line
    # The coordination service's heartbeats, not a collective timeout.
    assert seconds_to_fail < 60

    restart_logs = tmp_path / "restart"
    restart_logs.mkdir()
    restarted = cluster.start_cluster("imdb_lstm", args, restart_logs)
    try:
        codes, threads = cluster.wait_counting_threads(restarted, timeout=300)
    finally:
        cluster.stop(restarted)
    log = (restart_logs / "worker0.log").read_text()
    assert codes == [0, 0], log[-3000:]
    # About 130 at rest; a thread per collective op (a collective timeout,
    # tensorflow/tensorflow#62466) gave thousands within these 190 steps.
    assert max(threads) < 500, threads
    assert "Resuming from step" in log
    results = json.loads((tmp_path / "logs/imdb_lstm/smoke/results.json").read_text())
    assert results["metrics"]["optimizer_steps"] == 40 * 5  # 72 reviews / global batch 16
    print(
        f"survivor failed {seconds_to_fail:.1f} s after the kill; "
        f"at most {max(threads)} threads a worker after the restart"
    )


@pytest.mark.parametrize("frozen", [False, True])
def test_embeddings_start_from_word2vec(tiny_imdb_dir, tmp_path, frozen):
    word2vec_imdb.main(smoke_args(tiny_imdb_dir, tmp_path))
    word2vec_dir = tmp_path / "word2vec_imdb" / "smoke"
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
