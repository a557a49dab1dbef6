"""Skip-gram training pairs with negative samples, as a `tf.data` pipeline.

Keras 3 no longer ships `keras.preprocessing.sequence.skipgrams`; this follows the TensorFlow
word2vec tutorial (https://www.tensorflow.org/text/tutorials/word2vec) with the pair generation
moved into the graph:

1. Reserved ids (`[PAD]`, `[UNK]`, ...: every id below `FIRST_WORD_ID`) are dropped from each
   sequence, as word2vec drops out-of-vocabulary words.
2. Optionally, frequent words are subsampled before windowing: a token of word `w` is kept
   with probability `keep_probabilities[w]` (`subsampling_keep_probabilities`).
3. Every remaining position `i` gives one positive pair `(sequence[i], sequence[j])` for each
   `j` with `0 < |i - j| <= window_size`; the pairs of a few texts are shuffled together.
4. Each positive context gets `num_negatives` negative contexts drawn with
   `tf.random.log_uniform_candidate_sampler`, which assumes ids sorted by decreasing
   frequency (Zipf's law), as word vocabularies from `train_word_vocabulary` are (word2vec
   itself samples from unigram counts to the power 0.75). The sampler is called once per
   batch, with replacement (`unique=False`), rather than once per pair with `unique=True` as in
   the tutorial: the same distribution, except that a pair's negatives may repeat, for a
   thousandth of the ops. The sampler is a seeded stateful op: its draws are the same in
   every process started with the same seed (so a resumed run skips to the same batches).

A sequence of `n` tokens (after steps 1-2) gives `sum_i min(i, w) + min(n - 1 - i, w)`
positive pairs, `2 * w * n - w * (w + 1)` when `n > w`.

Elements of `skipgram_dataset`:

    ({"target": int32 [batch], "context": int32 [batch, 1 + num_negatives]},
     labels float32 [batch, 1 + num_negatives])     1 in column 0 (the true context), else 0

References:
    - Mikolov et al., 2013, "Distributed Representations of Words and Phrases and their
      Compositionality" (https://arxiv.org/abs/1310.4546), §2.2 and §2.3.
"""

import numpy as np
import tensorflow as tf

from keras_bert_lab.text.special_tokens import RESERVED_TOKENS

FIRST_WORD_ID = len(RESERVED_TOKENS)
"""The first id of a real word in every vocabulary of this project."""


def token_sequences(texts, tokenizer, batch_size: int = 256) -> tf.data.Dataset:
    """Tokenizes `texts` once (in the graph) and caches the result.

    Args:
        texts: list of str.
        tokenizer: a word tokenizer from `make_wordpiece_tokenizer`, without `sequence_length`.

    Returns:
        A dataset of int32 token-id sequences `[None]`, one per text, in order.
    """
    return (
        tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string))
        .batch(batch_size)
        .map(lambda batch: tf.cast(tokenizer(batch), tf.int32), num_parallel_calls=tf.data.AUTOTUNE)
        .unbatch()
        .cache()
    )


def count_token_ids(sequences: tf.data.Dataset, vocabulary_size: int) -> np.ndarray:
    """Occurrences of each id in a dataset of int sequences `[None]`: int64 `[vocabulary_size]`."""
    return sequences.reduce(
        tf.zeros([vocabulary_size], tf.int64),
        lambda counts, ids: (
            counts
            + tf.math.bincount(
                tf.cast(ids, tf.int32),
                minlength=vocabulary_size,
                maxlength=vocabulary_size,
                dtype=tf.int64,
            )
        ),
    ).numpy()


def subsampling_keep_probabilities(counts: np.ndarray, threshold: float) -> np.ndarray:
    """Probability of keeping each token of a word, as in word2vec's C code.

    `keep(w) = (sqrt(f(w) / t) + 1) * t / f(w)`, capped at 1, where `f(w)` is the word's share
    of all counted tokens and `t = threshold` (1e-3 in word2vec's code, 1e-5 in the paper for
    billions of words). Words rarer than about `t` are always kept. Reserved ids get 0.

    Args:
        counts: int `[vocabulary_size]`, e.g. from `count_token_ids`.
        threshold: float > 0.

    Returns:
        float32 `[vocabulary_size]`.
    """
    if threshold <= 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    counts = np.asarray(counts, np.float64).copy()
    counts[:FIRST_WORD_ID] = 0
    frequency = counts / max(counts.sum(), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(frequency / threshold) + 1) * threshold / frequency
    keep = np.where(frequency > 0, np.minimum(keep, 1.0), 0.0)
    keep[:FIRST_WORD_ID] = 0
    return keep.astype(np.float32)


def expected_pair_count(
    counts: np.ndarray,
    keep_probabilities: np.ndarray | None,
    window_size: int,
    num_sequences: int,
) -> int:
    """About how many positive pairs one pass of `skipgram_dataset` yields.

    `2 * w * kept_tokens - w * (w + 1) * num_sequences`: exact without subsampling when every
    sequence keeps more than `w` words; the expected value otherwise (up to edge effects).

    Args:
        counts: int `[vocabulary_size]`, from `count_token_ids`.
        keep_probabilities: float `[vocabulary_size]`, or None.
        window_size: int.
        num_sequences: int, number of texts.
    """
    counts = np.asarray(counts, np.float64)[FIRST_WORD_ID:]
    if keep_probabilities is not None:
        counts = counts * np.asarray(keep_probabilities, np.float64)[FIRST_WORD_ID:]
    pairs = 2 * window_size * counts.sum() - window_size * (window_size + 1) * num_sequences
    return max(int(round(pairs)), 0)


def skipgram_pairs(sequences: tf.RaggedTensor, window_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """All positive skip-gram pairs of a batch of sequences, never across two sequences.

    Args:
        sequences: int ragged `[num_sequences, None]` token ids.
        window_size: int, the largest distance between a target and its context.

    Returns:
        `(targets, contexts)`, both int `[num_pairs]`, ordered by sequence, target position,
        then offset.
    """
    tokens = sequences.flat_values  # [n]
    rows = sequences.value_rowids()  # [n]
    length = tf.size(tokens, out_type=rows.dtype)
    offsets = tf.concat([tf.range(-window_size, 0), tf.range(1, window_size + 1)], axis=0)
    positions = tf.range(length)[:, None] + tf.cast(offsets, rows.dtype)[None, :]  # [n, 2w]
    inside = (positions >= 0) & (positions < length)
    same_row = tf.equal(tf.gather(rows, tf.clip_by_value(positions, 0, length - 1)), rows[:, None])
    valid = inside & same_row
    targets = tf.boolean_mask(tf.broadcast_to(tokens[:, None], tf.shape(positions)), valid)
    contexts = tf.gather(tokens, tf.boolean_mask(positions, valid))
    return targets, contexts


def skipgram_dataset(
    sequences: tf.data.Dataset,
    *,
    vocabulary_size: int,
    window_size: int,
    num_negatives: int,
    batch_size: int,
    keep_probabilities: np.ndarray | None = None,
    shuffle_texts: int = 64,
    seed: int = 0,
) -> tf.data.Dataset:
    """One epoch of skip-gram batches with negative samples (see the module docstring).

    Pairs are made and shuffled `shuffle_texts` sequences at a time, in whole-tensor ops (a
    per-pair `unbatch` and `shuffle` is several times slower), then cut into batches.

    Args:
        sequences: dataset of int token-id sequences `[None]` (one per text), e.g. from
            `token_sequences`. Shuffle it beforehand for a new order each epoch.
        vocabulary_size: int, number of ids; negatives are drawn from
            `[FIRST_WORD_ID, vocabulary_size)`.
        window_size: int >= 1.
        num_negatives: int >= 1, negative contexts per positive pair.
        batch_size: int, pairs per batch (the last batch may be smaller).
        keep_probabilities: float `[vocabulary_size]` for subsampling, or None to keep all.
        shuffle_texts: sequences whose pairs are shuffled together.
        seed: seed of subsampling, shuffling and negative sampling.
    """
    if min(window_size, num_negatives, batch_size, shuffle_texts) < 1:
        raise ValueError(
            f"window_size, num_negatives, batch_size and shuffle_texts must be >= 1, got "
            f"{window_size}, {num_negatives}, {batch_size}, {shuffle_texts}"
        )
    if vocabulary_size <= FIRST_WORD_ID:
        raise ValueError(f"vocabulary_size must exceed {FIRST_WORD_ID}, got {vocabulary_size}")
    keep = None if keep_probabilities is None else tf.constant(keep_probabilities, tf.float32)

    def shuffled_pairs(chunk_seed, chunk):
        subsample_seed, shuffle_seed = tf.unstack(tf.random.split(chunk_seed, 2))
        chunk = tf.cast(chunk, tf.int32)
        kept = chunk >= FIRST_WORD_ID
        if keep is not None:
            draws = tf.random.stateless_uniform(tf.shape(chunk.flat_values), seed=subsample_seed)
            kept &= chunk.with_flat_values(draws) < tf.gather(keep, chunk)
        targets, contexts = skipgram_pairs(tf.ragged.boolean_mask(chunk, kept), window_size)
        order = tf.random.experimental.stateless_shuffle(
            tf.range(tf.size(targets)), seed=shuffle_seed
        )
        return tf.gather(targets, order), tf.gather(contexts, order)

    def add_negatives(targets, contexts):
        pairs_in_batch = tf.shape(targets)[0]
        # The sampler needs a static count: draw for a full batch, keep what is needed.
        sampled, _, _ = tf.random.log_uniform_candidate_sampler(
            true_classes=tf.cast(contexts[:, None] - FIRST_WORD_ID, tf.int64),
            num_true=1,
            num_sampled=batch_size * num_negatives,
            unique=False,
            range_max=vocabulary_size - FIRST_WORD_ID,
            seed=seed,
        )
        negatives = tf.reshape(
            tf.cast(sampled[: pairs_in_batch * num_negatives], tf.int32) + FIRST_WORD_ID,
            [pairs_in_batch, num_negatives],
        )
        context = tf.concat([contexts[:, None], negatives], axis=1)
        labels = tf.one_hot(tf.zeros_like(targets), 1 + num_negatives, dtype=tf.float32)
        return {"target": targets, "context": context}, labels

    # New subsampling draws each epoch, the same ones in every run with this seed.
    chunk_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return (
        tf.data.Dataset.zip(chunk_seeds, sequences.ragged_batch(shuffle_texts))
        .map(shuffled_pairs, num_parallel_calls=tf.data.AUTOTUNE)
        .rebatch(batch_size)
        # Sequential: the stateful sampler then draws in the same order in every run.
        .map(add_negatives)
        .prefetch(tf.data.AUTOTUNE)
    )
