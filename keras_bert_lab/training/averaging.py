"""Checkpoint averaging (Vaswani et al., 2017, §6.1): the mean of the weights at the last few
epoch ends, which often generalises better than any one of them.

`EpochWeights` keeps the weights of the last epoch ends on disk while the model trains (an
`on_epoch_end` function of `DistributedTrainer.fit`, so a resumed run still has the epochs
before its interruption); `average_weights` loads their mean into the model. The task skeleton
(`tasks.workflow.run_task`) keeps the mean only where its validation loss is below the best
epoch's.
"""

import os
from pathlib import Path

import numpy as np

from keras_bert_lab.training.callbacks import save_weights_atomically

FOLDER = "epoch_weights"
"""The folder of the kept epoch weights, in the run folder."""


class EpochWeights:
    """An `on_epoch_end` function (`fn(epoch, logs)`) that writes the model's weights at each
    epoch end to `<run_dir>/epoch_weights/epoch-<n>.weights.h5` (atomically, on the chief) and
    removes all but the newest `keep`.

    Args:
        model: the Keras model trained.
        run_dir: the run folder.
        keep: how many epoch ends to keep (>= 1).
        chief: whether this process writes files; the others read the chief's.
    """

    def __init__(self, model, run_dir, keep, chief):
        self.model = model
        self.folder = Path(run_dir) / FOLDER
        self.keep = keep
        self.chief = chief

    def __call__(self, epoch, logs):
        if not self.chief:
            return
        save_weights_atomically(self.model, self.folder / f"epoch-{epoch + 1:04d}.weights.h5")
        for old in self.paths()[: -self.keep]:
            os.remove(old)

    def paths(self):
        """The kept weight files, oldest first."""
        return sorted(self.folder.glob("epoch-*.weights.h5"))


def average_weights(model, paths):
    """Sets `model`'s floating-point weights to their mean over the weight files `paths` (each
    written by `model.save_weights`); its other weights (integer state such as the dropout
    layers' seed counters) are taken from the last file."""
    if not paths:
        raise ValueError("average_weights needs at least one weight file")
    sums = None
    for path in paths:
        model.load_weights(path)
        weights = model.get_weights()
        if sums is None:
            sums = [np.zeros_like(w, np.float64) for w in weights]
        for total, weight in zip(sums, weights):
            total += weight
    model.set_weights(  # `weights`: the last file's.
        [
            (total / len(paths)).astype(weight.dtype)
            if np.issubdtype(weight.dtype, np.floating)
            else weight
            for total, weight in zip(sums, weights)
        ]
    )
