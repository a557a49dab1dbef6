"""`keras_bert_lab.benchmarks.lstm`: every field of the tiny run's `lstm`
section."""

from tests.benchmarks.checks import is_number


def test_tiny_run_times_both_lstm_classifiers(tiny_results):
    lstm = tiny_results["lstm"]
    assert lstm["parameters"]["ours"] == lstm["parameters"]["stock_keras"]
    assert lstm["parameters"]["ours_mixed_bfloat16"] == lstm["parameters"]["ours"]
    assert is_number(lstm["speedup_ours_over_stock_keras"])
    assert is_number(lstm["speedup_bfloat16_over_float32"])
    for name in ("ours", "stock_keras", "ours_mixed_bfloat16"):
        assert is_number(lstm[name]["examples_per_second"])
