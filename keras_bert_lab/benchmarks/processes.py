"""Modules run as child processes, alone or as a cluster of workers on 127.0.0.1, and what
they take of the machine (threads and resident memory, read from `/proc/PID/status`).

Shared by the strategy benchmark (`strategies`), the soak run (`soak`) and the chaos run
(`chaos`): a strategy is chosen once per process, and a kill must hit a process of its own.
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from keras_bert_lab.training.strategy import free_local_ports

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def cluster_configs(num_workers):
    """One `TF_CONFIG` dict per worker of a cluster of `num_workers` on free local ports."""
    addresses = [f"127.0.0.1:{port}" for port in free_local_ports(num_workers)]
    return [
        {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
        for index in range(num_workers)
    ]


def child_environment(tf_config=None):
    """This process's environment for a child: TensorFlow's C++ logging quiet, output
    unbuffered (a killed child's log is complete up to its last line), and `TF_CONFIG` set to
    `tf_config` (a dict) or removed."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    environment.pop("TF_CONFIG", None)
    if tf_config is not None:
        environment["TF_CONFIG"] = json.dumps(tf_config)
    return environment


def launch(module, args, log_path, tf_config=None):
    """Starts `python -m <module> <args>` in the repository root, its output into
    `log_path`; returns the `subprocess.Popen`."""
    with open(log_path, "w") as log:  # the child keeps its own copy of the file
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPOSITORY_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_environment(tf_config),
        )


def launch_cluster(module, args, log_dir, num_workers=2, name="worker"):
    """Starts `num_workers` copies of `python -m <module> <args>` as one cluster, the log of
    worker `i` in `<log_dir>/<name><i>.log`; returns the processes."""
    return [
        launch(module, args, Path(log_dir) / f"{name}{index}.log", tf_config)
        for index, tf_config in enumerate(cluster_configs(num_workers))
    ]


def stop(processes):
    """SIGKILLs those of `processes` still running and reaps them all."""
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def wait_all(processes, timeout):
    """Waits up to `timeout` seconds for every process; kills the rest.

    Returns:
        The exit codes, None for a process killed here.
    """
    deadline = time.time() + timeout
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=max(deadline - time.time(), 0.1)))
        except subprocess.TimeoutExpired:
            codes.append(None)
    stop(processes)
    return codes


def read_status(pid):
    """`{"threads", "rss_bytes", "peak_rss_bytes"}` of process `pid` from
    `/proc/<pid>/status` (`Threads`, `VmRSS`, `VmHWM`); None once it has ended."""
    fields = {"Threads": "threads", "VmRSS": "rss_bytes", "VmHWM": "peak_rss_bytes"}
    values = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in fields:
                    number = int(value.split()[0])
                    values[fields[key]] = number * 1024 if key != "Threads" else number
    except (OSError, ValueError):
        return None
    return values if len(values) == len(fields) else None


class Sampler:
    """Reads `read_status` of each process every `interval` seconds in a background thread,
    from `start()` to `stop()`.

    Attributes:
        samples: per process, a list of `(seconds since start, threads, rss_bytes)`.
        peaks: per process, `{"threads", "rss_bytes"}`: the most threads seen at once and the
            kernel's high-water mark of resident memory (`VmHWM`, exact between samples).
    """

    def __init__(self, processes, interval=1.0):
        self.processes = list(processes)
        self.interval = interval
        self.samples = [[] for _ in self.processes]
        self.peaks = [{"threads": 0, "rss_bytes": 0} for _ in self.processes]
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = None

    def start(self):
        self._started = time.time()
        self._thread.start()
        return self

    def stop(self):
        self._done.set()
        self._thread.join()

    def _run(self):
        while not self._done.is_set():
            for index, process in enumerate(self.processes):
                status = read_status(process.pid) if process.poll() is None else None
                if status is None:
                    continue
                seconds = time.time() - self._started
                self.samples[index].append((seconds, status["threads"], status["rss_bytes"]))
                peak = self.peaks[index]
                peak["threads"] = max(peak["threads"], status["threads"])
                peak["rss_bytes"] = max(peak["rss_bytes"], status["peak_rss_bytes"])
            self._done.wait(self.interval)
