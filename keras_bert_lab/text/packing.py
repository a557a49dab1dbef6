"""Token ids into model inputs: ragged ids, head + tail truncation, padding, in the graph."""

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
