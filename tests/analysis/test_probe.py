"""The probe: the probe set, token spans, each source's vectors, and that static sources
give exactly 1.0 within and across senses."""

import json
import re

import keras
import numpy as np
import pytest

from keras_bert_lab.analysis import probe, separation
from keras_bert_lab.models.lstm import build_lstm_classifier

MOVIE_WORDS = ("plot", "star", "cast", "character", "scene")
CLASSICS = (
    "bank",
    "bat",
    "bark",
    "match",
    "play",
    "record",
    "spring",
    "rock",
    "light",
    "fair",
    "trip",
    "ring",
    "left",
    "date",
    "current",
)


def test_the_probe_set_is_complete_and_well_formed():
    occurrences = probe.load_probe_set()
    words = {}
    for o in occurrences:
        words.setdefault(o.word, {}).setdefault(o.sense, []).append(o.text)
        assert o.text[o.start : o.end] == o.word and "[" not in o.text
    assert len(words) >= 20
    assert set(MOVIE_WORDS + CLASSICS) <= set(words)
    for senses in words.values():
        assert len(senses) == 2 and all(len(texts) == 5 for texts in senses.values())
    assert len({o.text for o in occurrences}) == len(occurrences)  # no sentence twice


@pytest.mark.parametrize(
    "sentence", ["The plot is thin.", "The [plot] and [plot].", "The [plots] are thin."]
)
def test_bad_marking_is_one_clear_line(tmp_path, sentence):
    path = tmp_path / "probe.json"
    path.write_text(
        json.dumps(
            {
                "words": [
                    {
                        "word": "plot",
                        "senses": [
                            {"sense": "a", "sentences": [sentence, "A [plot]."]},
                            {"sense": "b", "sentences": ["B [plot].", "C [plot]."]},
                        ],
                    }
                ]
            }
        )
    )
    with pytest.raises(probe.ProbeError, match=r"must mark \[plot\] exactly once") as error:
        probe.load_probe_set(path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"words": [{"senses": []}]}', "KeyError('word')"),
        ("not json", "cannot read probe set"),
        (
            '{"words": [{"word": "plot", "senses": [{"sense": "a", "sentences": ["A [plot]."]}]}]}',
            "needs at least two senses",
        ),
    ],
)
def test_malformed_probe_sets_are_one_clear_line(tmp_path, content, message):
    path = tmp_path / "probe.json"
    path.write_text(content)
    with pytest.raises(probe.ProbeError, match=re.escape(message)) as error:
        probe.load_probe_set(path)
    assert "\n" not in str(error.value)


def test_spans_cover_exactly_the_word(occurrences, word_tokenizer, bert):
    _, bert_tokenizer = bert
    for tokenizer in (word_tokenizer, bert_tokenizer):
        token_ids, spans = probe.tokenize_occurrences(tokenizer, occurrences)
        for o, ids, (start, end) in zip(occurrences, token_ids, spans):
            pieces = [tokenizer.id_to_token(i) for i in ids[start:end]]
            assert "".join(p.removeprefix("##") for p in pieces) == o.word
    # WordPiece spans: "bank" is one token, "plot" four: averaging is exercised.
    lengths = {o.word: end - start for o, (start, end) in zip(occurrences, spans)}
    assert lengths == {"plot": 4, "bank": 1, "left": 4}


def test_static_sources_are_identical_in_every_context(occurrences, word_tokenizer, bert):
    table = np.random.default_rng(0).normal(size=(word_tokenizer.vocabulary_size(), 12))
    classifier = build_lstm_classifier(word_tokenizer.vocabulary_size(), 8, 4)
    encoder, bert_tokenizer = bert
    static = [
        probe.word2vec_source(table, word_tokenizer, occurrences),
        probe.lstm_sources(classifier, word_tokenizer, occurrences)[0],
        probe.bert_sources(encoder, bert_tokenizer, occurrences)[0],
    ]
    for source in static:
        assert source.static
        for word in ("plot", "bank", "left"):
            vectors = source.vectors[[i for i, o in enumerate(occurrences) if o.word == word]]
            assert (vectors == vectors[0]).all(), source.name
        similarities = separation.sense_similarities(source.vectors, occurrences)
        assert similarities["within"] == 1.0 and similarities["across"] == 1.0
        assert similarities["separation"] == 0.0
        separation.check_static(source, similarities)


def test_bert_vectors_depend_on_the_sentence(occurrences, bert):
    encoder, tokenizer = bert
    sources = probe.bert_sources(encoder, tokenizer, occurrences, batch_size=7)
    assert [s.name for s in sources] == [
        "bert_token_embedding",
        "bert_embeddings",
        "bert_layer_1",
        "bert_layer_2",
    ]
    for source in sources[1:]:
        assert not source.static and source.vectors.shape == (len(occurrences), 16)
        first, second = source.vectors[0], source.vectors[1]  # "plot" in two sentences
        assert not np.allclose(first, second, atol=1e-4), source.name
        similarities = separation.sense_similarities(source.vectors, occurrences)
        assert similarities["within"] < 1.0 and similarities["across"] < 1.0


def test_bert_vectors_are_the_encoders_outputs_at_the_word(occurrences, bert):
    encoder, tokenizer = bert
    token_ids, spans = probe.tokenize_occurrences(tokenizer, occurrences[:1])
    (start, end), ids = spans[0], token_ids[0]
    inputs = probe.bert_inputs([ids])
    expected = np.asarray(encoder(inputs)["sequence_output"])[0, start + 1 : end + 1].mean(0)
    last_layer = probe.bert_sources(encoder, tokenizer, occurrences[:1])[-1]
    np.testing.assert_allclose(last_layer.vectors[0], expected, atol=1e-5)


def test_lstm_states_are_the_classifiers_own(occurrences, word_tokenizer):
    # With mean pooling every layer returns its sequence: compare with a sub-model.
    classifier = build_lstm_classifier(
        word_tokenizer.vocabulary_size(), 8, 4, num_lstm_layers=2, pooling="mean"
    )
    sources = probe.lstm_sources(classifier, word_tokenizer, occurrences)
    assert [s.name for s in sources] == ["lstm_embedding", "lstm_layer_1", "lstm_layer_2"]
    token_ids, spans = probe.tokenize_occurrences(word_tokenizer, occurrences)
    for depth in (1, 2):
        layer = classifier.get_layer(f"bidirectional_lstm_{depth - 1}")
        states = keras.Model(classifier.inputs, layer.output)
        for i in (0, 17):  # one at a time: no padding at all
            sequence = np.asarray(states({"token_ids": np.array([token_ids[i]])}))[0]
            start, end = spans[i]
            np.testing.assert_allclose(
                sources[depth].vectors[i], sequence[start:end].mean(0), atol=1e-5
            )


def test_last_layer_states_with_final_state_pooling(occurrences, word_tokenizer):
    classifier = build_lstm_classifier(word_tokenizer.vocabulary_size(), 8, 4, pooling="last")
    token_ids, spans = probe.tokenize_occurrences(word_tokenizer, occurrences[:1])
    sources = probe.lstm_sources(classifier, word_tokenizer, occurrences[:1])
    assert sources[1].vectors.shape == (1, 8)
    # The forward half at the last token is the final forward state the classifier pools.
    final = classifier.get_layer("bidirectional_lstm_0")
    embedded = classifier.get_layer("token_embedding")(np.array(token_ids))
    states = probe._returning_sequences(final, 8)(embedded)
    np.testing.assert_allclose(
        np.asarray(states)[0, -1, :4], np.asarray(final(embedded))[0, :4], atol=1e-6
    )
