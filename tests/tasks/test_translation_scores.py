"""Corpus scores against several references, and by source length."""

from types import SimpleNamespace

import pytest

from keras_bert_lab.presets import TranslateFrEnPreset
from keras_bert_lab.tasks import translation_scores
from keras_bert_lab.tasks.translation_scores import (
    LENGTH_BUCKETS,
    corpus_scores,
    length_bucket,
    scores_by_length,
)

SOURCES = ["Va !", "Je suis sûr de moi.", "Il pleut depuis trois jours sans jamais s'arrêter.", ""]
SOURCES.append("Un deux trois quatre cinq six sept huit neuf dix onze douze.")
REFERENCES = [["Go!"], ["I'm sure of myself.", "I am sure."], ["It has rained for days."]]
REFERENCES += [[""], ["One two three four five six seven eight nine ten eleven twelve."]]


def test_length_buckets_partition_every_source():
    assert [length_bucket(source) for source in SOURCES] == [
        "1_5",
        "1_5",
        "6_10",
        "1_5",
        "11_plus",
    ]
    for words in range(1, 40):
        assert sum(low <= words <= (high or words) for low, high in LENGTH_BUCKETS.values()) == 1


def test_scores_by_length_score_each_bucket_alone():
    hypotheses = [refs[0] for refs in REFERENCES]
    hypotheses[2] = "Something else entirely."
    by_length = scores_by_length(SOURCES, hypotheses, REFERENCES)
    assert sum(bucket["sources"] for bucket in by_length.values()) == len(SOURCES)
    assert by_length["11_plus"]["bleu"] == pytest.approx(100)
    assert by_length["6_10"]["bleu"] < 10
    short = [0, 1, 3]
    expected = corpus_scores([hypotheses[i] for i in short], [REFERENCES[i] for i in short])
    assert by_length["1_5"]["bleu"] == pytest.approx(expected["bleu"])
    assert by_length["1_5"]["chrf"] == pytest.approx(expected["chrf"])
    assert scores_by_length([], [], []) == {}


def test_reference_streams_pad_missing_references_with_none():
    streams = translation_scores.reference_streams([["a"], ["b", "c"]])
    assert streams == [["a", "b"], [None, "c"]]


def test_decoding_many_sources_reports_progress(monkeypatch):
    import functools

    from keras_bert_lab.utils import Progress

    lines = []
    monkeypatch.setattr(
        translation_scores, "Progress", functools.partial(Progress, every=0, log=lines.append)
    )
    pipeline = SimpleNamespace(translate=lambda batch, **_: [text.upper() for text in batch])
    config = SimpleNamespace(
        beam_size=2, length_penalty=0.6, decode_batch_size=2, xla_decoding=False
    )
    translations = translation_scores.translate_texts(pipeline, SOURCES, config, "beam")
    assert translations == [source.upper() for source in SOURCES]
    assert [line.split(" (")[0] for line in lines] == [
        "beam decoding: 2/5",
        "beam decoding: 4/5",
        "beam decoding: 5/5",
    ]


def test_the_search_ranks_every_setting_by_bleu_on_the_given_references():
    references = list(zip(SOURCES, REFERENCES))
    answers = {source: refs[0] for source, refs in references}
    decoded = []

    def translate(batch, method, beam_size, length_penalty, **_):
        decoded.append((method, beam_size, length_penalty))
        right = method == "beam" and beam_size == 4 and length_penalty == 1.0
        return [answers[text] if right else "no" for text in batch]

    rows = translation_scores.search_decoding_settings(
        SimpleNamespace(translate=translate),
        references,
        TranslateFrEnPreset(decode_batch_size=8, xla_decoding=False),
        beam_sizes=[2, 4],
        length_penalties=[0.0, 1.0],
    )
    settings = [(row["method"], row["beam_size"], row["length_penalty"]) for row in rows]
    assert settings[0] == ("beam", 4, 1.0) and rows[0]["bleu"] == pytest.approx(100.0)
    assert sorted(settings, key=str) == sorted(
        [("greedy", None, None), ("beam", 2, 0.0), ("beam", 2, 1.0), ("beam", 4, 0.0)]
        + [("beam", 4, 1.0)],
        key=str,
    )
    assert [row["bleu"] for row in rows] == sorted((row["bleu"] for row in rows), reverse=True)
    assert decoded[0][0] == "greedy"
    assert {setting[1:] for setting in decoded[1:]} == {(2, 0.0), (2, 1.0), (4, 0.0), (4, 1.0)}
