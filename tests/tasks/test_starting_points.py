"""What a training run starts from: word2vec tables and BERT encoders saved by earlier runs,
and the one-line errors of paths that cannot be used (tests/experiments/test_bert_experiments.py
loads keras-hub presets and Hugging Face folders)."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.models.bert import BertEncoder
from keras_bert_lab.tasks import pretraining, starting_points, word2vec
from keras_bert_lab.text.special_tokens import RESERVED_TOKENS
from keras_bert_lab.utils import save_keras_atomically

VOCABULARY = [*RESERVED_TOKENS, "good", "bad", "plot"]


@pytest.fixture(scope="module")
def encoder():
    return BertEncoder(
        len(VOCABULARY),
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        max_sequence_length=16,
    )


def test_word2vec_round_trip(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(len(VOCABULARY), 4)).astype(np.float32)
    word2vec.save_vectors(tmp_path, vectors, VOCABULARY)
    loaded, tokenizer = starting_points.load_word2vec(tmp_path)
    np.testing.assert_array_equal(loaded, vectors)
    assert tokenizer.token_to_id("plot") == VOCABULARY.index("plot")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["vectors.npy", "vocabulary.txt"]


def test_word2vec_errors_are_one_line(tmp_path):
    with pytest.raises(starting_points.LoadError, match="is not a word2vec run folder"):
        starting_points.load_word2vec(tmp_path)
    word2vec.save_vectors(tmp_path, np.zeros((3, 4), np.float32), VOCABULARY)
    with pytest.raises(starting_points.LoadError, match=r"has shape \(3, 4\) for 10 vocabulary"):
        starting_points.load_word2vec(tmp_path)
    (tmp_path / word2vec.VOCABULARY_FILE).write_text("good\nbad\n")
    with pytest.raises(starting_points.LoadError, match="does not start with"):
        starting_points.load_word2vec(tmp_path)


def test_bert_from_a_pretraining_run_or_a_keras_file(tmp_path, encoder):
    pretraining.save_encoder(tmp_path / "run", encoder, VOCABULARY)
    loaded, tokenizer = starting_points.load_bert(tmp_path / "run")
    assert isinstance(loaded, BertEncoder) and tokenizer.get_vocabulary() == VOCABULARY

    save_keras_atomically(encoder, tmp_path / "encoder.keras")
    with pytest.raises(starting_points.LoadError, match="has no tokenizer"):
        starting_points.load_bert(tmp_path / "encoder.keras")
    (tmp_path / "vocabulary.txt").write_text("\n".join(VOCABULARY) + "\n")
    _, tokenizer = starting_points.load_bert(
        tmp_path / "encoder.keras", tmp_path / "vocabulary.txt"
    )
    assert tokenizer.get_vocabulary() == VOCABULARY

    save_keras_atomically(
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), tmp_path / "dense.keras"
    )
    with pytest.raises(starting_points.LoadError, match="holds a Sequential, not a BERT model"):
        starting_points.load_bert(tmp_path / "dense.keras")


def test_fine_tuning_needs_enough_positions(tmp_path, encoder):
    pretraining.save_encoder(tmp_path, encoder, VOCABULARY)
    run = types.SimpleNamespace(
        config=types.SimpleNamespace(sequence_length=32), strategy=tf.distribute.get_strategy()
    )
    with pytest.raises(starting_points.LoadError) as error:
        starting_points.fine_tuning_encoder(run, None, tmp_path)
    assert str(error.value) == (
        f"{tmp_path} takes at most 16 tokens; lower --set sequence_length (now 32)"
    )


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_fine_tuning_takes_the_presets_dropout(tmp_path, encoder, dropout):
    pretraining.save_encoder(tmp_path, encoder, VOCABULARY)
    run = types.SimpleNamespace(
        config=types.SimpleNamespace(sequence_length=16, dropout=dropout),
        strategy=tf.distribute.get_strategy(),
    )
    loaded, _ = starting_points.fine_tuning_encoder(run, None, tmp_path)
    assert loaded.dropout == dropout
    for loaded_weight, weight in zip(loaded.get_weights(), encoder.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded_weight, weight)
