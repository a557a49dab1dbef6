"""Which checkpoint a run resumes from: the newest one that reads back whole.

TensorFlow writes a checkpoint's files, then the `checkpoint` state file that lists the
checkpoints (atomically, last), so a process killed mid-save leaves the previous checkpoint
in force. That does not protect a checkpoint damaged after it was listed: a data file cut short
(a full disk, a copy or a sync interrupted), a file emptied, a shard deleted. Restoring such a
checkpoint fails part-way, after some variables were already overwritten, with an error that
differs by damage (`IndexError`, `DataLossError`, `NotFoundError`, ...).

`resume_point` therefore reads every tensor of a listed checkpoint before restoring it (the
reads check each tensor's CRC32C, so a flipped byte is found as well as a short file), newest
first, and resumes from the first that reads back whole, with one warning line naming the
damaged files. When every listed checkpoint is damaged it raises `CheckpointError` rather than
train again from step 0 over the folder.

A checkpoint also holds the wall time the run had spent when it was saved (`RunClock`,
saved by `ClockedCheckpointManager`) and the logs of the epochs it had ended, so that a run
resumed across sessions reports its whole cost and history.
"""

import dataclasses
import glob
import os
import re
import sys
import time

import tensorflow as tf

MODEL_STATE = "model_state"
"""The checkpoint key of a model's non-trainable variables (see `restore`)."""
LAST_EPOCH_END = "last_epoch_end"
"""The checkpoint key of the step of the last epoch end done (validation, epoch-end work)."""
WALL_SECONDS = "wall_seconds"
"""The checkpoint key of the wall time the run had spent when it was saved (`RunClock`)."""
EPOCH_LOGS = "epoch_logs"
"""The checkpoint key of the logs of the epochs ended so far, as JSON, so that a resumed run
returns its whole history (a variable created outside the strategy: no accelerator holds
strings)."""
LATER_KEYS = (MODEL_STATE, LAST_EPOCH_END, WALL_SECONDS, EPOCH_LOGS)
"""Keys that checkpoints written by earlier versions lack (see `restore`)."""

_READ_ERRORS = (tf.errors.OpError, IndexError, ValueError, OSError)
"""What reading a damaged checkpoint raises: TensorFlow's errors, and `IndexError` ("Read less
bytes than requested") from a short data file."""


class CheckpointError(RuntimeError):
    """No checkpoint of a run folder can be read; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Damage:
    """A checkpoint that does not read back: the file at fault and why (one line)."""

    file: str
    reason: str


def listed_checkpoints(directory):
    """The checkpoint prefixes of `directory`'s state file, newest first ([] without one)."""
    state = tf.train.get_checkpoint_state(directory)
    if state is None:
        return []
    prefixes = [state.model_checkpoint_path, *reversed(state.all_model_checkpoint_paths)]
    return list(dict.fromkeys(prefixes))  # the newest is listed twice


def find_damage(prefix):
    """Reads every tensor of the checkpoint `prefix`.

    Returns:
        None if it reads back whole, else a `Damage` naming its index file (missing, empty
        or unreadable) or a data file (missing, short, or failing its checksum).
    """
    index = prefix + ".index"
    if not os.path.exists(index):
        return Damage(index, "missing")
    if os.path.getsize(index) == 0:
        return Damage(index, "empty (0 bytes)")
    try:
        reader = tf.train.load_checkpoint(prefix)
    except _READ_ERRORS as error:
        return Damage(_named_file(error, prefix, index), _reason(error))
    try:
        for name in reader.get_variable_to_dtype_map():
            reader.get_tensor(name)
    except _READ_ERRORS as error:
        return Damage(_named_file(error, prefix, _data_files(prefix)), _reason(error))
    return None


def _data_files(prefix):
    """The data shards of `prefix` on disk, as one name (a pattern when there are several)."""
    shards = sorted(glob.glob(glob.escape(prefix) + ".data-?????-of-?????"))
    return shards[0] if len(shards) == 1 else prefix + ".data-*"


def _named_file(error, prefix, default):
    """The file of checkpoint `prefix` that `error` names, else `default`."""
    match = re.search(re.escape(prefix) + r"\.(index|data-\d{5}-of-\d{5})", str(error))
    return match.group(0) if match else default


def _reason(error):
    """The first line of `error`, without TensorFlow's op prefix, shortened."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    line = re.sub(r"^\{\{[^}]*\}\}\s*", "", lines[0])
    return f"{type(error).__name__}: {line[:160]}"


def resume_point(directory, warn=True):
    """The newest intact checkpoint listed in `directory` (see the module docstring).

    Args:
        directory: the checkpoint folder.
        warn: print the warning line (on a cluster, only the chief does).

    Returns:
        Its prefix, or None when no checkpoint is listed (a fresh run).

    Raises:
        CheckpointError: checkpoints are listed but none of them reads back.
    """
    damaged = []
    for prefix in listed_checkpoints(directory):
        damage = find_damage(prefix)
        if damage is None:
            if damaged and warn:
                print(
                    f"warning: damaged checkpoint {_describe(damaged)}; resuming from the "
                    f"older {os.path.basename(prefix)}",
                    file=sys.stderr,
                    flush=True,
                )
            return prefix
        damaged.append(damage)
    if damaged:
        raise CheckpointError(
            f"no intact checkpoint in {directory}: {_describe(damaged)}; move the folder "
            "away to train again from step 0"
        )
    return None


def _describe(damaged):
    return ", ".join(f"{damage.file} ({damage.reason})" for damage in damaged)


def restore(objects, prefix):
    """Restores `tf.train.Checkpoint(**objects)` from `prefix`, asserting that every object
    it holds was in the checkpoint, except those of `LATER_KEYS` in a checkpoint written
    before they were saved (they keep their values).

    Returns:
        The keys of `objects` that the checkpoint did not hold.
    """
    names = [name for name, _ in tf.train.list_variables(prefix)]
    missing = [
        key
        for key in LATER_KEYS
        if key in objects and not any(name.startswith(key + "/") for name in names)
    ]
    checkpoint = tf.train.Checkpoint(
        **{key: value for key, value in objects.items() if key not in missing}
    )
    checkpoint.restore(prefix).assert_existing_objects_matched()
    return missing


class RunClock:
    """The wall time a run has spent, over every invocation: kept in its checkpoints, so
    that a run resumed across sessions reports its whole cost.

    Args:
        seconds: the float64 `tf.Variable` checkpointed as `checkpoints.WALL_SECONDS`.
        started: `time.time()` when this invocation started.
    """

    def __init__(self, seconds, started):
        self.seconds = seconds
        self.started = started
        self.earlier = 0.0
        """Seconds of the earlier invocations, up to the checkpoint this one resumed from
        (work they did after it was redone, and is counted, here)."""

    def restored(self):
        """Takes the earlier invocations' seconds from the restored variable."""
        self.earlier = float(self.seconds.numpy())

    def total(self):
        return self.earlier + time.time() - self.started

    def tick(self):
        """Sets the variable to the total, before a checkpoint is saved."""
        self.seconds.assign(self.total())


class ClockedCheckpointManager(tf.train.CheckpointManager):
    """A `tf.train.CheckpointManager` whose every save holds the run's wall time so far."""

    def __init__(self, checkpoint, directory, max_to_keep, clock):
        super().__init__(checkpoint, directory, max_to_keep=max_to_keep)
        self.clock = clock

    def save(self, checkpoint_number=None, **kwargs):
        self.clock.tick()
        return super().save(checkpoint_number=checkpoint_number, **kwargs)
