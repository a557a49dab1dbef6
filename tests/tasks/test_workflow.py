"""The shared task skeleton: the order of its steps, what runs on the chief only, and what
it returns."""

import time
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.tasks.workflow import keep_better_average, run_task, task_trainer
from keras_bert_lab.training import objectives
from keras_bert_lab.training.averaging import EpochWeights


def fake_run(run_dir, chief=True, epochs=2):
    """The parts of a `tasks.run.Run` the skeleton reads."""
    return types.SimpleNamespace(
        config=types.SimpleNamespace(epochs=epochs),
        strategy=tf.distribute.get_strategy(),
        run_dir=run_dir,
        args=types.SimpleNamespace(jit_compile=False, quiet=True, checkpoint_every=100),
        chief=chief,
        started=time.time(),
        record_configuration=lambda: None,
    )


def dataset():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(32, 3)).astype("float32")
    labels = (features[:, 0] > 0).astype("int32")
    return tf.data.Dataset.from_tensor_slices((features, labels)).batch(8)


def trainer_of(run):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    return task_trainer(run, model, keras.optimizers.SGD(0.1), objectives.classification)


def run_validated(run, trainer, **options):
    """`run_task` on `dataset()`, 4 steps an epoch, validated on `dataset()`."""
    return run_task(
        run, trainer, dataset(), steps_per_epoch=4, validation_dataset=dataset(), **options
    )


def recording_hooks(calls):
    return {
        "serving_model": lambda: calls.append("serving_model") or "serving",
        "test": lambda serving: calls.append(("test", serving)) or {"accuracy": 0.5},
        "save": lambda serving: calls.append(("save", serving)),
        "check_reloaded": lambda serving, test: calls.append(("check_reloaded", serving, test)),
        "on_epoch_end": [lambda epoch, logs: calls.append(("epoch_end", epoch))],
    }


def test_steps_run_in_order_and_the_outcome_holds_every_metric(tmp_path):
    run = fake_run(tmp_path)
    trainer = trainer_of(run)
    calls = []
    outcome = run_validated(run, trainer, **recording_hooks(calls))
    assert calls == [
        ("epoch_end", 0),
        ("epoch_end", 1),
        "serving_model",
        ("test", "serving"),
        ("save", "serving"),
        ("check_reloaded", "serving", {"accuracy": 0.5}),
    ]
    assert [epoch["epoch"] for epoch in outcome.history] == [1, 2]
    best = min(epoch["validation_loss"] for epoch in outcome.history)
    assert outcome.validation["loss"] == pytest.approx(best, abs=1e-6)  # the best weights
    assert outcome.test == {"accuracy": 0.5}
    assert outcome.training == {
        "parameters": 8,
        "train_examples_per_second": pytest.approx(
            np.mean([epoch["train_examples_per_second"] for epoch in outcome.history])
        ),
        "optimizer_steps": 8,
        "epochs_trained_this_invocation": 2,
    }


def test_other_workers_train_and_validate_but_do_not_test_or_save(tmp_path):
    run = fake_run(tmp_path, chief=False)
    calls = []
    outcome = run_validated(run, trainer_of(run), **recording_hooks(calls))
    assert calls == [("epoch_end", 0), ("epoch_end", 1)]
    assert outcome.test == {} and "loss" in outcome.validation


def test_without_validation_or_hooks_the_trained_model_is_what_is_saved(tmp_path):
    run = fake_run(tmp_path, epochs=1)
    trainer = trainer_of(run)
    saved = []
    outcome = run_task(run, trainer, dataset(), steps_per_epoch=4, save=saved.append)
    assert saved == [trainer.model]
    assert outcome.validation == {} and outcome.test == {}
    assert outcome.training["optimizer_steps"] == 4


def test_a_resumed_finished_run_trains_nothing_and_still_saves(tmp_path):
    run = fake_run(tmp_path, epochs=1)
    first = run_task(run, trainer_of(run), dataset(), steps_per_epoch=4)
    saved = []
    outcome = run_task(run, trainer_of(run), dataset(), steps_per_epoch=4, save=saved.append)
    assert outcome.history == first.history and len(saved) == 1  # From the checkpoint.
    assert outcome.training == first.training | {"epochs_trained_this_invocation": 0}


def test_a_failed_reload_check_fails_the_task(tmp_path):
    run = fake_run(tmp_path, epochs=1)

    def check_reloaded(serving, test):
        raise RuntimeError("reload differs")

    with pytest.raises(RuntimeError, match="reload differs"):
        run_task(run, trainer_of(run), dataset(), steps_per_epoch=4, check_reloaded=check_reloaded)


def test_averaging_keeps_the_last_epochs_and_the_weights_that_validate_best(tmp_path):
    run = fake_run(tmp_path, epochs=4)
    trainer = trainer_of(run)
    outcome = run_validated(run, trainer, average_last_epochs=3)
    kept = sorted(path.name for path in (tmp_path / "epoch_weights").iterdir())
    assert kept == ["epoch-0002.weights.h5", "epoch-0003.weights.h5", "epoch-0004.weights.h5"]
    report = outcome.training
    best_epoch = min(epoch["validation_loss"] for epoch in outcome.history)
    assert report["validation_loss_best_epoch"] == pytest.approx(best_epoch, abs=1e-6)
    assert outcome.validation["loss"] == pytest.approx(
        min(best_epoch, report["validation_loss_averaged"]), abs=1e-6
    )
    assert report["averaged_epochs"] == (
        3 if report["validation_loss_averaged"] < best_epoch else 0
    )
    assert trainer.evaluate(dataset())["loss"] == pytest.approx(outcome.validation["loss"])


def squared_error(labels, outputs):
    """A `training.objectives` objective: the mean squared error as a loss term."""
    errors = tf.reshape(tf.square(outputs - labels), [-1])
    return {"loss": objectives.Term(tf.reduce_sum(errors), tf.cast(tf.size(errors), tf.float32))}


@pytest.mark.parametrize("averaged_is_better", [True, False])
def test_the_average_is_kept_only_where_its_validation_loss_is_lower(tmp_path, averaged_is_better):
    """Two epochs of a one-weight model fitting y = x: their mean is the exact fit (w = 1) from
    w = 0 and w = 2, and off it from w = 1 and w = 3, where the best epoch, w = 1, stays."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    run = fake_run(tmp_path)
    trainer = task_trainer(run, model, keras.optimizers.SGD(0.1), squared_error)
    features = np.linspace(-1, 1, 8, dtype="float32")[:, None]
    validation = tf.data.Dataset.from_tensor_slices((features, features)).batch(4)
    epochs = [0.0, 2.0] if averaged_is_better else [1.0, 3.0]
    saver = EpochWeights(model, tmp_path, keep=2, chief=True)
    for epoch, value in enumerate(epochs):
        model.set_weights([np.full((1, 1), value, "float32")])
        saver(epoch, {})
    best_epoch = epochs[0] if averaged_is_better else 1.0
    model.set_weights([np.full((1, 1), best_epoch, "float32")])
    kept, report = keep_better_average(
        trainer, validation, trainer.evaluate(validation), saver.paths()
    )
    expected = 1.0 if averaged_is_better else best_epoch
    np.testing.assert_allclose(model.get_weights()[0], [[expected]])
    assert report["averaged_epochs"] == (2 if averaged_is_better else 0)
    assert kept["loss"] == pytest.approx(trainer.evaluate(validation)["loss"])
    assert (report["validation_loss_averaged"] < report["validation_loss_best_epoch"]) is (
        averaged_is_better
    )


def test_one_epoch_is_no_average(tmp_path):
    run = fake_run(tmp_path, epochs=1)
    outcome = run_validated(run, trainer_of(run), average_last_epochs=3)
    assert outcome.training["averaged_epochs"] == 0
    assert "validation_loss_averaged" not in outcome.training
