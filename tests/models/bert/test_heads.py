"""MaskedLMHead: tied to the token embeddings, evaluated only at the masked positions."""

import numpy as np
import tensorflow as tf

from keras_bert_lab.models.bert import BertPretrainer
from tests.models.bert.helpers import (
    HIDDEN,
    VOCABULARY,
    make_batch,
    make_encoder,
    pretraining_features,
)


def test_mlm_projection_is_tied_to_token_embeddings():
    encoder = make_encoder()
    pretrainer = BertPretrainer(encoder)
    # The only [vocabulary, hidden] matrix is the token embedding.
    matrices = [w for w in pretrainer.weights if sorted(w.shape) == sorted((VOCABULARY, HIDDEN))]
    assert matrices == [encoder.token_embedding.embeddings]
    assert len({id(w) for w in pretrainer.weights}) == len(pretrainer.weights)

    batch = make_batch([6, 6], 6)
    unused_id = next(i for i in range(4, VOCABULARY) if i not in batch["token_ids"])
    features = pretraining_features(batch, [[1, 4], [2, 3]])
    before = np.asarray(pretrainer(features)["mlm_logits"])
    table = encoder.token_embedding.embeddings
    # (Not a constant shift: the MLM LayerNorm output has zero mean.)
    table.assign(
        tf.tensor_scatter_nd_add(
            table, [[unused_id]], tf.random.stateless_normal((1, HIDDEN), (1, 2))
        )
    )
    after = np.asarray(pretrainer(features)["mlm_logits"])
    # The row of a token absent from the input only acts as an output row.
    changed = np.abs(after - before).max(axis=(0, 1)) > 1e-6
    assert changed[unused_id]
    assert not np.delete(changed, unused_id).any()


def test_mlm_is_evaluated_only_at_mask_positions():
    pretrainer = BertPretrainer(make_encoder())
    batch = make_batch([7, 5], 7)
    sequence_output = pretrainer.encoder(batch)["sequence_output"]
    mask_positions = np.array([[1, 5, 3], [4, 2, 0]])
    logits = pretrainer(pretraining_features(batch, mask_positions))["mlm_logits"]
    head = pretrainer.masked_lm_head
    for slot in range(3):
        # Slot j is the head applied to the encoder output at position j.
        alone = head(sequence_output, mask_positions[:, slot : slot + 1])
        np.testing.assert_allclose(logits[:, slot], alone[:, 0], atol=1e-5)
