"""The loop's callbacks, one at a time: TensorBoard windows, checkpoint cadence, best weights
and the printed line (tests/training/test_loop.py runs them inside `fit`)."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.training import callbacks


def test_ratios_add_the_loss_terms():
    metrics = callbacks.ratios(
        {"mlm_loss": (2.0, 4.0), "nsp_loss": (3.0, 2.0), "mlm_accuracy": (1.0, 4.0)}
    )
    assert metrics == {"mlm_loss": 0.5, "nsp_loss": 1.5, "mlm_accuracy": 0.25, "loss": 2.0}


def test_metric_sums_accumulate_totals_counts_and_examples():
    totals = callbacks.MetricSums()
    totals.add({"loss": (4.0, 8.0)}, 8.0)
    totals.add({"loss": (2.0, 2.0)}, 2.0)
    assert totals.sums == {"loss": (6.0, 10.0)} and totals.examples == 10.0
    assert totals.ratios() == {"loss": 0.6}
    assert totals.seconds() >= 0


def test_training_scalars_every_n_steps_and_at_each_epoch_end(monkeypatch):
    written = []
    monkeypatch.setattr(
        callbacks, "write_scalars", lambda _, metrics, step: written.append((step, metrics))
    )
    scalars = callbacks.TrainingScalars(None, every=2, steps_per_epoch=5, learning_rate=lambda: 0.1)
    step = 0
    for epoch in range(2):
        scalars.on_epoch_begin(epoch)
        for _ in range(5):
            step += 1
            scalars.on_step_end(step, {"loss": (float(step), 1.0)}, 4.0)
    assert [step for step, _ in written] == [2, 4, 5, 6, 8, 10]
    # Each window's mean: steps 3-4, then step 5 alone, then step 6 alone (a new epoch).
    assert [metrics["loss"] for _, metrics in written] == [1.5, 3.5, 5.0, 6.0, 7.5, 9.5]
    assert all(metrics["learning_rate"] == 0.1 for _, metrics in written)
    assert all(metrics["examples_per_second"] > 0 for _, metrics in written)


class RecordingManager:
    def __init__(self):
        self.saved = []

    def save(self, checkpoint_number):
        self.saved.append(checkpoint_number)


def test_checkpoints_within_epochs_and_at_their_ends():
    manager, last_epoch_end = RecordingManager(), tf.Variable(0, dtype=tf.int64)
    checkpoints = callbacks.Checkpoints(
        manager, 3, steps_per_epoch=4, last_epoch_end=last_epoch_end
    )
    step = 0
    for epoch in range(3):
        checkpoints.on_epoch_begin(epoch)
        for _ in range(4):
            step += 1
            checkpoints.on_step_end(step, {}, 1.0)
        assert int(last_epoch_end.numpy()) == 4 * epoch  # Not yet this epoch's.
        checkpoints.on_epoch_end(epoch, {})
        assert int(last_epoch_end.numpy()) == 4 * (epoch + 1)
    # Step 12 is both a multiple of 3 and an epoch end: saved once.
    assert manager.saved == [3, 4, 6, 8, 9, 12]


def test_best_weights_follow_the_lowest_validation_loss(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    best_loss = tf.Variable(math.inf, dtype=tf.float64)
    path = str(tmp_path / "best.weights.h5")
    best = callbacks.BestWeights(model, best_loss, path, chief=True)
    kept = None
    for epoch, loss in enumerate([1.0, 0.5, math.nan, 0.7]):
        model.set_weights([w + 1.0 for w in model.get_weights()])
        best.on_epoch_end(epoch, {"validation_loss": loss})
        if loss == 0.5:
            kept = model.get_weights()
    best.on_epoch_end(4, {"train_loss": 0.1})  # no validation: nothing to compare
    assert float(best_loss.numpy()) == 0.5
    best.restore()
    for actual, expected in zip(model.get_weights(), kept):
        np.testing.assert_array_equal(actual, expected)
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"]  # no partial file

    # A resumed process has no weights in memory: it reads the chief's file.
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    callbacks.BestWeights(model, best_loss, path, chief=True).restore()
    for actual, expected in zip(model.get_weights(), kept):
        np.testing.assert_array_equal(actual, expected)


def test_best_weights_are_written_by_the_chief_only(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    best = callbacks.BestWeights(
        model, tf.Variable(math.inf, dtype=tf.float64), str(tmp_path / "best.weights.h5"), False
    )
    best.on_epoch_end(0, {"validation_loss": 1.0})
    assert best.weights is not None and not list(tmp_path.iterdir())


@pytest.mark.parametrize("verbose", [True, False])
def test_epoch_summary_is_one_line(capsys, verbose):
    logs = {"train_loss": 0.123456, "epoch": 3, "epoch_seconds": 12.0}
    callbacks.EpochSummary(verbose).on_epoch_end(2, logs)
    expected = "Epoch 3: train_loss=0.1235, epoch_seconds=12\n" if verbose else ""
    assert capsys.readouterr().out == expected


def test_epoch_end_function_gets_epoch_and_logs():
    calls = []
    callbacks.EpochEndFunction(lambda epoch, logs: calls.append((epoch, logs))).on_epoch_end(
        1, {"epoch": 2}
    )
    assert calls == [(1, {"epoch": 2})]


def test_progress_lines_at_most_every_interval_with_the_time_left(capsys):
    times = iter([0.0, 10.0, 20.0, 35.0, 40.0, 70.0])  # The first step end is tracing.
    progress = callbacks.ProgressLines(
        steps_per_epoch=10, interval_seconds=30, clock=lambda: next(times)
    )
    progress.on_epoch_begin(1)
    for step in range(11, 17):
        progress.on_step_end(step, {"loss": (float(step), 1.0)}, 4.0)
    lines = capsys.readouterr().out.splitlines()
    # 30 s after the first step end (at step 14), then 30 s after that line (step 16).
    assert lines == [
        "epoch 2: step 4/10, 11.7 s/step, 1.2 min left in the epoch; loss 12.5000",
        "epoch 2: step 6/10, 14 s/step, 0.9 min left in the epoch; loss 13.5000",
    ]
