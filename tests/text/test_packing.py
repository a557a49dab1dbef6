"""Padding to a power of two (eager and in the graph) and texts batched by length."""

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.text.packing import (
    length_sorted_batches,
    map_in_length_order,
    pad_to_power_of_two,
)


@pytest.mark.parametrize("graph", [False, True])
def test_pads_to_a_power_of_two_at_most_max_length(graph):
    def pad(rows, max_length):
        ragged = tf.ragged.constant(rows, tf.int32, ragged_rank=1)
        if graph:
            return tf.function(lambda ids: pad_to_power_of_two(ids, max_length))(ragged)
        return pad_to_power_of_two(ragged, max_length)

    padded = pad([[7, 8, 9], [7]], 12)
    assert padded.dtype == tf.int32
    np.testing.assert_array_equal(padded, [[7, 8, 9, 0], [7, 0, 0, 0]])
    assert pad([[7] * 5], 12).shape == (1, 8)
    assert pad([[7] * 9], 12).shape == (1, 12)  # 16 is over max_length
    assert pad([[7] * 20], 12).shape == (1, 12)  # cut to max_length
    assert pad([[7] * 8], 8).shape == (1, 8)
    assert pad([[], []], 8).shape == (2, 1)
    assert pad(np.zeros((0, 0), "int32").tolist(), 8).shape == (0, 1)
    assert pad([[7, 8]], 1).shape == (1, 1)


def test_length_sorted_batches_keep_ties_in_order():
    texts = ["ccc", "a", "bb", "d", ""]
    assert length_sorted_batches(texts, 2) == [[4, 1], [3, 2], [0]]
    assert length_sorted_batches([], 2) == []


def test_map_in_length_order_returns_results_in_the_order_of_the_texts():
    batches = []

    def upper(batch):
        batches.append(batch)
        return [text.upper() for text in batch]

    texts = ["ccc", "a", "bb", "d"]
    assert map_in_length_order(upper, texts, 3) == ["CCC", "A", "BB", "D"]
    assert batches == [["a", "d", "bb"], ["ccc"]]
