"""The bag-of-n-grams classifier: TF-IDF weights as scikit-learn computes them, NBSVM ratios,
raw strings in, and a `.keras` file that scores raw strings identically in a fresh process."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.feature_extraction.text import TfidfVectorizer

from keras_bert_lab.models import ngrams

TEXTS = [
    "a good film with a good story",
    "a bad film",
    "good actors bad story",
    "the story was good",
    "bad bad bad",
    "the actors were good",
]
LABELS = [1, 0, 0, 1, 0, 1]


def _features_up_to(model, layer_name, texts):
    inner = keras.Model(model.inputs, model.get_layer(layer_name).output)
    return tf.sparse.to_dense(inner(tf.constant(texts))).numpy()


def test_tf_idf_features_match_scikit_learn():
    model = ngrams.build_ngram_classifier(TEXTS, LABELS, max_tokens=1000)
    ours = _features_up_to(model, "l2_normalize", TEXTS)
    vocabulary = model.get_layer("ngrams").get_vocabulary()
    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\S+")
    expected = reference.fit_transform(TEXTS).toarray()
    columns = [vocabulary.index(term) for term in reference.get_feature_names_out()]
    np.testing.assert_allclose(ours[:, columns], expected, atol=1e-6)
    assert np.allclose(np.delete(ours, columns, axis=1), 0)


def test_nbsvm_scales_binary_features_by_log_count_ratios():
    model = ngrams.build_ngram_classifier(TEXTS, LABELS, weighting="nbsvm", max_tokens=1000)
    vocabulary = model.get_layer("ngrams").get_vocabulary()
    features = _features_up_to(model, "nbsvm_scale", ["good good film"])[0]
    positive_docs = sum(1 for t, y in zip(TEXTS, LABELS) if y == 1)
    negative_docs = len(TEXTS) - positive_docs
    # "good" is in 4 reviews: 3 positive, 1 negative; "bad" in 0 positive and 3 negative.
    counts = {"good": (3, 1), "film": (1, 1)}
    positive_total = sum(
        sum(1 for t, y in zip(TEXTS, LABELS) if y == 1 and term in _terms(t)) + 1
        for term in vocabulary
    )
    negative_total = sum(
        sum(1 for t, y in zip(TEXTS, LABELS) if y == 0 and term in _terms(t)) + 1
        for term in vocabulary
    )
    for term, (p, q) in counts.items():
        expected = np.log((p + 1) / positive_total) - np.log((q + 1) / negative_total)
        assert features[vocabulary.index(term)] == pytest.approx(expected, rel=1e-5)
    assert features[vocabulary.index("good film")] != 0  # Binary: present once, not twice.
    assert positive_docs == negative_docs == 3


def _terms(text):
    words = text.split()
    return set(words) | {" ".join(pair) for pair in zip(words, words[1:])}


def test_line_breaking_characters_do_not_break_the_saved_vocabulary(tmp_path):
    """IMDB holds U+0085 where a Windows ellipsis was; Keras reads the stored vocabulary back
    with `splitlines`, so a term holding it would come back as two."""
    texts = ["stories\x85 and more", "next\x85until the end", "plain words\u2028here"] * 2
    model = ngrams.build_ngram_classifier(texts, [1, 0, 1, 0, 1, 0], max_tokens=1000)
    vocabulary = model.get_layer("ngrams").get_vocabulary()
    assert all(len(term.splitlines()) == 1 for term in vocabulary[1:])
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert reloaded.get_layer("ngrams").get_vocabulary() == vocabulary


def test_unknown_weighting_is_refused():
    with pytest.raises(ValueError, match="weighting must be one of"):
        ngrams.build_ngram_classifier(TEXTS, LABELS, weighting="bm25")


@pytest.mark.parametrize("weighting", ngrams.WEIGHTINGS)
def test_saved_model_scores_raw_strings_identically_in_a_fresh_process(weighting, tmp_path):
    model = ngrams.build_ngram_classifier(TEXTS, LABELS, weighting=weighting, max_tokens=1000)
    probe = ["a good story", "bad actors", "", "words never seen"]
    expected = np.asarray(model(tf.constant(probe)))
    assert np.all(np.isfinite(expected))
    model.save(tmp_path / "model.keras")
    script = textwrap.dedent(f"""
        import keras, numpy as np, tensorflow as tf
        import keras_bert_lab
        model = keras.saving.load_model({str(tmp_path / "model.keras")!r})
        np.save({str(tmp_path / "reloaded.npy")!r}, np.asarray(model(tf.constant({probe!r}))))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    np.testing.assert_array_equal(np.load(tmp_path / "reloaded.npy"), expected)
