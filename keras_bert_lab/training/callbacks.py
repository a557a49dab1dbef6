"""What `DistributedTrainer.fit` does besides the optimizer steps, one concern per callback:
TensorBoard training scalars (`TrainingScalars`), the weights with the lowest validation loss
(`BestWeights`), checkpoints (`Checkpoints`), the lines printed during an epoch when the
output is a log file (`ProgressLines`) and the line printed per epoch (`EpochSummary`).

`fit` calls every callback's hooks, in the order of its list:

    for each epoch:
        on_epoch_begin(epoch)
        after each optimizer step: on_step_end(step, sums, examples)
        after the epoch's validation: on_epoch_end(epoch, logs)

`step` is the global number of optimizer steps taken (the first step of a run is 1); `sums`
is that step's `{name: (total, count)}`, summed over the replicas, and `examples` its number of
examples (floats); `logs` is the epoch's metrics dict (`train_*`, `validation_*`, `epoch`,
`epoch_seconds`, `train_examples_per_second`). Every worker of a cluster runs every callback
(checkpoint saves are collective); only the chief's files are kept.
"""

import math
import os
import time

import tensorflow as tf

from keras_bert_lab.training.objectives import LOSS_TERMS
from keras_bert_lab.utils import atomic_path


def ratios(sums):
    """`{name: (total, count)}` -> `{name: total / count}`, plus `loss`, the
    sum of the loss terms, when there are several."""
    metrics = {
        name: float(total) / max(float(count), 1e-12) for name, (total, count) in sums.items()
    }
    loss_terms = [name for name in metrics if name in LOSS_TERMS]
    if "loss" not in metrics and loss_terms:
        metrics["loss"] = sum(metrics[name] for name in loss_terms)
    return metrics


class MetricSums:
    """Running sums over a stretch of steps (an epoch, a logging window, an evaluation):
    `{name: (total, count)}`, the number of examples, and the time since the stretch began."""

    def __init__(self):
        self.sums = {}
        self.examples = 0.0
        self.started = time.perf_counter()

    def add(self, sums, examples=0.0):
        for name, (total, count) in sums.items():
            previous = self.sums.get(name, (0.0, 0.0))
            self.sums[name] = (previous[0] + float(total), previous[1] + float(count))
        self.examples += float(examples)

    def ratios(self):
        return ratios(self.sums)

    def seconds(self):
        return time.perf_counter() - self.started


def write_scalars(writer, metrics, step):
    """Writes `{name: float}` as TensorBoard scalars at `step`."""
    with writer.as_default(step=step):
        for name, value in metrics.items():
            tf.summary.scalar(name, value)


def save_weights_atomically(model, path):
    """`model.save_weights(path)`, so that a kill never leaves a half-written file under
    `path`."""
    with atomic_path(path, suffix=".weights.h5") as partial:
        model.save_weights(partial)


class Callback:
    """The hooks `DistributedTrainer.fit` calls (see the module docstring); each does nothing
    unless overridden."""

    def on_epoch_begin(self, epoch):
        pass

    def on_step_end(self, step, sums, examples):
        pass

    def on_epoch_end(self, epoch, logs):
        pass


class EpochEndFunction(Callback):
    """A plain `function(epoch, logs)` run at each epoch end."""

    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, epoch, logs):
        self.function(epoch, logs)


class TrainingScalars(Callback):
    """Writes the training metrics of each window of `every` steps to TensorBoard, with the
    learning rate and the examples per second; a window also ends at each epoch's last step,
    so that none spans an epoch's validation and checkpoint.

    Args:
        writer: the `tf.summary` writer of the `train` split.
        every: steps per window.
        steps_per_epoch: int.
        learning_rate: a function returning the optimizer's current learning rate.
    """

    def __init__(self, writer, every, steps_per_epoch, learning_rate):
        self.writer = writer
        self.every = every
        self.steps_per_epoch = steps_per_epoch
        self.learning_rate = learning_rate
        self.window = MetricSums()

    def on_epoch_begin(self, epoch):
        self.window = MetricSums()

    def on_step_end(self, step, sums, examples):
        self.window.add(sums, examples)
        if step % self.every and step % self.steps_per_epoch:
            return
        examples_per_second = self.window.examples / max(self.window.seconds(), 1e-9)
        scalars = self.window.ratios() | {
            "learning_rate": self.learning_rate(),
            "examples_per_second": examples_per_second,
        }
        write_scalars(self.writer, scalars, step)
        self.window = MetricSums()


class BestWeights(Callback):
    """Keeps the weights of the epoch with the lowest validation loss: in memory, and on the
    chief in `path` (written atomically), which a resumed run restores from.

    Args:
        model: the Keras model trained.
        best_loss: a float64 `tf.Variable` holding the lowest validation loss so far; it is
            checkpointed, so that a resumed run compares with the losses before the
            interruption.
        path: a `.weights.h5` file.
        chief: whether this process writes files.
    """

    def __init__(self, model, best_loss, path, chief):
        self.model = model
        self.best_loss = best_loss
        self.path = path
        self.chief = chief
        self.weights = None

    def on_epoch_end(self, epoch, logs):
        loss = logs.get("validation_loss", math.nan)
        if not loss < float(self.best_loss.numpy()):
            return
        self.best_loss.assign(loss)
        self.weights = self.model.get_weights()
        if self.chief:
            save_weights_atomically(self.model, self.path)

    def restore(self):
        """Loads the best weights: from memory if this process found them, else from the
        chief's file (a resumed run); keeps the current weights if there are none."""
        if self.weights is not None:
            self.model.set_weights(self.weights)
        elif os.path.exists(self.path):
            self.model.load_weights(self.path)


class Checkpoints(Callback):
    """Saves a checkpoint (model, optimizer, step, best validation loss, last epoch end) every
    `every` steps within an epoch, and at each epoch end.

    A resumed run restarts after the latest checkpoint, so the epoch's checkpoint goes after
    every epoch-end callback whose work must not be lost (best weights, summaries).

    Args:
        manager: the `tf.train.CheckpointManager`.
        every: steps between two saves within an epoch.
        steps_per_epoch: int.
        last_epoch_end: the int64 `tf.Variable` of the step of the last epoch end done
            (checkpointed): set to the epoch's last step before its checkpoint is saved.
    """

    def __init__(self, manager, every, steps_per_epoch, last_epoch_end):
        self.manager = manager
        self.every = every
        self.steps_per_epoch = steps_per_epoch
        self.last_epoch_end = last_epoch_end

    def on_step_end(self, step, sums, examples):
        if step % self.every == 0 and step % self.steps_per_epoch:
            self.manager.save(checkpoint_number=step)

    def on_epoch_end(self, epoch, logs):
        step = (epoch + 1) * self.steps_per_epoch
        self.last_epoch_end.assign(step)
        self.manager.save(checkpoint_number=step)


class EpochSummary(Callback):
    """Prints one line per epoch, `Epoch 2: train_loss=0.4321, ...`, if `verbose`."""

    def __init__(self, verbose):
        self.verbose = verbose

    def on_epoch_end(self, epoch, logs):
        if self.verbose:
            summary = ", ".join(f"{k}={v:.4g}" for k, v in logs.items() if k != "epoch")
            print(f"Epoch {epoch + 1}: {summary}")


class ProgressLines(Callback):
    """Where there is no live progress bar (output to a log file): a line at most every
    `interval_seconds`, `epoch 2: step 600/2090, 0.25 s/step, 6.2 min left in the epoch; loss
    3.2101, accuracy 0.4105` (the epoch's running means)."""

    def __init__(self, steps_per_epoch, interval_seconds=30.0, clock=time.monotonic):
        self.steps_per_epoch = steps_per_epoch
        self.interval_seconds = interval_seconds
        self.clock = clock

    def on_epoch_begin(self, epoch):
        self.epoch, self.totals = epoch, MetricSums()
        self.first = self.last_line = None  # (step, time) of the epoch's first step end

    def on_step_end(self, step, sums, examples):
        self.totals.add(sums, examples)
        now = self.clock()
        if self.first is None:  # The first step includes tracing: not timed.
            self.first, self.last_line = (step, now), now
            return
        if now - self.last_line < self.interval_seconds:
            return
        self.last_line = now
        seconds_per_step = (now - self.first[1]) / (step - self.first[0])
        in_epoch = step - self.epoch * self.steps_per_epoch
        left = (self.steps_per_epoch - in_epoch) * seconds_per_step / 60
        metrics = ", ".join(f"{name} {value:.4f}" for name, value in self.totals.ratios().items())
        print(
            f"epoch {self.epoch + 1}: step {in_epoch}/{self.steps_per_epoch}, "
            f"{seconds_per_step:.3g} s/step, {left:.1f} min left in the epoch; {metrics}",
            flush=True,
        )
