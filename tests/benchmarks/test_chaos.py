"""The chaos run on the tiny IMDB (2 kills), its plan of kills and its weight comparison.

The chaos run is the kill-and-resume test of `experiments.imdb_lstm`: a SIGKILL while a
checkpoint is written and one during a validation; on a cluster, the survivor of a killed
worker fails with one line within a minute, and the restarted cluster resumes. Both end with
the uninterrupted run's steps and weights."""

import random

import numpy as np
import pytest
import tensorflow as tf

from experiments import soak as soak_experiment
from keras_bert_lab.benchmarks import chaos
from keras_bert_lab.benchmarks.soak import TrainingFlags

FLAGS = TrainingFlags(None, steps=40, steps_per_epoch=10, checkpoint_every=4, seed=0)


@pytest.mark.parametrize("strategy", chaos.STRATEGIES)
def test_a_tiny_chaos_run_ends_as_the_uninterrupted_run(tiny_imdb_dir, tmp_path, strategy):
    results = soak_experiment.main(
        [
            "--chaos",
            "--strategy",
            strategy,
            "--kills",
            "2",
            "--data-dir",
            str(tiny_imdb_dir),
            "--steps",
            "40",
            "--steps-per-epoch",
            "10",
            "--checkpoint-every",
            "5",
            "--work-dir",
            str(tmp_path),
        ]
    )
    run = results["runs"][strategy]
    assert sorted(kill["phase"] for kill in run["kills"]) == ["checkpoint", "validation"]
    killed, last = run["invocations"][:-1], run["invocations"][-1]
    for invocation in killed:
        assert invocation["killed"], invocation
        assert invocation["exit_codes"][invocation["worker"]] == -9
        if strategy == "multi_worker":  # the other worker failed by itself, in one line
            assert invocation["exit_codes"][1 - invocation["worker"]] == 1, invocation
            assert invocation["survivor_reported_lost_worker"], invocation
            assert invocation["survivor_seconds_to_exit"] < 60
    assert [invocation["resumed_from_step"] > 0 for invocation in killed] == [False, True]
    assert last["exit_codes"] == [0] * (2 if strategy == "multi_worker" else 1)
    assert last["resumed_from_step"] > 0
    assert run["optimizer_steps"] == {"reference": 40, "chaos": 40}
    assert run["final_checkpoints"] == ["ckpt-40", "ckpt-40"]
    assert run["weights"]["equal"] and run["weights"]["variables"] > 10
    assert run["passed"] and results["passed"]


def test_kills_are_planned_at_increasing_steps_of_their_phase():
    for seed in range(20):
        plan = chaos.plan_kills(FLAGS, 5, 2, random.Random(seed))
        steps = [kill.step for kill in plan]
        assert steps == sorted(set(steps)) and len(steps) == 5
        assert 1 <= steps[0] and steps[-1] <= FLAGS.total_steps
        phases = {kill.phase: kill.step for kill in plan}
        assert phases["validation"] % FLAGS.steps_per_epoch == 0
        assert phases["checkpoint"] % FLAGS.checkpoint_every == 0 or (
            phases["checkpoint"] % FLAGS.steps_per_epoch == 0
        )
        assert {kill.worker for kill in plan} <= {0, 1}
    assert [kill.phase for kill in chaos.plan_kills(FLAGS, 1, 1, random.Random(0))] == ["step"]
    with pytest.raises(ValueError, match="do not fit"):
        chaos.plan_kills(FLAGS, 40, 1, random.Random(0))


def test_checkpoints_compare_equal_only_when_every_variable_is_close(tmp_path):
    def write(name, value, saves=1):
        checkpoint = tf.train.Checkpoint(weights=tf.Variable(np.full([3], value, np.float32)))
        for _ in range(saves):
            prefix = checkpoint.save(str(tmp_path / name))
        return prefix

    same = chaos.compare_checkpoints(write("a", 1.0), write("b", 1.0, saves=3))
    assert same == {"variables": 1, "max_abs_difference": 0.0, "equal": True}
    different = chaos.compare_checkpoints(write("c", 1.0), write("d", 1.01))
    assert not different["equal"]
    assert different["max_abs_difference"] == pytest.approx(0.01, rel=1e-4)
