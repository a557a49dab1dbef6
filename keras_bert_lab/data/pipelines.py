"""`tf.data` input pipelines for the three tasks.

Every pipeline tokenises inside the TensorFlow graph, caches the token ids (so tokenisation
runs once, not once per epoch), shuffles with a fixed seed, groups texts of similar length into
the same batch ("bucketing", so that little compute is spent on padding) and prefetches.

`batch_size` is always the GLOBAL batch size: under a `tf.distribute` strategy the caller
passes `per_replica_batch_size * strategy.num_replicas_in_sync` and the strategy splits each
batch between replicas. `drop_remainder=True` gives every batch the same size, which some
strategies (TPU) and evenly split replicas need.

With `bucket=True` the sequence axis of a batch is padded to the top of its length bucket (a
multiple of 8 up to the maximum length), so a model sees at most ~16 distinct shapes and is
retraced or XLA-compiled only that many times; with `bucket=False` every batch is padded to the
maximum length. Padding uses id 0 (`[PAD]`).

Outputs:

    classification_dataset -> (features, labels int32 [batch])
        features = {"token_ids": int32 [batch, length]}, and with bert_inputs=True also
                   {"segment_ids": int32 [batch, length] (zeros),
                    "padding_mask": bool [batch, length]}
    pretraining_dataset    -> see `bert_pretraining` (MLM + NSP features and labels)
    translation_dataset    -> ({"encoder_inputs": int32 [batch, length],
                                "decoder_inputs": int32 [batch, length]},  [START] y1 .. yn
                               targets int32 [batch, length])               y1 .. yn [END]
"""

from collections.abc import Callable, Sequence

import keras_hub
import numpy as np
import tensorflow as tf

from keras_bert_lab.data.bert_pretraining import default_max_predictions, make_masked_lm_map_fn
from keras_bert_lab.text.packing import truncate_token_ids
from keras_bert_lab.text.special_tokens import END_ID, PAD_ID, START_ID, bert_special_ids

_TOKENIZE_BATCH_SIZE = 256
_NUM_BUCKETS = 16
_TOKEN_KEYS = ("token_ids", "encoder_inputs", "decoder_inputs")


def classification_dataset(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    tokenizer: keras_hub.tokenizers.WordPieceTokenizer,
    *,
    batch_size: int,
    sequence_length: int,
    shuffle: bool,
    seed: int = 0,
    bucket: bool = True,
    bert_inputs: bool = False,
    tail_length: int = 0,
    cache: bool = True,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Text classification batches `(features, labels)`; see the module docstring for keys.

    Args:
        texts: raw texts.
        labels: one integer class per text.
        tokenizer: from `vocabulary.make_wordpiece_tokenizer`, without `sequence_length`, or a
            keras-hub `BertTokenizer` (its own `[CLS]`/`[SEP]` ids are used).
        batch_size: GLOBAL batch size (per-replica batch size times number of replicas).
        sequence_length: maximum number of tokens per text, special tokens included; longer
            texts are truncated by `truncate_token_ids`.
        shuffle: reshuffle the texts every epoch (training) or keep their order (evaluation).
        seed: shuffling seed.
        bucket: batch texts of similar length together; otherwise pad to `sequence_length`.
        bert_inputs: wrap every text as `[CLS] text [SEP]` and add `segment_ids` and
            `padding_mask` (BERT); otherwise the plain token ids (LSTM).
        tail_length: tokens kept from the end of a long text (`truncate_token_ids`).
        cache: keep the token ids in memory after the first epoch.
        drop_remainder: drop the last, smaller batches.
    """
    _check_batching_arguments(batch_size, sequence_length, tokenizer)
    if len(texts) != len(labels):
        raise ValueError(f"got {len(texts)} texts but {len(labels)} labels.")
    num_special_tokens = 2 if bert_inputs else 0
    cls_id, sep_id = bert_special_ids(tokenizer) if bert_inputs else (None, None)

    def tokenize(batch_texts: tf.Tensor, batch_labels: tf.Tensor):
        token_ids = truncate_token_ids(
            tokenizer(batch_texts), sequence_length - num_special_tokens, tail_length
        )
        if bert_inputs:
            token_ids = _wrap(token_ids, cls_id, sep_id)
        return token_ids, batch_labels

    def to_features(token_ids: tf.Tensor, batch_labels: tf.Tensor):
        features = {"token_ids": token_ids}
        if bert_inputs:
            features["segment_ids"] = tf.zeros_like(token_ids)
            features["padding_mask"] = token_ids != PAD_ID
        return features, batch_labels

    dataset = tf.data.Dataset.from_tensor_slices(
        (_strings(texts), np.asarray(labels, dtype=np.int32))
    )
    return _token_batches(
        dataset,
        tokenize,
        lambda token_ids, _: tf.shape(token_ids)[0],
        to_features,
        cache=cache,
        num_examples=len(texts),
        batch_size=batch_size,
        max_length=sequence_length,
        shuffle=shuffle,
        seed=seed,
        bucket=bucket,
        drop_remainder=drop_remainder,
    )


def string_classification_dataset(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches `(texts, labels)` of raw strings `[batch_size]` and int32 labels, for models
    that read strings themselves (the bag-of-n-grams classifier).

    Args:
        texts: raw texts.
        labels: one integer class per text.
        batch_size: GLOBAL batch size.
        shuffle: reshuffle the texts every epoch (training) or keep their order (evaluation).
        seed: shuffling seed.
    """
    if len(texts) != len(labels):
        raise ValueError(f"got {len(texts)} texts but {len(labels)} labels.")
    dataset = tf.data.Dataset.from_tensor_slices(
        (_strings(texts), np.asarray(labels, dtype=np.int32))
    )
    if shuffle:
        dataset = dataset.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def pretraining_dataset(
    examples: dict[str, np.ndarray],
    *,
    vocabulary_size: int,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    max_predictions: int | None = None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """BERT MLM + NSP batches `(features, labels)` with fresh masks on every pass.

    Args:
        examples: the arrays of `bert_pretraining.make_pretraining_examples`, all of length
            `sequence_length` (they are already packed, so there is nothing to bucket).
        vocabulary_size: tokenizer vocabulary size (random replacement tokens).
        batch_size: GLOBAL batch size.
        shuffle: reshuffle the examples every epoch.
        seed: shuffling seed.
        max_predictions: masked positions per sequence; defaults to 15% of `sequence_length`
            rounded up.
        drop_remainder: drop the last, smaller batch.

    Returns:
        Batches as described in the `bert_pretraining` module docstring.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    sequence_length = examples["token_ids"].shape[1]
    if max_predictions is None:
        max_predictions = default_max_predictions(sequence_length)
    dataset = tf.data.Dataset.from_tensor_slices(examples)
    if shuffle:
        dataset = dataset.shuffle(len(examples["nsp_labels"]), seed=seed)
    # Masking whole batches runs one vectorised op per batch instead of one per example.
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder).map(
        make_masked_lm_map_fn(vocabulary_size, max_predictions=max_predictions),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return _with_batch_size(dataset, batch_size, drop_remainder).prefetch(tf.data.AUTOTUNE)


def translation_dataset(
    pairs: Sequence[tuple[str, str]],
    source_tokenizer: keras_hub.tokenizers.WordPieceTokenizer,
    target_tokenizer: keras_hub.tokenizers.WordPieceTokenizer,
    *,
    batch_size: int,
    max_length: int,
    shuffle: bool,
    seed: int = 0,
    bucket: bool = True,
    cache: bool = True,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Teacher-forcing batches for the translator; see the module docstring for keys.

    The target `y1 .. yn` (truncated to `max_length - 1` tokens) gives
    `decoder_inputs = [START] y1 .. yn` and `targets = y1 .. yn [END]`, so the decoder learns
    to predict each next token. The source is truncated to `max_length` tokens. All three are
    padded with 0 to the same length, `max_length` at most.

    Args:
        pairs: `(source, target)` texts, e.g. `(french, english)`.
        source_tokenizer, target_tokenizer: from `vocabulary.make_wordpiece_tokenizer`,
            without `sequence_length`.
        batch_size: GLOBAL batch size.
        max_length: maximum tokens per sequence.
        shuffle, seed, bucket, cache, drop_remainder: as in `classification_dataset`.
    """
    _check_batching_arguments(batch_size, max_length, source_tokenizer)
    _check_batching_arguments(batch_size, max_length, target_tokenizer)

    def tokenize(sources: tf.Tensor, targets: tf.Tensor):
        source_ids = source_tokenizer(sources)[:, :max_length]
        target_ids = target_tokenizer(targets)[:, : max_length - 1]
        decoder_inputs = _wrap(target_ids, START_ID, None)
        decoder_targets = _wrap(target_ids, None, END_ID)
        return source_ids, decoder_inputs, decoder_targets

    def to_features(source_ids: tf.Tensor, decoder_inputs: tf.Tensor, decoder_targets: tf.Tensor):
        return {"encoder_inputs": source_ids, "decoder_inputs": decoder_inputs}, decoder_targets

    sources = [source for source, _ in pairs]
    targets = [target for _, target in pairs]
    dataset = tf.data.Dataset.from_tensor_slices((_strings(sources), _strings(targets)))
    return _token_batches(
        dataset,
        tokenize,
        lambda source_ids, decoder_inputs, _: tf.maximum(
            tf.shape(source_ids)[0], tf.shape(decoder_inputs)[0]
        ),
        to_features,
        cache=cache,
        num_examples=len(pairs),
        batch_size=batch_size,
        max_length=max_length,
        shuffle=shuffle,
        seed=seed,
        bucket=bucket,
        drop_remainder=drop_remainder,
    )


def padding_fraction(dataset: tf.data.Dataset) -> float:
    """Fraction of padding among all token positions over one pass of `dataset`.

    Uses `features["padding_mask"]` when present, otherwise counts id 0 in `token_ids`,
    `encoder_inputs` and `decoder_inputs`.
    """
    num_padding = num_positions = 0
    for features, _ in dataset:
        if "padding_mask" in features:
            is_padding = [tf.logical_not(features["padding_mask"])]
        else:
            is_padding = [features[key] == PAD_ID for key in _TOKEN_KEYS if key in features]
        for padding in is_padding:
            num_padding += int(tf.math.count_nonzero(padding))
            num_positions += int(tf.size(padding))
    if num_positions == 0:
        raise ValueError("dataset holds no token positions.")
    return num_padding / num_positions


def compare_bucketing(make_dataset: Callable[[bool], tf.data.Dataset]) -> dict[str, float]:
    """Padding fraction of a pipeline without and with bucketing.

    Example:
        compare_bucketing(lambda bucket: classification_dataset(
            texts, labels, tokenizer, batch_size=32, sequence_length=512, shuffle=False,
            bucket=bucket))
        # IMDB train reviews: {"fixed_length": 0.48, "bucketed": 0.05}
    """
    return {
        "fixed_length": padding_fraction(make_dataset(False)),
        "bucketed": padding_fraction(make_dataset(True)),
    }


def bucket_lengths(max_length: int) -> list[int]:
    """Padded lengths of the buckets: multiples of 8, at most ~16 of them, then `max_length`.

    For example 32, 64, ..., 480, 512 for `max_length=512`, and 8, 16, 20 for 20.
    """
    step = max(8, -(-max_length // (_NUM_BUCKETS * 8)) * 8)
    return list(range(step, max_length, step)) + [max_length]


def _check_batching_arguments(
    batch_size: int, max_length: int, tokenizer: keras_hub.tokenizers.WordPieceTokenizer
) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    if max_length < 3:
        raise ValueError(f"the maximum length must be at least 3, got {max_length}.")
    if tokenizer.sequence_length is not None:
        raise ValueError("tokenizer must be built with sequence_length=None.")


def _strings(texts: Sequence[str]) -> tf.Tensor:
    """A `[num_texts]` string tensor; rejects an empty list (it would have dtype float)."""
    if len(texts) == 0:
        raise ValueError("need at least one text.")
    return tf.constant(list(texts), dtype=tf.string)


def _wrap(token_ids: tf.RaggedTensor, first_id: int | None, last_id: int | None) -> tf.RaggedTensor:
    """Adds `first_id` before and/or `last_id` after every row of `[batch, None]` ids."""
    num_rows = token_ids.nrows()
    parts = [token_ids]
    if first_id is not None:
        parts.insert(0, tf.fill([num_rows, 1], tf.constant(first_id, token_ids.dtype)))
    if last_id is not None:
        parts.append(tf.fill([num_rows, 1], tf.constant(last_id, token_ids.dtype)))
    return tf.concat(parts, axis=1)


def _tokenized(
    dataset: tf.data.Dataset, tokenize: Callable[..., tuple], cache: bool
) -> tf.data.Dataset:
    """Maps `tokenize` over batches of raw texts, then splits back into single examples.

    The tokenizer runs on batches because one call on 256 texts is much cheaper than 256 calls.
    """
    dataset = dataset.batch(_TOKENIZE_BATCH_SIZE).map(tokenize, num_parallel_calls=tf.data.AUTOTUNE)
    # `unbatch` yields ragged tensors of ragged rank 0, which `padded_batch` rejects; an identity
    # map hands them on as the plain tensors they are.
    dataset = dataset.unbatch().map(lambda *tensors: tensors)
    return dataset.cache() if cache else dataset


def _with_batch_size(
    dataset: tf.data.Dataset, batch_size: int, drop_remainder: bool
) -> tf.data.Dataset:
    """Declares the batch size that `drop_remainder` guarantees in the element spec.

    Bucketing and masking lose the static batch dimension; strategies that need static shapes
    (TPU) read it from the spec.
    """
    if not drop_remainder:
        return dataset

    def set_batch_size(*elements):
        return tf.nest.map_structure(
            lambda tensor: tf.ensure_shape(tensor, [batch_size] + tensor.shape[1:]), elements
        )

    return dataset.map(set_batch_size)


def _token_batches(
    dataset: tf.data.Dataset,
    tokenize: Callable[..., tuple],
    element_length: Callable[..., tf.Tensor],
    to_features: Callable[..., tuple],
    *,
    cache: bool,
    num_examples: int,
    batch_size: int,
    max_length: int,
    shuffle: bool,
    seed: int,
    bucket: bool,
    drop_remainder: bool,
) -> tf.data.Dataset:
    """Raw texts to model inputs: `tokenize` (`_tokenized`), then single examples shuffled and
    padded into batches (by length bucket, or to `max_length`), then `to_features` on each
    batch, prefetched."""
    dataset = _tokenized(dataset, tokenize, cache)
    if shuffle:
        # A full-size buffer: the cached token ids are small and a full shuffle is exact.
        dataset = dataset.shuffle(num_examples, seed=seed, reshuffle_each_iteration=True)
    if bucket:
        # With pad_to_bucket_boundary, a batch of bucket i is padded to boundary_i - 1 tokens.
        boundaries = [length + 1 for length in bucket_lengths(max_length)]
        dataset = dataset.bucket_by_sequence_length(
            element_length,
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            pad_to_bucket_boundary=True,
            drop_remainder=drop_remainder,
        )
    else:
        padded_shapes = tuple(
            [max_length] if spec.shape.rank == 1 else [] for spec in dataset.element_spec
        )
        dataset = dataset.padded_batch(
            batch_size, padded_shapes=padded_shapes, drop_remainder=drop_remainder
        )
    dataset = dataset.map(to_features, num_parallel_calls=tf.data.AUTOTUNE)
    return _with_batch_size(dataset, batch_size, drop_remainder).prefetch(tf.data.AUTOTUNE)
