"""`keras_bert_lab.benchmarks.memory`: the peaks of the tiny run's sections
and of each BERT configuration alone."""

import dataclasses
import json

from keras_bert_lab.benchmarks.flops import TASKS
from keras_bert_lab.benchmarks.memory import config_from_json
from keras_bert_lab.benchmarks.run import SECTIONS
from keras_bert_lab.presets import BENCHMARK_PRESETS
from tests.benchmarks.checks import JIT_KEYS


def test_the_child_process_reads_back_the_config_it_is_given():
    for config in BENCHMARK_PRESETS.values():
        assert config_from_json(json.dumps(dataclasses.asdict(config))) == config


def test_tiny_run_measures_every_section_and_each_configuration_alone(tiny_results):
    memory = tiny_results["memory"]
    for section in SECTIONS:
        assert memory[section]["peak_rss_bytes"] >= memory[section]["rss_at_start_bytes"] > 0, (
            section
        )
    assert memory["process_peak_rss_bytes"] >= max(
        memory[section]["peak_rss_bytes"] for section in SECTIONS
    )
    alone = memory["bert_alone_peak_rss_bytes"]
    assert set(alone) == set(TASKS)
    for by_jit in alone.values():
        assert set(by_jit) == set(JIT_KEYS)
        # A fresh process holds at least the libraries (TensorFlow alone
        # takes several hundred MiB) and never all of this machine.
        assert 200 * 2**20 < min(by_jit.values()) <= max(by_jit.values()) < 2**40
