"""Every experiment's gpu preset, built at full size and stepped on the CPU (`slow`: minutes
each; `pytest --run-slow` runs them), and the pieces of the check that are quick."""

import math

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.benchmarks import gpu_presets


@pytest.mark.slow
@pytest.mark.parametrize("experiment", sorted(gpu_presets.PRESETS))
def test_the_gpu_preset_trains_two_mirrored_steps_and_evaluates_one(experiment, capsys):
    result = gpu_presets.check_all([experiment])[experiment]
    with capsys.disabled():
        print("\n" + gpu_presets.summary_line(result))
    mirrored = result["mirrored"]
    assert mirrored["replicas"] == 2 and mirrored["optimizer_steps"] == 2
    assert math.isfinite(mirrored["train_loss"]) and math.isfinite(mirrored["evaluation_loss"])
    memory = result["memory"]
    config = gpu_presets.PRESETS[experiment]["gpu"]
    assert memory["batch_size"] == config.batch_size
    # float32 weights, and Adam's two moments (plus its step counters) per weight.
    assert memory["weights_bytes"] >= 4 * result["parameters"]
    assert memory["optimizer_state_bytes"] >= 2 * memory["weights_bytes"]
    batches = gpu_presets.memory_batches(config.batch_size, memory["sequence_length"])
    small, large = (memory["step_bytes_at_batch"][str(batch)] for batch in batches)
    assert 0 < small < large  # activations grow with the batch
    assert memory["estimated_per_device_bytes"] > memory["step_bytes"] >= large


@pytest.mark.parametrize("experiment", sorted(gpu_presets.PRESETS))
def test_random_batches_fit_each_experiment_at_small_sizes(experiment):
    features, labels = gpu_presets.random_batch(
        experiment, gpu_presets.PRESETS[experiment]["smoke"], batch_size=3, sequence_length=16
    )
    for tensor in tf.nest.flatten((features, labels)):
        assert tensor.shape[0] == 3
    model, _, objective = gpu_presets.build(experiment, gpu_presets.PRESETS[experiment]["smoke"])
    terms = objective(labels, model(features, training=True))
    assert all(np.isfinite(float(term.total)) for term in terms.values())


def test_memory_is_measured_at_batches_of_a_few_thousand_tokens_at_most():
    assert gpu_presets.memory_batches(64, 512) == (4, 8)
    assert gpu_presets.memory_batches(256, 64) == (32, 64)
    assert gpu_presets.memory_batches(4096, 1) == (2048, 4096)  # the full batch: measured
    assert gpu_presets.memory_batches(32, 8192) == (1, 2)


def test_without_allocator_statistics_the_step_is_not_estimated(monkeypatch):
    # What TensorFlow raises when the CPU allocator keeps no statistics. Stubbed, because
    # whether this process's allocator keeps them depends on what ran in it before: a
    # `tf.profiler` trace (the benchmark tests') turns them on for the rest of the process.
    def no_statistics(device):
        raise ValueError(f"Memory statistics are not available for device {device}")

    monkeypatch.setattr(tf.config.experimental, "reset_memory_stats", no_statistics)
    assert gpu_presets._allocated_by(tf.function(lambda x: x * 2), (tf.ones([4]),)) is None


def test_the_summary_line_names_parameters_and_memory():
    result = {
        "experiment": "bert_imdb",
        "parameters": 28_500_000,
        "memory": {
            "batch_size": 32,
            "sequence_length": 512,
            "weights_bytes": 2**28,
            "optimizer_state_bytes": 2**29,
            "step_bytes": 2**32,
            "estimated_per_device_bytes": 2**28 + 2**29 + 2**32,
        },
    }
    assert gpu_presets.summary_line(result) == (
        "bert_imdb: 28.5M parameters; one device at batch 32 x 512 tokens: about 4.75 GiB "
        "(0.75 GiB weights and optimizer state, 4.00 GiB for the step)"
    )
