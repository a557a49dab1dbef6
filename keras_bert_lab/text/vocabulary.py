"""Vocabularies and tokenizers shared by the three tasks.

Every vocabulary starts with the same seven reserved tokens, so that an id means the same thing
for the LSTM, the translator and BERT:

    [PAD]=0  [UNK]=1  [CLS]=2  [SEP]=3  [MASK]=4  [START]=5  [END]=6

Two kinds of vocabulary are trained, both on the training split only:

- `train_wordpiece_vocabulary`: sub-word WordPiece pieces (BERT, translator); a word that is not
  in the vocabulary is split into pieces such as `["play", "##ing"]`.
- `train_word_vocabulary`: the most frequent whole words (LSTM baseline); an unknown word becomes
  `[UNK]`.

Both are plain `list[str]` and both go through the same tokenizer, `make_wordpiece_tokenizer`:
a word vocabulary is simply a WordPiece vocabulary without `##` pieces, so the text is split
into words and punctuation exactly the same way for every task, and every tokenizer saves into a
`.keras` model with its vocabulary as an asset (the model then takes raw strings).

Vocabularies are cached as text files, one token per line, under a name keyed by a hash of
everything that determines them, so that a second run loads them instantly.

Example:

    vocabulary = train_wordpiece_vocabulary(train_texts, 16000, lowercase=True,
                                            cache_dir="runs/bert/vocab")
    tokenizer = make_wordpiece_tokenizer(vocabulary, lowercase=True)
    token_ids = tokenizer(["A great film."])        # RaggedTensor [batch, None], int32
"""

import hashlib
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import keras_hub
import tensorflow as tf
import tensorflow_text

# keras-hub's own word splitter, so that word counts use exactly the tokenizer's splitting.
from keras_hub.src.tokenizers.word_piece_tokenizer import pretokenize

from keras_bert_lab.text.special_tokens import RESERVED_TOKENS, UNK_TOKEN

_TEXT_BATCH_SIZE = 1024


def train_wordpiece_vocabulary(
    texts: Sequence[str],
    vocabulary_size: int,
    *,
    lowercase: bool,
    cache_dir: str | os.PathLike | None = None,
    name: str = "wordpiece",
) -> list[str]:
    """Learns a WordPiece vocabulary of at most `vocabulary_size` tokens from `texts`.

    Uses `keras_hub.tokenizers.compute_word_piece_vocabulary` (tensorflow-text's learner). The
    result starts with `RESERVED_TOKENS` at their fixed ids. With `cache_dir`, the vocabulary is
    stored as `{cache_dir}/{name}-{hash}.txt` and loaded from there on the next call with the
    same texts and settings.

    Args:
        texts: training texts only (never validation or test).
        vocabulary_size: maximum number of tokens, reserved tokens included.
        lowercase: case-fold the text first; `False` keeps case (translator targets).
        cache_dir: folder for the cached vocabulary file, or `None` for no cache.
        name: prefix of the cached file name.
    """

    def compute() -> list[str]:
        vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
            _text_dataset(texts).batch(_TEXT_BATCH_SIZE),
            vocabulary_size,
            lowercase=lowercase,
            reserved_tokens=list(RESERVED_TOKENS),
        )
        return _storable_tokens(vocabulary)

    return _cached_vocabulary(
        compute, texts, "wordpiece", vocabulary_size, lowercase, cache_dir, name
    )


def train_word_vocabulary(
    texts: Sequence[str],
    vocabulary_size: int,
    *,
    lowercase: bool,
    cache_dir: str | os.PathLike | None = None,
    name: str = "words",
) -> list[str]:
    """Returns `RESERVED_TOKENS` followed by the most frequent whole words of `texts`.

    Words are split exactly as `make_wordpiece_tokenizer` splits them (whitespace, and every
    punctuation mark is a word of its own). Ties in frequency are broken alphabetically so the
    result is deterministic. Arguments and caching as in `train_wordpiece_vocabulary`.
    """

    def compute() -> list[str]:
        word_counts: Counter[bytes] = Counter()
        words = (
            _text_dataset(texts)
            .batch(_TEXT_BATCH_SIZE)
            .map(
                lambda batch: pretokenize(batch, lowercase=lowercase, strip_accents=False),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        )
        for batch_words in words:
            word_counts.update(batch_words.flat_values.numpy().tolist())
        by_frequency = sorted(word_counts.items(), key=lambda item: (-item[1], item[0]))
        candidates = _storable_tokens([word.decode("utf-8") for word, _ in by_frequency])
        reserved = set(RESERVED_TOKENS)
        kept = [word for word in candidates if word not in reserved]
        return list(RESERVED_TOKENS) + kept[: vocabulary_size - len(RESERVED_TOKENS)]

    return _cached_vocabulary(compute, texts, "word", vocabulary_size, lowercase, cache_dir, name)


def make_wordpiece_tokenizer(
    vocabulary: Sequence[str],
    *,
    lowercase: bool,
    sequence_length: int | None = None,
) -> keras_hub.tokenizers.WordPieceTokenizer:
    """Builds the tokenizer for a word or WordPiece vocabulary.

    The returned layer maps strings `[batch]` to token ids: a `tf.RaggedTensor` `[batch, None]`
    of int32, or a dense `[batch, sequence_length]` tensor padded with `PAD_ID` (0) and
    truncated when `sequence_length` is set. Unknown words become `UNK_ID`. `lowercase` must
    match the value the vocabulary was trained with. The layer can sit inside a Keras model
    saved as `.keras`; the vocabulary travels with it.
    """
    if list(vocabulary[: len(RESERVED_TOKENS)]) != list(RESERVED_TOKENS):
        raise ValueError(f"vocabulary must start with {RESERVED_TOKENS}.")
    return keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=list(vocabulary),
        sequence_length=sequence_length,
        lowercase=lowercase,
        strip_accents=False,
        oov_token=UNK_TOKEN,
        dtype="int32",
    )


def _text_dataset(texts: Sequence[str]) -> tf.data.Dataset:
    """A dataset of scalar strings; rejects an empty list (it would have dtype float)."""
    if len(texts) == 0:
        raise ValueError("texts must contain at least one text.")
    return tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), dtype=tf.string))


def _storable_tokens(tokens: Sequence[str]) -> list[str]:
    """Drops tokens that would not survive a one-token-per-line vocabulary file.

    Keras-hub reloads vocabulary assets with `line.rstrip()`, so a token with a line break or
    with leading/trailing whitespace (e.g. a no-break space, which is not a word separator)
    would come back different, or shift every following id.
    """
    return [
        token
        for token in tokens
        if token and token == token.strip() and "\n" not in token and "\r" not in token
    ]


def texts_digest(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        encoded = text.encode("utf-8", errors="surrogatepass")
        # The length prefix keeps ["ab", "c"] and ["a", "bc"] apart.
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


def _cached_vocabulary(
    compute,
    texts: Sequence[str],
    kind: str,
    vocabulary_size: int,
    lowercase: bool,
    cache_dir: str | os.PathLike | None,
    name: str,
) -> list[str]:
    """Returns the cached vocabulary for these arguments, or computes, stores and returns it."""
    if vocabulary_size <= len(RESERVED_TOKENS):
        raise ValueError(
            f"vocabulary_size must exceed {len(RESERVED_TOKENS)} reserved tokens, "
            f"got {vocabulary_size}."
        )
    if cache_dir is None:
        return compute()
    key = hashlib.sha256(
        repr(
            (
                kind,
                texts_digest(texts),
                vocabulary_size,
                lowercase,
                RESERVED_TOKENS,
                keras_hub.__version__,
                tensorflow_text.__version__,
            )
        ).encode("utf-8")
    ).hexdigest()[:16]
    path = Path(cache_dir) / f"{name}-{key}.txt"
    if path.exists():
        return path.read_text(encoding="utf-8").split("\n")[:-1]
    vocabulary = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="\n", dir=path.parent, suffix=".tmp", delete=False
    ) as file:
        file.write("".join(token + "\n" for token in vocabulary))
    os.replace(file.name, path)
    return vocabulary
