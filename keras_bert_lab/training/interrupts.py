"""Ctrl-C (SIGINT) and SIGTERM: a run stops at a step it can resume from, says so in one line,
and exits with the shell's status for the signal (130, 143).

- `StopOnSignal`, a `DistributedTrainer.fit` callback: while training, a signal is only
  recorded; at the end of the current optimizer step the callback saves a checkpoint (unless
  the step has one already) and raises `Interrupted`. A signal during an epoch's validation or
  epoch-end functions lets them finish and the epoch's checkpoint be saved first: a checkpoint
  at the epoch's last step, saved before them, would resume after them and skip that epoch's
  validation. A second signal stops at once, from the last checkpoint saved.
- `signals_interrupt()`: outside training, SIGTERM interrupts like Ctrl-C (Python's default
  for SIGTERM is to die without a word).
- `run_child(command)`: a child process (an experiment stage) that gets the SIGINT and SIGTERM
  this process gets, and is waited for: no orphan goes on writing checkpoints.
- `Interrupted` is a `KeyboardInterrupt`, so that `except Exception` clauses (loaders turning
  errors into one-line messages, say) let it through; `exit_status` and `message` give the
  status and line of either.
"""

import contextlib
import signal
import subprocess
import threading

from keras_bert_lab.training.callbacks import Callback

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal.

    Attributes:
        signal_number: `signal.SIGINT` or `signal.SIGTERM`.
        step: the optimizer step the run can resume from, or None outside training.
    """

    def __init__(self, signal_number, step=None):
        super().__init__(signal_number, step)
        self.signal_number = signal_number
        self.step = step


def exit_status(interrupt):
    """128 + the signal's number, as a shell reports a process a signal ended: 130 for
    SIGINT (a plain `KeyboardInterrupt` included), 143 for SIGTERM."""
    return 128 + getattr(interrupt, "signal_number", signal.SIGINT)


def message(interrupt):
    """The one line an interrupted run prints."""
    step = getattr(interrupt, "step", None)
    where = f" at step {step}" if step is not None else ""
    return f"interrupted{where}; run the same command to resume"


def _in_main_thread():
    # Python lets only the main thread install signal handlers.
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def signals_interrupt():
    """Within the block, SIGTERM raises `Interrupted` as SIGINT raises `KeyboardInterrupt`."""
    if not _in_main_thread():
        yield
        return

    def interrupt(signal_number, frame):
        raise Interrupted(signal_number)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def checkpoint_step(manager):
    """The step of the latest checkpoint of a `tf.train.CheckpointManager` (its number), or
    None if it has none."""
    latest = manager.latest_checkpoint
    return int(latest.rsplit("-", 1)[1]) if latest else None


class StopOnSignal(Callback):
    """Stops `fit` at the end of the step during which SIGINT or SIGTERM arrived (see the
    module docstring); a context manager that installs its signal handlers for the block.

    Args:
        manager: the trainer's `tf.train.CheckpointManager`.
        steps_per_epoch: int.
        save: save a checkpoint before stopping. False in a multi-worker run, where saving is
            collective and the other workers did not get the signal; it resumes from the last
            periodic checkpoint.
    """

    def __init__(self, manager, steps_per_epoch, save=True):
        self.manager = manager
        self.steps_per_epoch = steps_per_epoch
        self.save = save
        self.signal_number = None
        self._previous = {}

    def _record(self, signal_number, frame):
        if self.signal_number is not None:  # A second signal: stop now.
            raise Interrupted(signal_number, checkpoint_step(self.manager))
        self.signal_number = signal_number

    def __enter__(self):
        if _in_main_thread():
            self._previous = {number: signal.signal(number, self._record) for number in SIGNALS}
        return self

    def __exit__(self, *exception):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}
        return False

    def _stop(self, step):
        if self.save and checkpoint_step(self.manager) != step:
            self.manager.save(checkpoint_number=step)
        raise Interrupted(self.signal_number, step if self.save else checkpoint_step(self.manager))

    def on_step_end(self, step, sums, examples):
        # At an epoch's last step, its validation and checkpoint come first (module docstring).
        if self.signal_number is not None and step % self.steps_per_epoch:
            self._stop(step)

    def on_epoch_end(self, epoch, logs):
        if self.signal_number is not None:
            self._stop((epoch + 1) * self.steps_per_epoch)


def run_child(command):
    """Runs `command` (a list) to its end and returns its exit status, 128 + N for a child
    that signal N ended. SIGINT and SIGTERM sent to this process are passed on to the child,
    which runs in a process group of its own so that a Ctrl-C at the terminal reaches it once,
    through this process. SIGHUP (the terminal closed) is passed on too, so that the child
    does not go on alone."""
    child = subprocess.Popen(command, process_group=0)
    previous = {}
    if _in_main_thread():

        def forward(signal_number, frame):
            child.send_signal(signal_number)

        forwarded = (*SIGNALS, signal.SIGHUP)
        previous = {number: signal.signal(number, forward) for number in forwarded}
    try:
        status = None
        while status is None:
            # A signal may reach any thread, and Python runs its handler in the main thread
            # only between bytecodes: a plain `wait()` would hold the handler until the child
            # ends. Waiting in short slices lets it run at once.
            try:
                status = child.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if child.poll() is None:  # This process is failing: the child must not outlive it.
            child.kill()
            child.wait()
    return 128 - status if status < 0 else status
