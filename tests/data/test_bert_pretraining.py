import re

import numpy as np
import pytest

from keras_bert_lab.data.bert_pretraining import (
    IS_NEXT,
    NOT_NEXT,
    default_max_predictions,
    make_pretraining_examples,
    split_sentences,
)
from keras_bert_lab.data.pipelines import pretraining_dataset
from keras_bert_lab.text.special_tokens import CLS_ID, MASK_ID, PAD_ID, SEP_ID
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary


def numbered_documents(num_documents: int, num_sentences: int, seed: int = 0) -> list[str]:
    """Documents whose sentences say which document and which sentence they are."""
    rng = np.random.default_rng(seed)
    return [
        " ".join(
            f"Doc{document} s{sentence}" + " w" * int(rng.integers(1, 6)) + "."
            for sentence in range(num_sentences)
        )
        for document in range(num_documents)
    ]


def tokenizer_for(documents: list[str]):
    tokens = train_word_vocabulary(documents, 10_000, lowercase=True)
    return make_wordpiece_tokenizer(tokens, lowercase=True)


def sentence_markers(token_ids: np.ndarray, tokenizer) -> list[tuple[int, int]]:
    """The (document, sentence) numbers of the sentences that start in `token_ids`."""
    tokens = [tokenizer.id_to_token(token_id) for token_id in token_ids]
    return [
        (int(token[3:]), int(tokens[index + 1][1:]))
        for index, token in enumerate(tokens[:-1])
        if token.startswith("doc") and tokens[index + 1].startswith("s")
    ]


@pytest.fixture(scope="module")
def numbered_examples():
    documents = numbered_documents(600, 12)
    tokenizer = tokenizer_for(documents)
    return make_pretraining_examples(documents, tokenizer, sequence_length=32, seed=1), tokenizer


def test_split_sentences():
    text = 'Great film. I loved it! Did you? "Yes." (Really.) Mr. smith agreed.<br /><br />End'
    assert split_sentences(text) == [
        "Great film.",
        "I loved it!",
        "Did you?",
        '"Yes."',
        "(Really.)",
        "Mr. smith agreed.",
        "End",
    ]
    assert split_sentences("  ") == []


def test_examples_have_bert_layout(numbered_examples):
    examples, _ = numbered_examples
    num_examples = len(examples["nsp_labels"])
    assert examples["token_ids"].shape == (num_examples, 32)
    assert examples["token_ids"].dtype == examples["segment_ids"].dtype == np.int32
    assert examples["padding_mask"].dtype == bool and examples["nsp_labels"].dtype == np.int32
    for token_ids, segment_ids, padding_mask in zip(
        examples["token_ids"], examples["segment_ids"], examples["padding_mask"]
    ):
        length = int(padding_mask.sum())
        assert padding_mask[:length].all() and (token_ids[length:] == PAD_ID).all()
        (separators,) = np.nonzero(token_ids == SEP_ID)
        assert token_ids[0] == CLS_ID and len(separators) == 2 and separators[1] == length - 1
        assert 1 < separators[0] < length - 2  # A and B are never empty
        np.testing.assert_array_equal(segment_ids[: separators[0] + 1], 0)
        np.testing.assert_array_equal(segment_ids[separators[0] + 1 : length], 1)
        np.testing.assert_array_equal(segment_ids[length:], 0)


def test_next_sentence_labels_are_balanced_and_true(numbered_examples):
    examples, tokenizer = numbered_examples
    labels = examples["nsp_labels"]
    assert len(labels) > 1500 and abs(labels.mean() - 0.5) < 0.04
    rows = zip(examples["token_ids"], examples["segment_ids"], labels)
    for token_ids, segment_ids, label in rows:
        last_of_a = sentence_markers(token_ids[segment_ids == 0], tokenizer)[-1]
        first_of_b = sentence_markers(token_ids[segment_ids == 1], tokenizer)[0]
        if label == IS_NEXT:
            assert first_of_b == (last_of_a[0], last_of_a[1] + 1)
        else:
            assert label == NOT_NEXT and first_of_b[0] != last_of_a[0]


def test_examples_are_deterministic_given_seed():
    documents = numbered_documents(20, 8)
    tokenizer = tokenizer_for(documents)
    first, second, other_seed = (
        make_pretraining_examples(documents, tokenizer, sequence_length=24, seed=seed)
        for seed in (3, 3, 4)
    )
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert not np.array_equal(first["nsp_labels"], other_seed["nsp_labels"])


def test_long_sentences_are_cut_and_pairs_truncated():
    documents = [" ".join(["word"] * 100) + ".", " ".join(["other"] * 100) + "."]
    tokenizer = tokenizer_for(documents)
    examples = make_pretraining_examples(documents, tokenizer, sequence_length=16, seed=0)
    assert len(examples["nsp_labels"]) > 0
    assert examples["padding_mask"].sum(axis=1).max() == 16


def test_bad_arguments_are_rejected():
    documents = numbered_documents(3, 3)
    tokenizer = tokenizer_for(documents)
    with pytest.raises(ValueError, match="two non-empty documents"):
        make_pretraining_examples(documents[:1] + ["", " "], tokenizer, sequence_length=16, seed=0)
    with pytest.raises(ValueError, match="sequence_length"):
        make_pretraining_examples(documents, tokenizer, sequence_length=4, seed=0)
    padded_tokenizer = make_wordpiece_tokenizer(
        tokenizer.get_vocabulary(), lowercase=True, sequence_length=8
    )
    with pytest.raises(ValueError, match="sequence_length=None"):
        make_pretraining_examples(documents, padded_tokenizer, sequence_length=16, seed=0)


def test_masked_lm_statistics():
    documents = numbered_documents(100, 40, seed=2)
    tokenizer = tokenizer_for(documents)
    examples = make_pretraining_examples(
        documents, tokenizer, sequence_length=128, seed=0, short_seq_prob=0.0
    )
    dataset = pretraining_dataset(
        examples, vocabulary_size=tokenizer.vocabulary_size(), batch_size=16, shuffle=False
    )
    max_predictions = default_max_predictions(128)
    original = examples["token_ids"]
    selectable = examples["padding_mask"] & (original != CLS_ID) & (original != SEP_ID)
    num_selectable = selectable.sum(axis=1)
    # The selector rounds 15% of each row up, in float32.
    expected_predictions = np.minimum(
        np.ceil(num_selectable.astype(np.float32) * np.float32(0.15)), max_predictions
    )

    epochs = []
    for _ in range(2):
        batches = list(dataset)
        features = {key: np.concatenate([f[key] for f, _ in batches]) for key in batches[0][0]}
        labels = {
            key: np.concatenate([batch_labels[key] for _, batch_labels in batches])
            for key in batches[0][1]
        }
        epochs.append((features, labels))
        np.testing.assert_array_equal(features["segment_ids"], examples["segment_ids"])
        np.testing.assert_array_equal(labels["nsp_labels"], examples["nsp_labels"])
        assert features["mask_positions"].shape == (len(original), max_predictions)

        weights = labels["mlm_weights"]
        selected = weights == 1.0
        np.testing.assert_array_equal(selected.sum(axis=1), expected_predictions)
        assert 0.14 < selected.sum() / num_selectable.sum() < 0.16
        assert (weights[~selected] == 0.0).all()

        rows = np.nonzero(selected)[0]
        positions = features["mask_positions"][selected]
        np.testing.assert_array_equal(labels["mlm_labels"][selected], original[rows, positions])
        assert selectable[rows, positions].all()  # never [PAD], [CLS] or [SEP]
        changed = features["token_ids"] != original
        is_selected_position = np.zeros_like(changed)
        is_selected_position[rows, positions] = True
        assert not (changed & ~is_selected_position).any()

        new_tokens = features["token_ids"][rows, positions]
        masked = np.mean(new_tokens == MASK_ID)
        unchanged = np.mean(new_tokens == original[rows, positions])
        assert abs(masked - 0.8) < 0.02
        assert abs(unchanged - 0.1) < 0.02
        assert abs(1.0 - masked - unchanged - 0.1) < 0.02

    (first, _), (second, _) = epochs
    assert not np.array_equal(first["mask_positions"], second["mask_positions"])


def test_building_examples_reports_progress(monkeypatch):
    import functools

    from keras_bert_lab.data import bert_pretraining
    from keras_bert_lab.utils import Progress

    lines = []
    monkeypatch.setattr(
        bert_pretraining, "Progress", functools.partial(Progress, every=0, log=lines.append)
    )
    documents = numbered_documents(5, 4)
    make_pretraining_examples(documents, tokenizer_for(documents), sequence_length=16, seed=0)
    # The seconds are the machine's: a loaded one can take one or two.
    assert re.fullmatch(
        r"pre-training examples, sentences tokenized: 20/20 \(100%\), \d+ s", lines[0]
    )
    assert re.fullmatch(r"pre-training examples, documents: 5/5 \(100%\), \d+ s", lines[-1])
