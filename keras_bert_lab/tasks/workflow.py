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
3. `trainer.evaluate(validation_dataset)`, on the best weights.

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
        history: one dict of metrics per epoch trained in this invocation.
        validation: the best weights' validation metrics; `{}` without validation.
        test: what the `test` hook returned, on the chief; `{}` elsewhere or without one.
        training: `parameters`, `optimizer_steps` and `train_examples_per_second` (the mean
            over the epochs of this invocation; None if it trained none).
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
):
    """Trains, restores the best weights, evaluates, then on the chief tests, saves and
    reload-checks; the steps and hooks are described in the module docstring.

    Returns:
        A `TaskOutcome`.
    """
    history = trainer.fit(
        train_dataset,
        epochs=run.config.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_dataset=validation_dataset,
        on_epoch_end=on_epoch_end,
    )
    trainer.restore_best_weights()
    validation = trainer.evaluate(validation_dataset) if validation_dataset is not None else {}
    test_metrics = {}
    if run.chief:
        serving = serving_model() if serving_model else trainer.model
        test_metrics = test(serving) if test else {}
        if save:
            save(serving)
        if check_reloaded:
            check_reloaded(serving, test_metrics)
    return TaskOutcome(history, validation, test_metrics, training_metrics(trainer, history))


def training_metrics(trainer, history):
    """`parameters`, `optimizer_steps` and the mean `train_examples_per_second` of
    `history`'s epochs that trained here (None if none did)."""
    speeds = [
        epoch["train_examples_per_second"]
        for epoch in history
        if "train_examples_per_second" in epoch
    ]
    return {
        "parameters": int(trainer.model.count_params()),
        "train_examples_per_second": float(np.mean(speeds)) if speeds else None,
        "optimizer_steps": int(trainer.step.numpy()),
    }
