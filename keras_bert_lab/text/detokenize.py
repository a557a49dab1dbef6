"""Token ids back to text, spaced as English is written."""

import re
from collections.abc import Sequence

import keras_hub
import numpy as np

from keras_bert_lab.text.special_tokens import END_ID, SKIPPED_IDS

# Spacing rules for `detokenize_to_text`, applied to whole words (after `##` pieces are joined).
_NO_SPACE_BEFORE = {".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "…"}
_NO_SPACE_AFTER = {"(", "[", "{", "$", "¿", "¡"}
_JOINERS = {"'", "’", "-"}  # glued to both neighbours when between two words: I'm, well-known
_WORD = re.compile(r"\w")
_NUMBER = re.compile(r"\d+")


def detokenize_to_text(
    tokenizer: keras_hub.tokenizers.WordPieceTokenizer, token_ids: Sequence[int]
) -> str:
    """Turns one sequence of token ids `[length]` back into properly spaced text.

    `tokenizer.detokenize` puts a space between every word and punctuation mark
    (`"I ' m sure ."`); this joins them as English is written (`"I'm sure."`). Decoding stops
    at the first `[END]`; `[PAD]`, `[CLS]`, `[SEP]`, `[MASK]` and `[START]` are dropped and
    `[UNK]` is written as it is.

    Rules: `##` pieces join the previous piece; no space before `. , ! ? ; : ) ] } %`; no space
    after `( [ { $`; an apostrophe or hyphen between two words joins them (`Tom's`,
    `well-known`); a point or comma between two numbers joins them (`3.5`); straight double
    quotes alternate between opening and closing. Text that had unusual spacing (e.g. `a - b`)
    comes back in this normal form.
    """
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

    text = ""
    glue_next = True  # no space before the first word
    inside_quotes = False
    for index, word in enumerate(words):
        previous_word = words[index - 1] if index > 0 else ""
        next_word = words[index + 1] if index + 1 < len(words) else ""
        between_words = bool(_WORD.match(previous_word[-1:]) and _WORD.match(next_word[:1]))
        between_numbers = bool(_NUMBER.fullmatch(previous_word) and _NUMBER.fullmatch(next_word))
        glue_before = glue_next or word in _NO_SPACE_BEFORE
        glue_next = word in _NO_SPACE_AFTER
        if (word in _JOINERS and between_words) or (word in {".", ","} and between_numbers):
            glue_before = glue_next = True
        elif word == '"':
            glue_before = glue_before or inside_quotes
            glue_next = not inside_quotes
            inside_quotes = not inside_quotes
        text += word if glue_before else " " + word
    return text
