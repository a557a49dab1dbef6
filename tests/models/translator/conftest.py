"""A tiny translator trained on the reversal task, shared by the decoding and pipeline tests
(trained once per test session)."""

import pytest

from tests.models.translator.reversal import reversal_corpus, tiny_translator, train


@pytest.fixture(scope="package")
def corpus():
    return reversal_corpus()


@pytest.fixture(scope="package")
def trained(corpus):
    translator = tiny_translator()
    loss, accuracy = train(translator, *corpus)
    assert accuracy == 1.0, (loss, accuracy)
    return translator
