"""`keras_bert_lab.benchmarks.run` through `python -m experiments.benchmark`:
the tiny run's JSON and the command line."""

import json

from experiments import benchmark
from keras_bert_lab.benchmarks.run import SECTIONS
from keras_bert_lab.presets import BENCHMARK_PRESETS
from tests.benchmarks.checks import is_number


def test_tiny_run_writes_every_section_and_the_machine(tiny_run, tiny_results):
    returned, _ = tiny_run
    results = tiny_results
    assert results == json.loads(json.dumps(returned))
    assert results["config"]["num_layers"] == 1
    assert results["sections"] == list(SECTIONS)
    assert results["command"][-1] == "--quiet"
    machine = results["machine"]
    for key in (
        "cpu_model",
        "cpu_count",
        "usable_cpus",
        "tensorflow",
        "keras",
        "keras_hub",
        "load_average_1_5_15",
        "load_average_at_end",
    ):
        assert machine[key] is not None, key
    assert is_number(results["wall_time_seconds"])


def test_flags_override_the_preset():
    args = benchmark.parse_args(
        ["--tiny", "--batch-size", "3", "--jit", "off", "--profile-precision", "mixed_bfloat16"]
    )
    config = benchmark.make_config(args)
    assert config.batch_size == 3
    assert config.jit_modes == (False,)
    assert config.profile_precision == "mixed_bfloat16"
    assert config.num_layers == BENCHMARK_PRESETS["tiny"].num_layers
