"""Token ids back to text, spaced as English is written: one row in Python
(`detokenize_to_text`) or a batch in the graph (`ids_to_text`), on the same spacing rules.

The rules apply to whole words, after `##` pieces are joined: no space before
`NO_SPACE_BEFORE` nor after `NO_SPACE_AFTER`; a `JOINERS` mark between two words joins them
(`Tom's`, `well-known`); a `NUMBER_SEPARATORS` mark between two numbers joins them (`3.5`);
straight double quotes (`QUOTE`) alternate between opening and closing.
"""

import re
from collections.abc import Sequence

import keras_hub
import numpy as np
import tensorflow as tf

from keras_bert_lab.text.special_tokens import END_ID, SKIPPED_IDS

NO_SPACE_BEFORE = frozenset({".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "…"})
NO_SPACE_AFTER = frozenset({"(", "[", "{", "$", "¿", "¡"})
JOINERS = frozenset({"'", "’", "-"})
NUMBER_SEPARATORS = frozenset({".", ","})
QUOTE = '"'

# A word character and a number: Python's `\w` and `\d+`, and the same classes in RE2 (the
# graph's regular expressions) matched against a whole word.
_WORD = re.compile(r"\w")
_NUMBER = re.compile(r"\d+")
_GRAPH_ENDS_WITH_WORD_CHARACTER = r"(?s).*[\pL\pN_]"
_GRAPH_STARTS_WITH_WORD_CHARACTER = r"(?s)[\pL\pN_].*"
_GRAPH_NUMBER = r"\p{Nd}+"


def detokenize_to_text(
    tokenizer: keras_hub.tokenizers.WordPieceTokenizer, token_ids: Sequence[int]
) -> str:
    """Turns one sequence of token ids `[length]` back into properly spaced text.

    `tokenizer.detokenize` puts a space between every word and punctuation mark
    (`"I ' m sure ."`); this joins them as English is written (`"I'm sure."`). Decoding stops
    at the first `[END]`; the `SKIPPED_IDS` (`[PAD]`, `[CLS]`, `[SEP]`, `[MASK]`, `[START]`)
    are dropped and `[UNK]` is written as it is. Spacing follows the module's rules; text that
    had unusual spacing (e.g. `a - b`) comes back in this normal form.
    """
    words = _joined_words(tokenizer, token_ids)
    text = ""
    glue_next = True  # no space before the first word
    inside_quotes = False
    for index, word in enumerate(words):
        previous_word = words[index - 1] if index > 0 else ""
        next_word = words[index + 1] if index + 1 < len(words) else ""
        between_words = bool(_WORD.match(previous_word[-1:]) and _WORD.match(next_word[:1]))
        between_numbers = bool(_NUMBER.fullmatch(previous_word) and _NUMBER.fullmatch(next_word))
        glue_before = glue_next or word in NO_SPACE_BEFORE
        glue_next = word in NO_SPACE_AFTER
        if (word in JOINERS and between_words) or (word in NUMBER_SEPARATORS and between_numbers):
            glue_before = glue_next = True
        elif word == QUOTE:
            glue_before = glue_before or inside_quotes
            glue_next = not inside_quotes
            inside_quotes = not inside_quotes
        text += word if glue_before else " " + word
    return text


def _joined_words(tokenizer, token_ids):
    """The words of `token_ids` up to `[END]`, skipped ids dropped, `##` pieces joined."""
    words: list[str] = []
    for token_id in np.asarray(token_ids).reshape(-1).tolist():
        if token_id == END_ID:
            break
        if token_id in SKIPPED_IDS:
            continue
        token = tokenizer.id_to_token(token_id)
        if token.startswith("##") and words:
            words[-1] += token[2:]
        else:
            words.append(token)
    return words


def ids_to_text(tokenizer, output_ids):
    """Token ids `[batch, length]` (e.g. `decoding.generate` output) -> strings `[batch]`, in
    the graph (for SavedModel signatures).

    Gives the same text as `detokenize_to_text` row by row: stops at `[END]`, drops the
    `SKIPPED_IDS`, joins `##` pieces (tf-text's WordPiece detokenizer), then applies the same
    spacing rules to whole words. Each rule depends only on a word's neighbours and on how
    many straight quotes came before it, so the rules are vectorised over a `[batch, words]`
    tensor instead of a loop. Known difference: a bare `##` token after a word is kept by
    tf-text but dropped by the Python version (the translator does not produce it in
    practice).
    """
    output_ids = tf.cast(output_ids, tf.int32)
    before_end = tf.equal(tf.cumsum(tf.cast(output_ids == END_ID, tf.int32), axis=1), 0)
    keep = before_end & ~_is_one_of(output_ids, SKIPPED_IDS)
    words_text = tokenizer.detokenize(tf.ragged.boolean_mask(output_ids, keep))
    words = tf.strings.split(words_text).to_tensor("")
    rows = tf.shape(words)[0]
    # One empty column more, so that every word has a next (and a previous) neighbour, even in
    # an all-empty batch.
    empty = tf.fill([rows, 1], "")
    words = tf.concat([words, empty], axis=1)
    glue_before = _glued_to_previous_word(
        words,
        previous_words=tf.concat([empty, words[:, :-1]], axis=1),
        next_words=tf.concat([words[:, 1:], empty], axis=1),
    )
    pieces = tf.where(glue_before, words, tf.strings.join([" ", words]))
    pieces = tf.where(tf.equal(words, ""), "", pieces)
    return tf.strings.reduce_join(pieces, axis=1)


def _glued_to_previous_word(words, previous_words, next_words):
    """bool `[batch, words]`: no space goes before the word (the rules of `detokenize_to_text`,
    for every word at once)."""
    between_words = tf.strings.regex_full_match(
        previous_words, _GRAPH_ENDS_WITH_WORD_CHARACTER
    ) & tf.strings.regex_full_match(next_words, _GRAPH_STARTS_WITH_WORD_CHARACTER)
    between_numbers = tf.strings.regex_full_match(
        previous_words, _GRAPH_NUMBER
    ) & tf.strings.regex_full_match(next_words, _GRAPH_NUMBER)
    joined = (_is_one_of(words, JOINERS) & between_words) | (
        _is_one_of(words, NUMBER_SEPARATORS) & between_numbers
    )
    quote = tf.equal(words, QUOTE)
    inside_quotes = tf.equal(
        tf.math.floormod(tf.cumsum(tf.cast(quote, tf.int32), axis=1, exclusive=True), 2), 1
    )
    glue_next = joined | tf.where(quote, ~inside_quotes, _is_one_of(words, NO_SPACE_AFTER))
    glued_by_previous = tf.concat([tf.fill([tf.shape(words)[0], 1], True), glue_next[:, :-1]], 1)
    return glued_by_previous | _is_one_of(words, NO_SPACE_BEFORE) | joined | (quote & inside_quotes)


def _is_one_of(values, members):
    """bool of `values`' shape: the value is in the set `members`."""
    return tf.reduce_any(values[..., None] == tf.constant(sorted(members)), axis=-1)
