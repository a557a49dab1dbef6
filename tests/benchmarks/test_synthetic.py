"""`keras_bert_lab.benchmarks.synthetic`: IMDB-like synthetic reviews."""

import numpy as np

from keras_bert_lab.benchmarks.synthetic import synthetic_texts, synthetic_words


def test_synthetic_texts_have_the_requested_mean_length():
    words = synthetic_words(500)
    texts = synthetic_texts(2000, 230.0, words)
    lengths = [len(text.split()) for text in texts]
    assert 200 < np.mean(lengths) < 260
    assert np.median(lengths) < np.mean(lengths)  # Skewed like IMDB.
