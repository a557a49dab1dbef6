"""BertPretrainer: shapes, the pruned last layer, the pre-training objective, gradients
and saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.models.bert import BertClassifier, BertPretrainer
from keras_bert_lab.training import objectives
from tests.models.bert.helpers import (
    LAYERS,
    VOCABULARY,
    make_batch,
    make_encoder,
    max_difference,
    pretraining_features,
)


def test_pretrainer_output_shapes():
    pretrainer = BertPretrainer(make_encoder())
    features = pretraining_features(make_batch([8, 5, 6], 8), [[1, 3, 0]] * 3)
    outputs = pretrainer(features)
    assert set(outputs) == {"mlm_logits", "nsp_logits"}
    assert outputs["mlm_logits"].shape == (3, 3, VOCABULARY)
    assert outputs["nsp_logits"].shape == (3, 2)
    assert outputs["mlm_logits"].dtype == "float32"


def test_pruned_last_layer_gives_the_full_encoders_outputs():
    encoder = make_encoder()
    features = pretraining_features(make_batch([8, 5, 6], 8), [[1, 3, 0], [4, 4, 2], [5, 1, 0]])
    full = encoder(features)
    pretrainer = BertPretrainer(encoder)
    expected = {
        "mlm_logits": pretrainer.masked_lm_head(
            full["sequence_output"], features["mask_positions"]
        ),
        "nsp_logits": pretrainer.next_sentence_dense(full["pooled_output"]),
    }
    actual = pretrainer(features)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], atol=1e-5)
    classifier = BertClassifier(encoder, num_classes=3)
    np.testing.assert_allclose(
        classifier(features), classifier.logits_dense(full["pooled_output"]), atol=1e-5
    )
    unpruned = BertClassifier(encoder, num_classes=3, prune_last_layer=False)
    unpruned.logits_dense.set_weights(classifier.logits_dense.get_weights())
    np.testing.assert_allclose(classifier(features), unpruned(features), atol=1e-5)


def test_mlm_loss_counts_only_real_predictions():
    pretrainer = BertPretrainer(make_encoder())
    batch = make_batch([7, 6], 7)
    real = {
        "mask_positions": [[1, 4], [2, 3]],
        "mlm_labels": [[9, 11], [13, 17]],
        "mlm_weights": [[1, 1], [1, 1]],
    }
    # Two padding slots (weight 0) pointing at [CLS], with arbitrary labels.
    padded = {
        "mask_positions": [[1, 4, 0, 0], [2, 3, 0, 0]],
        "mlm_labels": [[9, 11, 5, 6], [13, 17, 7, 8]],
        "mlm_weights": [[1, 1, 0, 0], [1, 1, 0, 0]],
    }
    relabelled = padded | {"mlm_labels": [[9, 11, 40, 41], [13, 17, 42, 43]]}

    def mlm_loss(slots):
        outputs = pretrainer(pretraining_features(batch, slots["mask_positions"]))
        labels = {
            "mlm_labels": np.array(slots["mlm_labels"]),
            "mlm_weights": np.array(slots["mlm_weights"], "float32"),
            "nsp_labels": np.array([0, 1]),
        }
        term = objectives.bert_pretraining(labels, outputs)["mlm_loss"]
        return float(term.total), float(term.count)

    expected = mlm_loss(real)
    assert expected[1] == 4
    assert mlm_loss(padded) == pytest.approx(expected, rel=1e-6)
    assert mlm_loss(relabelled) == pytest.approx(expected, rel=1e-6)


def test_gradients_reach_every_trainable_weight():
    pretrainer = BertPretrainer(make_encoder(dropout=0.0))
    batch = make_batch([8, 6], 8)
    features = pretraining_features(batch, [[1, 4, 6], [2, 5, 0]])
    labels = {
        "mlm_labels": np.array([[9, 11, 12], [13, 17, 0]]),
        "mlm_weights": np.array([[1, 1, 1], [1, 1, 0]], "float32"),
        "nsp_labels": np.array([0, 1]),
    }
    with tf.GradientTape() as tape:
        terms = objectives.bert_pretraining(labels, pretrainer(features, training=True))
        loss = sum(terms[name].total / terms[name].count for name in ("mlm_loss", "nsp_loss"))
    weights = pretrainer.trainable_weights
    gradients = tape.gradient(loss, weights)
    assert len(weights) == 5 + 16 * LAYERS + 2 + 5 + 2
    for weight, gradient in zip(weights, gradients):
        assert gradient is not None, weight.path
        assert np.abs(np.asarray(tf.convert_to_tensor(gradient))).max() > 0, weight.path


def test_pretrainer_saves_and_reloads(tmp_path):
    pretrainer = BertPretrainer(make_encoder())
    features = pretraining_features(make_batch([6, 4], 6), [[1, 2], [3, 0]])
    expected = pretrainer(features)
    pretrainer.save(tmp_path / "pretrainer.keras")
    reloaded = keras.saving.load_model(tmp_path / "pretrainer.keras")
    assert isinstance(reloaded, BertPretrainer)
    assert reloaded.get_config() == pretrainer.get_config()
    assert max_difference(reloaded(features), expected) == 0
    # Still tied after reloading.
    assert reloaded.masked_lm_head.token_embedding is reloaded.encoder.token_embedding
