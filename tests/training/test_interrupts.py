"""Ctrl-C and SIGTERM: training stops at a step it can resume from; a child stage gets the
signals its parent gets."""

import signal
import subprocess
import sys
import threading
import time

import pytest

from keras_bert_lab.training import interrupts
from keras_bert_lab.training.interrupts import Interrupted, StopOnSignal


class Manager:
    """The part of `tf.train.CheckpointManager` the callback uses."""

    def __init__(self, latest_step=None):
        self.saved = [] if latest_step is None else [latest_step]

    @property
    def latest_checkpoint(self):
        return f"/run/checkpoints/ckpt-{self.saved[-1]}" if self.saved else None

    def save(self, checkpoint_number):
        self.saved.append(checkpoint_number)


@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_epoch_saves_the_step_and_stops(number, status):
    manager = Manager(latest_step=5)
    with StopOnSignal(manager, steps_per_epoch=10) as stop:
        stop.on_step_end(6, {}, 8.0)  # No signal yet: goes on.
        signal.raise_signal(number)  # Recorded only: no exception here.
        with pytest.raises(Interrupted) as interrupt:
            stop.on_step_end(7, {}, 8.0)
    assert manager.saved == [5, 7]
    assert interrupt.value.step == 7 and interrupt.value.signal_number == number
    assert interrupts.exit_status(interrupt.value) == status
    assert interrupts.message(interrupt.value) == (
        "interrupted at step 7; run the same command to resume"
    )
    assert signal.getsignal(number) is not stop._record  # The handlers are given back.


def test_a_signal_in_an_epochs_last_step_waits_for_its_checkpoint():
    manager = Manager(latest_step=5)
    with StopOnSignal(manager, steps_per_epoch=10) as stop:
        signal.raise_signal(signal.SIGINT)
        stop.on_step_end(10, {}, 8.0)  # The epoch's validation and checkpoint come first.
        manager.save(10)  # The `Checkpoints` callback, at the epoch's end.
        with pytest.raises(Interrupted) as interrupt:
            stop.on_epoch_end(0, {})
    assert manager.saved == [5, 10] and interrupt.value.step == 10


def test_a_second_signal_stops_at_once():
    with StopOnSignal(Manager(latest_step=5), steps_per_epoch=10):
        signal.raise_signal(signal.SIGINT)
        with pytest.raises(Interrupted) as interrupt:
            signal.raise_signal(signal.SIGINT)
    assert interrupt.value.step == 5


def test_in_a_cluster_the_last_periodic_checkpoint_is_the_resume_point():
    manager = Manager(latest_step=5)
    with StopOnSignal(manager, steps_per_epoch=10, save=False) as stop:
        signal.raise_signal(signal.SIGTERM)
        with pytest.raises(Interrupted) as interrupt:
            stop.on_step_end(7, {}, 8.0)
    assert manager.saved == [5] and interrupt.value.step == 5


def test_outside_training_sigterm_interrupts_like_ctrl_c():
    with pytest.raises(Interrupted) as interrupt, interrupts.signals_interrupt():
        signal.raise_signal(signal.SIGTERM)
    assert interrupts.exit_status(interrupt.value) == 143
    assert interrupts.message(interrupt.value) == "interrupted; run the same command to resume"
    assert interrupts.exit_status(KeyboardInterrupt()) == 130


CHILD = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))
print("ready", flush=True)
time.sleep(60)
"""


def test_a_child_gets_the_parents_signal_and_is_waited_for():
    def send_when_ready():
        time.sleep(2)  # The child's interpreter starts and installs its handler.
        # To this thread, not the main one: the kernel may hand a signal to any thread (one of
        # TensorFlow's, say), and the main thread must still pass it on at once.
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

    sender = threading.Thread(target=send_when_ready)
    sender.start()
    started = time.monotonic()
    status = interrupts.run_child([sys.executable, "-c", CHILD])
    sender.join()
    assert status == 7 and time.monotonic() - started < 30
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_child_ended_by_a_signal_reports_the_shells_status():
    command = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    assert interrupts.run_child(command) == 137
    assert subprocess.run(command).returncode == -9  # What `run_child` turns into 137.
