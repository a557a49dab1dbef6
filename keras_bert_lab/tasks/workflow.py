"""The skeleton every task follows, from a built model to its metrics: train, restore the
best weights, evaluate, save, reload-check.

A task builds its model, optimizer and datasets, makes the trainer with `task_trainer` and
hands the rest to `run_task`:

    trainer = task_trainer(run, model, optimizer, objective)
    outcome = run_task(
        run,
        trainer,
        train_dataset,
        steps_per_epoch=run.steps_per_epoch(num_train_examples),
        validation_dataset=validation_dataset,
        test=...,
        save=...,
        check_reloaded=...,
    )
    metrics = outcome.training | {f"test_{k}": v for k, v in outcome.test.items()}

`run_task` runs, in order:

1. `trainer.fit(train_dataset, epochs=run.config.epochs, ...)`, with `validation_dataset` at
   each epoch end and the `on_epoch_end` functions (`fn(epoch, logs)`);
2. `trainer.restore_best_weights()`: the weights with the lowest validation loss;
3. `trainer.evaluate(validation_dataset)`, on the best weights; with `average_last_epochs`
   n > 1, the mean of the weights of the last n epoch ends (`training.averaging`) is
   evaluated too, and kept instead where its validation loss is lower (`keep_better_average`).

   These three run on every worker of a cluster (they are collective). Nothing after them
   is, so the hooks run on the chief only:

4. `serving = serving_model()`: what is tested and saved (a raw-text model around a
   classifier; a copy of a translator outside the distribution strategy); default: the
   trained model, `trainer.model`;
5. `test_metrics = test(serving)`: a dict of test metrics;
6. `save(serving)`: writes the artefacts into `run.run_dir` (atomically);
7. `check_reloaded(serving, test_metrics)`: loads back what `save` wrote and raises
   `RuntimeError` unless it gives the same results as `serving`.

Each hook is optional. The translation task fits the same mould: `serving_model` copies the
trained weights into its `TranslationPipeline`, `test` scores BLEU and decoding speed, `save`
writes the pipeline and the SavedModel, `check_reloaded` compares their greedy translations;
its example translations at each epoch end are an `on_epoch_end` function, built with the
trainer from `task_trainer`.
"""

import dataclasses

import numpy as np

from keras_bert_lab.training.averaging import EpochWeights, average_weights
from keras_bert_lab.training.loop import DistributedTrainer


def task_trainer(run, model, optimizer, objective):
    """The `DistributedTrainer` of `model` for a `tasks.run.Run`: its strategy, folder, XLA,
    progress and checkpoint flags; its clock becomes the run's (the wall time of earlier
    invocations in `results.json`). The run records its configuration first (a later
    invocation with other flags is refused instead of resuming these checkpoints)."""
    run.record_configuration()
    trainer = DistributedTrainer(
        model,
        optimizer,
        objective,
        strategy=run.strategy,
        run_dir=run.run_dir,
        jit_compile=run.args.jit_compile,
        verbose=not run.args.quiet,
        checkpoint_every_steps=run.args.checkpoint_every,
        started=run.started,
    )
    run.clock = trainer.clock
    return trainer


@dataclasses.dataclass
class TaskOutcome:
    """What `run_task` returns.

    Attributes:
        history: one dict of metrics per epoch of the run, those of earlier invocations
            first (`DistributedTrainer.fit`).
        validation: the best weights' validation metrics; `{}` without validation.
        test: what the `test` hook returned, on the chief; `{}` elsewhere or without one.
        training: `parameters`, `optimizer_steps`, `epochs_trained_this_invocation` and
            `train_examples_per_second` (the mean over the run's epochs; None if none
            trained); with checkpoint averaging, also `keep_better_average`'s report.
    """

    history: list
    validation: dict
    test: dict
    training: dict


def run_task(
    run,
    trainer,
    train_dataset,
    *,
    steps_per_epoch,
    validation_dataset=None,
    on_epoch_end=(),
    serving_model=None,
    test=None,
    save=None,
    check_reloaded=None,
    average_last_epochs=1,
):
    """Trains, restores the best weights (or the mean of the last `average_last_epochs`
    epochs' where it validates better), evaluates, then on the chief tests, saves and
    reload-checks; the steps and hooks are described in the module docstring.

    Returns:
        A `TaskOutcome`.
    """
    epoch_weights = None
    if average_last_epochs > 1:
        epoch_weights = EpochWeights(trainer.model, run.run_dir, average_last_epochs, run.chief)
        on_epoch_end = [*on_epoch_end, epoch_weights]
    history = trainer.fit(
        train_dataset,
        epochs=run.config.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_dataset=validation_dataset,
        on_epoch_end=on_epoch_end,
    )
    trainer.restore_best_weights()
    validation = trainer.evaluate(validation_dataset) if validation_dataset is not None else {}
    averaging = {}
    if epoch_weights is not None and validation:
        validation, averaging = keep_better_average(
            trainer, validation_dataset, validation, epoch_weights.paths()
        )
    test_metrics = {}
    if run.chief:
        serving = serving_model() if serving_model else trainer.model
        test_metrics = test(serving) if test else {}
        if save:
            save(serving)
        if check_reloaded:
            check_reloaded(serving, test_metrics)
    training = training_metrics(trainer, history) | averaging
    return TaskOutcome(history, validation, test_metrics, training)


def keep_better_average(trainer, validation_dataset, validation, paths):
    """Checkpoint averaging, kept only where it helps: evaluates the mean of the epoch
    weights `paths` (`averaging.average_weights`) on `validation_dataset` and keeps it if its
    loss is below `validation["loss"]`, that of the model's current (best-epoch) weights;
    otherwise puts those back.

    Returns:
        `(validation metrics of the weights kept, report)`, the report holding
        `averaged_epochs` (how many epochs the kept weights average; 0: the best epoch's
        alone) and, when there were two epochs or more to average, `validation_loss_averaged`
        and `validation_loss_best_epoch`.
    """
    if len(paths) < 2:
        return validation, {"averaged_epochs": 0}
    best_epoch = trainer.model.get_weights()
    average_weights(trainer.model, paths)
    averaged = trainer.evaluate(validation_dataset)
    report = {
        "validation_loss_averaged": averaged["loss"],
        "validation_loss_best_epoch": validation["loss"],
    }
    if averaged["loss"] < validation["loss"]:
        return averaged, report | {"averaged_epochs": len(paths)}
    trainer.model.set_weights(best_epoch)
    return validation, report | {"averaged_epochs": 0}


def training_metrics(trainer, history):
    """`parameters`, `optimizer_steps`, `epochs_trained_this_invocation` and the mean
    `train_examples_per_second` of `history`'s epochs that trained (None if none did; an
    epoch whose end alone was redone after an interruption did not)."""
    speeds = [
        epoch["train_examples_per_second"]
        for epoch in history
        if "train_examples_per_second" in epoch
    ]
    return {
        "parameters": int(trainer.model.count_params()),
        "train_examples_per_second": float(np.mean(speeds)) if speeds else None,
        "optimizer_steps": int(trainer.step.numpy()),
        "epochs_trained_this_invocation": len(history) - trainer.epochs_resumed,
    }
