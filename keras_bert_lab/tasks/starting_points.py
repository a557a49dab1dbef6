"""Where a training run starts from: what earlier runs saved, or a keras-hub preset.

- `load_word2vec`: the table of a `word2vec_imdb` run, for the LSTM's embedding table
  (`imdb_lstm --init-embeddings`);
- `load_bert`: a BERT encoder and its tokenizer, for fine-tuning (`bert_imdb --init-from`);
  `fine_tuning_encoder` picks it, or builds a new one for a run from scratch.

The analyses load trained models through these too (`keras_bert_lab.analysis.loading`). A
path that cannot be used raises `LoadError` with a one-line message.
"""

from pathlib import Path

import keras
import numpy as np

from keras_bert_lab.export.raw_text import RawTextClassifier
from keras_bert_lab.models.bert import BertEncoder, load_keras_hub_bert
from keras_bert_lab.tasks import pretraining, word2vec
from keras_bert_lab.tasks.classification import MODEL_FILE
from keras_bert_lab.text.special_tokens import RESERVED_TOKENS
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_wordpiece_vocabulary
from keras_bert_lab.utils import one_line


class LoadError(ValueError):
    """A model cannot be loaded. The message is one line."""

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


def load_keras_file(path):
    """`keras.saving.load_model` of a `.keras` file, or of a run folder's `model.keras`."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise LoadError(f"{path} does not exist")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds; one line for all.
        raise LoadError(f"cannot load {path}: {error}") from None


def load_word2vec(run_dir):
    """A word2vec run folder -> (`vectors` float32 `[vocabulary_size, dim]`, word tokenizer)."""
    run_dir = Path(run_dir)
    vectors_path = run_dir / word2vec.VECTORS_FILE
    if not vectors_path.is_file():
        raise LoadError(f"{run_dir} is not a word2vec run folder (no {word2vec.VECTORS_FILE})")
    vocabulary = read_vocabulary(run_dir / word2vec.VOCABULARY_FILE)
    vectors = np.load(vectors_path)
    if vectors.ndim != 2 or len(vectors) != len(vocabulary):
        raise LoadError(
            f"{vectors_path} has shape {vectors.shape} for {len(vocabulary)} vocabulary tokens"
        )
    return vectors, make_wordpiece_tokenizer(vocabulary, lowercase=True)


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
    model = load_keras_file(path)
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


def fine_tuning_encoder(run, data, start_point=None):
    """The encoder and tokenizer a BERT fine-tuning starts from, made under
    `run.strategy.scope()`.

    Args:
        run: the `tasks.run.Run`.
        data: `imdb.ImdbData`.
        start_point: None to start from scratch: a WordPiece vocabulary learned from
            `data.train.texts` (cached in the run folder) and a new encoder of the preset's
            size; else what `load_bert` takes (its own vocabulary is used).

    Either way the encoder's dropout is the preset's `dropout`: a pre-trained encoder's
    (none after a Cramming-style pre-training) is replaced, as BERT fine-tunes with dropout.

    Raises:
        LoadError: `start_point` cannot be loaded, or its encoder takes fewer than the
            preset's `sequence_length` tokens.
    """
    config = run.config
    with run.strategy.scope():
        if start_point is not None:
            encoder, tokenizer = load_bert(start_point)
            if encoder.max_sequence_length < config.sequence_length:
                raise LoadError(
                    f"{start_point} takes at most {encoder.max_sequence_length} tokens; lower "
                    f"--set sequence_length (now {config.sequence_length})"
                )
            if encoder.dropout != config.dropout:
                encoder = encoder.with_dropout(config.dropout)
            return encoder, tokenizer
        vocabulary = train_wordpiece_vocabulary(
            data.train.texts,
            config.vocabulary_size,
            lowercase=True,
            cache_dir=run.run_dir / "vocabulary",
        )
        encoder = BertEncoder.from_config_name(
            config.config_name,
            len(vocabulary),
            max_sequence_length=config.sequence_length,
            dropout=config.dropout,
        )
        return encoder, make_wordpiece_tokenizer(vocabulary, lowercase=True)
