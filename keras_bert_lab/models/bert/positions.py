"""Widening an encoder's position table for BERT's long-sequence phase."""

from keras import ops

from keras_bert_lab.models.bert.encoder import BertEncoder


def extend_positions(encoder, max_sequence_length):
    """A copy of `encoder` with `max_sequence_length` position embeddings.

    BERT pre-trains mostly on short sequences and then briefly on long ones
    (Devlin et al., 2019, appendix A.2); an encoder pre-trained with fewer
    positions is widened here for that second phase. All weights are
    copied; the new position rows repeat the learned table (as Longformer
    does, Beltagy et al., 2020, §5), so they start with the learned local
    structure instead of noise.

    Args:
        encoder: a `BertEncoder`.
        max_sequence_length: int, at least `encoder.max_sequence_length`.

    Returns:
        a new `BertEncoder`; its outputs on sequences no longer than
        `encoder.max_sequence_length` equal `encoder`'s.
    """
    learned = encoder.max_sequence_length
    if max_sequence_length < learned:
        raise ValueError(
            f"max_sequence_length {max_sequence_length} is below the encoder's {learned} positions"
        )
    extended = BertEncoder.from_config(
        encoder.get_config() | {"max_sequence_length": max_sequence_length}
    )
    source_table = encoder.embeddings.position_embedding.position_embeddings
    target_table = extended.embeddings.position_embedding.position_embeddings
    for target, source in zip(extended.weights, encoder.weights):
        if target is not target_table:
            target.assign(source)
    repeats = -(-max_sequence_length // learned)
    target_table.assign(ops.tile(source_table, (repeats, 1))[:max_sequence_length])
    return extended
