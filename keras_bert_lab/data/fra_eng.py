"""English-French sentence pairs from Tatoeba, as packaged by manythings.org/anki.

`fra.txt` holds one pair a line, `English<TAB>French`, with a third attribution column in
releases from 2020 on (dropped here). The project translates French (source) to English
(target), so pairs are returned as `(french, english)`.

Two splits (`load_fra_eng(split=...)`):
- `"hard"` (default): no test or validation sentence, French or English, has a loosely-equal
  twin (same words once case, accents and punctuation are dropped) anywhere in training. The
  file holds many near-copies of a sentence sharing one translation; split by exact source
  only, much of the test set could be answered from memory. Pairs are grouped into the
  connected components of the graph whose nodes are loosely-normalised French and English
  sentences, with an edge per pair, and whole components are assigned by a stable hash.
- `"source"`: by exact (case- and whitespace-normalised) French sentence, as before.

Sentences: Tatoeba Project (tatoeba.org), CC-BY 2.0 (France); packaging: www.manythings.org/anki.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_bert_lab.data.sources import Release, decode_utf8, find_dataset

FRA_ENG = Release(
    name="fra.txt",
    archive_name="fra-eng.zip",
    origin="http://storage.googleapis.com/download.tensorflow.org/data/fra-eng.zip",
    # The publisher gives no checksum for this file, so a download of it is not verified.
    sha256=None,
)

SPLIT_BUCKETS = 10_000
SPLITS = ("hard", "source")
# Components this large are families of templated sentences: kept in training whole.
LARGE_COMPONENT_PAIRS = 1_000
_COMBINING_MARKS = re.compile(r"[\u0300-\u036f]")  # Accents, once NFKD has split them off.
_NOT_WORD = re.compile(r"[\W_]+")

Pair = tuple[str, str]


@dataclass(frozen=True)
class FraEngStats:
    """What parsing `fra.txt` met.

    Attributes:
        lines: lines read.
        pairs: pairs kept.
        attribution_dropped: kept lines that had a third (attribution) column.
        wrong_column_count_skipped: lines without 2 or 3 tab-separated columns (blank ones too).
        empty_field_skipped: lines whose English or French is blank.
        decoded_with_replacement: lines that were not valid UTF-8, decoded with U+FFFD.
    """

    lines: int = 0
    pairs: int = 0
    attribution_dropped: int = 0
    wrong_column_count_skipped: int = 0
    empty_field_skipped: int = 0
    decoded_with_replacement: int = 0


@dataclass(frozen=True)
class ParallelCorpus:
    """French-to-English pairs split so that a French sentence lies in one split only.

    Attributes:
        train, validation, test: `(french, english)` pairs, every pair kept, shuffled.
        validation_references, test_references: `(french, [english, ...])` for each distinct
            source of the split, with all its distinct translations, for corpus BLEU against
            multiple references.
        source: the file, archive or URL the pairs came from.
        stats: counts of lines read and skipped.
    """

    train: list[Pair]
    validation: list[Pair]
    test: list[Pair]
    validation_references: list[tuple[str, list[str]]]
    test_references: list[tuple[str, list[str]]]
    source: str
    stats: FraEngStats


def load_fra_eng(
    data_dir: str | os.PathLike | None = None,
    *,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 1337,
    split: str = "hard",
    max_per_split: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> ParallelCorpus:
    """Load English-French pairs from a data directory, or download them.

    A pair's split depends only on the pairs themselves (see `split_buckets`), not on file
    order or seed; `seed` only shuffles within splits.

    Args:
        data_dir: folder holding `fra.txt` or `fra-eng.zip`; defaults to `$KBL_DATA_DIR`,
            and without either the zip is downloaded (unverified: no published checksum).
        validation_fraction: expected share of French sentences in validation.
        test_fraction: expected share of French sentences in test.
        seed: seed of the shuffle within each split.
        split: `"hard"` (near-duplicate-free, the default) or `"source"` (module docstring).
        max_per_split: keep at most this many pairs of each split (the first ones once
            shuffled), for quick runs on the real data; None keeps all.
        cache_dir: Keras cache root for downloads and for extracting an archive whose
            folder is read-only (default `$KERAS_HOME` or `~/.keras`).

    Raises:
        DataError: the data cannot be found, downloaded or extracted.
        ValueError: a fraction is negative, or they sum to 1 or more, or `split` is unknown.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if max_per_split is not None and max_per_split < 1:
        raise ValueError(f"max_per_split must be at least 1, got {max_per_split}")
    if min(validation_fraction, test_fraction) < 0 or validation_fraction + test_fraction >= 1:
        raise ValueError(
            "validation_fraction and test_fraction must be >= 0 and sum to less than 1, "
            f"got {validation_fraction} and {test_fraction}"
        )
    path, source = find_dataset(data_dir, FRA_ENG, cache_dir)
    pairs, stats = parse_pairs(path)
    test_end = round(test_fraction * SPLIT_BUCKETS)
    validation_end = test_end + round(validation_fraction * SPLIT_BUCKETS)
    splits: dict[str, list[Pair]] = {"train": [], "validation": [], "test": []}
    for (french, english), bucket in zip(pairs, split_buckets(pairs, split)):
        name = "test" if bucket < test_end else "validation" if bucket < validation_end else "train"
        splits[name].append((french, english))
    rng = np.random.default_rng(seed)
    train, validation, test = (
        [pairs_of_split[i] for i in rng.permutation(len(pairs_of_split))][:max_per_split]
        for pairs_of_split in splits.values()
    )
    return ParallelCorpus(
        train=train,
        validation=validation,
        test=test,
        validation_references=_references(validation),
        test_references=_references(test),
        source=source,
        stats=stats,
    )


def parse_pairs(path: Path) -> tuple[list[Pair], FraEngStats]:
    """`(french, english)` pairs of a `fra.txt` file in file order, and what was skipped."""
    counts: Counter[str] = Counter()
    pairs: list[Pair] = []
    lines = path.read_bytes().split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # The newline that ends the last line starts no new line.
    for raw in lines:
        counts["lines"] += 1
        columns = decode_utf8(raw, counts).lstrip("\ufeff").rstrip("\r").split("\t")
        if len(columns) not in (2, 3):
            counts["wrong_column_count_skipped"] += 1
            continue
        english, french = columns[0].strip(), columns[1].strip()
        if not english or not french:
            counts["empty_field_skipped"] += 1
            continue
        if len(columns) == 3:
            counts["attribution_dropped"] += 1
        pairs.append((french, english))
    counts["pairs"] = len(pairs)
    return pairs, FraEngStats(**counts)


def source_key(french: str) -> str:
    """`french` NFC-normalised, lower-cased, with whitespace runs collapsed to one space."""
    return " ".join(unicodedata.normalize("NFC", french).lower().split())


def loose_key(text: str) -> str:
    """`text` lower-cased, without accents or punctuation, whitespace runs collapsed: two
    sentences with one loose key differ only in case, accents or punctuation."""
    decomposed = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text.lower()))
    return " ".join(_NOT_WORD.sub(" ", decomposed).split())


def _bucket(key: str) -> int:
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SPLIT_BUCKETS


def split_bucket(french: str) -> int:
    """Stable bucket in [0, SPLIT_BUCKETS) of a French sentence, from the sha1 of its key."""
    return _bucket(source_key(french))


def pair_components(pairs: list[Pair]) -> list[str]:
    """For each pair, a name of its connected component in the graph whose nodes are the
    loose keys of French and English sentences, with an edge per pair: the smallest node of
    the component, so the name does not depend on the order of the pairs."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]  # Path halving keeps the trees flat.
            node = parent[node]
        return node

    french_nodes = ["fr:" + loose_key(french) for french, _ in pairs]
    for french_node, (_, english) in zip(french_nodes, pairs):
        french_root, english_root = root(french_node), root("en:" + loose_key(english))
        if french_root != english_root:
            low, high = sorted((french_root, english_root))
            parent[high] = low
    return [root(node) for node in french_nodes]


def split_buckets(pairs: list[Pair], split: str = "hard") -> list[int]:
    """Stable bucket in [0, SPLIT_BUCKETS) of each pair (low buckets go to test, then
    validation): by connected component for `"hard"` (a component of more than
    `LARGE_COMPONENT_PAIRS` pairs gets the top bucket, i.e. training), by French sentence for
    `"source"`."""
    if split == "source":
        return [split_bucket(french) for french, _ in pairs]
    components = pair_components(pairs)
    sizes = Counter(components)
    return [
        SPLIT_BUCKETS - 1 if sizes[component] > LARGE_COMPONENT_PAIRS else _bucket(component)
        for component in components
    ]


def _references(pairs: list[Pair]) -> list[tuple[str, list[str]]]:
    """Group a split's pairs by source key: first spelling seen, and every distinct
    translation."""
    grouped: dict[str, tuple[str, list[str]]] = {}
    for french, english in pairs:
        _, references = grouped.setdefault(source_key(french), (french, []))
        if english not in references:
            references.append(english)
    return list(grouped.values())
