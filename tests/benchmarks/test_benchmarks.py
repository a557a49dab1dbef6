"""`python -m experiments.benchmark` and `keras_bert_lab.benchmarks`.

No timing is asserted: the machine running the tests is shared. The tiny
run checks that every field is produced; the FLOP formula is checked
against arithmetic done by hand and against the model's own kernels.
"""

import json
import math

import numpy as np
import pytest

from experiments import benchmark
from keras_bert_lab import benchmarks as benchmarking
from keras_bert_lab.models.bert import BertEncoder
from keras_bert_lab.presets import BENCHMARK_PRESETS, BenchmarkConfig


def test_flops_of_a_tiny_bert_match_the_hand_count():
    # L=1 layer, H=4 hidden, I=8 intermediate, T=3 tokens, batch 2,
    # V=10 tokens, P=1 masked position, C=3 classes.
    config = BenchmarkConfig(
        num_layers=1,
        hidden_dim=4,
        num_heads=2,
        intermediate_dim=8,
        sequence_length=3,
        batch_size=2,
        vocabulary_size=10,
        max_predictions=1,
        num_classes=3,
    )
    # One layer, per sequence (a multiply-add counts 2):
    #   Q, K, V projections  3 x 2·T·H·H = 3 x 2·3·4·4 =  288
    #   scores Q Kᵀ              2·T·T·H =     2·3·3·4 =   72
    #   weights x V              2·T·T·H =     2·3·3·4 =   72
    #   output projection        2·T·H·H =     2·3·4·4 =   96
    #   feed-forward         2 x 2·T·H·I = 2 x 2·3·4·8 =  384
    #                                                     ---
    #                                                     912
    # pooler on [CLS]:           2·H·H   =       2·4·4 =   32  -> encoder 944
    assert benchmarking.encoder_forward_flops(1, 4, 8, 3) == 944
    # MLM at P=1 position: dense 2·H·H = 32, tied output 2·H·V = 80;
    # NSP 2·H·2 = 16: head 128.
    assert benchmarking.head_forward_flops("pretraining", 4, 10, 1) == 128
    # Classifier 2·H·C = 2·4·3 = 24.
    assert benchmarking.head_forward_flops("classification", 4, 10, 1, 3) == 24
    # Training = 3 x batch x forward: 3·2·(944 + 128) = 6432 and
    # 3·2·(944 + 24) = 5808.
    assert benchmarking.bert_training_flops(config, "pretraining") == 6432
    assert benchmarking.bert_training_flops(config, "classification") == 5808
    # Last layer only at q = 1 + P = 2 query positions ([CLS], the masked
    # one); keys and values still at all T = 3:
    #   K, V projections     2 x 2·T·H·H = 2 x 2·3·4·4 =  192
    #   Q, O projections     2 x 2·q·H·H = 2 x 2·2·4·4 =  128
    #   scores, weights x V  2 x 2·q·T·H = 2 x 2·2·3·4 =   96
    #   feed-forward         2 x 2·q·H·I = 2 x 2·2·4·8 =  256  -> 672
    # 3·2·(672 + 32 + 128) = 4992; classification at q = 1:
    # 192 + 64 + 48 + 128 = 432, 3·2·(432 + 32 + 24) = 2928.
    assert benchmarking.encoder_forward_flops(1, 4, 8, 3, last_layer_positions=3) == 944
    assert benchmarking.bert_training_flops(config, "pretraining", prune_last_layer=True) == 4992
    assert benchmarking.bert_training_flops(config, "classification", prune_last_layer=True) == 2928


def test_flops_agree_with_the_kernels_of_a_built_encoder():
    # Every kernel of a block multiplies each of the T positions
    # (2 FLOPs per weight and position), attention adds 4·T²·H per layer,
    # and the pooler kernel acts on [CLS] only.
    layers, hidden, heads, intermediate, length = 2, 8, 2, 16, 5
    encoder = BertEncoder(50, layers, heads, hidden, intermediate, max_sequence_length=length)
    block_kernels = sum(
        math.prod(weight.shape)
        for block in encoder.transformer_layers
        for weight in block.weights
        if weight.path.endswith("kernel")
    )
    pooler_kernel = math.prod(encoder.pooled_dense.kernel.shape)
    expected = (
        2 * length * block_kernels + layers * 4 * length * length * hidden + 2 * pooler_kernel
    )
    assert benchmarking.encoder_forward_flops(layers, hidden, intermediate, length) == expected


def test_alternate_times_every_contender_each_round_in_a_b_b_a_order():
    calls = []
    seconds = benchmarking.alternate(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repetitions=3, warmup=1
    )
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert {name: len(times) for name, times in seconds.items()} == {"a": 3, "b": 3}
    assert benchmarking.median_ratio([2.0, 4.0, 9.0], [1.0, 1.0, 3.0]) == 3.0


def test_synthetic_texts_have_the_requested_mean_length():
    words = benchmarking.synthetic_words(500)
    texts = benchmarking.synthetic_texts(2000, 230.0, words)
    lengths = [len(text.split()) for text in texts]
    assert 200 < np.mean(lengths) < 260
    assert np.median(lengths) < np.mean(lengths)  # Skewed like IMDB.


def test_missing_translator_is_reported(monkeypatch):
    monkeypatch.setattr(
        benchmarking, "_translator_modules", lambda: (None, "ImportError: no translator")
    )
    config = BENCHMARK_PRESETS["tiny"]
    result = benchmarking.benchmark_decoding(config)
    assert result == {"available": False, "reason": "ImportError: no translator"}
    report = benchmarking.markdown_report(
        {"decoding": result, "memory": {}, "machine": benchmarking.machine_description()}
    )
    assert "missing: ImportError: no translator" in report


def test_op_types_and_innermost_events_of_a_trace():
    op_type = benchmarking._op_type
    assert op_type("bert/layer_0/ffn/MatMul_1:_MklMatMul", set()) == "MatMul"
    assert op_type("adam_w/Square_33:Square", set()) == "Square"
    assert op_type("MatMul_1.204", {"hlo_op", "hlo_module"}) == "MatMul"
    assert op_type("wrapped_reduce-window.3", {"hlo_op"}) == "wrapped_reduce-window"
    for not_an_op in (
        "ExecutorState::Process",
        "ThunkExecutor::Execute",
        "end: copy.300",
        "MemoryAllocation",
        "ThreadpoolListener::StartRegion",
    ):
        assert op_type(not_an_op, {"_c", "_ct"}) is None, not_an_op
    # An XLA `call` thunk around two thunks, then a lone one.
    events = [(0, 100, "call"), (10, 20, "fusion"), (40, 50, "dot"), (200, 10, "MatMul")]
    assert [op for _, _, op in benchmarking._innermost(events)] == ["fusion", "dot", "MatMul"]


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("benchmark")
    returned = benchmark.main(
        [
            "--tiny",
            "--json",
            str(folder / "b.json"),
            "--markdown",
            str(folder / "b.md"),
            "--profile",
            str(folder / "profile"),
            "--quiet",
        ]
    )
    return returned, folder


def test_tiny_run_writes_every_field(tiny_results):
    returned, folder = tiny_results
    results = json.loads((folder / "b.json").read_text())
    assert results == json.loads(json.dumps(returned))
    assert (folder / "b.md").read_text() == results["markdown"]
    assert results["markdown"].index("## Ratios") < results["markdown"].index(
        "## Absolute figures on"
    )

    assert results["config"]["num_layers"] == 1
    assert results["sections"] == list(benchmarking.SECTIONS)
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
    assert _number(results["wall_time_seconds"])

    bert = results["bert"]
    assert "3 x batch" in bert["flop_formula"]
    for key in (
        "tf_matmul_flops_per_second",
        "xla_matmul_flops_per_second",
        "peak_flops_per_second",
        "flops",
    ):
        assert _number(bert["matmul"][key]) and bert["matmul"][key] > 0, key
    config = BENCHMARK_PRESETS["tiny"]
    assert bert["dropout"]["shape"] == [
        config.batch_size,
        config.num_heads,
        config.sequence_length,
        config.sequence_length,
    ]
    for jit in ("jit", "no_jit"):
        for key in ("ours_seconds", "keras_seconds", "speedup_ours_over_keras"):
            assert _number(bert["dropout"][jit][key]), (jit, key)
    assert "attention weights (jit): ours / `keras.layers.Dropout`" in results["markdown"]
    for task in benchmarking.TASKS:
        for jit in ("jit", "no_jit"):
            entry = bert[task][jit]
            assert _number(entry["speedup_ours_over_keras_hub"])
            assert _number(entry["speedup_ours_over_keras_hub_best_rounds"])
            assert _number(entry["speedup_of_pruned_last_layer"])
            for family in benchmarking.FAMILIES:
                assert entry[family]["training_flops_per_step"] == benchmarking.bert_training_flops(
                    config, task, prune_last_layer=family == "ours"
                )
                for key in BERT_ENTRY:
                    assert key in entry[family], (task, jit, family, key)
                assert len(entry[family]["round_seconds"]) == config.repetitions
                assert entry[family]["traces"] == 1  # No retracing.
                assert 0 < entry[family]["utilisation"]

    profile = results["profile"]
    for task in benchmarking.TASKS:
        for jit in ("jit", "no_jit"):
            for family in benchmarking.PROFILED_FAMILIES:
                entry = profile[task][jit][family]
                ops = dict(entry["top_ops"])
                assert 0 < len(ops) <= 12, (task, jit, family)
                assert all(seconds > 0 for seconds in ops.values())
                assert any(benchmarking.MATRIX_PRODUCT.search(op) for op in ops)
                assert 0 < entry["matrix_product_share"] < 1
                assert sum(ops.values()) <= entry["op_seconds_per_step"] + 1e-9
                assert _number(entry["wall_seconds_per_step"])
                assert list(
                    (folder / "profile" / f"{task}-{family}-{jit}").glob(
                        "plugins/profile/*/*.xplane.pb"
                    )
                )
    assert "## Where the time goes: BERT pretraining step, jit" in results["markdown"]

    decoding = results["decoding"]
    if decoding["available"]:
        for key in (
            "greedy_cached_speedup_over_uncached",
            "beam_cached_speedup_over_uncached",
            "beam_time_over_greedy_time",
            "greedy_cached_speedup_over_keras_hub",
            "greedy_cached_speedup_over_keras_hub_no_jit",
            "greedy_cached_speedup_over_keras_hub_best",
        ):
            assert _number(decoding[key]), key
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
                assert _number(entry["sentences_per_second"])
                assert _number(entry["tokens_per_second"])
                assert 0 < entry["mean_output_tokens"] <= config.decode_length
    else:
        assert decoding["reason"]

    pipes = results["pipelines"]
    for name in ("classification", "translation"):
        for key in ("first_pass_examples_per_second", "cached_pass_examples_per_second"):
            assert _number(pipes[name][key]), (name, key)
    assert pipes["classification"]["examples"] == config.pipeline_texts
    assert pipes["translation"]["examples"] == config.translation_pairs
    assert pipes["pretraining"]["examples"] == config.pretraining_examples
    assert _number(pipes["classification"]["slowest_pass_over_model_consumption"])
    assert _number(pipes["pretraining"]["over_model_consumption"])
    padding = pipes["padding"]
    assert padding["max_length"] == config.padding_max_length
    assert 0 <= padding["bucketed_fraction"] <= padding["fixed_length_fraction"] < 1
    assert _number(padding["padded_tokens_cut"])

    lstm = results["lstm"]
    assert lstm["parameters"]["ours"] == lstm["parameters"]["stock_keras"]
    assert _number(lstm["speedup_ours_over_stock_keras"])
    for name in ("ours", "stock_keras"):
        assert _number(lstm[name]["examples_per_second"])

    memory = results["memory"]
    for section in benchmarking.SECTIONS:
        assert memory[section]["peak_rss_bytes"] >= memory[section]["rss_at_start_bytes"] > 0, (
            section
        )
    assert memory["process_peak_rss_bytes"] >= max(
        memory[section]["peak_rss_bytes"] for section in benchmarking.SECTIONS
    )
    alone = memory["bert_alone_peak_rss_bytes"]
    assert set(alone) == set(benchmarking.TASKS)
    for by_jit in alone.values():
        assert set(by_jit) == {"jit", "no_jit"}
        # A fresh process holds at least the libraries (TensorFlow alone
        # takes several hundred MiB) and never all of this machine.
        assert 200 * 2**20 < min(by_jit.values()) <= max(by_jit.values()) < 2**40
    assert "trained alone" in results["markdown"]


def test_flags_override_the_preset():
    args = benchmark.parse_args(["--tiny", "--batch-size", "3", "--jit", "off"])
    config = benchmark.make_config(args)
    assert config.batch_size == 3
    assert config.jit_modes == (False,)
    assert config.num_layers == BENCHMARK_PRESETS["tiny"].num_layers
