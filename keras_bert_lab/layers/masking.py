"""Boolean attention masks shared by the attention layers.

Every mask here is `True` where attending is allowed. Shapes broadcast to
`[batch_size, query_length, key_length]`.
"""

import ml_dtypes
from keras import ops


def most_negative(dtype):
    """The dtype's own most negative finite value, used for masked scores.

    Unlike `-1e9`, it is representable in every float dtype (float16's
    range ends at -65504), so a masked score never becomes `-inf` or NaN.
    """
    return float(ml_dtypes.finfo(dtype).min)


def key_padding_mask(padding_mask):
    """`[batch_size, key_length]` -> `[batch_size, 1, key_length]`."""
    if padding_mask is None:
        return None
    return ops.cast(padding_mask, "bool")[:, None, :]


def causal_mask(query_length, key_length, query_offset=0):
    """`[1, query_length, key_length]`: query `i` (at absolute position
    `query_offset + i`) sees keys `0 .. query_offset + i`."""
    query_positions = ops.arange(query_length)[:, None] + query_offset
    key_positions = ops.arange(key_length)[None, :]
    return (key_positions <= query_positions)[None, :, :]


def combine_masks(*masks):
    """Logical AND of the masks that are not None (None if all are)."""
    combined = None
    for mask in masks:
        if mask is None:
            continue
        mask = ops.cast(mask, "bool")
        combined = mask if combined is None else ops.logical_and(combined, mask)
    return combined


def keras_mask(tensor):
    """The padding mask Keras propagated onto `tensor`, or None."""
    return getattr(tensor, "_keras_mask", None)
