"""Trained models with their tokenizers, for analyses and for fine-tuning (`bert_imdb
--init-from`): from run folders, `.keras` files or keras-hub presets; or tiny random ones
(vocabularies learned from the given texts) for smoke runs.

Every loader returns `(model or table, tokenizer)`; a path that cannot be used raises
`LoadError` with a one-line message.
"""

from pathlib import Path

import keras
import numpy as np

from keras_bert_lab.export.raw_text import RawTextClassifier
from keras_bert_lab.models.bert import BertEncoder, load_keras_hub_bert
from keras_bert_lab.models.lstm import build_lstm_classifier
from keras_bert_lab.models.translator.model import TranslationPipeline
from keras_bert_lab.tasks import pretraining, translation
from keras_bert_lab.text.special_tokens import RESERVED_TOKENS
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary
from keras_bert_lab.utils import one_line

WORD2VEC_VECTORS = "vectors.npy"
WORD2VEC_VOCABULARY = "vocabulary.txt"
MODEL_FILE = "model.keras"


class LoadError(ValueError):
    """A model cannot be loaded for analysis. The message is one line."""

    def __init__(self, message):
        super().__init__(one_line(message))


def read_vocabulary(path):
    """A vocabulary file, one token per line -> list of str."""
    try:
        tokens = Path(path).read_text(encoding="utf-8").split("\n")
    except OSError as error:
        raise LoadError(f"cannot read vocabulary {path}: {error.strerror}") from None
    tokens = tokens[:-1] if tokens and tokens[-1] == "" else tokens
    if tokens[: len(RESERVED_TOKENS)] != list(RESERVED_TOKENS):
        raise LoadError(f"vocabulary {path} does not start with {' '.join(RESERVED_TOKENS)}")
    return tokens


def load_word2vec(run_dir):
    """A word2vec run folder -> (`vectors` float32 `[vocabulary_size, dim]`, word tokenizer)."""
    run_dir = Path(run_dir)
    vectors_path = run_dir / WORD2VEC_VECTORS
    if not vectors_path.is_file():
        raise LoadError(f"{run_dir} is not a word2vec run folder (no {WORD2VEC_VECTORS})")
    vocabulary = read_vocabulary(run_dir / WORD2VEC_VOCABULARY)
    vectors = np.load(vectors_path)
    if vectors.ndim != 2 or len(vectors) != len(vocabulary):
        raise LoadError(
            f"{vectors_path} has shape {vectors.shape} for {len(vocabulary)} vocabulary tokens"
        )
    return vectors, make_wordpiece_tokenizer(vocabulary, lowercase=True)


def _load_keras(path):
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise LoadError(f"{path} does not exist")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds; one line for all.
        raise LoadError(f"cannot load {path}: {error}") from None


def load_lstm(path):
    """An LSTM run folder or its `model.keras` (a `RawTextClassifier`) ->
    (the LSTM classifier, its word tokenizer)."""
    model = _load_keras(path)
    classifier = getattr(model, "classifier", None)
    names = {layer.name for layer in getattr(classifier, "layers", [])}
    if not isinstance(model, RawTextClassifier) or "token_embedding" not in names:
        raise LoadError(f"{path} is not a raw-text LSTM classifier (experiments.imdb_lstm)")
    return classifier, model.tokenizer


def load_bert(path_or_preset, vocabulary_path=None, lowercase=True):
    """A BERT encoder and its tokenizer.

    Args:
        path_or_preset: a `bert_pretrain` run folder (`encoder.keras` + `vocabulary.txt`); a
            `.keras` file (or a run folder with `model.keras`) holding a `BertEncoder`, a model
            with an `.encoder` (`BertClassifier`, `BertPretrainer`) or a `RawTextClassifier`
            around a `BertClassifier`; or a keras-hub BERT preset: a name (downloaded) or a
            folder in Keras or Hugging Face format.
        vocabulary_path: the WordPiece vocabulary file, unless the model carries its
            tokenizer (run folders, `RawTextClassifier`, keras-hub preset).
        lowercase: whether that vocabulary is uncased.

    Returns:
        `(encoder, tokenizer)`.
    """
    path = Path(path_or_preset)
    if (path / pretraining.ENCODER_FILE).is_file():
        encoder, vocabulary = pretraining.load_pretrained_encoder(path)
        return encoder, make_wordpiece_tokenizer(vocabulary, lowercase=True)
    if path.suffix != ".keras" and not (path / MODEL_FILE).is_file():
        try:
            return load_keras_hub_bert(str(path_or_preset))
        except Exception as error:  # noqa: BLE001 - keras-hub raises many kinds.
            raise LoadError(
                f"{path_or_preset} is neither a BERT run folder, a .keras file nor "
                f"a keras-hub BERT preset: {error}"
            ) from None
    model = _load_keras(path)
    tokenizer = None
    if isinstance(model, RawTextClassifier):
        model, tokenizer = model.classifier, model.tokenizer
    encoder = model if isinstance(model, BertEncoder) else getattr(model, "encoder", None)
    if not isinstance(encoder, BertEncoder):
        raise LoadError(f"{path} holds a {type(model).__name__}, not a BERT model")
    if tokenizer is None:
        if vocabulary_path is None:
            raise LoadError(f"{path} has no tokenizer: give its WordPiece vocabulary file")
        tokenizer = make_wordpiece_tokenizer(read_vocabulary(vocabulary_path), lowercase=lowercase)
    return encoder, tokenizer


def load_translator(path):
    """A `translate_fr_en` run folder or its `.keras` file -> the `TranslationPipeline`."""
    path = Path(path)
    model = _load_keras(path / translation.PIPELINE_FILE if path.is_dir() else path)
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
