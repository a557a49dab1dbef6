"""`keras_bert_lab.benchmarks.bert`: every field of the tiny run's `bert`
section."""

from keras_bert_lab.benchmarks.bert import FAMILIES
from keras_bert_lab.benchmarks.flops import TASKS, bert_training_flops
from keras_bert_lab.presets import BENCHMARK_PRESETS
from tests.benchmarks.checks import JIT_KEYS, is_number

BERT_ENTRY = (
    "tokens_per_second",
    "best_tokens_per_second",
    "examples_per_second",
    "seconds_per_step",
    "flops_per_second",
    "utilisation",
    "traces",
    "round_seconds",
)


def test_tiny_run_times_the_matmul_and_the_dropouts(tiny_results):
    bert = tiny_results["bert"]
    assert "3 x batch" in bert["flop_formula"]
    for key in (
        "tf_matmul_flops_per_second",
        "xla_matmul_flops_per_second",
        "peak_flops_per_second",
        "flops",
    ):
        assert is_number(bert["matmul"][key]) and bert["matmul"][key] > 0, key
    config = BENCHMARK_PRESETS["tiny"]
    assert bert["dropout"]["shape"] == [
        config.batch_size,
        config.num_heads,
        config.sequence_length,
        config.sequence_length,
    ]
    for jit in JIT_KEYS:
        for key in ("ours_seconds", "keras_seconds", "speedup_ours_over_keras"):
            assert is_number(bert["dropout"][jit][key]), (jit, key)


def test_tiny_run_times_every_family_of_every_task(tiny_results):
    bert = tiny_results["bert"]
    config = BENCHMARK_PRESETS["tiny"]
    for task in TASKS:
        for jit in JIT_KEYS:
            entry = bert[task][jit]
            assert is_number(entry["speedup_ours_over_keras_hub"])
            assert is_number(entry["speedup_ours_over_keras_hub_best_rounds"])
            assert is_number(entry["speedup_of_pruned_last_layer"])
            for family in FAMILIES:
                assert entry[family]["training_flops_per_step"] == bert_training_flops(
                    config, task, prune_last_layer=family == "ours"
                )
                for key in BERT_ENTRY:
                    assert key in entry[family], (task, jit, family, key)
                assert len(entry[family]["round_seconds"]) == config.repetitions
                assert entry[family]["traces"] == 1  # No retracing.
                assert 0 < entry[family]["utilisation"]
