"""Tests for keras_bert_lab.data.imdb on the tiny fixture tree described in conftest.py."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil

import numpy as np
import pytest

from keras_bert_lab.data import imdb
from keras_bert_lab.data.imdb import ImdbStats, load_imdb
from keras_bert_lab.data.sources import COMPLETE_MARKER, DataError

pytestmark = pytest.mark.usefixtures("isolated_env")

FIXTURE_STATS = ImdbStats(
    files_read=60, decoded_with_replacement=1, empty_skipped=2, bad_names_skipped=1
)


def all_train_texts(data) -> list[str]:
    return data.train.texts + data.validation.texts


def test_split_sizes_labels_and_ratings(imdb_data_dir):
    data = load_imdb(imdb_data_dir)
    assert (len(data.train), len(data.validation), len(data.test)) == (38, 4, 10)
    assert len(data.unsup) == 6
    assert data.stats == FIXTURE_STATS
    assert data.source == str(imdb_data_dir / "aclImdb")
    labels = np.concatenate([data.train.labels, data.validation.labels])
    ratings = np.concatenate([data.train.ratings, data.validation.ratings])
    assert labels.dtype == ratings.dtype == np.int32
    assert (labels.sum(), len(labels) - labels.sum()) == (22, 20)
    assert set(ratings[labels == 1]) <= set(range(7, 11))
    assert set(ratings[labels == 0]) <= set(range(1, 5))
    review = all_train_texts(data).index("train pos review 5: a fine film.")
    assert (labels[review], ratings[review]) == (1, 8)
    assert sorted(data.test.texts)[0] == "test neg review 0"
    assert set(data.test.labels[np.char.startswith(data.test.texts, "test pos")]) == {1}
    assert not data.train.labels.flags.writeable


def test_line_breaks_become_spaces_and_bad_bytes_are_replaced(imdb_data_dir):
    texts = all_train_texts(load_imdb(imdb_data_dir))
    assert "Great acting. Loved it and more." in texts
    assert "Caf\ufffd scene" in texts
    assert not any("<br" in text.lower() or not text for text in texts)


def test_validation_is_deterministic_stratified_and_disjoint(imdb_data_dir):
    first, second = load_imdb(imdb_data_dir), load_imdb(imdb_data_dir)
    assert first.validation.texts == second.validation.texts
    assert first.train.texts == second.train.texts
    assert not set(first.train.texts) & set(first.validation.texts)
    assert len(set(all_train_texts(first))) == 42
    assert sorted(first.validation.labels) == [0, 0, 1, 1]
    other_seed = load_imdb(imdb_data_dir, seed=7)
    assert set(other_seed.validation.texts) != set(first.validation.texts)


def test_validation_fraction_zero_and_out_of_range(imdb_data_dir):
    assert len(load_imdb(imdb_data_dir, validation_fraction=0).validation) == 0
    with pytest.raises(ValueError, match="validation_fraction"):
        load_imdb(imdb_data_dir, validation_fraction=1.0)


def test_million_character_review_loads(imdb_data_dir):
    long_review = ("word " * 100_000) + " " * 300_000 + ("<br /> " * 50_000) + "end"
    assert len(long_review) >= 1_000_000
    (imdb_data_dir / "aclImdb/train/pos/99_10.txt").write_text(long_review)
    texts = all_train_texts(load_imdb(imdb_data_dir))
    loaded = max(texts, key=len)
    assert loaded.startswith("word word") and loaded.endswith(" end")
    assert "<br" not in loaded


def test_missing_split_folder_is_named(imdb_data_dir):
    shutil.rmtree(imdb_data_dir / "aclImdb/test/neg")
    with pytest.raises(DataError) as error:
        load_imdb(imdb_data_dir)
    assert "\n" not in str(error.value)
    assert str(imdb_data_dir / "aclImdb/test/neg") in str(error.value)


def test_nonexistent_data_dir_is_one_line_error(tmp_path):
    with pytest.raises(DataError) as error:
        load_imdb(tmp_path / "missing")
    assert str(error.value) == f"data_dir={tmp_path / 'missing'} does not exist"


def test_data_dir_without_imdb_is_an_error(tmp_path):
    with pytest.raises(DataError, match="neither aclImdb nor aclImdb_v1.tar.gz"):
        load_imdb(tmp_path)


def test_environment_variable_names_the_data_dir(imdb_data_dir, monkeypatch):
    monkeypatch.setenv("KBL_DATA_DIR", str(imdb_data_dir))
    assert load_imdb().source == str(imdb_data_dir / "aclImdb")


def test_archive_is_extracted_once_then_reused(imdb_archive_dir, imdb_data_dir):
    data = load_imdb(imdb_archive_dir)
    reference = load_imdb(imdb_data_dir)
    assert data.source == str(imdb_archive_dir / "aclImdb_v1.tar.gz")
    assert data.train.texts == reference.train.texts and data.stats == reference.stats
    (extracted,) = [path for path in imdb_archive_dir.iterdir() if path.is_dir()]
    marker = (extracted / COMPLETE_MARKER).stat()
    review = (extracted / "aclImdb/train/pos/0_7.txt").stat()
    assert load_imdb(imdb_archive_dir).train.texts == data.train.texts
    assert (extracted / COMPLETE_MARKER).stat().st_mtime_ns == marker.st_mtime_ns
    assert (extracted / "aclImdb/train/pos/0_7.txt").stat().st_ino == review.st_ino
    assert len(list(imdb_archive_dir.iterdir())) == 2


def test_read_only_data_dir_is_left_untouched(imdb_archive_dir, isolated_env):
    imdb_archive_dir.chmod(0o555)
    try:
        data = load_imdb(imdb_archive_dir)
        assert os.listdir(imdb_archive_dir) == ["aclImdb_v1.tar.gz"]
    finally:
        imdb_archive_dir.chmod(0o755)
    assert len(data.test) == 10
    (extracted,) = (isolated_env / "datasets").iterdir()
    assert extracted.name.startswith("aclImdb_v1-")


def test_truncated_archive_fails_cleanly_then_good_archive_loads(imdb_archive_dir, tmp_path):
    archive = imdb_archive_dir / "aclImdb_v1.tar.gz"
    good_bytes = archive.read_bytes()
    archive.write_bytes(good_bytes[: len(good_bytes) // 2])
    with pytest.raises(DataError) as error:
        load_imdb(imdb_archive_dir)
    assert "\n" not in str(error.value) and "could not extract" in str(error.value)
    assert os.listdir(imdb_archive_dir) == ["aclImdb_v1.tar.gz"]
    archive.write_bytes(good_bytes)
    assert len(load_imdb(imdb_archive_dir).test) == 10


def test_download_verifies_the_publisher_checksum(
    imdb_archive_dir, serve_folder, monkeypatch, tmp_path
):
    archive = imdb_archive_dir / "aclImdb_v1.tar.gz"
    url = f"{serve_folder(imdb_archive_dir)}/aclImdb_v1.tar.gz"
    monkeypatch.setattr(imdb, "IMDB", dataclasses.replace(imdb.IMDB, origin=url, sha256="f" * 64))
    with pytest.raises(DataError, match="has sha256 .* expected f{64}"):
        load_imdb(cache_dir=tmp_path / "cache")
    checksum = hashlib.sha256(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(imdb, "IMDB", dataclasses.replace(imdb.IMDB, sha256=checksum))
    data = load_imdb(cache_dir=tmp_path / "cache")
    assert data.source.startswith(url)
    assert len(data.train) + len(data.validation) == 42
    assert (tmp_path / "cache/datasets/aclImdb_v1.tar.gz").is_file()


def test_max_per_split_caps_every_split_and_keeps_both_labels(imdb_data_dir):
    full = load_imdb(imdb_data_dir, validation_fraction=0.2)
    capped = load_imdb(imdb_data_dir, validation_fraction=0.2, max_per_split=4)
    for name in ("train", "validation", "test"):
        split, full_split = getattr(capped, name), getattr(full, name)
        assert len(split) == min(4, len(full_split))
        assert split.texts == full_split.texts[: len(split)]
    assert set(capped.test.labels.tolist()) == {0, 1}
    assert capped.unsup == full.unsup[:4]
    assert capped.stats.files_read == 4 * 4  # Only the files kept are read.
    with pytest.raises(ValueError, match="max_per_split"):
        load_imdb(imdb_data_dir, max_per_split=0)


def test_unlabelled_texts_leave_out_every_validation_and_test_review(imdb_data_dir):
    data = load_imdb(imdb_data_dir, validation_fraction=0.2, seed=0)
    test_review, validation_review = data.test.texts[0], data.validation.texts[0]
    planted = dataclasses.replace(
        data,
        unsup=[*data.unsup, test_review, validation_review],
        train=dataclasses.replace(data.train, texts=[*data.train.texts, test_review]),
    )
    texts, removed = imdb.unlabelled_texts(planted)
    assert removed == 3
    assert test_review not in texts and validation_review not in texts
    assert texts == list(data.unsup) + list(data.train.texts)
