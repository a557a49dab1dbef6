"""BERT pre-training data: sentence-pair examples for NSP, dynamic masking for MLM.

Follows Devlin et al. (2019), "BERT: Pre-training of Deep Bidirectional Transformers for
Language Understanding", section 3.1 and appendix A.1, with the masking done on the fly as in
RoBERTa (Liu et al., 2019): the sentence pairs are built once, the masks are drawn afresh every
time a batch is read, so every epoch sees different masked positions.

Step 1, `make_pretraining_examples` (NumPy, deterministic given `seed`) returns a dict of
arrays, one row per example `[CLS] A [SEP] B [SEP] [PAD]...`:

    "token_ids"     int32 [num_examples, sequence_length]   unmasked ids, 0-padded
    "segment_ids"   int32 [num_examples, sequence_length]   0 for [CLS] A [SEP], 1 for B [SEP]
                                                            (and 0 on padding)
    "padding_mask"  bool  [num_examples, sequence_length]   True on real tokens
    "nsp_labels"    int32 [num_examples]                    0 = IsNext, 1 = NotNext

Arrays rather than a `tf.data.Dataset` because they are built by a sequential random walk over
documents (not a per-element map), are easy to inspect and test, and go into
`tf.data.Dataset.from_tensor_slices` as they are.

Step 2, `make_masked_lm_map_fn` returns the function that `pipelines.pretraining_dataset` maps
over each *batch* of those arrays. It yields `(features, labels)`:

    features = {
        "token_ids":      int32   [batch, sequence_length]  after masking
        "segment_ids":    int32   [batch, sequence_length]
        "padding_mask":   bool    [batch, sequence_length]
        "mask_positions": int32   [batch, max_predictions]  positions to predict, 0-padded
    }
    labels = {
        "mlm_labels":     int32   [batch, max_predictions]  original ids at mask_positions
        "mlm_weights":    float32 [batch, max_predictions]  1.0 real prediction, 0.0 padding
        "nsp_labels":     int32   [batch]                   0 = IsNext, 1 = NotNext
    }

Of the selectable tokens (everything but [PAD], [CLS] and [SEP]) 15% are selected (rounded up
per sequence, at most `max_predictions`); of those 80% become [MASK], 10% a token drawn
uniformly from the whole vocabulary and 10% stay unchanged.
"""

import math
import re
from collections.abc import Callable, Sequence

import keras_hub
import numpy as np
import tensorflow as tf

from keras_bert_lab.text.special_tokens import CLS_ID, MASK_ID, PAD_ID, SEP_ID
from keras_bert_lab.utils import Progress

IS_NEXT = 0
NOT_NEXT = 1
MASK_SELECTION_RATE = 0.15
MASK_TOKEN_RATE = 0.8
RANDOM_TOKEN_RATE = 0.1

# A sentence ends at . ! or ? (possibly followed by a closing quote or bracket) when whitespace
# and a capital letter (possibly after an opening quote or bracket) follow; "<br />" line breaks
# also end a sentence in case the loader left them in.
_SENTENCE_BOUNDARY = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[]?[A-Z])|<br\s*/?>")
_TOKENIZE_BATCH_SIZE = 1024


def split_sentences(text: str) -> list[str]:
    """Splits a review into sentences with a simple punctuation-and-capital rule.

    >>> split_sentences("Great film. I loved it! Did you?")
    ['Great film.', 'I loved it!', 'Did you?']
    """
    return [sentence.strip() for sentence in _SENTENCE_BOUNDARY.split(text) if sentence.strip()]


def make_pretraining_examples(
    documents: Sequence[str],
    tokenizer: keras_hub.tokenizers.WordPieceTokenizer,
    *,
    sequence_length: int,
    seed: int,
    short_seq_prob: float = 0.1,
) -> dict[str, np.ndarray]:
    """Builds NSP sentence-pair examples from documents (e.g. reviews); see the module docstring.

    Each document is split into sentences and walked in order. Sentences are gathered into a
    chunk until it reaches a target length (`sequence_length - 3`, or with probability
    `short_seq_prob` a random shorter length, so the model also sees short inputs). A is the
    chunk's first 1..n-1 sentences. With probability 1/2, B is the rest of the chunk (IsNext);
    otherwise B is a run of sentences from a random other document (NotNext) and the unused
    sentences of the chunk start the next chunk. A chunk of one sentence has no true next
    sentence and is skipped, which keeps the labels balanced. Sentences longer than half the
    token budget are cut into consecutive pieces so that long run-on reviews still form pairs.
    When A + B is too long, the longer segment is shortened, A from its start and B from its
    end, so the A|B boundary stays intact.

    Args:
        documents: texts, one per document; empty ones are ignored.
        tokenizer: a tokenizer from `vocabulary.make_wordpiece_tokenizer` built without
            `sequence_length`.
        sequence_length: length of every example, special tokens included.
        seed: seed of all the random choices; the same seed gives the same examples.
        short_seq_prob: probability of a shorter target length.

    Returns:
        The dict of arrays described in the module docstring.
    """
    if sequence_length < 5:
        raise ValueError(f"sequence_length must be at least 5, got {sequence_length}.")
    if not 0.0 <= short_seq_prob <= 1.0:
        raise ValueError(f"short_seq_prob must be in [0, 1], got {short_seq_prob}.")
    if tokenizer.sequence_length is not None:
        raise ValueError("tokenizer must be built with sequence_length=None.")
    max_num_tokens = sequence_length - 3  # room for [CLS], [SEP], [SEP]
    tokenized = _tokenize_documents(documents, tokenizer, max_num_tokens // 2)
    if len(tokenized) < 2:
        raise ValueError("documents must hold at least two non-empty documents.")

    rng = np.random.default_rng(seed)

    def draw_target_length() -> int:
        if rng.random() < short_seq_prob:
            return int(rng.integers(2, max_num_tokens + 1))
        return max_num_tokens

    pairs: list[tuple[np.ndarray, np.ndarray, int]] = []
    progress = Progress("pre-training examples, documents", len(tokenized))
    for document_index, sentences in enumerate(tokenized):
        progress.advance()
        target_length = draw_target_length()
        chunk: list[np.ndarray] = []
        chunk_length = 0
        position = 0
        while position < len(sentences):
            chunk.append(sentences[position])
            chunk_length += len(sentences[position])
            position += 1
            if position < len(sentences) and chunk_length < target_length:
                continue
            if len(chunk) >= 2:
                a_end = int(rng.integers(1, len(chunk)))
                segment_a = np.concatenate(chunk[:a_end])
                if rng.random() < 0.5:
                    segment_b = np.concatenate(chunk[a_end:])
                    label = IS_NEXT
                else:
                    segment_b = _random_segment(
                        tokenized, document_index, target_length - len(segment_a), rng
                    )
                    label = NOT_NEXT
                    position -= len(chunk) - a_end  # give the unused sentences back
                pairs.append((*_truncate_pair(segment_a, segment_b, max_num_tokens), label))
            chunk, chunk_length = [], 0
            target_length = draw_target_length()
    return _pack_pairs(pairs, sequence_length)


def make_masked_lm_map_fn(
    vocabulary_size: int, *, max_predictions: int
) -> Callable[[dict[str, tf.Tensor]], tuple[dict[str, tf.Tensor], dict[str, tf.Tensor]]]:
    """Returns the `tf.data` map function that masks a batch of pre-training examples.

    The function takes a batch of the arrays of `make_pretraining_examples` (a dict of
    `[batch, sequence_length]` tensors and `nsp_labels` `[batch]`) and returns
    `(features, labels)` as described in the module docstring. Masks are random on every call,
    so every epoch masks different tokens.

    Args:
        vocabulary_size: number of tokens; random replacements are drawn from all of them.
        max_predictions: most masked positions per sequence (BERT: 20 for length 128, 80
            for 512); `mask_positions` and the MLM labels have this length.
    """
    if max_predictions < 1:
        raise ValueError(f"max_predictions must be positive, got {max_predictions}.")
    masker = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=vocabulary_size,
        mask_selection_rate=MASK_SELECTION_RATE,
        mask_token_id=MASK_ID,
        mask_selection_length=max_predictions,
        unselectable_token_ids=[PAD_ID, CLS_ID, SEP_ID],
        mask_token_rate=MASK_TOKEN_RATE,
        random_token_rate=RANDOM_TOKEN_RATE,
    )

    def mask_batch(examples: dict[str, tf.Tensor]):
        masked = masker(examples["token_ids"])
        features = {
            "token_ids": tf.cast(masked["token_ids"], tf.int32),
            "segment_ids": examples["segment_ids"],
            "padding_mask": examples["padding_mask"],
            "mask_positions": tf.cast(masked["mask_positions"], tf.int32),
        }
        labels = {
            "mlm_labels": tf.cast(masked["mask_ids"], tf.int32),
            "mlm_weights": tf.cast(masked["mask_weights"], tf.float32),
            "nsp_labels": examples["nsp_labels"],
        }
        return features, labels

    return mask_batch


def default_max_predictions(sequence_length: int) -> int:
    """Enough prediction slots for 15% of a full sequence: 20 for 128, 77 for 512."""
    return math.ceil(MASK_SELECTION_RATE * sequence_length)


def _tokenize_documents(
    documents: Sequence[str],
    tokenizer: keras_hub.tokenizers.WordPieceTokenizer,
    max_sentence_length: int,
) -> list[list[np.ndarray]]:
    """Token ids of every sentence of every non-empty document; long sentences are cut."""
    sentences: list[str] = []
    document_ends: list[int] = []
    for document in documents:
        sentences.extend(split_sentences(document))
        document_ends.append(len(sentences))
    if not sentences:
        return []

    sentence_ids: list[np.ndarray] = []
    batches = tf.data.Dataset.from_tensor_slices(tf.constant(sentences, dtype=tf.string))
    batches = batches.batch(_TOKENIZE_BATCH_SIZE).map(
        tokenizer, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    progress = Progress("pre-training examples, sentences tokenized", len(sentences))
    for batch in batches:
        flat_ids = batch.flat_values.numpy()
        row_splits = batch.row_splits.numpy()
        sentence_ids.extend(np.split(flat_ids, row_splits[1:-1]))
        progress.advance(len(row_splits) - 1)

    tokenized: list[list[np.ndarray]] = []
    document_start = 0
    for document_end in document_ends:
        pieces = [
            ids[start : start + max_sentence_length]
            for ids in sentence_ids[document_start:document_end]
            for start in range(0, len(ids), max_sentence_length)
        ]
        if pieces:
            tokenized.append(pieces)
        document_start = document_end
    return tokenized


def _random_segment(
    tokenized: list[list[np.ndarray]],
    excluded_document: int,
    target_length: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Consecutive sentences from a random document other than `excluded_document`."""
    document_index = int(rng.integers(len(tokenized) - 1))
    if document_index >= excluded_document:
        document_index += 1
    sentences = tokenized[document_index]
    start = int(rng.integers(len(sentences)))
    segment = [sentences[start]]
    length = len(sentences[start])
    for sentence in sentences[start + 1 :]:
        if length >= target_length:
            break
        segment.append(sentence)
        length += len(sentence)
    return np.concatenate(segment)


def _truncate_pair(
    segment_a: np.ndarray, segment_b: np.ndarray, max_num_tokens: int
) -> tuple[np.ndarray, np.ndarray]:
    """Shortens the longer segment until both fit; A loses its start, B its end.

    Gives the lengths that removing one token at a time from the longer segment (BERT's
    `truncate_seq_pair`) would give, computed directly.
    """
    if len(segment_a) + len(segment_b) <= max_num_tokens:
        return segment_a, segment_b
    shorter_length = min(len(segment_a), len(segment_b), max_num_tokens // 2)
    longer_length = max_num_tokens - shorter_length
    if len(segment_a) >= len(segment_b):
        length_a, length_b = longer_length, shorter_length
    else:
        length_a, length_b = shorter_length, longer_length
    return segment_a[len(segment_a) - length_a :], segment_b[:length_b]


def _pack_pairs(
    pairs: list[tuple[np.ndarray, np.ndarray, int]], sequence_length: int
) -> dict[str, np.ndarray]:
    """Lays out `[CLS] A [SEP] B [SEP]` rows with segment ids and padding."""
    num_examples = len(pairs)
    token_ids = np.full((num_examples, sequence_length), PAD_ID, dtype=np.int32)
    segment_ids = np.zeros((num_examples, sequence_length), dtype=np.int32)
    padding_mask = np.zeros((num_examples, sequence_length), dtype=bool)
    nsp_labels = np.zeros((num_examples,), dtype=np.int32)
    for row, (segment_a, segment_b, label) in enumerate(pairs):
        b_start = len(segment_a) + 2
        end = b_start + len(segment_b) + 1
        token_ids[row, 0] = CLS_ID
        token_ids[row, 1 : b_start - 1] = segment_a
        token_ids[row, b_start - 1] = SEP_ID
        token_ids[row, b_start : end - 1] = segment_b
        token_ids[row, end - 1] = SEP_ID
        segment_ids[row, b_start:end] = 1
        padding_mask[row, :end] = True
        nsp_labels[row] = label
    return {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": padding_mask,
        "nsp_labels": nsp_labels,
    }
