"""The chaos run: an `experiments.imdb_lstm --preset smoke` training SIGKILLed again and
again, restarted after each kill, against the same training run uninterrupted.

1. The uninterrupted reference run trains `flags.total_steps` steps (`soak.TrainingFlags`).
2. The same command in another folder is started with a kill planned (`plan_kills`): at a
   random step, while a checkpoint is written, or during a validation
   (`fault_injection`). On a cluster one worker, chosen at random, is killed, and the
   other must fail by itself, with the one-line `lost a worker` error; then both are started
   again. After the last kill the run is started once more and finishes.
3. Both runs must end with the same number of optimizer steps and the same weights (every
   variable of their last checkpoints: model, optimizer moments, step, random-seed counters)
   within `RTOL`/`ATOL`: a resumed run restores its last checkpoint and skips the batches
   that checkpoint had seen in the seeded data stream, so it replays the same batches with
   the same dropout masks.
"""

import dataclasses
import random
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_bert_lab.benchmarks import processes
from keras_bert_lab.benchmarks.fault_injection import KILL_LINE
from keras_bert_lab.benchmarks.soak import EXPERIMENT_MODULE, log_tail, read_results, run_folder
from keras_bert_lab.training.checkpoints import EPOCH_LOGS, WALL_SECONDS

STRATEGIES = ("default", "multi_worker")
RTOL, ATOL = 1e-5, 1e-6
# Bookkeeping, not training state: the save count, the object graph and the run's wall clock.
_NOT_COMPARED = ("save_counter", "_CHECKPOINTABLE_OBJECT_GRAPH", WALL_SECONDS, EPOCH_LOGS)


@dataclasses.dataclass(frozen=True)
class Kill:
    """A planned SIGKILL: `phase` (`fault_injection.PHASES`) of `step`, in worker `worker`."""

    phase: str
    step: int
    worker: int = 0


def plan_kills(flags, kills, num_workers, rng):
    """`kills` kills at increasing steps, so that each lands after the previous resume: one
    while a checkpoint is written and one during a validation (when `kills` >= 2), the others
    after random steps; each in a random worker.

    Args:
        flags: `soak.TrainingFlags`.
        kills: int.
        num_workers: 1, or the workers of the cluster.
        rng: a `random.Random`.

    Returns:
        A list of `Kill`, by step.
    """
    total, epoch, every = flags.total_steps, flags.steps_per_epoch, flags.checkpoint_every
    choices = {
        "validation": [step for step in range(epoch, total + 1, epoch)],
        "checkpoint": [
            step for step in range(1, total + 1) if step % every == 0 or step % epoch == 0
        ],
        "step": list(range(1, total)),
    }
    phases = (["checkpoint", "validation"] if kills >= 2 else []) + ["step"] * kills
    phases = phases[:kills]
    if kills > total - 1:
        raise ValueError(f"{kills} kills do not fit in {total} steps")
    used, plan = set(), []
    for phase in phases:
        free = [step for step in choices[phase] if step not in used]
        if not free:
            raise ValueError(f"no step left for a kill during {phase}")
        step = rng.choice(free)
        used.add(step)
        plan.append(Kill(phase, step, rng.randrange(num_workers)))
    return sorted(plan, key=lambda kill: kill.step)


def _launch(flags, logdir, log_dir, name, strategy, kill=None):
    """Starts the run (one process, or a cluster of two), with `kill` planned in one of them.
    The log of process `i` is `<log_dir>/<name>-<i>.log`."""
    args = flags.args(logdir, strategy)
    configs = processes.cluster_configs(2) if strategy == "multi_worker" else [None]
    started = []
    for index, tf_config in enumerate(configs):
        module, module_args = EXPERIMENT_MODULE, args
        if kill is not None and kill.worker == index:
            module = "keras_bert_lab.benchmarks.fault_injection"
            module_args = ["--kill-at", f"{kill.phase}:{kill.step}", EXPERIMENT_MODULE, *args]
        started.append(
            processes.launch(module, module_args, Path(log_dir) / f"{name}-{index}.log", tf_config)
        )
    return started


def _watch(started, kill, timeout, detection_timeout):
    """Waits for the processes of one invocation; kills those still running after `timeout`
    seconds, or `detection_timeout` seconds after the planned kill.

    Returns:
        `{"exit_codes", "seconds"}` (a code of None: killed here), plus, when a peer outlived
        the kill, `survivor_seconds_to_exit` from the kill to its exit (None if it had to be
        killed).
    """
    began = time.time()
    deadline = began + timeout
    ended_at = [None] * len(started)
    while None in ended_at and time.time() < deadline:
        for index, process in enumerate(started):
            if ended_at[index] is None and process.poll() is not None:
                ended_at[index] = time.time()
                if kill is not None and index == kill.worker:
                    deadline = min(deadline, ended_at[index] + detection_timeout)
        time.sleep(0.1)
    codes = processes.wait_all(started, 0)
    codes = [code if ended is not None else None for code, ended in zip(codes, ended_at)]
    outcome = {"exit_codes": codes, "seconds": round(time.time() - began, 1)}
    if kill is not None and len(started) > 1:
        victim, survivor = ended_at[kill.worker], ended_at[1 - kill.worker]
        outcome["survivor_seconds_to_exit"] = (
            round(survivor - victim, 1) if victim is not None and survivor is not None else None
        )
    return outcome


def _invoke(flags, logdir, log_dir, name, strategy, kill, timeout, detection_timeout):
    """One start of the run, up to its end or its planned kill; what happened, as a dict."""
    latest = tf.train.latest_checkpoint(str(run_folder(logdir) / "checkpoints"))
    started = _launch(flags, logdir, log_dir, name, strategy, kill)
    try:
        outcome = _watch(started, kill, timeout, detection_timeout)
    finally:  # on Ctrl-C too: no process outlives the chaos run
        processes.stop(started)
    logs = [Path(log_dir) / f"{name}-{index}.log" for index in range(len(started))]
    # The checkpoint a start resumes from (a finished training prints no "Resuming" line).
    outcome["resumed_from_step"] = int(latest.rsplit("-", 1)[1]) if latest else 0
    if kill is None:
        return outcome
    victim_log = logs[kill.worker].read_text(errors="replace")
    outcome |= dataclasses.asdict(kill)
    outcome["killed"] = outcome["exit_codes"][kill.worker] == -9 and KILL_LINE in victim_log
    if len(started) > 1:
        last_line = log_tail(logs[1 - kill.worker], lines=1)
        outcome["survivor_error"] = last_line
        outcome["survivor_reported_lost_worker"] = "error: lost a worker after step" in last_line
    return outcome


def compare_checkpoints(first, second):
    """Every variable of two checkpoints (prefixes), bookkeeping (`_NOT_COMPARED`) aside.

    Returns:
        `{"variables", "max_abs_difference", "equal"}`: `equal` when the two hold the same
        variables and every pair is close within `RTOL` and `ATOL`.
    """
    readers = [tf.train.load_checkpoint(prefix) for prefix in (first, second)]
    names = [
        {name for name in reader.get_variable_to_shape_map() if not name.startswith(_NOT_COMPARED)}
        for reader in readers
    ]
    difference, close = 0.0, names[0] == names[1]
    for name in sorted(names[0] & names[1]):
        a, b = (np.asarray(reader.get_tensor(name), dtype=np.float64) for reader in readers)
        if a.shape != b.shape:
            close = False
            continue
        if a.size:
            difference = max(difference, float(np.max(np.abs(a - b))))
        close = close and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))
    return {"variables": len(names[0]), "max_abs_difference": difference, "equal": close}


def _final_checkpoint(logdir):
    return tf.train.latest_checkpoint(str(run_folder(logdir) / "checkpoints"))


def run_chaos(flags, strategy, kills, work_dir, seed=0, timeout=900, detection_timeout=120):
    """The chaos run of the module docstring under `strategy`, in `work_dir`.

    Args:
        flags: `soak.TrainingFlags` of both runs.
        strategy: one of `STRATEGIES` (`multi_worker`: a cluster of two processes).
        kills: how many times the run is killed.
        work_dir: folder for both runs and their logs.
        seed: seeds the plan of kills.
        timeout: seconds one start of a run may take.
        detection_timeout: seconds a surviving worker has to fail after the kill.

    Returns:
        A JSON-ready dict; `passed` is True when every kill landed, every survivor reported
        the lost worker, and the runs ended with the same steps and weights.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    num_workers = 2 if strategy == "multi_worker" else 1
    plan = plan_kills(flags, kills, num_workers, random.Random(seed))
    started = time.time()
    reference = _invoke(
        flags, work_dir / "reference", work_dir, "reference", strategy, None, timeout, 0
    )
    if reference["exit_codes"] != [0] * num_workers:
        raise RuntimeError(
            f"chaos: the uninterrupted run failed ({reference['exit_codes']}): "
            f"{log_tail(work_dir / 'reference-0.log')}"
        )
    invocations = [
        _invoke(
            flags,
            work_dir / "chaos",
            work_dir,
            f"chaos{i}",
            strategy,
            kill,
            timeout,
            detection_timeout,
        )
        for i, kill in enumerate([*plan, None])
    ]
    return _summary(flags, strategy, plan, reference, invocations, work_dir, started)


def _summary(flags, strategy, plan, reference, invocations, work_dir, started):
    """The result dict of `run_chaos`."""
    results = [read_results(work_dir / name) for name in ("reference", "chaos")]
    steps = [result["metrics"]["optimizer_steps"] if result else None for result in results]
    finals = [_final_checkpoint(work_dir / name) for name in ("reference", "chaos")]
    weights = compare_checkpoints(*finals) if all(finals) else None
    kills_ok = all(
        invocation["killed"] and invocation.get("survivor_reported_lost_worker", True)
        for invocation in invocations[:-1]
    )
    return {
        "experiment": "imdb_lstm",
        "preset": "smoke",
        "strategy": strategy,
        "flags": flags.as_json(),
        "kills": [dataclasses.asdict(kill) for kill in plan],
        "reference": reference,
        "invocations": invocations,
        "optimizer_steps": {"reference": steps[0], "chaos": steps[1]},
        "final_checkpoints": [Path(final).name if final else None for final in finals],
        "weights": weights,
        "test_accuracy": {
            "reference": results[0]["metrics"]["test_accuracy"] if results[0] else None,
            "chaos": results[1]["metrics"]["test_accuracy"] if results[1] else None,
        },
        "wall_time_seconds": round(time.time() - started, 1),
        "passed": bool(
            kills_ok
            and steps[0] == steps[1] == flags.total_steps
            and weights is not None
            and weights["equal"]
            and invocations[-1]["exit_codes"] == [0] * len(invocations[-1]["exit_codes"])
        ),
    }


def summary_line(results):
    """One line per strategy of a chaos run: kills, steps, weight difference, verdict."""
    parts = []
    for strategy, run in results["runs"].items():
        steps, weights = run["optimizer_steps"], run["weights"] or {}
        parts.append(
            f"{strategy}: {len(run['kills'])} kills, {steps['chaos']} steps "
            f"(uninterrupted {steps['reference']}), largest weight difference "
            f"{weights.get('max_abs_difference')}, {'passed' if run['passed'] else 'FAILED'}"
        )
    return "chaos: " + "; ".join(parts)
