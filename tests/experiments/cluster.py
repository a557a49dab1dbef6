"""Launching experiment modules as subprocesses, alone or as a cluster of
workers on 127.0.0.1."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import tensorflow as tf

from keras_bert_lab.training.strategy import free_local_ports

REPO = Path(__file__).resolve().parents[2]


def environment(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def start(module, args, log_path, env=None):
    """Starts `python -m experiments.<module> <args>`, output to `log_path`."""
    log = open(log_path, "w")
    return subprocess.Popen(
        [sys.executable, "-m", f"experiments.{module}", *args],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env or environment(),
    )


def start_cluster(module, args, log_dir, num_workers=2):
    """Starts `num_workers` processes with a TF_CONFIG cluster on 127.0.0.1."""
    addresses = [f"127.0.0.1:{port}" for port in free_local_ports(num_workers)]
    workers = []
    for index in range(num_workers):
        tf_config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
        workers.append(
            start(
                module,
                args,
                Path(log_dir) / f"worker{index}.log",
                environment(TF_CONFIG=json.dumps(tf_config)),
            )
        )
    return workers


def stop(processes):
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def wait_counting_threads(processes, timeout):
    """Waits for `processes` to end; returns their exit codes and the most
    threads each had at once (the entries of /proc/PID/task)."""
    deadline = time.time() + timeout
    peaks = [0] * len(processes)
    while any(process.poll() is None for process in processes):
        if time.time() > deadline:
            raise subprocess.TimeoutExpired(processes[0].args, timeout)
        for index, process in enumerate(processes):
            try:
                threads = len(os.listdir(f"/proc/{process.pid}/task"))
            except OSError:  # it has just ended
                continue
            peaks[index] = max(peaks[index], threads)
        time.sleep(0.5)
    return [process.returncode for process in processes], peaks


def wait_for_checkpoint(folder, step, process, timeout=240):
    """Waits until the latest checkpoint in `folder` is at `step` or later, while `process`
    runs; returns that checkpoint's step (None if `process` ended or time ran out first)."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        latest = tf.train.latest_checkpoint(str(folder))
        if latest and int(latest.rsplit("-", 1)[1]) >= step:
            return int(latest.rsplit("-", 1)[1])
        time.sleep(0.2)
    return None
