"""The distributed training loop: `strategy.run` inside `tf.function`, with
step-level checkpoints that survive SIGKILL.

Why not `model.fit`: under Keras 3.15, `fit` fails with
`MultiWorkerMirroredStrategy` (keras-team/keras#20585) and, for some models,
with `MirroredStrategy` (keras-team/keras#21069). This loop is the one code
path for every strategy, from the default one on a laptop to several hosts.

Losses reduce exactly: an objective returns sums and counts
(`keras_bert_lab.training.objectives`); each replica divides its sums by
the *global* count, and the optimizer sums gradients over replicas, so the
update equals that of one device with the whole global batch.

Fault tolerance: a `tf.train.CheckpointManager` saves the model, the
optimizer and the step counter every `checkpoint_every_steps` steps and at
each epoch end (TensorFlow writes a checkpoint to temporary files and renames
them, and updates the index last, so a kill mid-save leaves the previous
checkpoint in force). Started again with the same command, training restores
the newest checkpoint that reads back whole (`keras_bert_lab.training.checkpoints`)
and skips the batches already seen in the deterministic, seeded data stream, so
the total number of optimizer steps, and the weights, are those of an
uninterrupted run.

What `fit` does besides the optimizer steps (TensorBoard scalars, the best
weights, checkpoint cadence, the printed lines) lives in
`keras_bert_lab.training.callbacks`, one callback per concern.
"""

import contextlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import weakref

import keras
import numpy as np
import tensorflow as tf

from keras_bert_lab.training import checkpoints
from keras_bert_lab.training.callbacks import (
    BestWeights,
    Checkpoints,
    EpochEndFunction,
    EpochSummary,
    MetricSums,
    ProgressLines,
    TrainingScalars,
    write_scalars,
)
from keras_bert_lab.training.interrupts import StopOnSignal
from keras_bert_lab.training.objectives import LOSS_TERMS
from keras_bert_lab.training.strategy import is_chief

SUM = tf.distribute.ReduceOp.SUM


class ClusterError(RuntimeError):
    """A worker of a multi-worker run is gone; the message is one line."""


def count_batches(dataset):
    """Number of batches in one pass of a finite dataset."""
    cardinality = int(dataset.cardinality())
    if cardinality >= 0:
        return cardinality
    return int(dataset.reduce(np.int64(0), lambda count, _: count + 1))


class DistributedTrainer:
    """Trains `model` on `(features, labels)` batches with `objective`.

    Build the model and optimizer under `strategy.scope()` first.

    Args:
        model: a Keras model; `model(features, training=...)` gives outputs.
        optimizer: a Keras optimizer (a `LossScaleOptimizer` under
            `mixed_float16`).
        objective: `objective(labels, outputs) -> {name: Term}`.
        strategy: the `tf.distribute.Strategy`.
        run_dir: folder for checkpoints and TensorBoard logs.
        jit_compile: compile each replica's step with XLA.
        checkpoint_every_steps: save this often (and at each epoch end).
        log_every_steps: write training scalars to TensorBoard this often.
        max_checkpoints: checkpoints kept on disk.
        verbose: show a progress bar.
        started: `time.time()` when the run's invocation started (`checkpoints.RunClock`);
            default: now.
    """

    def __init__(
        self,
        model,
        optimizer,
        objective,
        *,
        strategy,
        run_dir,
        jit_compile=False,
        checkpoint_every_steps=200,
        log_every_steps=20,
        max_checkpoints=2,
        verbose=True,
        started=None,
    ):
        self.model = model
        self.optimizer = optimizer
        self.objective = objective
        self.strategy = strategy
        self.run_dir = os.fspath(run_dir)
        self.jit_compile = jit_compile
        self.checkpoint_every_steps = checkpoint_every_steps
        self.log_every_steps = log_every_steps
        self.verbose = verbose
        self.chief = is_chief(strategy)

        with strategy.scope():
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.best_validation_loss = tf.Variable(
                math.inf, dtype=tf.float64, trainable=False, name="best_loss"
            )
            self.last_epoch_end = tf.Variable(
                0, dtype=tf.int64, trainable=False, name="last_epoch_end"
            )
            wall_seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="wall_seconds")
            self.optimizer.build(self.model.trainable_variables)
        self.epoch_logs = tf.Variable("[]", dtype=tf.string, trainable=False, name="epoch_logs")
        self._checkpointed = {
            "model": model,
            "optimizer": optimizer,
            "step": self.step,
            "best_validation_loss": self.best_validation_loss,
            # Keras reaches a model's weights through the optimizer only. Its other state,
            # the dropout layers' seed counters above all, is saved too, so that a resumed
            # run draws the dropout masks an uninterrupted one would have.
            checkpoints.MODEL_STATE: list(model.non_trainable_variables),
            # A run interrupted in an epoch's end does it first when resumed.
            checkpoints.LAST_EPOCH_END: self.last_epoch_end,
            checkpoints.WALL_SECONDS: wall_seconds,
            checkpoints.EPOCH_LOGS: self.epoch_logs,
        }
        self.clock = checkpoints.RunClock(wall_seconds, time.time() if started is None else started)
        self.checkpoint = tf.train.Checkpoint(**self._checkpointed)
        # Every worker saves (saving is collective) but only the chief's
        # copy is kept; every worker restores from the chief's. A worker's
        # copy goes to a temporary folder, removed with the trainer (or when
        # its training is interrupted: the process then exits at once).
        self.checkpoint_dir = os.path.join(self.run_dir, "checkpoints")
        save_dir = self.checkpoint_dir
        self._remove_worker_copy = lambda: None
        if not self.chief:
            save_dir = tempfile.mkdtemp(prefix="kbl-worker-checkpoint-")
            self._remove_worker_copy = weakref.finalize(
                self, shutil.rmtree, save_dir, ignore_errors=True
            )
        self.checkpoint_manager = checkpoints.ClockedCheckpointManager(
            self.checkpoint, save_dir, max_checkpoints, self.clock
        )
        self.epochs_resumed = 0  # Of the epochs `fit` returned, those of earlier invocations.
        self._train_function = None
        self._evaluate_function = None
        self._writers = {}
        self._best_weights = BestWeights(
            model, self.best_validation_loss, self.best_weights_path, chief=self.chief
        )

    # ------------------------------------------------------------------ steps

    @staticmethod
    def _all_reduce_terms(terms, examples, stop_vote=0.0):
        """Sums every term's total and count, the example count and the
        replicas' votes to stop (`interrupts.StopOnSignal`) over all
        replicas in ONE collective, inside the replica context.

        One collective, issued before the gradients' all-reduce (the loss
        needs its counts), keeps every replica's collectives in the same
        order; several independent reductions may be issued in different
        orders on different devices, which mixes them up or deadlocks.

        Returns:
            `({name: (global_total, global_count)}, global_examples, votes)`.
        """
        names = sorted(terms)
        local = tf.stack(
            [terms[name].total for name in names]
            + [terms[name].count for name in names]
            + [examples, tf.cast(stop_vote, tf.float32)]
        )
        reduced = tf.distribute.get_replica_context().all_reduce(SUM, tf.stop_gradient(local))
        sums = {
            name: (reduced[index], reduced[len(names) + index]) for index, name in enumerate(names)
        }
        return sums, reduced[-2], reduced[-1]

    @staticmethod
    def _examples(labels):
        return tf.cast(tf.shape(tf.nest.flatten(labels)[0])[0], tf.float32)

    def _replica_train_step(self, features, labels, stop_vote):
        with tf.GradientTape() as tape:
            outputs = self.model(features, training=True)
            terms = self.objective(labels, outputs)
            sums, examples, votes = self._all_reduce_terms(terms, self._examples(labels), stop_vote)
            # Each replica's share of the global mean: the optimizer sums
            # the replicas' gradients.
            loss = tf.add_n(
                [
                    terms[name].total / tf.maximum(sums[name][1], 1.0)
                    for name in LOSS_TERMS
                    if name in terms
                ]
            )
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.model.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return sums, examples, votes

    def _replica_evaluate_step(self, features, labels):
        outputs = self.model(features, training=False)
        sums, _, _ = self._all_reduce_terms(self.objective(labels, outputs), self._examples(labels))
        return sums

    def _first_replica(self, per_replica):
        """The value of the first local replica (all replicas hold the same
        all-reduced values)."""
        return tf.nest.map_structure(
            lambda value: self.strategy.experimental_local_results(value)[0],
            per_replica,
        )

    def _make_train_function(self):
        """The step traced as one graph. Traced with `autograph=False`, as Keras 3's own
        trainer does: the step has no tensor-dependent Python control flow, and autograph's
        conversion of every function it calls costs a third of a small run's tracing."""
        replica_step = self._replica_train_step
        if self.jit_compile:
            replica_step = tf.function(replica_step, jit_compile=True, autograph=False)

        @tf.function(autograph=False)
        def train_function(iterator, stop_vote):
            features, labels = next(iterator)
            sums, examples, votes = self._first_replica(
                self.strategy.run(replica_step, args=(features, labels, stop_vote))
            )
            self.step.assign_add(1)
            return sums, examples, votes

        return train_function

    def _run_train_function(self, iterator, stop_vote):
        """One optimizer step: `({name: (total, count)}, examples, votes)` of its global
        batch, as floats; `votes` sums the workers' `stop_vote`s."""
        with self._lost_worker_is_a_cluster_error():
            sums, examples, votes = self._train_function(iterator, tf.constant(stop_vote))
            sums = {name: (float(total), float(count)) for name, (total, count) in sums.items()}
            return sums, float(examples), float(votes)

    @contextlib.contextmanager
    def _lost_worker_is_a_cluster_error(self):
        """Turns the collective-op error a dead worker causes (in a training
        step or an evaluation) into a one-line `ClusterError`."""
        try:
            yield
        except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as error:
            lines = str(error).strip().splitlines()
            reason = next((line for line in lines if "aborted by" in line), lines[0])
            # Without the `{{function_node ...}}` of the op that failed, which names no worker.
            reason = re.sub(r"^\{\{[^}]*\}\}\s*", "", reason.strip())
            raise ClusterError(
                f"lost a worker after step {int(self.step.numpy())} "
                f"({reason[:160]}); "
                "start every worker again with the same command to resume"
            ) from None

    # -------------------------------------------------------------- logging

    def _writer(self, split):
        if split not in self._writers:
            self._writers[split] = (
                tf.summary.create_file_writer(os.path.join(self.run_dir, split))
                if self.chief
                else tf.summary.create_noop_writer()
            )
        return self._writers[split]

    def _learning_rate(self):
        return float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))

    # ------------------------------------------------------------ training

    def _distribute(self, dataset):
        options = tf.data.Options()
        # In-memory datasets cannot be split by file: each worker keeps its
        # share of every global batch.
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return self.strategy.experimental_distribute_dataset(dataset.with_options(options))

    def restore(self):
        """Restores the newest intact checkpoint, if any, warning about damaged newer ones
        (`checkpoints.resume_point`); returns the step reached.

        Raises:
            CheckpointError: there are checkpoints, but none reads back.
        """
        latest = checkpoints.resume_point(self.checkpoint_dir, warn=self.chief)
        if latest:
            missing = checkpoints.restore(self._checkpointed, latest)
            if checkpoints.LAST_EPOCH_END in missing:
                self.last_epoch_end.assign(self.step)  # Saved only after its epoch's end, then.
            self.clock.restored()
        return int(self.step.numpy())

    def fit(
        self,
        train_dataset,
        *,
        epochs,
        steps_per_epoch=None,
        validation_dataset=None,
        on_epoch_end=(),
    ):
        """Trains for `epochs` epochs of `steps_per_epoch` global batches.

        Args:
            train_dataset: one epoch of `(features, labels)` global batches,
                shuffled with a fixed seed (reshuffled each iteration); it is
                repeated, so an epoch is `steps_per_epoch` batches.
            epochs: int.
            steps_per_epoch: int, default: the batches in one pass.
            validation_dataset: evaluated at each epoch end; the weights with
                the lowest validation loss are kept in `best.weights.h5`.
            on_epoch_end: callables `fn(epoch, logs)` run at each epoch end.

        Returns:
            One dict of metrics per epoch of the run, earlier invocations' (checkpointed) first.
        """
        steps_per_epoch = steps_per_epoch or count_batches(train_dataset)
        total_steps = epochs * steps_per_epoch
        step = self.restore()
        # Ctrl-C or SIGTERM stops at a step it can resume from (`interrupts.StopOnSignal`).
        stop = StopOnSignal(self.checkpoint_manager, cluster=self._cluster())
        callbacks = self._callbacks(steps_per_epoch, on_epoch_end)
        # Interrupted in the end of the epoch that ended at `step`: that end is done again.
        redo_epoch_end = step % steps_per_epoch == 0 and int(self.last_epoch_end.numpy()) < step
        epochs_ended = step // steps_per_epoch - redo_epoch_end
        saved = {logs["epoch"]: logs for logs in json.loads(self.epoch_logs.numpy())}
        history = [saved[epoch] for epoch in sorted(saved) if epoch <= epochs_ended]
        self.epochs_resumed = len(history)

        def end_epoch(epoch, logs):
            self._end_epoch(epoch, logs, history, validation_dataset, callbacks, stop)

        with stop, self._flushing_writers(), self._removing_worker_copy_if_interrupted():
            if redo_epoch_end:  # With its training logs if the interruption saved them.
                end_epoch(epochs_ended, saved.get(epochs_ended + 1, {"epoch": epochs_ended + 1}))
            if step >= total_steps:
                return history
            if step and self.chief:
                print(f"Resuming from step {step} of {total_steps}")
            iterator = iter(self._distribute(train_dataset.repeat().skip(step)))
            if self._train_function is None:
                self._train_function = self._make_train_function()
            while step < total_steps:
                epoch = step // steps_per_epoch
                logs = self._train_epoch(iterator, epoch, steps_per_epoch, callbacks, stop)
                end_epoch(epoch, logs)
                step = int(self.step.numpy())
        return history

    def _end_epoch(self, epoch, logs, history, validation_dataset, callbacks, stop):
        """An epoch's end: validation, its logs added to `history` and `epoch_logs`, then the
        callbacks (`Checkpoints` saves it); a signal stops it at once (`StopOnSignal.epoch_end`)."""
        with stop.epoch_end(int(self.step.numpy())):
            if validation_dataset is not None:
                logs |= self._validate(validation_dataset)
            history.append(logs)
            self.epoch_logs.assign(json.dumps(history, default=float))
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)

    @contextlib.contextmanager
    def _flushing_writers(self):
        """Flushes the TensorBoard writers when the block ends, interrupted or not."""
        try:
            yield
        finally:
            for writer in self._writers.values():
                writer.flush()

    @contextlib.contextmanager
    def _removing_worker_copy_if_interrupted(self):
        """Removes a worker's checkpoint copy when a signal stops the training: the process
        then exits without running finalizers (`interrupts.exit_now`)."""
        try:
            yield
        except KeyboardInterrupt:
            self._remove_worker_copy()
            raise

    def _cluster(self):
        """Whether this process is one worker of several (saving is then collective)."""
        resolver = getattr(self.strategy, "cluster_resolver", None)
        return bool(resolver and resolver.cluster_spec().as_dict())

    def _callbacks(self, steps_per_epoch, on_epoch_end):
        """The callbacks of `fit`, in the order they run. The epoch's checkpoint is saved
        after its best weights and the `on_epoch_end` functions, so that a run resumed from
        it has them; then the epoch's line is printed."""
        verbose = self.verbose and self.chief
        return [
            TrainingScalars(
                self._writer("train"), self.log_every_steps, steps_per_epoch, self._learning_rate
            ),
            self._best_weights,
            *(EpochEndFunction(function) for function in on_epoch_end),
            Checkpoints(
                self.checkpoint_manager,
                self.checkpoint_every_steps,
                steps_per_epoch,
                self.last_epoch_end,
            ),
            *([ProgressLines(steps_per_epoch)] if verbose and not sys.stdout.isatty() else []),
            EpochSummary(verbose=verbose),
        ]

    def _train_epoch(self, iterator, epoch, steps_per_epoch, callbacks, stop):
        """Runs the steps left in `epoch` (all of them unless the run resumed mid-epoch),
        with a progress bar on a terminal.

        Returns:
            The epoch's logs: `train_<metric>`, `epoch` (1-based), `epoch_seconds` and
            `train_examples_per_second`.
        """
        first_step, epoch_end = epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch
        live = self.verbose and self.chief and sys.stdout.isatty()  # Else `ProgressLines`.
        progress = keras.utils.Progbar(steps_per_epoch, verbose=int(live))
        totals = MetricSums()
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        step = int(self.step.numpy())
        while step < epoch_end:
            sums, examples, votes = self._run_train_function(iterator, stop.requested)
            step = int(self.step.numpy())
            totals.add(sums, examples)
            progress.update(step - first_step, list(totals.ratios().items()))
            for callback in callbacks:
                callback.on_step_end(step, sums, examples)
            stop.after_step(step, votes)
        seconds = totals.seconds()
        logs = {f"train_{name}": value for name, value in totals.ratios().items()}
        return logs | {
            "epoch": epoch + 1,
            "epoch_seconds": seconds,
            "train_examples_per_second": totals.examples / max(seconds, 1e-9),
        }

    def _validate(self, dataset):
        """Evaluates on `dataset` and writes the metrics to TensorBoard (`validation`);
        returns them as `validation_<metric>` logs."""
        validation = self.evaluate(dataset)
        write_scalars(self._writer("validation"), validation, int(self.step.numpy()))
        return {f"validation_{name}": value for name, value in validation.items()}

    @property
    def best_weights_path(self):
        return os.path.join(self.run_dir, "best.weights.h5")

    def restore_best_weights(self):
        """Loads the weights with the lowest validation loss: from memory
        if this process found them, else from the chief's file (a resumed
        run); keeps the current weights if there was no validation."""
        self._best_weights.restore()

    # ---------------------------------------------------------- evaluation

    def evaluate(self, dataset):
        """Metrics of the objective over one pass of `dataset`."""
        if self._evaluate_function is None:
            # Bucketed batches vary in length: trace once for any length.
            @tf.function(reduce_retracing=True, autograph=False)
            def evaluate_function(features, labels):
                sums = self._first_replica(
                    self.strategy.run(self._replica_evaluate_step, args=(features, labels))
                )
                return sums

            self._evaluate_function = evaluate_function
        totals = MetricSums()
        with self._lost_worker_is_a_cluster_error():
            for features, labels in self._distribute(dataset):
                totals.add(self._evaluate_function(features, labels))
        return totals.ratios()
