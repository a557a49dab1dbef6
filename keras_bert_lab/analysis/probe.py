"""Word vectors of ambiguous words, in context: the probe set and the sources of vectors.

The probe set (`probe_sentences.json`) has words with two senses and five sentences per
sense, the target occurrence marked `[like this]` (`load_probe_set`). For each source of word
vectors, every occurrence gets one vector: the mean over the word's tokens, when a tokenizer
splits it (`tokenize_occurrences` finds them). `keras_bert_lab.analysis.separation` measures
how well each source tells the senses apart.

Sources: `word2vec_source` (static), `lstm_sources` (the embedding table, static, and each
bidirectional layer's states), `bert_sources` (the token embedding table, static; the
embedding block's output and every encoder layer's).
"""

import dataclasses
import json
import re
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_bert_lab.text.packing import to_ragged_ids
from keras_bert_lab.text.special_tokens import (
    CLS_ID,
    PAD_ID,
    SEP_ID,
    UNK_TOKEN,
    bert_special_ids,
)

PROBE_SENTENCES = Path(__file__).with_name("probe_sentences.json")
"""The probe set written for this project: 22 words x 2 senses x 5 sentences."""

_MARKED = re.compile(r"\[([^\[\]]+)\]")


class ProbeError(ValueError):
    """A probe set or a model cannot be probed. The message is one line."""


@dataclasses.dataclass(frozen=True)
class Occurrence:
    """One marked occurrence of a probe word: `text[start:end] == word`."""

    word: str
    sense: str
    text: str
    start: int
    end: int


@dataclasses.dataclass(frozen=True)
class ProbeSource:
    """One source's vectors for every occurrence.

    Attributes:
        name: e.g. `"bert_layer_2"`.
        family: `"word2vec"`, `"lstm"`, `"bert"` or `"real checkpoint"` (a BERT trained
            elsewhere, `embedding_probe --real-bert`).
        static: True for a lookup table (one vector per word whatever the context).
        vectors: float `[num_occurrences, dim]`, in the order of the occurrences.
        unknown_words: probe words the tokenizer maps to `[UNK]` only.
    """

    name: str
    family: str
    static: bool
    vectors: np.ndarray
    unknown_words: tuple[str, ...] = ()


def load_probe_set(path=PROBE_SENTENCES):
    """Reads a probe set: `{"words": [{"word", "senses": [{"sense", "sentences"}]}]}`.

    Every sentence marks exactly one occurrence `[word]`, in exactly the word's form (so that
    a static source sees the same token everywhere).

    Returns:
        list of `Occurrence`, word by word, sense by sense.

    Raises:
        ProbeError: unreadable file, bad structure or bad marking.
    """
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))["words"]
        return [occurrence for entry in entries for occurrence in _word_occurrences(entry)]
    except ProbeError as error:
        raise ProbeError(f"{path}: {error}") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ProbeError(f"cannot read probe set {path}: {error!r}") from None


def _word_occurrences(entry):
    word = entry["word"]
    if len(entry["senses"]) < 2:
        raise ProbeError(f"{word!r} needs at least two senses")
    for sense in entry["senses"]:
        if len(sense["sentences"]) < 2:
            raise ProbeError(f"{word!r}/{sense['sense']} needs at least two sentences")
        for marked in sense["sentences"]:
            matches = list(_MARKED.finditer(marked))
            if len(matches) != 1 or matches[0].group(1) != word:
                raise ProbeError(f"{marked!r} must mark [{word}] exactly once")
            start = matches[0].start()
            text = marked[:start] + word + marked[matches[0].end() :]
            yield Occurrence(word, sense["sense"], text, start, start + len(word))


def tokenize_occurrences(tokenizer, occurrences):
    """Token ids of each sentence and the span of the target word's tokens.

    The text before the word, the word and the text after it are tokenized separately, which
    gives the word's tokens; their concatenation must equal the whole sentence's tokens.

    Args:
        tokenizer: a `keras_hub.tokenizers.WordPieceTokenizer` (word or WordPiece).
        occurrences: list of `Occurrence`.

    Returns:
        `(token_ids, spans)`: a list of int lists, and `(start, end)` token positions.
    """

    def ids(texts):
        return to_ragged_ids(tokenizer(tf.constant(texts, tf.string))).to_list()

    whole = ids([o.text for o in occurrences])
    before = ids([o.text[: o.start] for o in occurrences])
    target = ids([o.text[o.start : o.end] for o in occurrences])
    after = ids([o.text[o.end :] for o in occurrences])
    spans = []
    for occurrence, w, b, t, a in zip(occurrences, whole, before, target, after):
        if b + t + a != w or not t:
            raise ProbeError(
                f"{occurrence.text!r}: [{occurrence.word}] does not fall on token boundaries"
            )
        spans.append((len(b), len(b) + len(t)))
    return whole, spans


def span_means(sequences, spans):
    """Mean of `sequences[i, start:end]` for each `(start, end)` of `spans`.

    Args:
        sequences: float `[batch_size, sequence_length, dim]`.
        spans: `batch_size` pairs of token positions.

    Returns:
        float32 `[batch_size, dim]`.
    """
    sequences = np.asarray(sequences, np.float32)
    return np.stack([sequences[i, start:end].mean(axis=0) for i, (start, end) in enumerate(spans)])


def _unknown_words(tokenizer, token_ids, spans, occurrences):
    unknown_id = tokenizer.token_to_id(UNK_TOKEN)
    words = {
        o.word
        for ids, (start, end), o in zip(token_ids, spans, occurrences)
        if all(token == unknown_id for token in ids[start:end])
    }
    return tuple(sorted(words))


def _padded(token_ids):
    """int lists -> int32 `[batch_size, longest]`, padded with `PAD_ID`."""
    longest = max(len(ids) for ids in token_ids)
    batch = np.full((len(token_ids), longest), PAD_ID, np.int32)
    for row, ids in enumerate(token_ids):
        batch[row, : len(ids)] = ids
    return batch


def _table_vectors(table, token_ids, spans):
    """Mean of a lookup table's rows over each span: `[num_occurrences, dim]`."""
    table = np.asarray(keras.ops.convert_to_tensor(table), np.float32)
    return np.stack(
        [table[ids[start:end]].mean(axis=0) for ids, (start, end) in zip(token_ids, spans)]
    )


def word2vec_source(vectors, tokenizer, occurrences):
    """The word2vec table `[vocabulary_size, dim]` as a static `ProbeSource`."""
    token_ids, spans = tokenize_occurrences(tokenizer, occurrences)
    return ProbeSource(
        "word2vec",
        "word2vec",
        True,
        _table_vectors(vectors, token_ids, spans),
        _unknown_words(tokenizer, token_ids, spans, occurrences),
    )


def _returning_sequences(bidirectional, input_dim):
    """A copy of a `Bidirectional` LSTM layer that returns every position's states (the
    classifier's last layer returns only the final ones with `pooling="last"`)."""
    config = bidirectional.get_config()
    for key in ("layer", "backward_layer"):
        config[key]["config"]["return_sequences"] = True
    copy = keras.layers.Bidirectional.from_config(config)
    copy.build((None, None, input_dim))
    copy.set_weights(bidirectional.get_weights())
    return copy


def lstm_sources(classifier, tokenizer, occurrences):
    """The LSTM classifier's embedding table (static) and the states of each bidirectional
    layer at the word (forward and backward states concatenated, `[2 * lstm_units]`).

    Args:
        classifier: a model from `keras_bert_lab.models.lstm.build_lstm_classifier`.
        tokenizer: its word tokenizer.
        occurrences: list of `Occurrence`.

    Returns:
        list of `ProbeSource`: `lstm_embedding`, `lstm_layer_1`, ...
    """
    token_ids, spans = tokenize_occurrences(tokenizer, occurrences)
    unknown = _unknown_words(tokenizer, token_ids, spans, occurrences)
    embedding = classifier.get_layer("token_embedding")
    sources = [
        ProbeSource(
            "lstm_embedding",
            "lstm",
            True,
            _table_vectors(embedding.embeddings, token_ids, spans),
            unknown,
        )
    ]
    batch = _padded(token_ids)
    x, mask = embedding(batch), batch != PAD_ID
    layer_names = sorted(
        (layer.name for layer in classifier.layers if layer.name.startswith("bidirectional_lstm_")),
        key=lambda name: int(name.rsplit("_", 1)[1]),
    )
    for depth, name in enumerate(layer_names, start=1):
        x = _returning_sequences(classifier.get_layer(name), x.shape[-1])(x, mask=mask)
        sources.append(
            ProbeSource(f"lstm_layer_{depth}", "lstm", False, span_means(x, spans), unknown)
        )
    return sources


def bert_inputs(token_ids, special_ids=(CLS_ID, SEP_ID)):
    """`[CLS] ids [SEP]` batches: dict of int32 `[batch_size, longest + 2]` `token_ids`,
    `segment_ids` (zeros) and `padding_mask` (1 at tokens). `special_ids`: the `[CLS]` and
    `[SEP]` ids (`vocabulary.bert_special_ids`)."""
    cls_id, sep_id = special_ids
    wrapped = _padded([[cls_id, *ids, sep_id] for ids in token_ids])
    return {
        "token_ids": wrapped,
        "segment_ids": np.zeros_like(wrapped),
        "padding_mask": (wrapped != PAD_ID).astype(np.int32),
    }


def bert_layer_outputs(encoder, token_ids, batch_size=32, special_ids=(CLS_ID, SEP_ID)):
    """Runs a `BertEncoder` over `[CLS] ids [SEP]` and keeps every layer, padding removed.

    Args:
        encoder: a `keras_bert_lab.models.bert.BertEncoder`.
        token_ids: list of int lists, without special tokens.
        batch_size: sentences per forward pass.
        special_ids: the `[CLS]` and `[SEP]` ids of the encoder's vocabulary.

    Returns:
        One dict per sentence of length `T = len(ids) + 2`: `hidden_states`, float32
        `[num_layers + 1, T, hidden_dim]` (the embedding block's output, then each layer's),
        and `attention_weights`, float32 `[num_layers, num_heads, T, T]`.
    """
    too_long = [len(ids) + 2 for ids in token_ids if len(ids) + 2 > encoder.max_sequence_length]
    if too_long:
        raise ProbeError(
            f"a sentence has {max(too_long)} tokens with [CLS] and [SEP]; the "
            f"encoder takes at most {encoder.max_sequence_length}"
        )
    results = []
    for start in range(0, len(token_ids), batch_size):
        chunk = token_ids[start : start + batch_size]
        outputs = encoder.layer_outputs(bert_inputs(chunk, special_ids))
        hidden = np.stack(
            [np.asarray(outputs["embedding_output"], np.float32)]
            + [np.asarray(x, np.float32) for x in outputs["encoder_layer_outputs"]],
            axis=1,
        )  # [batch, layers + 1, longest, hidden]
        weights = np.stack(
            [np.asarray(w, np.float32) for w in outputs["attention_weights"]], axis=1
        )  # [batch, layers, heads, longest, longest]
        for row, ids in enumerate(chunk):
            length = len(ids) + 2
            results.append(
                {
                    "hidden_states": hidden[row, :, :length],
                    "attention_weights": weights[row, :, :, :length, :length],
                }
            )
    return results


def bert_sources(encoder, tokenizer, occurrences, batch_size=32, name="bert", family="bert"):
    """BERT's token embedding table (static; sub-word rows averaged), the embedding block's
    output (token + position + segment, normalised: not static, positions differ) and each
    encoder layer's output at the word, sub-word vectors averaged.

    `name` prefixes the sources' names, so that two encoders can be probed side by side.

    Returns:
        list of `ProbeSource` of `family`: `<name>_token_embedding`, `<name>_embeddings`,
        `<name>_layer_1`, ...
    """
    token_ids, spans = tokenize_occurrences(tokenizer, occurrences)
    unknown = _unknown_words(tokenizer, token_ids, spans, occurrences)
    sources = [
        ProbeSource(
            f"{name}_token_embedding",
            family,
            True,
            _table_vectors(encoder.token_embedding.embeddings, token_ids, spans),
            unknown,
        )
    ]
    states = [
        o["hidden_states"]
        for o in bert_layer_outputs(encoder, token_ids, batch_size, bert_special_ids(tokenizer))
    ]
    for depth in range(encoder.num_layers + 1):
        # +1: the [CLS] token shifts every position.
        vectors = np.stack(
            [s[depth, start + 1 : end + 1].mean(axis=0) for s, (start, end) in zip(states, spans)]
        )
        layer = "embeddings" if depth == 0 else f"layer_{depth}"
        sources.append(ProbeSource(f"{name}_{layer}", family, False, vectors, unknown))
    return sources
