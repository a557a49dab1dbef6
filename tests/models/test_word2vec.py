"""Word2vec: logits, initialisation, the SGNS objective, saving, and learning co-occurrence."""

import keras
import numpy as np
import tensorflow as tf

from keras_bert_lab.data.skipgrams import skipgram_dataset
from keras_bert_lab.models.word2vec import Word2Vec
from keras_bert_lab.training.objectives import negative_sampling_objective

VOCABULARY, DIM = 40, 8


def numpy(variable):
    return np.asarray(keras.ops.convert_to_tensor(variable))


def batch():
    return {
        "target": np.array([7, 9, 20]),
        "context": np.array([[8, 30, 31], [10, 7, 12], [21, 39, 7]]),
    }


def test_logits_are_dot_products_of_target_and_context_vectors():
    model = Word2Vec(VOCABULARY, DIM)
    model.build()
    model.context_embedding.embeddings.assign(
        np.random.default_rng(0).normal(size=(VOCABULARY, DIM)).astype("float32")
    )
    logits = np.asarray(model(batch()))
    assert logits.shape == (3, 3)
    target = numpy(model.target_embedding.embeddings)
    context = numpy(model.context_embedding.embeddings)
    expected = np.einsum("bd,bcd->bc", target[batch()["target"]], context[batch()["context"]])
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


def test_initialisation_follows_word2vec():
    model = Word2Vec(VOCABULARY, DIM)
    model.build()
    vectors = numpy(model.vectors)
    assert vectors.shape == (VOCABULARY, DIM)
    assert np.abs(vectors).max() <= 0.5 / DIM and np.abs(vectors).max() > 0
    assert not numpy(model.context_embedding.embeddings).any()


def test_objective_is_the_negative_sampling_loss():
    logits = tf.constant([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0]])
    labels = tf.constant([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    terms = negative_sampling_objective(labels, logits)

    def log_sigmoid(x):
        return -np.log1p(np.exp(-x))

    expected = -(log_sigmoid(2.0) + log_sigmoid(1.0) + log_sigmoid(-0.5)) - 3 * log_sigmoid(0.0)
    np.testing.assert_allclose(float(terms["loss"].total), expected, rtol=1e-6)
    assert float(terms["loss"].count) == 2
    # Ties (all-zero logits, as at the start of training) do not count as correct.
    assert float(terms["accuracy"].total) == 1


def test_save_and_reload(tmp_path):
    model = Word2Vec(VOCABULARY, DIM, name="word2vec")
    expected = np.asarray(model(batch()))
    model.save(tmp_path / "word2vec.keras")
    reloaded = keras.saving.load_model(tmp_path / "word2vec.keras")
    np.testing.assert_array_equal(np.asarray(reloaded(batch())), expected)
    np.testing.assert_array_equal(numpy(reloaded.vectors), numpy(model.vectors))


def test_training_brings_co_occurring_words_together():
    # Words 7-11 only ever appear together, as do words 12-16.
    rng = np.random.default_rng(0)
    texts = [
        rng.choice(np.arange(7, 12) if i % 2 else np.arange(12, 17), 12).tolist()
        for i in range(200)
    ]
    sequences = tf.data.Dataset.from_tensor_slices(tf.ragged.constant(texts, dtype=tf.int32))
    dataset = skipgram_dataset(
        sequences, vocabulary_size=17, window_size=2, num_negatives=3, batch_size=256, seed=1
    )
    model = Word2Vec(17, DIM)
    optimizer = keras.optimizers.Adam(0.05)

    @tf.function
    def step(features, labels):
        with tf.GradientTape() as tape:
            loss = negative_sampling_objective(labels, model(features))["loss"]
            loss = loss.total / loss.count
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    losses = [float(step(*element)) for _ in range(3) for element in dataset]
    assert losses[-1] < losses[0]
    vectors = numpy(model.vectors)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    same_group, other_group = unit[7] @ unit[8], unit[7] @ unit[13]
    assert same_group > other_group + 0.3, (same_group, other_group)
