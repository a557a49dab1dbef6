"""The shared task skeleton: the order of its steps, what runs on the chief only, and what
it returns."""

import time
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.tasks.workflow import run_task, task_trainer
from keras_bert_lab.training import objectives


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
    outcome = run_task(
        run,
        trainer,
        dataset(),
        steps_per_epoch=4,
        validation_dataset=dataset(),
        **recording_hooks(calls),
    )
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
    }


def test_other_workers_train_and_validate_but_do_not_test_or_save(tmp_path):
    run = fake_run(tmp_path, chief=False)
    calls = []
    outcome = run_task(
        run,
        trainer_of(run),
        dataset(),
        steps_per_epoch=4,
        validation_dataset=dataset(),
        **recording_hooks(calls),
    )
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
    run_task(run, trainer_of(run), dataset(), steps_per_epoch=4)
    saved = []
    outcome = run_task(run, trainer_of(run), dataset(), steps_per_epoch=4, save=saved.append)
    assert outcome.history == [] and len(saved) == 1
    assert outcome.training["train_examples_per_second"] is None
    assert outcome.training["optimizer_steps"] == 4


def test_a_failed_reload_check_fails_the_task(tmp_path):
    run = fake_run(tmp_path, epochs=1)

    def check_reloaded(serving, test):
        raise RuntimeError("reload differs")

    with pytest.raises(RuntimeError, match="reload differs"):
        run_task(run, trainer_of(run), dataset(), steps_per_epoch=4, check_reloaded=check_reloaded)
