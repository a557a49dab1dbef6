import json

import pytest
import tensorflow as tf

from keras_bert_lab.training import strategy as strategies


def test_unknown_strategy_is_one_clear_line():
    with pytest.raises(strategies.StrategyError) as error:
        strategies.create_strategy("horovod")
    message = str(error.value)
    assert "\n" not in message and "horovod" in message and "mirrored" in message


@pytest.mark.parametrize(
    "tf_config, expected",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"task": {"type": "worker", "index": 0}}), '"cluster"'),
        (json.dumps({"cluster": {"worker": ["127.0.0.1:1"]}}), '"task"'),
        (
            json.dumps(
                {"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}
            ),
            "not in its cluster",
        ),
    ],
)
def test_malformed_tf_config_is_one_clear_line(monkeypatch, tf_config, expected):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(strategies.StrategyError, match=expected) as error:
        strategies.create_strategy("auto")
    assert "\n" not in str(error.value)


def test_auto_without_accelerators_or_cluster_is_the_default_strategy(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    assert strategies.create_strategy("auto") is tf.distribute.get_strategy()


def test_mirrored_over_logical_cpus():
    strategy = strategies.create_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2  # tests/conftest.py splits the CPU


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(strategies.StrategyError, match="needs TF_CONFIG"):
        strategies.create_strategy("multi_worker")


def test_global_batch_size_and_divisibility():
    strategy = strategies.create_strategy("mirrored")
    assert strategies.global_batch_size(strategy, per_replica_batch_size=16) == 32
    assert strategies.global_batch_size(strategy, global_batch=64) == 64
    with pytest.raises(strategies.StrategyError, match="does not divide over 2 replicas"):
        strategies.global_batch_size(strategy, global_batch=33)


@pytest.mark.parametrize("rule, expected", [("none", 1e-3), ("linear", 4e-3), ("sqrt", 2e-3)])
def test_learning_rate_scaling_rules(rule, expected):
    assert strategies.scale_learning_rate(1e-3, 4, rule) == pytest.approx(expected)


def test_split_cpu_after_start_is_a_clear_error():
    tf.constant(1.0)  # TensorFlow has started with 2 logical CPU devices
    strategies.split_cpu(2)  # same layout: accepted
    with pytest.raises(strategies.StrategyError, match="already started with 2"):
        strategies.split_cpu(3)
