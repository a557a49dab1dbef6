"""Token ids into model inputs: ragged ids, head + tail truncation, padding (to the longest row
or to a power of two), in the graph; texts batched by length so that batches pad little."""

import tensorflow as tf


def to_ragged_ids(token_ids):
    """keras-hub tokenizers return Python lists when run eagerly and ragged
    tensors in graphs; this gives a ragged int32 tensor in both cases."""
    if isinstance(token_ids, (tf.Tensor, tf.RaggedTensor)):
        return tf.cast(token_ids, tf.int32)
    return tf.ragged.constant(token_ids, dtype=tf.int32, ragged_rank=1)


def truncate_token_ids(
    token_ids: tf.RaggedTensor, max_length: int, tail_length: int = 0
) -> tf.RaggedTensor:
    """Keeps at most `max_length` ids of each row of `[batch, None]` ids: the first
    `max_length - tail_length` and the last `tail_length`. Rows of at most `max_length` ids
    are kept whole.

    Head + tail truncation is what Sun et al. (2019, "How to Fine-Tune BERT for Text
    Classification?") found best on IMDB: a review's last sentences often give its verdict.
    """
    if not 0 <= tail_length <= max_length:
        raise ValueError(f"tail_length must be in [0, {max_length}], got {tail_length}.")
    if tail_length == 0:
        return token_ids[:, :max_length]
    lengths = token_ids.row_lengths()
    positions = tf.ragged.range(lengths)
    keep = (positions < max_length - tail_length) | (
        positions >= tf.expand_dims(lengths, 1) - tail_length
    )
    return tf.ragged.boolean_mask(token_ids, keep)


def pack_token_ids(token_ids, sequence_length, start_id=None, end_id=None, tail_length=0):
    """Truncates ragged ids (`truncate_token_ids`), optionally
    adds `[CLS]`/`[SEP]`, and pads with 0 to the longest sequence of the batch
    (at least 1).

    Args:
        token_ids: int ragged `[batch_size, None]`.

    Returns:
        int32 `[batch_size, min(longest, sequence_length)]`.
    """
    specials = (start_id is not None) + (end_id is not None)
    token_ids = truncate_token_ids(token_ids, sequence_length - specials, tail_length)
    rows = token_ids.nrows()
    if start_id is not None:
        token_ids = tf.concat([tf.fill([rows, 1], start_id), token_ids], axis=1)
    if end_id is not None:
        token_ids = tf.concat([token_ids, tf.fill([rows, 1], end_id)], axis=1)
    longest = tf.maximum(tf.reduce_max(token_ids.row_lengths()), 1)
    return token_ids.to_tensor(0, shape=tf.stack([rows, tf.cast(longest, tf.int64)]))


def pad_to_power_of_two(token_ids, max_length):
    """Ragged int `[batch_size, None]` -> int32 `[batch_size, length]`, rows cut to
    `max_length` ids and padded with 0; `length` is the smallest power of two that holds the
    longest row (1 for a batch of empty rows or no rows), at most `max_length`.

    XLA compiles a function once per input shape: powers of two leave a few lengths only,
    each less than twice the longest row. Eager or in the graph.
    """
    token_ids = tf.cast(token_ids[:, :max_length], tf.int32)
    longest = tf.reduce_max(tf.concat([token_ids.row_lengths(), [1]], axis=0))
    powers = tf.constant([2**i for i in range(max(max_length - 1, 0).bit_length() + 1)], tf.int64)
    length = tf.minimum(tf.reduce_min(tf.where(powers >= longest, powers, max_length)), max_length)
    return token_ids.to_tensor(0, shape=tf.stack([token_ids.nrows(), length]))


def length_sorted_batches(texts, batch_size):
    """Positions of `texts`, shortest text first (ties in order), in lists of `batch_size`:
    a batch of similar lengths pads little and finishes decoding together."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def map_in_length_order(function, texts, batch_size):
    """`function(list of texts) -> list of results` over the `length_sorted_batches` of
    `texts`; the results in the order of `texts`."""
    results = [None] * len(texts)
    for positions in length_sorted_batches(texts, batch_size):
        for position, result in zip(positions, function([texts[i] for i in positions])):
            results[position] = result
    return results
