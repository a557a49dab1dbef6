"""`tasks.pretraining.build_pretrainer`: what the preset's fields make of a new encoder."""

import dataclasses
import functools
import types

import tensorflow as tf

from keras_bert_lab.presets import BERT_PRETRAIN_PRESETS
from keras_bert_lab.tasks.pretraining import build_pretrainer
from keras_bert_lab.tasks.run import Run


def fake_run(**fields):
    run = types.SimpleNamespace(
        config=dataclasses.replace(BERT_PRETRAIN_PRESETS["smoke"], **fields),
        strategy=tf.distribute.get_strategy(),
        learning_rate=1e-3,
        optimizer=lambda optimizer: optimizer,
    )
    run.bert_optimizer = functools.partial(Run.bert_optimizer, run)
    return run


def test_a_new_encoder_takes_the_presets_dropout_and_block_layout():
    vocabulary = [f"w{i}" for i in range(40)]
    pretrainer, _ = build_pretrainer(fake_run(), vocabulary, None, total_steps=10)
    encoder = pretrainer.encoder
    assert (encoder.dropout, encoder.normalize_first, encoder.final_norm) == (0.1, False, None)
    pretrainer, _ = build_pretrainer(
        fake_run(dropout=0.0, normalize_first=True), vocabulary, None, total_steps=10
    )
    encoder = pretrainer.encoder
    assert (encoder.dropout, encoder.normalize_first) == (0.0, True)
    assert encoder.final_norm is not None and encoder.vocabulary_size == 40
    # An encoder from an earlier phase keeps its own.
    widened, _ = build_pretrainer(fake_run(sequence_length=48), vocabulary, encoder, 10)
    assert widened.encoder.normalize_first and widened.encoder.max_sequence_length == 48
