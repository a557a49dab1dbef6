"""The word2vec task's nearest words (tests/experiments/test_word2vec_imdb.py runs the
whole task)."""

import numpy as np

from keras_bert_lab.tasks.word2vec import nearest_words


def test_nearest_words():
    vocabulary = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "[START]",
        "[END]",
        "good",
        "great",
        "bad",
    ]
    vectors = np.zeros((10, 2))
    vectors[:7] = [1.0, 0.0]  # reserved tokens pointing the same way are never neighbours
    vectors[7:] = [[1.0, 0.1], [1.0, 0.2], [-1.0, 0.0]]
    neighbours = nearest_words(vectors, vocabulary, ["good", "absent"], k=2)
    assert list(neighbours) == ["good"]
    assert [word for word, _ in neighbours["good"]] == ["great", "bad"]
