"""`keras_bert_lab.benchmarks.profile`: op types read from trace events, and
the profiles of the tiny run."""

from keras_bert_lab.benchmarks.flops import TASKS
from keras_bert_lab.benchmarks.profile import (
    MATRIX_PRODUCT,
    PROFILED_FAMILIES,
    _innermost,
    _op_type,
)
from tests.benchmarks.checks import is_number


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
        for jit in ("jit", "no_jit"):
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
