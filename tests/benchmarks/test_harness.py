"""`keras_bert_lab.benchmarks.harness`: the order contenders run in."""

from keras_bert_lab.benchmarks.harness import alternate, median_ratio


def test_alternate_times_every_contender_each_round_in_a_b_b_a_order():
    calls = []
    seconds = alternate(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repetitions=3, warmup=1
    )
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert {name: len(times) for name, times in seconds.items()} == {"a": 3, "b": 3}
    assert median_ratio([2.0, 4.0, 9.0], [1.0, 1.0, 3.0]) == 3.0
