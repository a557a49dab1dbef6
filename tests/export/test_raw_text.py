"""Raw-string classifiers: truncation shared with the training pipeline, save and reload."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.data.pipelines import classification_dataset
from keras_bert_lab.export.raw_text import raw_text_classifier
from keras_bert_lab.models.bert import BertClassifier, BertEncoder
from keras_bert_lab.text.packing import pack_token_ids, to_ragged_ids, truncate_token_ids
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary

TEXTS = ["one two three four five six seven eight nine ten", "one two", "three"]


def test_head_and_tail_truncation():
    ids = tf.ragged.constant([list(range(10)), [0, 1, 2], []])
    assert truncate_token_ids(ids, 5, 3).to_list() == [[0, 1, 7, 8, 9], [0, 1, 2], []]
    assert truncate_token_ids(ids, 5).to_list() == [[0, 1, 2, 3, 4], [0, 1, 2], []]
    assert truncate_token_ids(ids, 5, 5).to_list() == [[5, 6, 7, 8, 9], [0, 1, 2], []]
    with pytest.raises(ValueError, match="tail_length"):
        truncate_token_ids(ids, 5, 6)


@pytest.fixture(scope="module")
def tokenizer():
    return make_wordpiece_tokenizer(
        train_word_vocabulary(TEXTS, 100, lowercase=True), lowercase=True
    )


def test_serving_packs_as_the_training_pipeline_does(tokenizer):
    dataset = classification_dataset(
        TEXTS,
        [0, 1, 0],
        tokenizer,
        batch_size=3,
        sequence_length=6,
        shuffle=False,
        bucket=False,
        bert_inputs=True,
        tail_length=2,
    )
    ((features, _),) = list(dataset.as_numpy_iterator())
    packed = pack_token_ids(
        to_ragged_ids(tokenizer(tf.constant(TEXTS))), 6, start_id=2, end_id=3, tail_length=2
    )
    np.testing.assert_array_equal(features["token_ids"], packed)
    words = [tokenizer.id_to_token(int(i)) for i in packed[0]]
    assert words == ["[CLS]", "one", "two", "nine", "ten", "[SEP]"]


def test_raw_text_classifier_reloads_with_its_truncation(tokenizer, tmp_path):
    encoder = BertEncoder(
        tokenizer.vocabulary_size(),
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        max_sequence_length=8,
        dropout=0.0,
    )
    model = raw_text_classifier(
        BertClassifier(encoder, dropout=0.0),
        tokenizer,
        sequence_length=6,
        bert_inputs=True,
        tail_length=2,
    )
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert reloaded.tail_length == 2
    texts = tf.constant(TEXTS)
    np.testing.assert_array_equal(model(texts), reloaded(texts))


@pytest.fixture(scope="module")
def lstm_text_model(tokenizer):
    from keras_bert_lab.models.lstm import build_lstm_classifier

    keras.utils.set_random_seed(0)
    lstm = build_lstm_classifier(tokenizer.vocabulary_size(), 4, 3, pooling="mean")
    return raw_text_classifier(lstm, tokenizer, sequence_length=8, bert_inputs=False)


def test_a_list_of_strings_is_an_input_and_columns_are_named(lstm_text_model):
    from_list = np.asarray(lstm_text_model(["one two", "three"]))
    from_tensor = np.asarray(lstm_text_model(tf.constant(["one two", "three"])))
    np.testing.assert_array_equal(from_list, from_tensor)
    assert lstm_text_model.class_names == ("negative", "positive")


def test_empty_text_gives_a_finite_result_and_an_empty_batch_an_empty_one(lstm_text_model):
    probabilities = np.asarray(lstm_text_model(["", "   ", "one"]))
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(-1), 1, atol=1e-6)
    assert np.asarray(lstm_text_model([])).shape == (0, 2)


def test_class_names_survive_saving(lstm_text_model, tmp_path):
    lstm_text_model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert reloaded.class_names == ("negative", "positive")
    np.testing.assert_allclose(reloaded(["", "one"]), lstm_text_model(["", "one"]), atol=1e-6)


def first_token_text_model(tokenizer):
    """A raw-text classifier of the first token's embedding."""
    inputs = keras.Input((None,), dtype="int32", name="token_ids")
    logits = keras.layers.Dense(2)(keras.layers.Embedding(100, 4)(inputs)[:, 0])
    return raw_text_classifier(
        keras.Model({"token_ids": inputs}, logits), tokenizer, sequence_length=6, bert_inputs=False
    )


def test_scoring_many_texts_reports_progress(tokenizer, monkeypatch):
    import functools

    from keras_bert_lab.export import raw_text
    from keras_bert_lab.utils import Progress

    lines = []
    monkeypatch.setattr(
        raw_text, "Progress", functools.partial(Progress, every=0, log=lines.append)
    )
    model = first_token_text_model(tokenizer)
    probabilities = raw_text.predict_texts(model, TEXTS * 2, batch_size=4, label="test scoring")
    assert probabilities.shape == (6, 2)
    assert [line.split(",")[0] for line in lines] == [
        "test scoring: 4/6 (67%)",
        "test scoring: 6/6 (100%)",
    ]


def test_scoring_traces_once_per_model_and_does_not_keep_the_model(tokenizer):
    import gc
    import weakref

    from keras_bert_lab.export import raw_text

    def score_twice():
        """Scores with a fresh model; returns a weak reference to it."""
        model = first_token_text_model(tokenizer)
        first = raw_text.predict_texts(model, TEXTS * 3, batch_size=4)  # batches of 4, 4, 1
        again = raw_text.predict_texts(model, TEXTS, batch_size=2)
        np.testing.assert_allclose(again, first[: len(TEXTS)], atol=1e-6)
        assert raw_text._PREDICTORS[model].experimental_get_tracing_count() == 1
        return weakref.ref(model)

    # Score in a frame that ends (this frame's cached locals kept the model alive after a
    # `del`), then follow this one model (other tests' models come and go in this process).
    model_ref = score_twice()
    gc.collect()
    assert model_ref() is None
