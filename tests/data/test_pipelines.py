import keras_hub
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_bert_lab.data.bert_pretraining import make_pretraining_examples
from keras_bert_lab.data.pipelines import (
    bucket_lengths,
    classification_dataset,
    compare_bucketing,
    padding_fraction,
    pretraining_dataset,
    translation_dataset,
)
from keras_bert_lab.text.special_tokens import CLS_ID, END_ID, PAD_ID, SEP_ID, START_ID
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_wordpiece_vocabulary

WORDS = "the a film was great bad actor plot I loved it hated boring . , ! ?".split()


def random_texts(num_texts: int, max_words: int, seed: int = 0) -> list[str]:
    """Texts of 1..max_words words, lengths spread evenly."""
    rng = np.random.default_rng(seed)
    return [
        " ".join(rng.choice(WORDS, size=int(rng.integers(1, max_words + 1))))
        for _ in range(num_texts)
    ]


@pytest.fixture(scope="module")
def tokenizer():
    return make_wordpiece_tokenizer(
        train_wordpiece_vocabulary(
            random_texts(200, 30) + ["Le chat est noir."] * 20, 200, lowercase=True
        ),
        lowercase=True,
    )


def all_batches(dataset: tf.data.Dataset) -> list:
    return list(dataset.as_numpy_iterator())


@pytest.mark.parametrize("bucket", [True, False])
@pytest.mark.parametrize("bert_inputs", [True, False])
def test_classification_batches(tokenizer, bucket, bert_inputs):
    texts = random_texts(100, 40)
    labels = np.arange(100) % 2
    dataset = classification_dataset(
        texts,
        labels,
        tokenizer,
        batch_size=8,
        sequence_length=32,
        shuffle=True,
        seed=0,
        bucket=bucket,
        bert_inputs=bert_inputs,
    )
    batches = all_batches(dataset)
    expected_keys = {"token_ids", "segment_ids", "padding_mask"} if bert_inputs else {"token_ids"}
    assert sum(len(batch_labels) for _, batch_labels in batches) == 100
    assert sorted(np.concatenate([batch_labels for _, batch_labels in batches])) == sorted(labels)
    for features, batch_labels in batches:
        assert set(features) == expected_keys
        token_ids = features["token_ids"]
        assert token_ids.dtype == np.int32 and batch_labels.dtype == np.int32
        assert token_ids.shape[0] == batch_labels.shape[0] <= 8
        assert token_ids.shape[1] in (bucket_lengths(32) if bucket else [32])
        if bert_inputs:
            lengths = features["padding_mask"].sum(axis=1)
            np.testing.assert_array_equal(features["padding_mask"], token_ids != PAD_ID)
            np.testing.assert_array_equal(features["segment_ids"], 0)
            assert features["segment_ids"].dtype == np.int32
            assert (token_ids[:, 0] == CLS_ID).all()
            assert (token_ids[np.arange(len(lengths)), lengths - 1] == SEP_ID).all()


def test_classification_truncates_and_keeps_text_label_pairs(tokenizer):
    texts = ["great film", "boring plot " * 40]
    dataset = classification_dataset(
        texts,
        [1, 0],
        tokenizer,
        batch_size=2,
        sequence_length=8,
        shuffle=False,
        bucket=False,
        bert_inputs=True,
    )
    ((features, labels),) = all_batches(dataset)
    np.testing.assert_array_equal(labels, [1, 0])
    np.testing.assert_array_equal(features["padding_mask"].sum(axis=1), [4, 8])
    expected = [CLS_ID] + list(tokenizer(["boring plot " * 3])[0][:6]) + [SEP_ID]
    np.testing.assert_array_equal(features["token_ids"][1], expected)


def test_classification_wraps_with_the_tokenizers_own_special_ids():
    # Google's BERT vocabularies put [CLS] and [SEP] elsewhere than ours (101, 102 there).
    vocabulary = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "great", "film"]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    dataset = classification_dataset(
        ["Great film", "film"],
        [1, 0],
        tokenizer,
        batch_size=2,
        sequence_length=8,
        shuffle=False,
        bucket=False,
        bert_inputs=True,
    )
    ((features, _),) = all_batches(dataset)
    np.testing.assert_array_equal(features["token_ids"][:, :4], [[3, 6, 7, 4], [3, 7, 4, 0]])


def test_shuffle_is_seeded_and_changes_every_epoch(tokenizer):
    texts = random_texts(64, 20)

    def first_labels(dataset):
        return np.concatenate([labels for _, labels in all_batches(dataset)])

    def make(seed):
        return classification_dataset(
            texts,
            np.arange(64),
            tokenizer,
            batch_size=8,
            sequence_length=32,
            shuffle=True,
            seed=seed,
            bucket=False,
        )

    dataset = make(seed=5)
    epoch_1, epoch_2 = first_labels(dataset), first_labels(dataset)
    np.testing.assert_array_equal(epoch_1, first_labels(make(seed=5)))
    assert not np.array_equal(epoch_1, epoch_2)
    assert not np.array_equal(epoch_1, first_labels(make(seed=6)))


def test_drop_remainder_gives_full_batches(tokenizer):
    dataset = classification_dataset(
        random_texts(50, 20),
        np.zeros(50),
        tokenizer,
        batch_size=8,
        sequence_length=32,
        shuffle=True,
        drop_remainder=True,
    )
    assert all(len(labels) == 8 for _, labels in all_batches(dataset))
    assert dataset.element_spec[1].shape == (8,)


def test_bucketing_lowers_padding(tokenizer):
    texts = random_texts(400, 120)
    fractions = compare_bucketing(
        lambda bucket: classification_dataset(
            texts,
            np.zeros(400),
            tokenizer,
            batch_size=16,
            sequence_length=128,
            shuffle=True,
            bucket=bucket,
        )
    )
    assert fractions["bucketed"] < 0.2 < 0.4 < fractions["fixed_length"]


def test_padding_fraction_counts_zeros():
    features = {"token_ids": tf.constant([[5, 6, 0, 0], [7, 0, 0, 0]])}
    dataset = tf.data.Dataset.from_tensors((features, tf.constant([0, 1])))
    assert padding_fraction(dataset) == 5 / 8


def test_bucket_lengths():
    assert bucket_lengths(512) == list(range(32, 513, 32))
    assert bucket_lengths(20) == [8, 16, 20]


@pytest.mark.parametrize("bucket", [True, False])
def test_translation_batches(tokenizer, bucket):
    pairs = [("le chat est noir", text) for text in random_texts(40, 15)]
    dataset = translation_dataset(
        pairs, tokenizer, tokenizer, batch_size=8, max_length=12, shuffle=False, bucket=bucket
    )
    for features, targets in all_batches(dataset):
        assert set(features) == {"encoder_inputs", "decoder_inputs"}
        decoder_inputs = features["decoder_inputs"]
        assert features["encoder_inputs"].shape == decoder_inputs.shape == targets.shape
        assert targets.shape[1] in (bucket_lengths(12) if bucket else [12])
        assert decoder_inputs.dtype == targets.dtype == np.int32
        assert (decoder_inputs[:, 0] == START_ID).all()
        lengths = (targets != PAD_ID).sum(axis=1)
        assert (targets[np.arange(len(lengths)), lengths - 1] == END_ID).all()
        # Teacher forcing: the decoder input is the target shifted right by one.
        real = (targets[:, :-1] != PAD_ID) & (targets[:, :-1] != END_ID)
        np.testing.assert_array_equal(decoder_inputs[:, 1:][real], targets[:, :-1][real])


def test_pretraining_batches(tokenizer):
    examples = make_pretraining_examples(
        ["I loved it. The plot was great. Boring actor.", "The film was bad! I hated it."] * 5,
        tokenizer,
        sequence_length=16,
        seed=0,
    )
    dataset = pretraining_dataset(
        examples,
        vocabulary_size=tokenizer.vocabulary_size(),
        batch_size=4,
        shuffle=True,
        max_predictions=3,
        drop_remainder=True,
    )
    features_spec, labels_spec = dataset.element_spec
    assert {key: (spec.shape, spec.dtype) for key, spec in features_spec.items()} == {
        "token_ids": ((4, 16), tf.int32),
        "segment_ids": ((4, 16), tf.int32),
        "padding_mask": ((4, 16), tf.bool),
        "mask_positions": ((4, 3), tf.int32),
    }
    assert {key: (spec.shape, spec.dtype) for key, spec in labels_spec.items()} == {
        "mlm_labels": ((4, 3), tf.int32),
        "mlm_weights": ((4, 3), tf.float32),
        "nsp_labels": ((4,), tf.int32),
    }
    assert len(all_batches(dataset)) == len(examples["nsp_labels"]) // 4


def test_bad_arguments_are_rejected(tokenizer):
    with pytest.raises(ValueError, match="labels"):
        classification_dataset(
            ["a"], [0, 1], tokenizer, batch_size=2, sequence_length=8, shuffle=False
        )
    with pytest.raises(ValueError, match="batch_size"):
        classification_dataset(
            ["a"], [0], tokenizer, batch_size=0, sequence_length=8, shuffle=False
        )
    with pytest.raises(ValueError, match="at least one text"):
        translation_dataset([], tokenizer, tokenizer, batch_size=2, max_length=8, shuffle=False)


@settings(max_examples=12, deadline=None)  # Each builds and runs three pipelines: seconds.
@given(
    texts=st.lists(
        st.one_of(
            st.text(),
            st.text(alphabet=st.characters(codec="utf-8"), min_size=500, max_size=3000),
            st.sampled_from(["", " ", "\x00\x01\n\t", "😀🎬👍", "e\u0301\u200b\ufeff", "中文"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_arbitrary_text_passes_through_every_pipeline(tokenizer, texts):
    # Text only matters up to tokenisation; the masking step sees packed ids whatever the text,
    # so it is left to the tests above to keep this one fast.
    sequence_length = 16
    batches = all_batches(
        classification_dataset(
            texts,
            np.zeros(len(texts)),
            tokenizer,
            batch_size=4,
            sequence_length=sequence_length,
            shuffle=True,
            bert_inputs=True,
        )
    )
    assert sum(len(labels) for _, labels in batches) == len(texts)
    for features, _ in batches:
        assert features["token_ids"].shape[1] in bucket_lengths(sequence_length)
        assert (features["token_ids"][:, 0] == CLS_ID).all()

    pairs = list(zip(texts, reversed(texts)))
    batches = all_batches(
        translation_dataset(pairs, tokenizer, tokenizer, batch_size=4, max_length=10, shuffle=True)
    )
    assert sum(len(targets) for _, targets in batches) == len(texts)
    for features, targets in batches:
        assert features["encoder_inputs"].shape == targets.shape
        assert targets.shape[1] in bucket_lengths(10)

    documents = texts + ["I loved it. The plot was great.", "The film was bad! I hated it."]
    examples = make_pretraining_examples(
        documents, tokenizer, sequence_length=sequence_length, seed=0
    )
    num_examples = len(examples["nsp_labels"])
    assert num_examples > 0
    for key in ("token_ids", "segment_ids", "padding_mask"):
        assert examples[key].shape == (num_examples, sequence_length)
