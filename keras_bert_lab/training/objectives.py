"""Training objectives as sums and counts, so they reduce exactly across
replicas.

An objective maps `(labels, outputs)` of one replica's batch to a dict of
`Term(total, count)`: a loss or metric is `sum(total) / sum(count)` over all
replicas and steps. The distributed loop (`keras_bert_lab.training.loop`)
all-reduces the counts of the terms named in `LOSS_TERMS` to normalise the
gradient, so that 2 replicas with batch B give the same update as 1 replica
with batch 2B, and whatever the number of masked tokens or padded targets in
each replica's share.
"""

from typing import NamedTuple

import tensorflow as tf


class Term(NamedTuple):
    """Sum of a per-example quantity and the number of examples summed."""

    total: tf.Tensor
    count: tf.Tensor


def _term(values, weights):
    weights = tf.cast(weights, tf.float32)
    return Term(
        tf.reduce_sum(tf.cast(values, tf.float32) * weights),
        tf.reduce_sum(weights),
    )


def _accuracy(labels, logits, weights):
    correct = tf.equal(tf.argmax(logits, -1, output_type=labels.dtype), labels)
    return _term(correct, weights)


def classification(labels, logits):
    """Cross-entropy and accuracy of `[batch_size, num_classes]` logits
    against int `[batch_size]` labels."""
    labels = tf.cast(labels, tf.int32)
    logits = tf.cast(logits, tf.float32)
    weights = tf.ones_like(labels, tf.float32)
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    return {
        "loss": _term(cross_entropy, weights),
        "accuracy": _accuracy(labels, logits, weights),
    }


def bert_pretraining(labels, outputs, nsp=True):
    """MLM + NSP of BERT (MLM alone, the ablation, without `nsp`).

    Args:
        labels: dict with `mlm_labels` int `[batch_size, max_predictions]`,
            `mlm_weights` `[batch_size, max_predictions]` (1 for a real
            prediction, 0 for padding of the prediction list) and
            `nsp_labels` int `[batch_size]` (0: B follows A, 1: random B).
        outputs: dict with `mlm_logits` `[batch_size, max_predictions,
            vocabulary_size]` (computed at the masked positions only) and
            `nsp_logits` `[batch_size, 2]`.
        nsp: bool, whether the NSP loss is minimised (its accuracy is
            reported either way).

    Returns:
        `mlm_loss` and `mlm_accuracy` over the real predictions only, and
        `nsp_loss` (with `nsp`) and `nsp_accuracy` over examples.
    """
    mlm_labels = tf.cast(labels["mlm_labels"], tf.int32)
    mlm_weights = tf.cast(labels["mlm_weights"], tf.float32)
    mlm_logits = tf.cast(outputs["mlm_logits"], tf.float32)
    nsp_labels = tf.cast(labels["nsp_labels"], tf.int32)
    nsp_logits = tf.cast(outputs["nsp_logits"], tf.float32)
    nsp_weights = tf.ones_like(nsp_labels, tf.float32)
    terms = {
        "mlm_loss": _term(
            tf.nn.sparse_softmax_cross_entropy_with_logits(mlm_labels, mlm_logits),
            mlm_weights,
        ),
        "mlm_accuracy": _accuracy(mlm_labels, mlm_logits, mlm_weights),
        "nsp_accuracy": _accuracy(nsp_labels, nsp_logits, nsp_weights),
    }
    if nsp:
        terms["nsp_loss"] = _term(
            tf.nn.sparse_softmax_cross_entropy_with_logits(nsp_labels, nsp_logits),
            nsp_weights,
        )
    return terms


def sequence_to_sequence(labels, logits, label_smoothing=0.0):
    """Token-level cross-entropy (with label smoothing) and accuracy of
    `[batch_size, target_length, vocabulary_size]` logits against int
    `[batch_size, target_length]` labels, ignoring padding (id 0)."""
    labels = tf.cast(labels, tf.int32)
    logits = tf.cast(logits, tf.float32)
    weights = tf.cast(tf.not_equal(labels, 0), tf.float32)
    vocabulary_size = tf.shape(logits)[-1]
    targets = tf.one_hot(labels, vocabulary_size)
    if label_smoothing:
        targets = targets * (1.0 - label_smoothing) + label_smoothing / tf.cast(
            vocabulary_size, tf.float32
        )
    cross_entropy = tf.nn.softmax_cross_entropy_with_logits(targets, logits)
    return {
        "loss": _term(cross_entropy, weights),
        "accuracy": _accuracy(labels, logits, weights),
    }


def negative_sampling_objective(labels, logits):
    """The SGNS loss, of skip-gram word2vec.

    Per pair: `-log σ(v_c·v_t) - Σ_negatives log σ(-v_n·v_t)` (eq. 4 of Mikolov et al.,
    2013b), i.e. a sigmoid cross-entropy per context summed over the contexts (the tutorial's
    softmax over the contexts is a different loss). `accuracy` is the share of pairs whose true
    context outscores all its negatives.

    Args:
        labels: float `[batch_size, num_contexts]`, 1 for the true context, 0 for negatives.
        logits: `[batch_size, num_contexts]`.
    """
    labels = tf.cast(labels, tf.float32)
    logits = tf.cast(logits, tf.float32)
    pair_losses = tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), axis=-1
    )
    true_logits = tf.reduce_sum(labels * logits, axis=-1)
    best_negative = tf.reduce_max(tf.where(labels > 0, -float("inf"), logits), axis=-1)
    correct = true_logits > best_negative  # strict: all-zero logits at the start are wrong
    pairs = tf.cast(tf.shape(pair_losses)[0], tf.float32)
    return {
        "loss": Term(tf.reduce_sum(pair_losses), pairs),
        "accuracy": Term(tf.reduce_sum(tf.cast(correct, tf.float32)), pairs),
    }


LOSS_TERMS = ("loss", "mlm_loss", "nsp_loss")
"""Terms that are minimised; the training loss is their sum."""
