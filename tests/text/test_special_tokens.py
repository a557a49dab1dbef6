"""The reserved tokens: fixed ids, at the start of every vocabulary; the ids dropped from text."""

from keras_bert_lab.text import special_tokens
from keras_bert_lab.text.special_tokens import RESERVED_TOKENS, SKIPPED_IDS
from keras_bert_lab.text.vocabulary import train_word_vocabulary, train_wordpiece_vocabulary
from tests.text.english import CORPUS


def test_reserved_tokens_have_fixed_ids():
    assert RESERVED_TOKENS == ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[START]", "[END]")
    ids = [
        special_tokens.PAD_ID,
        special_tokens.UNK_ID,
        special_tokens.CLS_ID,
        special_tokens.SEP_ID,
    ]
    ids += [special_tokens.MASK_ID, special_tokens.START_ID, special_tokens.END_ID]
    assert ids == list(range(7))
    for train in (train_wordpiece_vocabulary, train_word_vocabulary):
        for lowercase in (True, False):
            tokens = train(CORPUS, 100, lowercase=lowercase)
            assert tokens[: len(RESERVED_TOKENS)] == list(RESERVED_TOKENS)
            assert len(tokens) == len(set(tokens)) <= 100


def test_skipped_ids_are_the_reserved_ids_text_never_shows():
    # [UNK] is written as it is and [END] stops decoding: neither is merely skipped.
    assert SKIPPED_IDS == {
        special_tokens.PAD_ID,
        special_tokens.CLS_ID,
        special_tokens.SEP_ID,
        special_tokens.MASK_ID,
        special_tokens.START_ID,
    }
