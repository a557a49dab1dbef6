"""The soak run: one long `experiments.imdb_lstm --preset smoke` training on a cluster of
worker processes, watched from outside for what grows with time.

`python -m experiments.soak` starts `num_workers` workers (`--strategy multi_worker`,
`TF_CONFIG` on 127.0.0.1) for `steps` optimizer steps in `epochs` epochs (a validation and a
checkpoint at each epoch end, a checkpoint every `checkpoint_every` steps), and reads each
worker's `/proc/PID/status` every `interval` seconds (`processes.Sampler`): its threads and
resident memory. A leak shows as a count that climbs with the steps instead of levelling off
after the first ones; a thread per collective op (tensorflow/tensorflow#62466) climbed by
thousands a minute.
"""

import dataclasses
import json
import math
import os
import time
from pathlib import Path

from keras_bert_lab.benchmarks import processes

EXPERIMENT_MODULE = "experiments.imdb_lstm"
RUN_FOLDER = ("imdb_lstm", "smoke")
"""Where the run writes under its logdir: `<logdir>/imdb_lstm/smoke/`."""

MAX_SAMPLES = 60
"""Samples kept per worker in the results (evenly spaced): enough to see a trend."""


@dataclasses.dataclass(frozen=True)
class TrainingFlags:
    """The flags of one `experiments.imdb_lstm --preset smoke` run (soak and chaos)."""

    data_dir: str | None
    steps: int
    steps_per_epoch: int
    checkpoint_every: int
    seed: int

    @property
    def epochs(self):
        return math.ceil(self.steps / self.steps_per_epoch)

    @property
    def total_steps(self):
        """The steps the run takes: whole epochs, so at least `steps`."""
        return self.epochs * self.steps_per_epoch

    def as_json(self):
        """The flags for a results file: the data folder relative to the repository."""
        data_dir = relative_to_repository(self.data_dir) if self.data_dir else None
        return dataclasses.asdict(self) | {"data_dir": data_dir, "epochs": self.epochs}

    def args(self, logdir, strategy):
        """The command-line arguments of the run, writing under `logdir`."""
        data = ["--data-dir", str(self.data_dir)] if self.data_dir else []
        return [
            "--preset",
            "smoke",
            *data,
            "--logdir",
            str(logdir),
            "--quiet",
            "--strategy",
            strategy,
            "--epochs",
            str(self.epochs),
            "--steps-per-epoch",
            str(self.steps_per_epoch),
            "--checkpoint-every",
            str(self.checkpoint_every),
            "--seed",
            str(self.seed),
        ]


def run_folder(logdir):
    return Path(logdir).joinpath(*RUN_FOLDER)


def read_results(logdir):
    """The run's `results.json`, or None if it did not finish."""
    path = run_folder(logdir) / "results.json"
    return json.loads(path.read_text()) if path.exists() else None


def log_tail(path, lines=5):
    """The last `lines` lines of a log file, joined with ` | ` (for one-line errors)."""
    text = Path(path).read_text(errors="replace") if Path(path).exists() else ""
    return " | ".join(text.strip().splitlines()[-lines:])


def run_soak(flags, work_dir, num_workers=2, interval=1.0, timeout=3600):
    """Trains as described in the module docstring, in `work_dir`.

    Args:
        flags: `TrainingFlags`.
        work_dir: folder for the run and the workers' logs (`worker<i>.log`).
        num_workers: processes in the cluster.
        interval: seconds between two readings of a worker's status.
        timeout: seconds the whole run may take.

    Returns:
        A JSON-ready dict: the steps taken, wall and training times, steps per second, and
        per worker its peak threads and resident memory and a few evenly spaced samples.

    Raises:
        RuntimeError: a worker failed or the run did not finish in time (with its log's tail).
    """
    work_dir = Path(work_dir)
    logdir = work_dir / "logs"
    started = time.time()
    workers = processes.launch_cluster(
        EXPERIMENT_MODULE, flags.args(logdir, "multi_worker"), work_dir, num_workers
    )
    sampler = processes.Sampler(workers, interval).start()
    try:
        codes = processes.wait_all(workers, timeout)
    finally:  # on Ctrl-C too: no worker outlives the soak
        sampler.stop()
        processes.stop(workers)
    wall_seconds = time.time() - started
    results = read_results(logdir)
    if codes != [0] * num_workers or results is None:
        raise RuntimeError(
            f"soak run failed (exit codes {codes}): {log_tail(work_dir / 'worker0.log')}"
        )
    training_seconds = sum(epoch["epoch_seconds"] for epoch in results["history"])
    steps = results["metrics"]["optimizer_steps"]
    return {
        "experiment": "imdb_lstm",
        "preset": "smoke",
        "strategy": "multi_worker",
        "num_workers": num_workers,
        "flags": flags.as_json(),
        "optimizer_steps": steps,
        "wall_time_seconds": wall_seconds,
        "training_seconds": training_seconds,
        "steps_per_second": steps / training_seconds,
        "epoch_seconds": [epoch["epoch_seconds"] for epoch in results["history"]],
        "test_accuracy": results["metrics"]["test_accuracy"],
        "sample_interval_seconds": interval,
        "workers": [
            _worker_summary(peaks, samples)
            for peaks, samples in zip(sampler.peaks, sampler.samples)
        ],
    }


def _worker_summary(peaks, samples):
    """One worker's peaks, and its samples thinned to `MAX_SAMPLES`, in MiB."""
    every = max(1, math.ceil(len(samples) / MAX_SAMPLES))
    kept = samples[::every] + ([samples[-1]] if samples and (len(samples) - 1) % every else [])
    mebibyte = 2**20
    return {
        "peak_threads": peaks["threads"],
        "peak_rss_mib": round(peaks["rss_bytes"] / mebibyte, 1),
        "last_threads": samples[-1][1] if samples else None,
        "samples": [
            {"seconds": round(seconds, 1), "threads": threads, "rss_mib": round(rss / mebibyte, 1)}
            for seconds, threads, rss in kept
        ],
    }


def relative_to_repository(path):
    """`path` relative to the repository root (results files name no machine's folders)."""
    return os.path.relpath(os.path.abspath(path), processes.REPOSITORY_ROOT)


def summary_line(results):
    """One line: the steps, their rate, and each worker's peak threads and memory."""
    workers = "; ".join(
        f"worker {index}: at most {worker['peak_threads']} threads, "
        f"{worker['peak_rss_mib']:.0f} MiB"
        for index, worker in enumerate(results["workers"])
    )
    return (
        f"soak: {results['optimizer_steps']} steps in {results['wall_time_seconds']:.0f} s "
        f"({results['steps_per_second']:.1f} steps/s in training); {workers}"
    )
