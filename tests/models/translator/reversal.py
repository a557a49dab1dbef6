"""The reversal task the translator tests train on: sequences of symbols to their reversals,
which a tiny `Translator` learns exactly in a few hundred steps."""

import numpy as np
import tensorflow as tf

from keras_bert_lab.models.translator.model import Translator
from keras_bert_lab.text.special_tokens import END_ID, START_ID
from keras_bert_lab.training import objectives

SYMBOLS = np.arange(7, 17)  # ids of the synthetic "words", after the reserved
VOCABULARY_SIZE = 17
SEQUENCE_LENGTH = 8  # positions: sources of at most 8 tokens, outputs too
MAX_SOURCE = 5


def reversal_corpus(num_pairs=48, seed=0):
    """Distinct sequences of 2..5 symbols and their reversals, as padded
    `(source_ids, decoder_inputs, labels)` and the list of sources."""
    rng = np.random.default_rng(seed)
    sources = []
    while len(sources) < num_pairs:
        source = tuple(rng.choice(SYMBOLS, rng.integers(2, MAX_SOURCE + 1)))
        if source not in sources:
            sources.append(source)
    source_ids = np.zeros((num_pairs, MAX_SOURCE), "int32")
    decoder_inputs = np.zeros((num_pairs, MAX_SOURCE + 1), "int32")
    labels = np.zeros((num_pairs, MAX_SOURCE + 1), "int32")
    for i, source in enumerate(sources):
        target = source[::-1]
        source_ids[i, : len(source)] = source
        decoder_inputs[i, : len(target) + 1] = (START_ID, *target)
        labels[i, : len(target) + 1] = (*target, END_ID)
    return source_ids, decoder_inputs, labels


def tiny_translator(seed=0, **overrides):
    tf.keras.utils.set_random_seed(seed)
    kwargs = dict(
        source_vocabulary_size=VOCABULARY_SIZE,
        target_vocabulary_size=VOCABULARY_SIZE,
        sequence_length=SEQUENCE_LENGTH,
        num_layers=1,
        hidden_dim=32,
        num_heads=2,
        intermediate_dim=64,
        dropout=0.0,
    )
    return Translator(**(kwargs | overrides))


def train(translator, source_ids, decoder_inputs, labels, steps=300):
    """Full-batch Adam on `objectives.sequence_to_sequence`; returns the
    final loss and token accuracy."""
    optimizer = tf.keras.optimizers.Adam(3e-3)
    inputs = {"encoder_inputs": source_ids, "decoder_inputs": decoder_inputs}

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            logits = translator(inputs, training=True)
            terms = objectives.sequence_to_sequence(labels, logits)
            loss = terms["loss"].total / terms["loss"].count
        variables = translator.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss, terms["accuracy"].total / terms["accuracy"].count

    translator(inputs)
    for _ in range(steps):
        loss, accuracy = train_step()
    return float(loss), float(accuracy)
