"""Synthetic inputs shaped like the real ones: random ids, IMDB-like reviews,
a vocabulary that tokenizes them, BERT pre-training arrays and short
sentence pairs. No download, and the same inputs on every machine."""

import math

import numpy as np

from keras_bert_lab.text.special_tokens import CLS_ID, PAD_ID, RESERVED_TOKENS, SEP_ID

FIRST_REGULAR_ID = len(RESERVED_TOKENS)  # Random ids avoid [PAD], [END]...
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def synthetic_words(num_words, seed=0):
    """Distinct lowercase pseudo-words of 2 to 10 letters."""
    rng = np.random.default_rng(seed)
    words = set()
    while len(words) < num_words:
        length = int(rng.integers(2, 11))
        words.add("".join(rng.choice(list(_LETTERS), length)))
    return sorted(words)


def synthetic_texts(num_texts, mean_words, words, seed=0):
    """Reviews of random words with IMDB-like lengths.

    Lengths are log-normal (σ = 0.75, median ≈ 0.75 × mean: the skew of IMDB
    reviews, mean 230 and median 174 words); words follow a Zipf law; a
    sentence of 8 to 25 words ends with a full stop and the next starts
    with a capital.
    """
    rng = np.random.default_rng(seed)
    sigma = 0.75
    lengths = np.maximum(
        1, rng.lognormal(math.log(mean_words) - sigma**2 / 2, sigma, num_texts)
    ).astype(int)
    ranks = np.arange(1, len(words) + 1)
    frequencies = 1.0 / ranks
    frequencies /= frequencies.sum()
    texts = []
    for length in lengths:
        chosen = rng.choice(len(words), length, p=frequencies)
        sentences, start = [], 0
        while start < length:
            end = start + int(rng.integers(8, 26))
            sentence = " ".join(words[i] for i in chosen[start:end])
            sentences.append(sentence.capitalize() + ".")
            start = end
        texts.append(" ".join(sentences))
    return texts


def synthetic_vocabulary(words, vocabulary_size):
    """Reserved tokens, single letters and `##` letters (so that any word
    tokenizes), the full stop, then the most frequent words."""
    pieces = list(_LETTERS) + ["##" + c for c in _LETTERS] + ["."]
    room = vocabulary_size - len(RESERVED_TOKENS) - len(pieces)
    return list(RESERVED_TOKENS) + pieces + list(words[: max(room, 0)])


def synthetic_pretraining_arrays(num_examples, sequence_length, vocabulary_size, seed=0):
    """Arrays shaped like `make_pretraining_examples`' output: `[CLS] A
    [SEP] B [SEP]`, lengths as its 10% short sequences make them.

    Returns:
        `{"token_ids", "segment_ids", "padding_mask"}` of shape
        `[num_examples, sequence_length]` and `"nsp_labels"` of shape
        `[num_examples]`.
    """
    rng = np.random.default_rng(seed)
    t = sequence_length
    token_ids = np.zeros((num_examples, t), np.int32)
    segment_ids = np.zeros((num_examples, t), np.int32)
    for row in range(num_examples):
        length = t if rng.random() > 0.1 else int(rng.integers(5, t + 1))
        split = int(rng.integers(2, length - 2))
        token_ids[row, :length] = rng.integers(FIRST_REGULAR_ID, vocabulary_size, length)
        token_ids[row, 0] = CLS_ID
        token_ids[row, split] = token_ids[row, length - 1] = SEP_ID
        segment_ids[row, split + 1 : length] = 1
    return {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": token_ids != PAD_ID,
        "nsp_labels": rng.integers(0, 2, num_examples).astype(np.int32),
    }


def sentence_words(num_pairs, words, seed):
    """Short sentences (fra-eng: 3 to 12 words) as word lists."""
    rng = np.random.default_rng(seed + 1)
    top = words[: min(len(words), 2000)]
    return [
        [top[i] for i in rng.integers(0, len(top), rng.integers(3, 13))] for _ in range(num_pairs)
    ]
