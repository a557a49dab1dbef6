import numpy as np
import tensorflow as tf

from keras_bert_lab.training import objectives


def test_classification_sums_and_counts():
    logits = tf.constant([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    labels = tf.constant([0, 1, 1])
    terms = objectives.classification(labels, logits)
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    np.testing.assert_allclose(terms["loss"].total, np.sum(expected), rtol=1e-6)
    assert float(terms["loss"].count) == 3
    assert float(terms["accuracy"].total) == 2


def test_bert_pretraining_uses_only_real_predictions():
    rng = np.random.default_rng(0)
    outputs = {
        "mlm_logits": tf.constant(rng.normal(size=(2, 3, 11)), tf.float32),
        "nsp_logits": tf.constant(rng.normal(size=(2, 2)), tf.float32),
    }
    labels = {
        "mlm_labels": tf.constant([[4, 5, 0], [7, 0, 0]]),
        "mlm_weights": tf.constant([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
        "nsp_labels": tf.constant([0, 1]),
    }
    terms = objectives.bert_pretraining(labels, outputs)
    assert float(terms["mlm_loss"].count) == 3
    changed = dict(labels, mlm_labels=tf.constant([[4, 5, 9], [7, 3, 2]]))
    np.testing.assert_allclose(
        objectives.bert_pretraining(changed, outputs)["mlm_loss"].total,
        terms["mlm_loss"].total,
    )
    # The MLM-only ablation: no NSP loss to minimise, its accuracy still reported.
    mlm_only = objectives.bert_pretraining(labels, outputs, nsp=False)
    assert set(mlm_only) == {"mlm_loss", "mlm_accuracy", "nsp_accuracy"}
    assert "nsp_loss" in terms and set(objectives.LOSS_TERMS) & set(mlm_only) == {"mlm_loss"}


def test_sequence_loss_ignores_padding_and_smooths_labels():
    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(size=(1, 4, 6)), tf.float32)
    labels = tf.constant([[3, 2, 0, 0]])
    terms = objectives.sequence_to_sequence(labels, logits, label_smoothing=0.1)
    assert float(terms["loss"].count) == 2
    log_probabilities = tf.nn.log_softmax(logits)[0]
    expected = 0.0
    for position, label in enumerate([3, 2]):
        target = np.full(6, 0.1 / 6)
        target[label] += 0.9
        expected -= float(np.sum(target * log_probabilities[position]))
    np.testing.assert_allclose(float(terms["loss"].total), expected, rtol=1e-5)


def test_sequence_loss_matches_the_dense_smoothed_cross_entropy_and_its_gradient():
    rng = np.random.default_rng(1)
    logits = tf.constant(rng.normal(scale=3.0, size=(2, 5, 9)), tf.float32)
    labels = tf.constant([[3, 2, 8, 1, 0], [5, 5, 0, 0, 0]])
    weights = tf.cast(tf.not_equal(labels, 0), tf.float32)
    dense = tf.keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=0.1, reduction="sum"
    )
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        ours = objectives.sequence_to_sequence(labels, logits, label_smoothing=0.1)["loss"].total
        reference = dense(tf.one_hot(labels, 9), logits, sample_weight=weights)
    np.testing.assert_allclose(float(ours), float(reference), rtol=1e-5)
    np.testing.assert_allclose(
        tape.gradient(ours, logits), tape.gradient(reference, logits), atol=1e-6
    )
