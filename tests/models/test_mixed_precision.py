"""`mixed_bfloat16` against float32 with the same weights: BERT's pre-training and
classification outputs, and the LSTM classifier's logits. bfloat16 keeps 8 bits of
mantissa (a relative rounding error up to 2⁻⁸ per value), so outputs agree to a few
hundredths, not to float32's precision: each output may differ by at most
`RELATIVE_TOLERANCE` of its largest magnitude."""

import keras
import numpy as np
import tensorflow as tf

from keras_bert_lab.models.bert import BertClassifier, BertPretrainer
from keras_bert_lab.models.lstm import build_lstm_classifier
from keras_bert_lab.training import objectives
from tests.models.bert.helpers import make_batch, make_encoder, pretraining_features

# Measured: at most 1.3% (BERT's NSP logits), the rounding of a few layers in bfloat16.
RELATIVE_TOLERANCE = 0.03


def assert_close(got, want, name=""):
    got, want = np.asarray(got), np.asarray(want)
    difference, scale = np.abs(got - want).max(), np.abs(want).max()
    assert difference <= RELATIVE_TOLERANCE * scale, (name, difference, scale)


def bert_models(policy):
    keras.utils.set_random_seed(0)
    encoder = make_encoder(dtype=policy, dropout=0.0)
    return BertPretrainer(encoder), BertClassifier(encoder, dropout=0.0)


def as_dict(outputs):
    """The pre-trainer's outputs as they are, the classifier's logits as `{"logits": ...}`."""
    return outputs if isinstance(outputs, dict) else {"logits": outputs}


def test_bert_in_mixed_bfloat16_matches_float32_with_the_same_weights():
    batch = make_batch([9, 6, 12], 12)
    features = pretraining_features(batch, [[1, 3], [2, 4], [5, 0]])
    reference_pretrainer, reference_classifier = bert_models("float32")
    mixed_pretrainer, mixed_classifier = bert_models("mixed_bfloat16")
    for reference, mixed, inputs in (
        (reference_pretrainer, mixed_pretrainer, features),
        (reference_classifier, mixed_classifier, batch),
    ):
        reference(inputs)
        mixed(inputs)
        mixed.set_weights(reference.get_weights())
        expected, actual = as_dict(reference(inputs)), as_dict(mixed(inputs))
        for name, got in actual.items():
            assert got.dtype == tf.float32, name
            assert_close(got, expected[name], name)
    assert mixed_pretrainer.encoder.transformer_layers[0].compute_dtype == "bfloat16"
    assert mixed_pretrainer.encoder.token_embedding.embeddings.dtype == "float32"


def test_the_pretraining_loss_is_float32_and_close_under_mixed_bfloat16():
    batch = make_batch([9, 6], 12)
    features = pretraining_features(batch, [[1, 3], [2, 4]])
    labels = {
        "mlm_labels": np.array([[5, 7], [9, 0]], "int32"),
        "mlm_weights": np.array([[1, 1], [1, 0]], "float32"),
        "nsp_labels": np.array([0, 1], "int32"),
    }
    reference, _ = bert_models("float32")
    mixed, _ = bert_models("mixed_bfloat16")
    reference(features)
    mixed(features)
    mixed.set_weights(reference.get_weights())
    want = objectives.bert_pretraining(labels, reference(features))
    got = objectives.bert_pretraining(labels, mixed(features))
    for name in ("mlm_loss", "nsp_loss"):
        assert got[name].total.dtype == tf.float32, name
        np.testing.assert_allclose(float(got[name].total), float(want[name].total), rtol=0.02)


def test_the_lstm_classifier_in_mixed_bfloat16_matches_float32():
    token_ids = {"token_ids": np.array([[5, 9, 3, 0, 0], [7, 2, 8, 4, 6]], "int32")}
    keras.utils.set_random_seed(0)
    reference = build_lstm_classifier(20, embedding_dim=8, lstm_units=4, dropout=0.0)
    with_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = build_lstm_classifier(20, embedding_dim=8, lstm_units=4, dropout=0.0)
    finally:
        keras.config.set_dtype_policy(with_policy)
    mixed.set_weights(reference.get_weights())
    got = mixed(token_ids)
    assert got.dtype == tf.float32
    assert_close(got, reference(token_ids))
