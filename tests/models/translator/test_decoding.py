"""Greedy and beam search: a tiny translator trained to reverse sequences
must reproduce its training pairs; cached and uncached search agree token by
token; padding, empty and over-long sources, `[END]` and `max_length` behave
as documented."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.models.translator.decoding import generate, generator
from keras_bert_lab.text.special_tokens import END_ID, PAD_ID, SKIPPED_IDS
from tests.models.translator.reversal import (
    MAX_SOURCE,
    SEQUENCE_LENGTH,
    SYMBOLS,
    VOCABULARY_SIZE,
    tiny_translator,
)

NEVER_GENERATED_IDS = sorted(SKIPPED_IDS)


@pytest.fixture(scope="module")
def untrained():
    """Pre-LN, 2 layers, untied output: varied (if meaningless) outputs.
    (An untrained tied model mostly repeats one token.)"""
    return tiny_translator(seed=3, num_layers=2, normalize_first=True, tie_output_embeddings=False)


def expected_outputs(labels, length):
    """Labels `y1 .. yn [END]` padded or cut to `length` columns."""
    expected = np.zeros((len(labels), length), "int32")
    width = min(length, labels.shape[1])
    expected[:, :width] = labels[:, :width]
    return expected


def graph_generate(*args, **kwargs):
    """`generate` without XLA: the same tokens (see
    `test_xla_and_graph_give_the_same_tokens`), compiled faster."""
    return generate(*args, jit_compile=False, **kwargs)


def unseen_sources(num=16, seed=1):
    """Random sources of 1..8 symbols (some longer than any training one)."""
    rng = np.random.default_rng(seed)
    sources = np.zeros((num, SEQUENCE_LENGTH), "int32")
    for row in sources:
        length = rng.integers(1, SEQUENCE_LENGTH + 1)
        row[:length] = rng.choice(SYMBOLS, length)
    return sources


@pytest.mark.parametrize(
    "method, use_cache",
    [("greedy", True), ("greedy", False), ("beam", True), ("beam", False)],
)
def test_overfit_reproduces_the_training_pairs(trained, corpus, method, use_cache):
    source_ids, _, labels = corpus
    outputs = generate(trained, source_ids, method=method, use_cache=use_cache)
    np.testing.assert_array_equal(outputs, expected_outputs(labels, outputs.shape[1]))
    assert outputs.shape[1] == MAX_SOURCE + 1  # the longest: 5 tokens + [END]


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_cached_equals_uncached_token_by_token(trained, untrained, method):
    sources = unseen_sources()
    for translator, jit_compile in ((trained, True), (untrained, False)):
        cached = generate(
            translator, sources, method=method, use_cache=True, jit_compile=jit_compile
        )
        uncached = generate(
            translator, sources, method=method, use_cache=False, jit_compile=jit_compile
        )
        np.testing.assert_array_equal(cached, uncached)


def test_xla_and_graph_give_the_same_tokens(trained):
    sources = unseen_sources()
    for method in ("greedy", "beam"):
        np.testing.assert_array_equal(
            generate(trained, sources, method=method, jit_compile=True),
            generate(trained, sources, method=method, jit_compile=False),
        )


def test_beam_of_size_one_is_greedy(trained, untrained):
    sources = unseen_sources(seed=2)
    for translator, jit_compile in ((trained, True), (untrained, False)):
        np.testing.assert_array_equal(
            generate(
                translator,
                sources,
                method="beam",
                beam_size=1,
                length_penalty=0.0,
                jit_compile=jit_compile,
            ),
            generate(translator, sources, method="greedy", jit_compile=jit_compile),
        )


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_padding_and_batch_neighbours_do_not_change_a_translation(trained, method):
    sources = unseen_sources()
    reference = np.asarray(
        graph_generate(trained, sources, method=method, max_length=SEQUENCE_LENGTH)
    )
    padded = np.pad(sources, [(0, 0), (0, 3)])  # 3 more padding columns
    np.testing.assert_array_equal(
        graph_generate(trained, padded, method=method, max_length=SEQUENCE_LENGTH),
        reference,
    )
    for i in (0, 5):  # alone in its batch, at its own length
        alone = sources[i : i + 1, : max(1, np.count_nonzero(sources[i]))]
        output = np.asarray(
            graph_generate(trained, alone, method=method, max_length=SEQUENCE_LENGTH)
        )[0]
        np.testing.assert_array_equal(output, reference[i, : len(output)])
        assert not reference[i, len(output) :].any()


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_stops_at_end_and_respects_max_length(trained, corpus, method):
    source_ids, _, labels = corpus
    full = np.asarray(graph_generate(trained, source_ids, method=method))
    for row in full:
        ends = np.flatnonzero(row == END_ID)
        assert len(ends) == 1  # every sentence finished, once
        assert not row[ends[0] + 1 :].any()  # then padding only
        assert not np.isin(row[: ends[0]], NEVER_GENERATED_IDS).any()
    cut = np.asarray(graph_generate(trained, source_ids, method=method, max_length=3))
    assert cut.shape == (len(source_ids), 3)
    # Sentences cut before their [END] are the first 3 tokens of the full one.
    np.testing.assert_array_equal(cut, expected_outputs(labels, 3))


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_empty_source_translates_to_end(trained, method):
    sources = unseen_sources(num=4)
    with_empty = sources.copy()
    with_empty[2] = 0
    outputs = np.asarray(graph_generate(trained, with_empty, method=method))
    np.testing.assert_array_equal(outputs[2], [END_ID] + [PAD_ID] * (outputs.shape[1] - 1))
    reference = np.asarray(graph_generate(trained, sources, method=method))
    for i in (0, 1, 3):
        np.testing.assert_array_equal(outputs[i], reference[i, : outputs.shape[1]])
    for only_empty in (np.zeros((3, 4), "int32"), np.zeros((3, 0), "int32")):
        np.testing.assert_array_equal(
            graph_generate(trained, only_empty, method=method), [[END_ID]] * 3
        )


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_long_sources_are_truncated_to_sequence_length(trained, method):
    long_sources = np.random.default_rng(4).choice(SYMBOLS, (3, 3 * SEQUENCE_LENGTH))
    long_sources = long_sources.astype("int32")
    np.testing.assert_array_equal(
        graph_generate(trained, long_sources, method=method),
        graph_generate(trained, long_sources[:, :SEQUENCE_LENGTH], method=method),
    )


def test_traced_once_per_setting(trained):
    search = generator(trained, method="beam", max_length=6)
    for batch_size, length in [(3, 4), (3, 4), (5, 7)]:
        generate(trained, unseen_sources(batch_size)[:, :length], method="beam", max_length=6)
    assert search.experimental_get_tracing_count() == 1
    assert generator(trained, method="beam", max_length=6) is search
    # Greedy search ignores the beam settings: one function for all.
    assert generator(trained, beam_size=2) is generator(trained, beam_size=3)


def test_rejects_bad_settings(trained):
    with pytest.raises(ValueError, match="max_length"):
        generate(trained, [[7, 8]], max_length=SEQUENCE_LENGTH + 1)
    with pytest.raises(ValueError, match="method"):
        generate(trained, [[7, 8]], method="sample")
    with pytest.raises(ValueError, match="vocabulary"):
        generate(trained, [[7, 8]], method="beam", beam_size=VOCABULARY_SIZE)
    with pytest.raises(ValueError, match="length_penalty"):
        generate(trained, [[7, 8]], method="beam", length_penalty=-1.0)


def test_mixed_precision_decoding():
    translator = tiny_translator(
        seed=3,
        num_layers=2,
        normalize_first=True,
        tie_output_embeddings=False,
        dtype="mixed_float16",
    )
    sources = unseen_sources()
    for method in ("greedy", "beam"):
        cached = generate(translator, sources, method=method, jit_compile=False)
        uncached = generate(translator, sources, method=method, use_cache=False, jit_compile=False)
        assert cached.dtype == tf.int32
        assert cached.shape[1] <= SEQUENCE_LENGTH
        assert not np.isin(np.asarray(cached), sorted(SKIPPED_IDS - {PAD_ID})).any()
        # float16 rounding may differ between the two paths: allow a few
        # flipped near-ties.
        width = min(cached.shape[1], uncached.shape[1])
        cached, uncached = np.asarray(cached), np.asarray(uncached)
        agreement = np.mean(cached[:, :width] == uncached[:, :width])
        assert agreement > 0.8, agreement  # 1.0 here


def test_reloaded_translator_translates_identically(trained, tmp_path):
    path = tmp_path / "translator.keras"
    trained.save(path)
    reloaded = keras.saving.load_model(path)
    sources = unseen_sources()
    for method in ("greedy", "beam"):
        np.testing.assert_array_equal(
            generate(reloaded, sources, method=method, jit_compile=False),
            generate(trained, sources, method=method),
        )
