"""Vocabularies learned from texts (WordPiece and whole words), cached, and their tokenizers."""

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.text import vocabulary
from keras_bert_lab.text.special_tokens import PAD_ID, RESERVED_TOKENS, UNK_ID
from keras_bert_lab.text.vocabulary import (
    make_wordpiece_tokenizer,
    train_word_vocabulary,
    train_wordpiece_vocabulary,
)
from tests.text.english import CORPUS


def _fail(*args, **kwargs):
    raise AssertionError("the vocabulary was recomputed")


def test_wordpiece_vocabulary_is_cached(tmp_path, monkeypatch):
    first = train_wordpiece_vocabulary(CORPUS, 120, lowercase=True, cache_dir=tmp_path)
    (cached_file,) = tmp_path.iterdir()
    assert cached_file.name.startswith("wordpiece-") and cached_file.suffix == ".txt"
    monkeypatch.setattr(keras_hub.tokenizers, "compute_word_piece_vocabulary", _fail)
    assert train_wordpiece_vocabulary(CORPUS, 120, lowercase=True, cache_dir=tmp_path) == first
    # Any change of texts or settings is a different vocabulary.
    with pytest.raises(AssertionError, match="recomputed"):
        train_wordpiece_vocabulary(CORPUS, 120, lowercase=False, cache_dir=tmp_path)
    with pytest.raises(AssertionError, match="recomputed"):
        train_wordpiece_vocabulary(CORPUS[:-1], 120, lowercase=True, cache_dir=tmp_path)


def test_word_vocabulary_is_cached(tmp_path, monkeypatch):
    def train():
        return train_word_vocabulary(CORPUS, 50, lowercase=True, cache_dir=tmp_path, name="lstm")

    first = train()
    monkeypatch.setattr(vocabulary, "pretokenize", _fail)
    assert train() == first
    assert [path.suffix for path in tmp_path.iterdir()] == [".txt"]  # no temporary file left


def test_word_vocabulary_keeps_most_frequent_words():
    texts = ["b b b a a c.", "b a"]
    tokens = train_word_vocabulary(texts, len(RESERVED_TOKENS) + 2, lowercase=True)
    assert tokens[len(RESERVED_TOKENS) :] == ["b", "a"]
    tokenizer = make_wordpiece_tokenizer(tokens, lowercase=True)
    b_id, a_id = len(RESERVED_TOKENS), len(RESERVED_TOKENS) + 1
    # "c" and "." are not in the vocabulary; "ab" must not be read as "a" + "b".
    np.testing.assert_array_equal(tokenizer("B a c. ab"), [b_id, a_id, UNK_ID, UNK_ID, UNK_ID])


def test_vocabulary_tokens_survive_the_vocabulary_file():
    # A no-break space is not a word separator; a token ending with one would be changed by
    # the `rstrip` with which keras-hub reloads vocabulary assets.
    tokens = train_word_vocabulary(["abc\u00a0 x\u2028y z\u3000"] * 3, 50, lowercase=False)
    assert all(token == token.strip() for token in tokens)


def test_tokenizer_pads_and_truncates_to_sequence_length():
    tokens = train_wordpiece_vocabulary(CORPUS, 300, lowercase=True)
    tokenizer = make_wordpiece_tokenizer(tokens, lowercase=True, sequence_length=4)
    token_ids = tokenizer(tf.constant(["I'm sure.", "I"]))
    assert token_ids.shape == (2, 4) and token_ids.dtype == tf.int32
    np.testing.assert_array_equal(token_ids[1, 1:], [PAD_ID] * 3)


def test_model_with_tokenizer_saves_and_reloads(tmp_path):
    tokens = train_word_vocabulary(CORPUS, 60, lowercase=True)
    texts = tf.constant(["I'm sure.", "Don't worry, Tom's here!", "unknown words"])
    strings = keras.Input(shape=(), dtype="string")
    token_ids = make_wordpiece_tokenizer(tokens, lowercase=True, sequence_length=8)(strings)
    hidden = keras.layers.Embedding(len(tokens), 4)(token_ids)
    logits = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(hidden))
    model = keras.Model(strings, logits)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(texts, verbose=0), model.predict(texts, verbose=0))


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="vocabulary_size"):
        train_word_vocabulary(CORPUS, len(RESERVED_TOKENS), lowercase=True)
    with pytest.raises(ValueError, match="at least one text"):
        train_wordpiece_vocabulary([], 100, lowercase=True)
    with pytest.raises(ValueError, match="must start with"):
        make_wordpiece_tokenizer(["[UNK]", "a"], lowercase=True)
