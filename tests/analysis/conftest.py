"""Fixtures of the probe tests: three words of the probe set, a word tokenizer for them and a
tiny random BERT."""

import pytest

from keras_bert_lab.analysis import probe
from keras_bert_lab.models.bert import BertEncoder
from keras_bert_lab.text.special_tokens import RESERVED_TOKENS
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary


@pytest.fixture(scope="module")
def occurrences():
    """Three words of the probe set: 30 sentences."""
    everything = probe.load_probe_set()
    return [o for o in everything if o.word in ("plot", "bank", "left")]


@pytest.fixture(scope="module")
def word_tokenizer(occurrences):
    vocabulary = train_word_vocabulary([o.text for o in occurrences], 400, lowercase=True)
    return make_wordpiece_tokenizer(vocabulary, lowercase=True)


@pytest.fixture(scope="module")
def bert(occurrences):
    """A tiny random encoder whose WordPiece vocabulary splits every word into letters, except
    "bank"."""
    letters = sorted({c for o in occurrences for c in o.text.lower() if not c.isspace()})
    vocabulary = list(RESERVED_TOKENS) + letters + ["##" + c for c in letters] + ["bank"]
    encoder = BertEncoder(
        len(vocabulary),
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=128,
        dropout=0.0,
    )
    return encoder, make_wordpiece_tokenizer(vocabulary, lowercase=True)
