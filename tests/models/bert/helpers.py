"""Small BERT models and batches shared by the tests of `keras_bert_lab.models.bert`."""

import numpy as np
import tensorflow as tf

from keras_bert_lab.models.bert import BertEncoder

VOCABULARY, LAYERS, HEADS, HIDDEN, INTERMEDIATE, MAX_LENGTH = 60, 2, 2, 16, 32, 16


def make_encoder(**overrides):
    arguments = dict(
        vocabulary_size=VOCABULARY,
        num_layers=LAYERS,
        num_heads=HEADS,
        hidden_dim=HIDDEN,
        intermediate_dim=INTERMEDIATE,
        max_sequence_length=MAX_LENGTH,
    )
    return BertEncoder(**(arguments | overrides))


def make_batch(lengths, sequence_length, vocabulary_size=VOCABULARY, seed=0):
    """`[CLS] A... B... ` with padding (id 0) after each length."""
    rng = np.random.default_rng(seed)
    batch_size = len(lengths)
    positions = np.arange(sequence_length)[None, :]
    padding_mask = positions < np.array(lengths)[:, None]
    token_ids = rng.integers(4, vocabulary_size, (batch_size, sequence_length))
    token_ids[:, 0] = 2
    segment_ids = (positions >= np.array(lengths)[:, None] // 2).astype("int32")
    return {
        "token_ids": np.where(padding_mask, token_ids, 0).astype("int32"),
        "segment_ids": np.where(padding_mask, segment_ids, 0).astype("int32"),
        "padding_mask": padding_mask.astype("int32"),
    }


def pretraining_features(batch, mask_positions):
    return batch | {"mask_positions": np.array(mask_positions, "int32")}


def numpy_outputs(outputs):
    return tf.nest.map_structure(lambda t: np.asarray(t).astype("float32"), outputs)


def max_difference(a, b):
    return max(
        float(np.abs(x - y).max())
        for x, y in zip(
            tf.nest.flatten(numpy_outputs(a)),
            tf.nest.flatten(numpy_outputs(b)),
            strict=True,
        )
    )
