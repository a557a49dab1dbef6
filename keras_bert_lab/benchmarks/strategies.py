"""Training-step time under each `tf.distribute` strategy, and the price of a
kill-and-resume cycle: the measuring code behind
`python -m experiments.strategy_benchmark`.

A strategy is chosen once per process, so every contender is a fresh process
running `measure_in_process`: the same BERT classifier (random weights,
seed 0) trained by `DistributedTrainer` on the same random global batches,
`repetitions + 1` epochs of `steps` steps. The first epoch pays for tracing;
the seconds per step of a strategy is the median over the later epochs.
The global batch is the same for every strategy (each replica gets its
share), so the ratios to `default` show what distribution costs or gains on
this machine:

- `default`: one replica, all cores;
- `mirrored`: the CPU split into 2 logical devices, one replica on each, in
  one process (`training.strategy.split_cpu`);
- `multi_worker`: two worker processes on 127.0.0.1 (`TF_CONFIG`), one
  replica each, gradients all-reduced over gRPC.

Kill-and-resume: once `default` has finished (its checkpoints on disk), a
new `default` process is started on the same folder for one more epoch, as
a restarted job would be. It restores the checkpoint and skips the batches
already seen. From its launch to the end of that epoch, minus the epoch's
own steps at the measured speed, is the price of a restart: Python and
TensorFlow start-up, building the model, restoring and tracing. A killed
run also redoes the steps since its last checkpoint (at most
`checkpoint_every_steps`).
"""

import dataclasses
import json
import statistics
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_bert_lab.benchmarks import processes as child_processes
from keras_bert_lab.benchmarks.synthetic import FIRST_REGULAR_ID
from keras_bert_lab.models.bert import BertClassifier, BertEncoder
from keras_bert_lab.presets import STRATEGY_BENCHMARK_PRESETS
from keras_bert_lab.training import objectives
from keras_bert_lab.training.loop import DistributedTrainer
from keras_bert_lab.training.strategy import create_strategy, split_cpu

STRATEGIES = ("default", "mirrored", "multi_worker")
RESULT_PREFIX = "STRATEGY_BENCHMARK_RESULT "


def measure_in_process(config, strategy_name, run_dir, launched_at, extra_epochs=0):
    """Trains as described in the module docstring, in this process.

    Args:
        config: `StrategyBenchmarkConfig`.
        strategy_name: one of `STRATEGIES`; `multi_worker` reads `TF_CONFIG`.
        run_dir: the checkpoint folder (kept, for the resume measurement).
        launched_at: `time.time()` when the launcher started this process.
        extra_epochs: train this many epochs past those already in `run_dir`.

    Returns:
        dict: `seconds_per_step` (median over the timed epochs, None when
        there are none), `epoch_seconds`, `replicas`, `start_step`, and
        `launch_to_first_epoch_seconds`.
    """
    if strategy_name == "mirrored":
        split_cpu(2)  # Before TensorFlow creates its devices: before any tensor.
    keras.utils.set_random_seed(0)
    strategy = create_strategy(strategy_name)
    trainer = _make_trainer(config, strategy, run_dir)
    start_step = trainer.restore()
    first_epoch_end = []
    history = trainer.fit(
        _random_batches(config),
        epochs=start_step // config.steps + (extra_epochs or config.repetitions + 1),
        steps_per_epoch=config.steps,
        on_epoch_end=[lambda epoch, logs: first_epoch_end.append(time.time())],
    )
    epoch_seconds = [epoch["epoch_seconds"] for epoch in history[trainer.epochs_resumed :]]
    timed = epoch_seconds[1:]
    return {
        "replicas": strategy.num_replicas_in_sync,
        "start_step": start_step,
        "epoch_seconds": epoch_seconds,
        "seconds_per_step": statistics.median(timed) / config.steps if timed else None,
        "launch_to_first_epoch_seconds": first_epoch_end[0] - launched_at,
    }


def _make_trainer(config, strategy, run_dir):
    """A `DistributedTrainer` of a BERT classifier of `config.config_name`
    with random weights, built under `strategy`; it checkpoints into
    `run_dir` at each epoch end only."""
    with strategy.scope():
        classifier = BertClassifier(
            BertEncoder.from_config_name(
                config.config_name,
                config.vocabulary_size,
                max_sequence_length=config.sequence_length,
            )
        )
        optimizer = keras.optimizers.AdamW(1e-4)
    return DistributedTrainer(
        classifier,
        optimizer,
        objectives.classification,
        strategy=strategy,
        run_dir=run_dir,
        verbose=False,
        checkpoint_every_steps=10 * config.steps * (config.repetitions + 1),
    )


def _random_batches(config):
    """`config.steps` global batches of random token ids (seed 0): int32
    `[global_batch_size, sequence_length]` features, binary labels."""
    rng = np.random.default_rng(0)
    num_examples = config.global_batch_size * config.steps
    token_ids = rng.integers(
        FIRST_REGULAR_ID,
        config.vocabulary_size,
        (num_examples, config.sequence_length),
        dtype=np.int32,
    )
    features = {
        "token_ids": token_ids,
        "segment_ids": np.zeros_like(token_ids),
        "padding_mask": np.ones_like(token_ids, dtype=bool),
    }
    labels = rng.integers(0, 2, num_examples, dtype=np.int32)
    return tf.data.Dataset.from_tensor_slices((features, labels)).batch(
        config.global_batch_size, drop_remainder=True
    )


def _launch(preset, strategy_name, run_dir, log_path, tf_config=None, extra_epochs=0):
    """Starts `experiments.strategy_benchmark --worker` as a subprocess."""
    args = [
        "--worker",
        "--preset",
        preset,
        "--strategy",
        strategy_name,
        "--run-dir",
        str(run_dir),
        "--launched-at",
        repr(time.time()),
        "--extra-epochs",
        str(extra_epochs),
    ]
    return child_processes.launch("experiments.strategy_benchmark", args, log_path, tf_config)


def _results(processes, log_paths, timeout):
    """Waits for every process; returns the result line of each (raises with
    the log's tail when one fails)."""
    deadline = time.time() + timeout
    try:
        for process in processes:
            process.wait(timeout=max(deadline - time.time(), 1))
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"strategy benchmark: no result within {timeout} s; see {log_paths[0]}"
        ) from None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    results = []
    for process, log_path in zip(processes, log_paths):
        lines = Path(log_path).read_text().splitlines()
        found = [line[len(RESULT_PREFIX) :] for line in lines if line.startswith(RESULT_PREFIX)]
        if process.returncode != 0 or not found:
            tail = " | ".join(lines[-5:])
            raise RuntimeError(f"strategy benchmark worker failed ({log_path}): {tail}")
        results.append(json.loads(found[-1]))
    return results


def run_strategy_benchmark(preset, work_dir, log=print):
    """Measures every strategy and the resume, one process (or cluster) at a
    time. Returns a JSON-ready dict; see `markdown_report`."""
    config = STRATEGY_BENCHMARK_PRESETS[preset]
    work_dir = Path(work_dir)
    measured = {}
    for name in STRATEGIES:
        run_dir = work_dir / name
        configs = child_processes.cluster_configs(2) if name == "multi_worker" else [None]
        log_paths = [work_dir / f"{name}_{i}.log" for i in range(len(configs))]
        processes = [
            _launch(preset, name, run_dir, path, tf_config)
            for path, tf_config in zip(log_paths, configs)
        ]
        measured[name] = _results(processes, log_paths, config.timeout_seconds)[0]
        log(f"{name}: {measured[name]['seconds_per_step']:.4f} s/step")

    log_path = work_dir / "resume.log"
    (resumed,) = _results(
        [_launch(preset, "default", work_dir / "default", log_path, extra_epochs=1)],
        [log_path],
        config.timeout_seconds,
    )
    step_seconds = measured["default"]["seconds_per_step"]
    return {
        "config": dataclasses.asdict(config),
        "preset": preset,
        "strategies": {
            name: result
            | {
                "examples_per_second": config.global_batch_size / result["seconds_per_step"],
                "step_time_ratio_to_default": result["seconds_per_step"] / step_seconds,
            }
            for name, result in measured.items()
        },
        "resume": resumed
        | {
            "restart_seconds": resumed["launch_to_first_epoch_seconds"]
            - config.steps * step_seconds,
            "fresh_start_seconds": measured["default"]["launch_to_first_epoch_seconds"]
            - config.steps * step_seconds,
        },
    }


def markdown_report(results):
    """The strategy table and the resume line, in markdown."""
    config = results["config"]
    lines = [
        f"BERT-{config['config_name']} classifier, sequence {config['sequence_length']}, "
        f"global batch {config['global_batch_size']}, float32, no XLA; median of "
        f"{config['repetitions']} epochs of {config['steps']} steps after one warm-up epoch.",
        "",
        "| strategy | replicas | s/step | examples/s | step time ÷ default |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, result in results["strategies"].items():
        lines.append(
            f"| {name} | {result['replicas']} | {result['seconds_per_step']:.3f} | "
            f"{result['examples_per_second']:.1f} | {result['step_time_ratio_to_default']:.2f} |"
        )
    resume = results["resume"]
    lines += [
        "",
        f"Kill-and-resume: a restarted `default` process resumed at step "
        f"{resume['start_step']} and paid {resume['restart_seconds']:.1f} s before training "
        f"on (start-up, build, restore, tracing), against {resume['fresh_start_seconds']:.1f} s "
        f"for a fresh start; plus the steps since the last checkpoint.",
    ]
    return "\n".join(lines) + "\n"
