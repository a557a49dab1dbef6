"""`keras_bert_lab.benchmarks.decoding`: every field of the tiny run's
`decoding` section."""

from keras_bert_lab.presets import BENCHMARK_PRESETS
from tests.benchmarks.checks import is_number


def test_tiny_run_decodes_with_every_method_and_setting(tiny_results):
    decoding = tiny_results["decoding"]
    config = BENCHMARK_PRESETS["tiny"]
    assert decoding["available"] is True
    for key in (
        "greedy_cached_speedup_over_uncached",
        "beam_cached_speedup_over_uncached",
        "beam_time_over_greedy_time",
        "greedy_cached_speedup_over_keras_hub",
        "greedy_cached_speedup_over_keras_hub_no_jit",
        "greedy_cached_speedup_over_keras_hub_best",
    ):
        assert is_number(decoding[key]), key
    # True in practice ([END] pinned to logit 0); a beam may still pick
    # [END] in a vocabulary this small.
    assert isinstance(decoding["all_sentences_full_length"], bool)
    for method, settings in (
        ("greedy", ("cached", "uncached", "cached_no_jit")),
        ("beam", ("cached", "uncached")),
        ("keras_hub_greedy", ("cached", "cached_no_jit")),
    ):
        for setting in settings:
            entry = decoding[method][setting]
            assert is_number(entry["sentences_per_second"])
            assert is_number(entry["tokens_per_second"])
            assert 0 < entry["mean_output_tokens"] <= config.decode_length
