"""Skip-gram pairs: the window, reserved ids, subsampling, the negative ratio, determinism."""

from collections import Counter

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.data.skipgrams import (
    FIRST_WORD_ID,
    count_token_ids,
    expected_pair_count,
    skipgram_dataset,
    subsampling_keep_probabilities,
    token_sequences,
)
from keras_bert_lab.text.special_tokens import PAD_ID, UNK_ID
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer

VOCABULARY = 200


def sequences_dataset(sequences):
    return tf.data.Dataset.from_tensor_slices(tf.ragged.constant(sequences, dtype=tf.int32))


def all_pairs(dataset):
    """(targets, contexts [pairs, 1 + negatives], labels) of a whole epoch."""
    targets, contexts, labels = [], [], []
    for features, batch_labels in dataset:
        targets.append(features["target"].numpy())
        contexts.append(features["context"].numpy())
        labels.append(batch_labels.numpy())
    return np.concatenate(targets), np.concatenate(contexts), np.concatenate(labels)


def expected_positive_pairs(sequences, window):
    pairs = Counter()
    for sequence in sequences:
        for i, target in enumerate(sequence):
            for j in range(max(0, i - window), min(len(sequence), i + window + 1)):
                if j != i:
                    pairs[(target, sequence[j])] += 1
    return pairs


# Ids encode (text, position), so a pair shows how far apart its words were.
TEXTS = [[10 + i for i in range(9)], [50 + i for i in range(3)], [90], [100 + i for i in range(6)]]


@pytest.mark.parametrize("window", [1, 2, 4])
def test_pairs_are_exactly_those_within_the_window(window):
    dataset = skipgram_dataset(
        sequences_dataset(TEXTS),
        vocabulary_size=VOCABULARY,
        window_size=window,
        num_negatives=3,
        batch_size=7,
        shuffle_texts=2,
    )
    targets, contexts, _ = all_pairs(dataset)
    found = Counter(zip(targets.tolist(), contexts[:, 0].tolist()))
    assert found == expected_positive_pairs(TEXTS, window)
    distance = np.abs(targets - contexts[:, 0])
    assert distance.min() >= 1 and distance.max() <= window  # never across two texts
    # The closed form: sum over texts of 2wn - w(w+1) when n > w.
    counts = count_token_ids(sequences_dataset(TEXTS), VOCABULARY)
    formula = sum(
        sum(min(i, window) + min(len(t) - 1 - i, window) for i in range(len(t))) for t in TEXTS
    )
    assert len(targets) == formula
    if all(len(t) > window for t in TEXTS):
        assert expected_pair_count(counts, None, window, len(TEXTS)) == formula


def test_negative_ratio_and_labels():
    num_negatives = 4
    dataset = skipgram_dataset(
        sequences_dataset(TEXTS),
        vocabulary_size=VOCABULARY,
        window_size=2,
        num_negatives=num_negatives,
        batch_size=5,
    )
    targets, contexts, labels = all_pairs(dataset)
    positives = len(targets)
    assert contexts.shape == (positives, 1 + num_negatives)
    negatives = contexts[:, 1:]
    assert negatives.size == num_negatives * positives
    assert negatives.min() >= FIRST_WORD_ID and negatives.max() < VOCABULARY
    np.testing.assert_array_equal(labels, np.eye(1 + num_negatives)[np.zeros(positives, int)])
    # Log-uniform: the most frequent ids (the smallest) are drawn most often.
    many = all_pairs(
        skipgram_dataset(
            sequences_dataset(TEXTS * 40),
            vocabulary_size=VOCABULARY,
            window_size=2,
            num_negatives=num_negatives,
            batch_size=64,
        )
    )[1][:, 1:]
    drawn = np.bincount(many.ravel(), minlength=VOCABULARY)
    assert drawn[FIRST_WORD_ID] > drawn[FIRST_WORD_ID + 20] > drawn[FIRST_WORD_ID + 150]


def test_reserved_ids_are_dropped_before_windowing():
    texts = [[10, UNK_ID, 11, PAD_ID, 12]]
    targets, contexts, _ = all_pairs(
        skipgram_dataset(
            sequences_dataset(texts),
            vocabulary_size=VOCABULARY,
            window_size=1,
            num_negatives=1,
            batch_size=8,
        )
    )
    assert Counter(zip(targets.tolist(), contexts[:, 0].tolist())) == expected_positive_pairs(
        [[10, 11, 12]], 1
    )


def test_subsampling_keeps_words_with_their_probability():
    counts = np.zeros(VOCABULARY, np.int64)
    counts[UNK_ID] = 500
    counts[10], counts[11] = 9000, 1
    keep = subsampling_keep_probabilities(counts, threshold=1e-2)
    frequency = 9000 / 9001
    assert keep[10] == pytest.approx((np.sqrt(frequency / 1e-2) + 1) * 1e-2 / frequency)
    assert keep[11] == 1.0 and keep[UNK_ID] == 0.0 and keep[12] == 0.0

    keep = np.zeros(VOCABULARY, np.float32)
    keep[20:40] = 1.0  # keep only words 20-39
    texts = [list(range(10, 60))]
    targets, contexts, _ = all_pairs(
        skipgram_dataset(
            sequences_dataset(texts),
            vocabulary_size=VOCABULARY,
            window_size=2,
            num_negatives=1,
            batch_size=16,
            keep_probabilities=keep,
        )
    )
    assert Counter(zip(targets.tolist(), contexts[:, 0].tolist())) == expected_positive_pairs(
        [list(range(20, 40))], 2
    )


def test_same_seed_same_pairs_and_new_draws_each_epoch():
    def first_epochs(seed):
        keep = np.full(VOCABULARY, 0.5, np.float32)
        dataset = skipgram_dataset(
            sequences_dataset(TEXTS),
            vocabulary_size=VOCABULARY,
            window_size=2,
            num_negatives=2,
            batch_size=6,
            keep_probabilities=keep,
            seed=seed,
        )
        # Negatives come from a stateful op, seeded: the same in every process started with
        # this seed, but not across two datasets of one process; compare the positives.
        return [all_pairs(dataset)[1][:, 0] for _ in range(2)]

    first, second = first_epochs(3), first_epochs(3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert first[0].shape != first[1].shape or not np.array_equal(first[0], first[1])


def test_token_sequences_and_counts():
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[START]", "[END]", "the", "film"]
    tokenizer = make_wordpiece_tokenizer(vocabulary, lowercase=True)
    sequences = token_sequences(["The film.", "film film"], tokenizer)
    assert [s.numpy().tolist() for s in sequences] == [[7, 8, UNK_ID], [8, 8]]
    counts = count_token_ids(sequences, len(vocabulary))
    assert counts.tolist() == [0, 1, 0, 0, 0, 0, 0, 1, 3]


def test_bad_arguments():
    with pytest.raises(ValueError, match="must be >= 1"):
        skipgram_dataset(
            sequences_dataset(TEXTS),
            vocabulary_size=VOCABULARY,
            window_size=0,
            num_negatives=1,
            batch_size=1,
        )
    with pytest.raises(ValueError, match="threshold"):
        subsampling_keep_probabilities(np.ones(10), 0.0)
