"""Ctrl-C (SIGINT) and SIGTERM: a run stops at a step it can resume from, says so in one line,
and exits with the shell's status for the signal (130, 143).

- `StopOnSignal`, used by `DistributedTrainer.fit`: while an optimizer step runs, a signal
  is only recorded; at the end of the step a checkpoint is saved (unless the step has one
  already) and `Interrupted` is raised. During an epoch's end (validation, epoch-end
  callbacks) a signal stops at once: the epoch's last step is saved, and the resumed run does
  that epoch's end first. In a cluster, where saving is collective, every worker's step votes
  on stopping (the vote rides on the step's all-reduce): all workers stop after the same step
  and save it, the signalled one and the others alike. A second signal stops at once, from the
  last checkpoint saved.
- `signals_interrupt()`: outside training, SIGTERM interrupts like Ctrl-C (Python's default
  for SIGTERM is to die without a word).
- `run_child(command)`: a child process (an experiment stage) that gets the SIGINT and SIGTERM
  this process gets, and is waited for: no orphan goes on writing checkpoints.
- `exit_now(status)`: the interrupted process's exit, without Python's teardown (which can
  wait a minute for `tf.data` threads).
- `Interrupted` is a `KeyboardInterrupt`, so that `except Exception` clauses (loaders turning
  errors into one-line messages, say) let it through; `exit_status` and `message` give the
  status and line of either.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading

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


def exit_now(status):
    """Exits with `status` at once, after flushing the console, for a run whose work is saved:
    Python's teardown would first wait for the input pipelines' threads (the destructor of a
    `tf.data` iterator waits for the elements its threads are making; a minute and more for
    the `cpu` BiLSTM on the real data), and no finalizer or `atexit` function runs."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


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


class StopOnSignal:
    """Stops `fit` at a step it can resume from when SIGINT or SIGTERM arrives (see the module
    docstring); a context manager that installs its signal handlers for the block.

    Args:
        manager: the trainer's `tf.train.CheckpointManager`.
        cluster: whether this process is one worker of several; it then stops when the
            step's votes (`requested`, summed over the workers) say so.
    """

    def __init__(self, manager, cluster=False):
        self.manager = manager
        self.cluster = cluster
        self.signal_number = None
        self._at_once = False
        self._previous = {}

    @property
    def requested(self):
        """This process's vote for the next step: 1.0 after a signal, else 0.0."""
        return float(self.signal_number is not None)

    def _record(self, signal_number, frame):
        if self.signal_number is not None:  # A second signal: stop now.
            raise Interrupted(signal_number, checkpoint_step(self.manager))
        self.signal_number = signal_number
        if self._at_once:
            raise Interrupted(signal_number)  # `epoch_end` saves the step.

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
        if checkpoint_step(self.manager) != step:
            self.manager.save(checkpoint_number=step)
        # A worker stopped by another's signal ends as if asked to terminate.
        raise Interrupted(self.signal_number or signal.SIGTERM, step)

    def after_step(self, step, votes):
        """Stops after optimizer step `step` if this process got a signal (outside a cluster)
        or any worker voted to stop (`votes`, the all-reduced sum of `requested`)."""
        if votes > 0 or (self.signal_number is not None and not self.cluster):
            self._stop(step)

    @contextlib.contextmanager
    def epoch_end(self, step):
        """The block of an epoch's end after its last step `step`: outside a cluster, a
        signal (or one recorded in the last step) saves `step` and stops at once. In a
        cluster the signal waits for the next step's vote."""
        if self.cluster:
            yield
            return
        self._at_once = True
        try:
            if self.signal_number is not None:
                self._stop(step)
            yield
        except Interrupted as interrupt:
            if interrupt.step is not None:  # A second signal: stop now.
                raise
            self._stop(step)
        finally:
            self._at_once = False


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
