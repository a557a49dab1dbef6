"""`experiments.tune_decoding`: the search decodes the translator run's own validation split
(never a test sentence unless --score-test), and writes every setting, best first."""

import dataclasses
import json

import pytest

from experiments import tune_decoding
from keras_bert_lab.data.fra_eng import load_fra_eng
from keras_bert_lab.models.translator.model import Translator
from keras_bert_lab.models.translator.pipeline import TranslationPipeline
from keras_bert_lab.presets import TRANSLATE_FR_EN_PRESETS
from keras_bert_lab.text.special_tokens import RESERVED_TOKENS
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer

SPLIT = {"validation_fraction": 0.3, "test_fraction": 0.3, "split": "hard"}
SEED = 5


@pytest.fixture(scope="module")
def translator_run(tmp_path_factory, tiny_fra_eng_dir):
    """A translate_fr_en run folder: a random translator and the `results.json` of its
    split."""
    folder = tmp_path_factory.mktemp("translate_fr_en") / "cpu"
    folder.mkdir()
    corpus = load_fra_eng(tiny_fra_eng_dir, seed=SEED, **SPLIT)
    words = {
        side: sorted({word for pair in corpus.train for word in pair[index].lower().split()})
        for index, side in enumerate(("french", "english"))
    }
    translator = Translator(
        len(RESERVED_TOKENS) + len(words["french"]),
        len(RESERVED_TOKENS) + len(words["english"]),
        sequence_length=12,
        num_layers=1,
        hidden_dim=8,
        num_heads=2,
        intermediate_dim=16,
        dropout=0.0,
    )
    TranslationPipeline(
        translator,
        make_wordpiece_tokenizer(list(RESERVED_TOKENS) + words["french"], lowercase=True),
        make_wordpiece_tokenizer(list(RESERVED_TOKENS) + words["english"], lowercase=True),
    ).save(folder / "translation_pipeline.keras")
    config = dataclasses.asdict(TRANSLATE_FR_EN_PRESETS["smoke"]) | SPLIT
    record = {"experiment": "translate_fr_en", "config": config, "arguments": {"seed": SEED}}
    (folder / "results.json").write_text(json.dumps(record))
    return folder, corpus


def search(tmp_path, folder, data_dir, *extra):
    return tune_decoding.main(
        ["--preset", "smoke", "--logdir", str(tmp_path), "--translator", str(folder)]
        + ["--data-dir", str(data_dir), "--beam-sizes", "2", "--length-penalties", "0", "1"]
        + list(extra)
    )


def decoded_texts(monkeypatch):
    """Every text the pipeline is asked to translate, from now on."""
    texts, translate = [], TranslationPipeline.translate

    def recording(self, batch, *args, **kwargs):
        texts.extend(batch)
        return translate(self, batch, *args, **kwargs)

    monkeypatch.setattr(TranslationPipeline, "translate", recording)
    return texts


def test_the_search_decodes_validation_only_and_ranks_every_setting(
    translator_run, tiny_fra_eng_dir, tmp_path, monkeypatch
):
    folder, corpus = translator_run
    texts = decoded_texts(monkeypatch)
    results = search(tmp_path, folder, tiny_fra_eng_dir)
    validation = {source for source, _ in corpus.validation_references}
    assert validation and set(texts) == validation
    assert not set(texts) & {source for source, _ in corpus.test_references}
    settings = results["settings"]
    assert {(row["method"], row["beam_size"], row["length_penalty"]) for row in settings} == {
        ("greedy", None, None),
        ("beam", 2, 0.0),
        ("beam", 2, 1.0),
    }
    assert [row["bleu"] for row in settings] == sorted(
        (row["bleu"] for row in settings), reverse=True
    )
    assert results["best"] == settings[0]
    assert results["metrics"]["validation_sources"] == len(validation)
    assert "test_bleu" not in results["metrics"]
    table = (tmp_path / "tune_decoding" / "smoke" / "search.md").read_text()
    assert table.count("\n") == 2 + len(settings)


def test_score_test_decodes_the_test_split_with_the_best_setting(
    translator_run, tiny_fra_eng_dir, tmp_path, monkeypatch
):
    folder, corpus = translator_run
    texts = decoded_texts(monkeypatch)
    metrics = search(tmp_path, folder, tiny_fra_eng_dir, "--score-test")["metrics"]
    test = [source for source, _ in corpus.test_references]
    assert metrics["test_sources"] == len(test) > 0
    assert set(texts[-len(test) :]) == set(test)
    assert 0 <= metrics["test_bleu"] <= 100


def test_a_folder_that_is_not_a_translator_run_is_one_line(tmp_path, tiny_fra_eng_dir, capsys):
    with pytest.raises(SystemExit):
        search(tmp_path, tmp_path, tiny_fra_eng_dir)
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert f"{tmp_path} holds no results.json" in error
