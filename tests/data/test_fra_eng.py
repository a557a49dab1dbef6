"""Tests for keras_bert_lab.data.fra_eng."""

from __future__ import annotations

import dataclasses
import stat
from collections import defaultdict

import pytest

from keras_bert_lab.data import fra_eng
from keras_bert_lab.data.fra_eng import FraEngStats, load_fra_eng, source_key, split_bucket
from keras_bert_lab.data.sources import DataError

pytestmark = pytest.mark.usefixtures("isolated_env")

FIXTURE_PAIRS = {
    ("Va !", "Go."),
    ("Salut !", "Hi."),
    ("Salut !", "Hello!"),
    ("Cours !", "Run!"),
    ("Courez !", "Run!"),
}
FIXTURE_STATS = FraEngStats(
    lines=10,
    pairs=5,
    attribution_dropped=1,
    wrong_column_count_skipped=3,
    empty_field_skipped=2,
    decoded_with_replacement=0,
)


def all_pairs(corpus) -> list[tuple[str, str]]:
    return corpus.train + corpus.validation + corpus.test


def write_corpus(folder, num_sources: int = 400) -> dict[str, set[str]]:
    """Write a fra.txt where sources have 1-3 translations and case/space variants."""
    references: dict[str, set[str]] = defaultdict(set)
    lines = []
    for i in range(num_sources):
        for j in range(1 + i % 3):
            french = f"Phrase  numéro {i}." if j == 2 else f"phrase numéro {i}."
            lines.append(f"Sentence {i}, version {j}.\t{french}")
            references[source_key(french)].add(f"Sentence {i}, version {j}.")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fra.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return references


def test_directory_input_parses_two_and_three_columns_and_counts_bad_lines(fra_data_dir):
    corpus = load_fra_eng(fra_data_dir)
    assert set(all_pairs(corpus)) == FIXTURE_PAIRS
    assert corpus.stats == FIXTURE_STATS
    assert corpus.source == str(fra_data_dir / "fra.txt")


def test_undecodable_line_is_replaced_and_counted(tmp_path):
    (tmp_path / "fra.txt").write_bytes(b"Hi.\tSalut \xe0 toi !\r\nGo.\tVa !\r\n")
    corpus = load_fra_eng(tmp_path, validation_fraction=0, test_fraction=0)
    assert set(corpus.train) == {("Salut \ufffd toi !", "Hi."), ("Va !", "Go.")}
    assert corpus.stats.decoded_with_replacement == 1


def test_no_source_sentence_is_shared_between_splits(tmp_path):
    write_corpus(tmp_path)
    corpus = load_fra_eng(tmp_path, validation_fraction=0.2, test_fraction=0.2)
    splits = (corpus.train, corpus.validation, corpus.test)
    keys = [{source_key(french) for french, _ in split} for split in splits]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    assert all(len(split_keys) > 40 for split_keys in keys)
    assert len(all_pairs(corpus)) == corpus.stats.pairs == sum(1 + i % 3 for i in range(400))


def test_split_is_deterministic_and_independent_of_seed(tmp_path):
    write_corpus(tmp_path)
    first = load_fra_eng(tmp_path)
    assert load_fra_eng(tmp_path).train == first.train
    reshuffled = load_fra_eng(tmp_path, seed=3)
    assert reshuffled.train != first.train
    assert sorted(reshuffled.test) == sorted(first.test)
    assert split_bucket("Salut  !") == split_bucket("salut !")


def test_references_hold_every_translation_of_a_source(tmp_path):
    expected = write_corpus(tmp_path)
    corpus = load_fra_eng(tmp_path, validation_fraction=0.3, test_fraction=0.4)
    for pairs, grouped in (
        (corpus.validation, corpus.validation_references),
        (corpus.test, corpus.test_references),
    ):
        assert len(grouped) == len({source_key(french) for french, _ in pairs}) > 0
        for french, references in grouped:
            assert set(references) == expected[source_key(french)]
            assert len(references) == len(set(references))
    assert any(len(references) == 3 for _, references in corpus.test_references)


@pytest.mark.parametrize("member", ["fra.txt", "fra-eng/fra.txt"])
def test_zip_input_matches_directory_input(fra_data_dir, tmp_path, make_zip, member):
    text = (fra_data_dir / "fra.txt").read_bytes()
    archive = make_zip(
        tmp_path / "zipped" / "fra-eng.zip",
        [(member, text, stat.S_IFREG | 0o644), ("_about.txt", b"about", stat.S_IFREG | 0o644)],
    )
    from_zip, from_dir = load_fra_eng(archive.parent), load_fra_eng(fra_data_dir)
    assert from_zip.source == str(archive)
    assert from_zip.train == from_dir.train and from_zip.test == from_dir.test
    assert from_zip.stats == from_dir.stats


def test_zip_without_fra_txt_is_an_error(tmp_path, make_zip):
    make_zip(tmp_path / "fra-eng.zip", [("_about.txt", b"about", stat.S_IFREG | 0o644)])
    with pytest.raises(DataError, match="has no fra.txt"):
        load_fra_eng(tmp_path)


def test_download_without_checksum(fra_data_dir, tmp_path, make_zip, serve_folder, monkeypatch):
    served = tmp_path / "served"
    make_zip(served / "fra-eng.zip", [("fra.txt", (fra_data_dir / "fra.txt").read_bytes(), 0)])
    url = f"{serve_folder(served)}/fra-eng.zip"
    monkeypatch.setattr(fra_eng, "FRA_ENG", dataclasses.replace(fra_eng.FRA_ENG, origin=url))
    corpus = load_fra_eng(cache_dir=tmp_path / "cache")
    assert corpus.source.startswith(url)
    assert set(all_pairs(corpus)) == FIXTURE_PAIRS


@pytest.mark.parametrize("fractions", [(-0.1, 0.1), (0.5, 0.5), (0.1, 1.0)])
def test_invalid_fractions_are_refused(fra_data_dir, fractions):
    with pytest.raises(ValueError, match="validation_fraction and test_fraction"):
        load_fra_eng(fra_data_dir, validation_fraction=fractions[0], test_fraction=fractions[1])


def _split_of(corpus):
    return {
        pair: name for name in ("train", "validation", "test") for pair in getattr(corpus, name)
    }


def write_pairs(folder, pairs):
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{english}\t{french}" for french, english in pairs]
    (folder / "fra.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _variant_corpus():
    """Families of near-copies: case, punctuation and accent variants of one French sentence,
    and two French sentences sharing one English translation."""
    pairs = []
    for i in range(300):
        pairs += [
            (f"Elle est allée à l'école {i}.", f"She went to school {i}."),
            (f"elle est allee a l ecole {i} !", f"She went to school {i}!"),
            (f"Il est allé à l'école {i}.", f"He went to school {i}."),
            (f"Il est parti à l'école {i}.", f"He went to school {i}."),
        ]
    return pairs


def test_hard_split_keeps_loose_variants_and_shared_translations_together(tmp_path):
    pairs = _variant_corpus()
    write_pairs(tmp_path / "data", pairs)
    corpus = load_fra_eng(tmp_path / "data", validation_fraction=0.2, test_fraction=0.2)
    split = _split_of(corpus)
    assert set(split) == set(pairs)
    for i in range(300):
        family = pairs[4 * i : 4 * i + 4]
        assert split[family[0]] == split[family[1]]  # Case, punctuation, accents.
        assert split[family[2]] == split[family[3]]  # One English for two French sentences.
    train_keys = {fra_eng.loose_key(text) for pair in corpus.train for text in pair}
    held_out = corpus.test + corpus.validation
    assert held_out and not any(
        fra_eng.loose_key(text) in train_keys for p in held_out for text in p
    )


def test_hard_split_does_not_depend_on_file_order(tmp_path):
    pairs = _variant_corpus()
    write_pairs(tmp_path / "forward", pairs)
    write_pairs(tmp_path / "backward", pairs[::-1])
    forward = _split_of(load_fra_eng(tmp_path / "forward"))
    assert forward == _split_of(load_fra_eng(tmp_path / "backward"))


def test_source_split_is_still_selectable(tmp_path):
    pairs = _variant_corpus()
    write_pairs(tmp_path / "data", pairs)
    corpus = load_fra_eng(tmp_path / "data", split="source")
    by_bucket = {pair: fra_eng.split_bucket(pair[0]) for pair in pairs}
    test_end = round(0.1 * fra_eng.SPLIT_BUCKETS)
    assert {pair for pair in pairs if by_bucket[pair] < test_end} == set(corpus.test)
    with pytest.raises(ValueError, match="split must be one of"):
        load_fra_eng(tmp_path / "data", split="nearest")


def test_very_large_components_stay_in_training(monkeypatch):
    monkeypatch.setattr(fra_eng, "LARGE_COMPONENT_PAIRS", 3)
    pairs = [(f"Je vois {i}.", "I see.") for i in range(4)] + [("Bonjour.", "Hello.")]
    buckets = fra_eng.split_buckets(pairs)
    assert buckets[:4] == [fra_eng.SPLIT_BUCKETS - 1] * 4
    assert fra_eng.loose_key("Élève, l'été — « Ça va ? »") == "eleve l ete ca va"


def test_max_per_split_caps_every_split(tmp_path):
    write_pairs(tmp_path / "data", _variant_corpus())
    full = load_fra_eng(tmp_path / "data")
    capped = load_fra_eng(tmp_path / "data", max_per_split=5)
    for name in ("train", "validation", "test"):
        assert getattr(capped, name) == getattr(full, name)[:5]
    assert len(capped.test_references) <= 5


def test_the_translator_preset_chooses_the_split():
    from keras_bert_lab.presets import TRANSLATE_FR_EN_PRESETS
    from keras_bert_lab.presets.fields import PresetError

    assert TRANSLATE_FR_EN_PRESETS["cpu"].split == "hard"
    assert set(fra_eng.SPLITS) == {"hard", "source"}
    with pytest.raises(PresetError, match="split must be"):
        dataclasses.replace(TRANSLATE_FR_EN_PRESETS["cpu"], split="nearest")
