"""`keras_bert_lab.benchmarks.pipelines`: every field of the tiny run's
`pipelines` section."""

from keras_bert_lab.presets import BENCHMARK_PRESETS
from tests.benchmarks.checks import is_number


def test_tiny_run_times_every_pipeline_and_the_padding(tiny_results):
    pipes = tiny_results["pipelines"]
    config = BENCHMARK_PRESETS["tiny"]
    for name in ("classification", "translation"):
        for key in ("first_pass_examples_per_second", "cached_pass_examples_per_second"):
            assert is_number(pipes[name][key]), (name, key)
    assert pipes["classification"]["examples"] == config.pipeline_texts
    assert pipes["translation"]["examples"] == config.translation_pairs
    assert pipes["pretraining"]["examples"] == config.pretraining_examples
    assert is_number(pipes["classification"]["slowest_pass_over_model_consumption"])
    assert is_number(pipes["pretraining"]["over_model_consumption"])
    padding = pipes["padding"]
    assert padding["max_length"] == config.padding_max_length
    assert 0 <= padding["bucketed_fraction"] <= padding["fixed_length_fraction"] < 1
    assert is_number(padding["padded_tokens_cut"])
