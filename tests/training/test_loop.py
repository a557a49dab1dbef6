import gc
import os
import signal

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.models.lstm import build_lstm_classifier
from keras_bert_lab.training import objectives
from keras_bert_lab.training import strategy as strategies
from keras_bert_lab.training.interrupts import Interrupted
from keras_bert_lab.training.loop import ClusterError, DistributedTrainer

VOCABULARY, GLOBAL_BATCH = 40, 16


def dataset(num_examples=64, seed=0):
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(1, VOCABULARY, (num_examples, 10)).astype("int32")
    token_ids[::3, 6:] = 0  # some padding
    labels = (token_ids[:, 0] > VOCABULARY // 2).astype("int32")
    return tf.data.Dataset.from_tensor_slices(({"token_ids": token_ids}, labels))


def make_trainer(
    strategy,
    run_dir,
    initial_weights=None,
    learning_rate=0.1,
    optimizer=keras.optimizers.SGD,
    dropout=0.0,
):
    with strategy.scope():
        keras.utils.set_random_seed(1)
        model = build_lstm_classifier(VOCABULARY, 8, 4, dropout=dropout)
        if initial_weights is not None:
            model.set_weights(initial_weights)
        trainer = DistributedTrainer(
            model,
            optimizer(learning_rate),
            objectives.classification,
            strategy=strategy,
            run_dir=run_dir,
            verbose=False,
            checkpoint_every_steps=2,
        )
    return trainer


def test_two_replicas_give_the_same_weights_as_one_device(tmp_path):
    """2 replicas x batch B == 1 replica x batch 2B, step for step."""
    single = make_trainer(tf.distribute.get_strategy(), tmp_path / "single")
    initial = single.model.get_weights()
    mirrored = make_trainer(strategies.create_strategy("mirrored"), tmp_path / "mirrored", initial)
    assert mirrored.strategy.num_replicas_in_sync == 2
    data = dataset().batch(GLOBAL_BATCH)
    single.fit(data, epochs=2)
    mirrored.fit(data, epochs=2)
    assert int(single.step.numpy()) == int(mirrored.step.numpy()) == 8
    for expected, actual in zip(single.model.get_weights(), mirrored.model.get_weights()):
        np.testing.assert_allclose(actual, expected, atol=1e-5)
    moved = max(np.abs(w - w0).max() for w, w0 in zip(single.model.get_weights(), initial))
    assert moved > 1e-3  # the comparison is not between untrained models


def test_uneven_last_batch_reduces_exactly(tmp_path):
    """54 examples: the last global batch of 6 splits unevenly; the metrics
    still equal a single device's."""
    single = make_trainer(tf.distribute.get_strategy(), tmp_path / "single")
    mirrored = make_trainer(
        strategies.create_strategy("mirrored"),
        tmp_path / "mirrored",
        single.model.get_weights(),
    )
    data = dataset(54).batch(GLOBAL_BATCH)
    expected = single.evaluate(data)
    actual = mirrored.evaluate(data)
    assert actual == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_resumed_training_equals_uninterrupted_training(tmp_path, dropout):
    # With dropout, the layers' seed counters must resume too (they are not weights).
    def data():  # a new pipeline per call, as in a restarted process
        return dataset().shuffle(64, seed=3).batch(GLOBAL_BATCH)

    strategy = tf.distribute.get_strategy()

    def trainer(run_dir):
        return make_trainer(strategy, run_dir, initial, 1e-2, keras.optimizers.Adam, dropout)

    initial = make_trainer(strategy, tmp_path / "init").model.get_weights()
    uninterrupted = trainer(tmp_path / "a")
    uninterrupted_history = uninterrupted.fit(data(), epochs=3)

    trainer(tmp_path / "b").fit(data(), epochs=1, steps_per_epoch=4)
    # Interrupted after step 6: checkpoints are written every 2 steps.
    trainer(tmp_path / "b").fit(data(), epochs=2, steps_per_epoch=3)
    resumed = trainer(tmp_path / "b")
    assert resumed.restore() == 6
    history = resumed.fit(data(), epochs=3, steps_per_epoch=4)
    # Epoch 1 from the first invocation's checkpoints; the second's epoch of 3 steps was cut
    # short by the new epoch length, so it is not kept.
    assert [epoch["epoch"] for epoch in history] == [1, 2, 3] and resumed.epochs_resumed == 1
    for epoch in (0, 2):  # Epoch 2 resumed mid-way: its metrics cover its last steps only.
        for name in ("train_loss", "train_accuracy"):
            want = uninterrupted_history[epoch][name]
            assert history[epoch][name] == pytest.approx(want, abs=1e-6)
    assert int(resumed.step.numpy()) == int(uninterrupted.step.numpy()) == 12
    for expected, actual in zip(uninterrupted.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_best_weights_follow_validation_loss(tmp_path):
    trainer = make_trainer(tf.distribute.get_strategy(), tmp_path)
    data = dataset().batch(GLOBAL_BATCH)
    history = trainer.fit(data, epochs=3, validation_dataset=data)
    losses = [epoch["validation_loss"] for epoch in history]
    best_epoch = int(np.argmin(losses))
    trainer.restore_best_weights()
    assert trainer.evaluate(data)["loss"] == pytest.approx(losses[best_epoch], abs=1e-6)
    assert (tmp_path / "best.weights.h5").exists()
    assert not list(tmp_path.glob("*.partial.*"))


@pytest.mark.parametrize("phase", ["train", "evaluate"])
@pytest.mark.parametrize(
    "op", ["", "{{function_node __wrapped__CollectiveReduceV2_device_/job:worker}} "]
)
def test_a_lost_worker_is_one_line_wherever_it_happens(tmp_path, phase, op):
    # What a collective op raises when a peer worker is gone (inside a function, the op's
    # name first); the cluster tests kill a real worker, at whatever point the run is in.
    def lost_worker(*_):
        raise tf.errors.UnavailableError(
            None,
            None,
            op + "Collective ops is aborted by: Error reported from "
            "/job:worker/task:1: The following tasks are unhealthy\nmore detail",
        )

    trainer = make_trainer(tf.distribute.get_strategy(), tmp_path)
    data = dataset().batch(GLOBAL_BATCH)
    if phase == "train":
        trainer._train_function = lost_worker
        run = lambda: trainer.fit(data, epochs=1)  # noqa: E731
    else:
        trainer._evaluate_function = lost_worker
        run = lambda: trainer.evaluate(data)  # noqa: E731
    with pytest.raises(ClusterError) as raised:
        run()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("lost a worker after step 0 (Collective ops is aborted by")


def test_a_workers_checkpoint_copy_is_removed_with_its_trainer(tmp_path, monkeypatch):
    # Only the chief's checkpoints are kept; a worker saves (collectively) into a
    # temporary folder that must not outlive the run.
    monkeypatch.setattr("keras_bert_lab.training.loop.is_chief", lambda strategy: False)
    trainer = make_trainer(tf.distribute.get_strategy(), tmp_path / "worker")
    trainer.fit(dataset().batch(GLOBAL_BATCH), epochs=1)
    worker_copy = trainer.checkpoint_manager.directory
    assert os.listdir(worker_copy) and not (tmp_path / "worker" / "checkpoints").exists()
    del trainer
    gc.collect()
    assert not os.path.exists(worker_copy)


def test_a_run_stopped_in_an_epochs_end_does_it_first_when_resumed(tmp_path):
    def data():
        return dataset().shuffle(64, seed=3).batch(GLOBAL_BATCH)

    validation = dataset(32, seed=1).batch(GLOBAL_BATCH)
    strategy = tf.distribute.get_strategy()
    initial = make_trainer(strategy, tmp_path / "init").model.get_weights()
    uninterrupted = make_trainer(strategy, tmp_path / "a", initial)
    expected = uninterrupted.fit(data(), epochs=2, validation_dataset=validation)

    ends = []

    def signal_in_the_first_epoch_end(epoch, logs):
        ends.append(epoch)
        if len(ends) == 1:
            signal.raise_signal(signal.SIGTERM)  # After the validation, before its checkpoint.

    interrupted = make_trainer(strategy, tmp_path / "b", initial)
    with pytest.raises(Interrupted) as interrupt:
        interrupted.fit(
            data(),
            epochs=2,
            validation_dataset=validation,
            on_epoch_end=[signal_in_the_first_epoch_end],
        )
    assert interrupt.value.step == 4 and int(interrupted.last_epoch_end.numpy()) == 0
    resumed = make_trainer(strategy, tmp_path / "b", initial)
    history = resumed.fit(
        data(),
        epochs=2,
        validation_dataset=validation,
        on_epoch_end=[lambda epoch, logs: ends.append(epoch)],
    )
    # The first epoch's end again (its validation, its callbacks), then the second epoch.
    assert [epoch["epoch"] for epoch in history] == [1, 2] and ends == [0, 0, 1]
    # The first epoch's training logs come from the checkpoint the interruption saved.
    assert resumed.epochs_resumed == 0
    for epoch in (0, 1):
        for name in ("train_loss", "train_accuracy", "validation_loss"):
            assert history[epoch][name] == pytest.approx(expected[epoch][name], abs=1e-6)
    for want, got in zip(uninterrupted.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_a_resumed_run_counts_the_wall_time_of_the_invocations_before_it(tmp_path):
    # Each invocation's clock starts at its `started`; its checkpoints hold the total so far.
    strategy = tf.distribute.get_strategy()
    data = dataset().batch(GLOBAL_BATCH)
    first = make_trainer(strategy, tmp_path)
    first.clock.started -= 100.0  # As if the invocation had started 100 s before.
    first.fit(data, epochs=1)
    saved = float(first.clock.seconds.numpy())
    assert 100.0 < saved < 200.0 and first.clock.earlier == 0.0

    second = make_trainer(strategy, tmp_path)
    assert second.clock.earlier == 0.0 and second.restore() == 4
    assert second.clock.earlier == saved
    second.fit(data, epochs=2)
    assert saved < float(second.clock.seconds.numpy()) < second.clock.total() < saved + 100.0


def test_an_interrupted_workers_checkpoint_copy_is_removed_at_once(tmp_path, monkeypatch):
    # The interrupted process exits without finalizers (`interrupts.exit_now`).
    monkeypatch.setattr("keras_bert_lab.training.loop.is_chief", lambda strategy: False)
    trainer = make_trainer(tf.distribute.get_strategy(), tmp_path / "worker")
    worker_copy = trainer.checkpoint_manager.directory
    with pytest.raises(Interrupted):
        trainer.fit(
            dataset().batch(GLOBAL_BATCH),
            epochs=2,
            on_epoch_end=[lambda epoch, logs: signal.raise_signal(signal.SIGTERM)],
        )
    assert not os.path.exists(worker_copy)
