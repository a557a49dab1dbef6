"""Trained models with their tokenizers, for analyses: from run folders, `.keras` files or
keras-hub presets; or tiny random ones (vocabularies learned from the given texts) for smoke
runs.

The word2vec and BERT loaders are the ones training runs start from
(`keras_bert_lab.tasks.starting_points`); this module adds the LSTM classifier, the
translator and the random models. Every loader returns `(model or table, tokenizer)`, except
`load_translator` (the pipeline holds its tokenizers); a path that cannot be used raises
`LoadError` with a one-line message.
"""

from pathlib import Path

import numpy as np

from keras_bert_lab.export.raw_text import RawTextClassifier
from keras_bert_lab.models.bert import BertEncoder
from keras_bert_lab.models.lstm import build_lstm_classifier
from keras_bert_lab.models.translator.pipeline import TranslationPipeline
from keras_bert_lab.tasks import translation
from keras_bert_lab.tasks.starting_points import (
    LoadError,
    load_bert,
    load_keras_file,
    load_word2vec,
)
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary

__all__ = [
    "LoadError",
    "load_bert",
    "load_lstm",
    "load_translator",
    "load_word2vec",
    "random_bert",
    "random_lstm",
    "random_word2vec",
]


def load_lstm(path):
    """An LSTM run folder or its `model.keras` (a `RawTextClassifier`) ->
    (the LSTM classifier, its word tokenizer)."""
    model = load_keras_file(path)
    classifier = getattr(model, "classifier", None)
    names = {layer.name for layer in getattr(classifier, "layers", [])}
    if not isinstance(model, RawTextClassifier) or "token_embedding" not in names:
        raise LoadError(f"{path} is not a raw-text LSTM classifier (experiments.imdb_lstm)")
    return classifier, model.tokenizer


def load_translator(path):
    """A `translate_fr_en` run folder or its `.keras` file -> the `TranslationPipeline`."""
    path = Path(path)
    model = load_keras_file(path / translation.PIPELINE_FILE if path.is_dir() else path)
    if not isinstance(model, TranslationPipeline):
        raise LoadError(
            f"{path} holds a {type(model).__name__}, not a translation pipeline "
            "(experiments.translate_fr_en)"
        )
    return model


def random_word2vec(texts, vocabulary_size, embedding_dim, seed=0):
    """A random `[vocabulary_size, dim]` table over the words of `texts`, and its tokenizer."""
    vocabulary = train_word_vocabulary(texts, vocabulary_size, lowercase=True)
    vectors = np.random.default_rng(seed).normal(size=(len(vocabulary), embedding_dim))
    return vectors.astype(np.float32), make_wordpiece_tokenizer(vocabulary, lowercase=True)


def random_lstm(texts, vocabulary_size, embedding_dim, num_lstm_layers):
    """An untrained LSTM classifier (final-state pooling) over the words of `texts`, and its
    tokenizer."""
    vocabulary = train_word_vocabulary(texts, vocabulary_size, lowercase=True)
    classifier = build_lstm_classifier(
        len(vocabulary),
        embedding_dim=embedding_dim,
        lstm_units=embedding_dim // 2,
        num_lstm_layers=num_lstm_layers,
        pooling="last",
    )
    return classifier, make_wordpiece_tokenizer(vocabulary, lowercase=True)


def random_bert(texts, vocabulary_size, config_name, max_sequence_length=128):
    """An untrained `BertEncoder` of a `BERT_CONFIGS` size, without dropout, and a tokenizer
    for the words of `texts` (whole words: a WordPiece vocabulary learned from a few sentences
    would split most words into letters)."""
    vocabulary = train_word_vocabulary(texts, vocabulary_size, lowercase=True)
    encoder = BertEncoder.from_config_name(
        config_name,
        vocabulary_size=len(vocabulary),
        max_sequence_length=max_sequence_length,
        dropout=0.0,
    )
    return encoder, make_wordpiece_tokenizer(vocabulary, lowercase=True)
