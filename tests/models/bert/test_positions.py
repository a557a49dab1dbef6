"""extend_positions: a wider position table that keeps the encoder's function."""

import numpy as np
import pytest

from keras_bert_lab.models.bert import extend_positions
from tests.models.bert.helpers import HIDDEN, MAX_LENGTH, make_batch, make_encoder


def test_extend_positions_keeps_the_function_on_short_sequences():
    encoder = make_encoder()
    extended = extend_positions(encoder, 2 * MAX_LENGTH + 3)
    assert extended.max_sequence_length == 2 * MAX_LENGTH + 3
    batch = make_batch([MAX_LENGTH, 5], MAX_LENGTH)
    for name in ("sequence_output", "pooled_output"):
        np.testing.assert_array_equal(extended(batch)[name], encoder(batch)[name])
    learned = np.asarray(encoder.embeddings.position_embedding.position_embeddings)
    table = np.asarray(extended.embeddings.position_embedding.position_embeddings)
    np.testing.assert_array_equal(table, np.concatenate([learned, learned, learned[:3]]))
    assert extended(make_batch([2 * MAX_LENGTH], 2 * MAX_LENGTH))["sequence_output"].shape == (
        1,
        2 * MAX_LENGTH,
        HIDDEN,
    )
    with pytest.raises(ValueError, match="below the encoder's 16 positions"):
        extend_positions(encoder, MAX_LENGTH - 1)
