"""The retrieval baseline answers with a training target, deterministically."""

import pytest

from keras_bert_lab.tasks.retrieval_baseline import RetrievalTranslator

TRAIN = [
    ("Je suis sûr.", "I'm sure."),
    ("Il fait beau aujourd'hui.", "The weather is nice today."),
    ("Où est la gare ?", "Where is the station?"),
    ("J'aime les chats.", "I like cats."),
]


def test_answers_each_source_with_the_target_of_the_nearest_training_source():
    baseline = RetrievalTranslator(batch_size=2).fit(TRAIN)
    sources = ["Je suis sûre.", "Où est la gare", "J'aime les chiens.", "zzz"]
    hypotheses = baseline.translate(sources)
    assert hypotheses[:3] == ["I'm sure.", "Where is the station?", "I like cats."]
    targets = {target for _, target in TRAIN}
    assert all(hypothesis in targets for hypothesis in hypotheses)
    assert baseline.translate(sources) == hypotheses
    assert RetrievalTranslator().fit(TRAIN[::-1]).translate(sources[:3]) == hypotheses[:3]


def test_no_source_gives_no_answer_and_no_pair_is_an_error():
    assert RetrievalTranslator().fit(TRAIN).translate([]) == []
    with pytest.raises(ValueError, match="at least one pair"):
        RetrievalTranslator().fit([])
