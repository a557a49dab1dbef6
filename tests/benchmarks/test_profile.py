"""`keras_bert_lab.benchmarks.profile`: op types read from trace events, and
the profiles of the tiny run."""

import dataclasses

from keras_bert_lab.benchmarks import profile as profiling
from keras_bert_lab.benchmarks.bert import bert_batch, build_trainee
from keras_bert_lab.benchmarks.flops import TASKS
from keras_bert_lab.benchmarks.profile import (
    MATRIX_PRODUCT,
    PROFILED_FAMILIES,
    _innermost,
    _op_type,
)
from keras_bert_lab.presets import BENCHMARK_PRESETS
from tests.benchmarks.checks import JIT_KEYS, is_number


def test_op_types_and_innermost_events_of_a_trace():
    assert _op_type("bert/layer_0/ffn/MatMul_1:_MklMatMul", set()) == "MatMul"
    assert _op_type("adam_w/Square_33:Square", set()) == "Square"
    assert _op_type("MatMul_1.204", {"hlo_op", "hlo_module"}) == "MatMul"
    assert _op_type("wrapped_reduce-window.3", {"hlo_op"}) == "wrapped_reduce-window"
    for not_an_op in (
        "ExecutorState::Process",
        "ThunkExecutor::Execute",
        "end: copy.300",
        "MemoryAllocation",
        "ThreadpoolListener::StartRegion",
    ):
        assert _op_type(not_an_op, {"_c", "_ct"}) is None, not_an_op
    # An XLA `call` thunk around two thunks, then a lone one.
    events = [(0, 100, "call"), (10, 20, "fusion"), (40, 50, "dot"), (200, 10, "MatMul")]
    assert [op for _, _, op in _innermost(events)] == ["fusion", "dot", "MatMul"]


def test_tiny_run_profiles_every_step(tiny_run, tiny_results):
    _, folder = tiny_run
    profile = tiny_results["profile"]
    for task in TASKS:
        for jit in JIT_KEYS:
            for family in PROFILED_FAMILIES:
                entry = profile[task][jit][family]
                ops = dict(entry["top_ops"])
                assert 0 < len(ops) <= 12, (task, jit, family)
                assert all(seconds > 0 for seconds in ops.values())
                assert any(MATRIX_PRODUCT.search(op) for op in ops)
                assert 0 < entry["matrix_product_share"] < 1
                assert sum(ops.values()) <= entry["op_seconds_per_step"] + 1e-9
                assert is_number(entry["wall_seconds_per_step"])
                assert list(
                    (folder / "profile" / f"{task}-{family}-{jit}").glob(
                        "plugins/profile/*/*.xplane.pb"
                    )
                )


def test_the_profiled_step_is_built_in_the_profile_precision(tmp_path, monkeypatch):
    built = []

    def recording_build_trainee(config, family, task, precision="float32"):
        model, optimizer = build_trainee(config, family, task, precision)
        built.append(model.dtype_policy.name)
        return model, optimizer

    monkeypatch.setattr(profiling, "build_trainee", recording_build_trainee)
    config = dataclasses.replace(BENCHMARK_PRESETS["tiny"], profile_precision="mixed_bfloat16")
    batch = bert_batch(config, "pretraining", config.seed)
    entry = profiling._profile_step(
        config, "pretraining", "ours", False, batch, str(tmp_path), 1, 5
    )
    assert built == ["mixed_bfloat16"]
    assert any(MATRIX_PRODUCT.search(op) for op, _ in entry["top_ops"])
