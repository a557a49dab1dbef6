"""`keras_bert_lab.benchmarks.precision`: every field of the tiny run's `precision`
section, and the report's rows of it."""

from keras_bert_lab.benchmarks import precision
from keras_bert_lab.benchmarks.flops import bert_training_flops
from keras_bert_lab.presets import BENCHMARK_PRESETS
from tests.benchmarks.checks import JIT_KEYS, is_number


def test_tiny_run_times_every_family_in_both_precisions(tiny_results):
    section = tiny_results["precision"]
    config = BENCHMARK_PRESETS["tiny"]
    for family in precision.FAMILIES:
        flops = bert_training_flops(config, "pretraining", prune_last_layer=family == "ours")
        for policy in precision.PRECISIONS:
            for jit in JIT_KEYS:
                figures = section["pretraining"][family][policy][jit]
                assert figures["training_flops_per_step"] == flops
                assert len(figures["round_seconds"]) == config.repetitions
                assert figures["traces"] == 1, (family, policy, jit)  # No retracing.
                assert is_number(figures["utilisation"]) and figures["utilisation"] > 0


def test_tiny_run_measures_the_matmul_peak_of_each_dtype(tiny_results):
    section = tiny_results["precision"]
    assert set(section["matmul"]) == {"float32", "bfloat16"}
    for matmul in section["matmul"].values():
        assert matmul["size"] == BENCHMARK_PRESETS["tiny"].matmul_size
        peak = matmul["peak_flops_per_second"]
        assert max(matmul["tf_matmul_flops_per_second"], matmul["xla_matmul_flops_per_second"]) > 0
        assert is_number(peak) and peak > 0
    assert is_number(section["matmul_bfloat16_over_float32"])


def test_tiny_run_gives_every_speedup_per_jit_mode_and_at_the_best_of_both(tiny_results):
    speedups = tiny_results["precision"]["speedups"]
    assert set(speedups) == {
        "ours_bfloat16_over_ours_float32",
        "ours_bfloat16_over_keras_hub_bfloat16",
        "ours_float32_over_keras_hub_float32",
        "keras_hub_bfloat16_over_keras_hub_float32",
    }
    for ratios in speedups.values():
        assert set(ratios) == {*JIT_KEYS, "best"}
        assert all(is_number(value) and value > 0 for value in ratios.values())


def test_the_report_names_each_speedup_and_each_dtype(tiny_run):
    _, folder = tiny_run
    report = (folder / "b.md").read_text()
    assert "| BERT pretraining step, ours bfloat16 over ours float32 | jit " in report
    assert "(of its dtype's matmul peak)" in report
    assert "| bfloat16 matmul " in report and "| float32 matmul " in report
