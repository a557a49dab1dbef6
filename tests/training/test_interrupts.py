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
def test_a_signal_during_a_step_saves_the_step_and_stops(number, status):
    manager = Manager(latest_step=5)
    with StopOnSignal(manager) as stop:
        stop.after_step(6, votes=0.0)  # No signal yet: goes on.
        signal.raise_signal(number)  # Recorded only: no exception here.
        assert stop.requested == 1.0
        with pytest.raises(Interrupted) as interrupt:
            stop.after_step(7, votes=0.0)
    assert manager.saved == [5, 7]
    assert interrupt.value.step == 7 and interrupt.value.signal_number == number
    assert interrupts.exit_status(interrupt.value) == status
    assert interrupts.message(interrupt.value) == (
        "interrupted at step 7; run the same command to resume"
    )
    assert signal.getsignal(number) is not stop._record  # The handlers are given back.


def test_a_signal_during_an_epochs_end_saves_its_last_step_at_once():
    manager = Manager(latest_step=5)
    with StopOnSignal(manager) as stop:
        with pytest.raises(Interrupted) as interrupt, stop.epoch_end(10):
            signal.raise_signal(signal.SIGINT)  # During the validation, say.
            pytest.fail("the signal did not stop the epoch's end")
    assert manager.saved == [5, 10] and interrupt.value.step == 10
    # One recorded in the epoch's last step stops before its validation begins.
    with StopOnSignal(manager) as stop, pytest.raises(Interrupted):
        signal.raise_signal(signal.SIGTERM)
        with stop.epoch_end(20):
            pytest.fail("the epoch's end began")
    assert manager.saved == [5, 10, 20]


def test_a_second_signal_stops_at_once():
    with StopOnSignal(Manager(latest_step=5)):
        signal.raise_signal(signal.SIGINT)
        with pytest.raises(Interrupted) as interrupt:
            signal.raise_signal(signal.SIGINT)
    assert interrupt.value.step == 5


def test_in_a_cluster_every_worker_stops_after_the_step_the_votes_name():
    signalled, other = Manager(latest_step=5), Manager(latest_step=5)
    with StopOnSignal(signalled, cluster=True) as stop:
        signal.raise_signal(signal.SIGTERM)
        stop.after_step(7, votes=0.0)  # That step's votes were cast before the signal.
        with stop.epoch_end(7):  # An epoch's end waits for the next step's votes.
            pass
        assert stop.requested == 1.0
        with pytest.raises(Interrupted) as interrupt:
            stop.after_step(8, votes=1.0)
    assert signalled.saved == [5, 8] and interrupt.value.step == 8
    # The worker that got no signal stops after the same step, and saves it with the others.
    stop = StopOnSignal(other, cluster=True)
    assert stop.requested == 0.0
    with pytest.raises(Interrupted) as interrupt:
        stop.after_step(8, votes=1.0)
    assert other.saved == [5, 8] and interrupts.exit_status(interrupt.value) == 143


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


SLOW_PIPELINE = """
import time
import tensorflow as tf
from keras_bert_lab.tasks.run import command_line

def element(x):
    if x > 0:
        time.sleep(120)  # Still being made when the run is interrupted.
    return x

def main():
    dataset = tf.data.Dataset.range(8).map(
        lambda x: tf.py_function(element, [x], tf.int64), num_parallel_calls=2
    )
    iterator = iter(dataset)
    next(iterator)
    print("ready", flush=True)
    raise KeyboardInterrupt

command_line(main)
"""


def test_an_interrupted_run_exits_without_waiting_for_its_input_pipeline(tmp_path):
    # Python's teardown would destroy the iterator, which waits for the elements in the
    # making (two minutes here): the interrupted run exits at once instead.
    script = tmp_path / "slow_pipeline.py"
    script.write_text(SLOW_PIPELINE)
    child = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline() == "ready\n"
        status = child.wait(timeout=30)
    finally:
        child.kill()
    assert status == 130
    lines = child.stderr.read().strip().splitlines()
    assert lines[-1] == "slow_pipeline: interrupted; run the same command to resume"
