"""IMDB Large Movie Review Dataset v1.0 (Maas et al., 2011): labelled and unlabelled reviews.

The archive holds `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt` (25,000 reviews per
split) and `aclImdb/train/unsup/<id>_0.txt` (50,000 unlabelled reviews).

Reference: Andrew L. Maas, Raymond E. Daly, Peter T. Pham, Dan Huang, Andrew Y. Ng and
Christopher Potts. 2011. Learning Word Vectors for Sentiment Analysis. ACL-HLT 2011.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_bert_lab.data.sources import DataError, Release, decode_utf8, find_dataset

IMDB = Release(
    name="aclImdb",
    archive_name="aclImdb_v1.tar.gz",
    origin="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
    sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
)

_REVIEW_FILE = re.compile(r"(\d+)_(\d+)\.txt")
# Runs of `<br />`, `<br/>`, `<br>` in any case, with the spaces that follow. Leading with the
# literal `<br` lets `re` skip ahead fast; a leading `\s*` would make the search quadratic on
# long runs of spaces.
_LINE_BREAKS = re.compile(r"<br\s*/?>\s*(?:<br\s*/?>\s*)*", re.IGNORECASE)
_LABEL_FOLDERS = (("neg", 0), ("pos", 1))


@dataclass(frozen=True, eq=False)
class LabelledTexts:
    """Reviews with their label (0 = negative, 1 = positive) and 1-10 star rating.

    Attributes:
        texts: `num_reviews` strings.
        labels: int32 array `[num_reviews]`, read-only.
        ratings: int32 array `[num_reviews]`, read-only.
    """

    texts: list[str]
    labels: np.ndarray
    ratings: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class ImdbStats:
    """What reading the review files met, summed over all splits.

    Attributes:
        files_read: review files read (named `<id>_<rating>.txt`).
        decoded_with_replacement: files that were not valid UTF-8, decoded with U+FFFD.
        empty_skipped: reviews left empty once `<br />` tags and blanks are removed; skipped,
            since a review with no text carries no evidence for its label.
        bad_names_skipped: files whose name is not `<id>_<rating>.txt`; skipped.
    """

    files_read: int = 0
    decoded_with_replacement: int = 0
    empty_skipped: int = 0
    bad_names_skipped: int = 0


@dataclass(frozen=True, eq=False)
class ImdbData:
    """The IMDB splits: `validation` is carved out of the publisher's train split.

    Attributes:
        train, validation, test: labelled reviews, each shuffled with the loader's seed.
        unsup: the unlabelled reviews of `train/unsup`, in file-name order.
        source: the folder, archive or URL the reviews came from.
        stats: counts of skipped and repaired files.
    """

    train: LabelledTexts
    validation: LabelledTexts
    test: LabelledTexts
    unsup: list[str]
    source: str
    stats: ImdbStats


def unlabelled_texts(data):
    """The text a model may learn from without labels (pre-training, word vectors):
    `data.unsup + data.train.texts`, less every text that is also a validation or test review
    (the release repeats 266 test reviews verbatim in `train/unsup` and 123 in `train`).

    Returns:
        `(texts, removed)`: the texts in that order, and how many were left out.
    """
    held_out = set(data.validation.texts) | set(data.test.texts)
    texts = list(data.unsup) + list(data.train.texts)
    kept = [text for text in texts if text not in held_out]
    return kept, len(texts) - len(kept)


def load_imdb(
    data_dir: str | os.PathLike | None = None,
    *,
    validation_fraction: float = 0.1,
    seed: int = 1337,
    max_per_split: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> ImdbData:
    """Load IMDB reviews from a data directory, or download them.

    `<br />` tags become a space. Files are listed in name order and shuffled with `seed`, so
    the same arguments always give the same splits; only the files kept are read.

    Args:
        data_dir: folder holding `aclImdb/` or `aclImdb_v1.tar.gz`; defaults to
            `$KBL_DATA_DIR`, and without either the archive is downloaded and its sha256
            checked.
        validation_fraction: share of each label of the train split held out for validation.
        seed: seed of the validation carve-out and of the shuffles.
        max_per_split: keep at most this many reviews of each split (those of the first
            files once shuffled, so both labels stay; an empty review is left out), for quick
            runs on the real data; None keeps all.
        cache_dir: Keras cache root for downloads and for extracting an archive whose
            folder is read-only (default `$KERAS_HOME` or `~/.keras`).

    Raises:
        DataError: the data cannot be found, downloaded or extracted, or a split folder is
            missing.
        ValueError: `validation_fraction` is outside [0, 1).
    """
    if not 0 <= validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    if max_per_split is not None and max_per_split < 1:
        raise ValueError(f"max_per_split must be at least 1, got {max_per_split}")
    root, source = find_dataset(data_dir, IMDB, cache_dir)
    counts: Counter[str] = Counter()
    rng = np.random.default_rng(seed)
    train = _list_labelled(root / "train", counts)
    test = _list_labelled(root / "test", counts)
    unsup_paths, _ = _list_folder(root / "train" / "unsup", counts)
    train_indices, validation_indices = _carve_validation(train.labels, validation_fraction, rng)
    test_indices = rng.permutation(len(test))
    # Only the files kept are read: a capped run on the real archive reads a few hundred.
    cap = slice(max_per_split)
    return ImdbData(
        train=_read_subset(train, train_indices[cap], counts),
        validation=_read_subset(train, validation_indices[cap], counts),
        test=_read_subset(test, test_indices[cap], counts),
        unsup=[text for text in _read_texts(unsup_paths[cap], counts) if text],
        source=source,
        stats=ImdbStats(**counts),
    )


@dataclass(frozen=True)
class _ReviewFiles:
    """Labelled review files: paths, labels and ratings (int32 `[num_files]`)."""

    paths: list[str]
    labels: np.ndarray
    ratings: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)


def _list_labelled(split_dir: Path, counts: Counter[str]) -> _ReviewFiles:
    """The review files of `split_dir/neg` then `split_dir/pos`, each in name order."""
    paths, labels, ratings = [], [], []
    for folder, label in _LABEL_FOLDERS:
        folder_paths, folder_ratings = _list_folder(split_dir / folder, counts)
        paths += folder_paths
        ratings += folder_ratings
        labels += [label] * len(folder_paths)
    return _ReviewFiles(paths, np.array(labels, np.int32), np.array(ratings, np.int32))


def _list_folder(folder: Path, counts: Counter[str]) -> tuple[list[str], list[int]]:
    """The review files of one folder in name order, and their ratings (from the names);
    files not named `<id>_<rating>.txt` are counted and left out."""
    if not folder.is_dir():
        raise DataError(f"IMDB split folder {folder} is missing")
    paths, ratings = [], []
    for name in sorted(entry.name for entry in os.scandir(folder) if entry.is_file()):
        match = _REVIEW_FILE.fullmatch(name)
        if match is None:
            counts["bad_names_skipped"] += 1
            continue
        paths.append(os.path.join(folder, name))
        ratings.append(int(match.group(2)))
    return paths, ratings


def _read_subset(files: _ReviewFiles, indices: np.ndarray, counts: Counter[str]):
    """The reviews `indices` of `files`, in that order, less the empty ones."""
    texts = _read_texts([files.paths[i] for i in indices], counts)
    kept = np.array([bool(text) for text in texts], dtype=bool)
    return LabelledTexts(
        texts=[text for text in texts if text],
        labels=_frozen_int32(files.labels[indices][kept]),
        ratings=_frozen_int32(files.ratings[indices][kept]),
    )


def _read_texts(paths: list[str], counts: Counter[str]) -> list[str]:
    """Each file's review, `<br />` tags as spaces; `""` for a review left empty."""
    texts = []
    for path in paths:
        # Plain bytes reads: about 10x faster than tf.io for 100,000 small files.
        with open(path, "rb") as file:
            raw = file.read()
        counts["files_read"] += 1
        text = _LINE_BREAKS.sub(" ", decode_utf8(raw, counts)).strip()
        if not text:
            counts["empty_skipped"] += 1
        texts.append(text)
    return texts


def _carve_validation(
    labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled train and validation indices; validation takes `fraction` of each label."""
    held_out = []
    for _, label in _LABEL_FOLDERS:
        members = rng.permutation(np.flatnonzero(labels == label))
        held_out.append(members[: round(fraction * len(members))])
    validation = np.concatenate(held_out)
    is_train = np.ones(len(labels), dtype=bool)
    is_train[validation] = False
    return rng.permutation(np.flatnonzero(is_train)), rng.permutation(validation)


def _frozen_int32(values) -> np.ndarray:
    array = np.array(values, dtype=np.int32)
    array.flags.writeable = False
    return array
