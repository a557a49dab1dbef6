"""`TranslationPipeline`: text in, text out, with the reversal task spelled in words; saved
with its vocabularies; the cross-attention of a greedy translation."""

import keras
import numpy as np

from keras_bert_lab.models.translator.model import Translator
from keras_bert_lab.models.translator.pipeline import TranslationPipeline
from keras_bert_lab.text.special_tokens import END_ID, PAD_ID, RESERVED_TOKENS
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer
from tests.models.translator.reversal import SEQUENCE_LENGTH

# The reversal task in words: symbol 7 + i is FRENCH[i] or ENGLISH[i].
FRENCH = "zéro un deux trois quatre cinq six sept huit neuf".split()
ENGLISH = "zero one two three four five six seven eight nine".split()


def words(ids, vocabulary):
    return " ".join(vocabulary[i - 7] for i in ids if i not in (PAD_ID, END_ID))


def test_pipeline_translates_text_and_saves_with_its_vocabularies(trained, corpus, tmp_path):
    pipeline = TranslationPipeline(
        trained,
        make_wordpiece_tokenizer(list(RESERVED_TOKENS) + FRENCH, lowercase=True),
        make_wordpiece_tokenizer(list(RESERVED_TOKENS) + ENGLISH, lowercase=False),
    )
    source_ids, _, labels = corpus
    texts = [words(ids, FRENCH) for ids in source_ids[:4]]
    expected = [words(ids, ENGLISH) for ids in labels[:4]]
    texts[1], expected[1] = "", ""
    texts[2] = texts[2].upper()  # the source tokenizer lowercases
    for method, jit_compile in (("greedy", False), ("beam", True)):
        translations = pipeline.translate(
            texts, method=method, batch_size=3, jit_compile=jit_compile
        )
        assert translations == expected
    assert pipeline.translate([]) == []
    assert pipeline(texts, jit_compile=False) == expected  # A list of strings is `translate`.
    # Sources are padded to a power of two, truncated to sequence_length.
    assert pipeline.tokenize_sources(["un deux trois"]).shape == (1, 4)
    assert pipeline.tokenize_sources([""]).shape == (1, 1)
    assert pipeline.tokenize_sources([" ".join(FRENCH)]).shape == (1, SEQUENCE_LENGTH)

    path = tmp_path / "pipeline.keras"
    pipeline.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded.translator, Translator)
    assert reloaded.translate(texts, method="beam", jit_compile=False) == expected
    assert reloaded(texts, jit_compile=False) == expected


def test_cross_attention_of_a_greedy_translation(trained, corpus):
    pipeline = TranslationPipeline(
        trained,
        make_wordpiece_tokenizer(list(RESERVED_TOKENS) + FRENCH, lowercase=True),
        make_wordpiece_tokenizer(list(RESERVED_TOKENS) + ENGLISH, lowercase=False),
    )
    source_ids, _, labels = corpus
    source, target = words(source_ids[0], FRENCH), words(labels[0], ENGLISH)
    attention = pipeline.cross_attention(source, jit_compile=False)
    assert attention.source_tokens == source.split()
    assert attention.output_tokens == target.split() + ["[END]"]
    assert attention.translation == target
    assert attention.weights.shape == (
        trained.num_layers,
        trained.num_heads,
        len(target.split()) + 1,
        len(source.split()),
    )
    # The source had no padding to cut: every row is still a distribution.
    np.testing.assert_allclose(attention.weights.sum(-1), 1.0, atol=1e-5)
