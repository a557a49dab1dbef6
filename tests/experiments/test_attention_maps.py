"""End-to-end runs of `python -m experiments.attention_maps`."""

import json

import pytest
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator

from experiments import attention_maps
from keras_bert_lab.export.raw_text import raw_text_classifier
from keras_bert_lab.models.bert import BertClassifier, BertEncoder
from keras_bert_lab.models.translator.model import Translator
from keras_bert_lab.models.translator.pipeline import TranslationPipeline
from keras_bert_lab.text.special_tokens import RESERVED_TOKENS
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_wordpiece_vocabulary

SENTENCES = ["The cast was great.", "He wore a cast on his arm."]


def run(logdir, *flags):
    return attention_maps.main(["--logdir", str(logdir), *flags])


def test_smoke_run_draws_every_layer_and_the_head_summary(tmp_path):
    results = run(tmp_path, "--preset", "smoke", "--head-summary", "plot")
    run_dir = tmp_path / "attention_maps" / "smoke"
    records = results["sentences"]
    assert len(records) == 4  # two senses of "plot", two of "star"
    for record in records:
        assert record["tokens"][0] == "[CLS]" and record["tokens"][-1] == "[SEP]"
        assert len(record["files"]) == 2  # the tiny BERT's two layers
        for name in record["files"]:
            with Image.open(run_dir / name) as image:
                assert image.format == "PNG"
    summarised = [r for r in records if "head_summary" in r]
    assert len(summarised) == 2  # the sentences with "plot"
    heads = summarised[0]["head_summary"]["heads"]
    assert len(heads) == 2 * 2 and len(heads[0]["top"]) == 3
    assert (run_dir / summarised[0]["head_summary"]["file"]).is_file()
    assert "| layer | head | attends most to |" in (run_dir / "head_summary.md").read_text()
    assert json.loads((run_dir / "results.json").read_text())["metrics"]["layers"] == 2

    events = event_accumulator.EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    events.Reload()
    assert {
        "attention/sentence_1/layer_1",
        "attention/sentence_4/layer_2",
        "head_summary/sentence_1",
    } <= set(events.Tags()["tensors"])


def test_saved_bert_with_given_sentences_and_a_split_word(tmp_path):
    pieces = train_wordpiece_vocabulary(SENTENCES * 20, 60, lowercase=True)
    encoder = BertEncoder(
        len(pieces),
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        max_sequence_length=32,
        dropout=0.0,
    )
    model = raw_text_classifier(
        BertClassifier(encoder),
        make_wordpiece_tokenizer(pieces, lowercase=True),
        sequence_length=32,
        bert_inputs=True,
    )
    model.save(tmp_path / "bert.keras")
    flags = ["--bert", str(tmp_path / "bert.keras"), "--head-summary", "Great"]
    for sentence in SENTENCES:
        flags += ["--sentence", sentence]
    records = run(tmp_path, *flags)["sentences"]
    assert [r["sentence"] for r in records] == SENTENCES
    assert len(records[0]["files"]) == 1
    position = records[0]["head_summary"]["position"]
    tokens = records[0]["tokens"]
    assert tokens[position] in ("great", "gr", "g")  # the word, or its first piece
    assert "head_summary" not in records[1]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--translator", "/nonexistent.keras"], "/nonexistent.keras does not exist"),
        ([], "give --bert or --translator (or --preset smoke"),
        (["--preset", "smoke", "--head-summary", "zebra"], "'zebra' is in none of the sentences"),
        (["--bert", "/nonexistent.keras"], "/nonexistent.keras does not exist"),
    ],
)
def test_bad_flags_are_one_clear_line(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        run(tmp_path, *flags)
    assert exit_info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], errors


def test_translator_cross_attention(tmp_path):
    french = "le chat dort sur lit".split()
    english = "the cat sleeps on bed".split()
    translator = Translator(
        len(RESERVED_TOKENS) + 5,
        len(RESERVED_TOKENS) + 5,
        sequence_length=8,
        num_layers=2,
        hidden_dim=8,
        num_heads=2,
        intermediate_dim=16,
        dropout=0.0,
    )
    pipeline = TranslationPipeline(
        translator,
        make_wordpiece_tokenizer(list(RESERVED_TOKENS) + french, lowercase=True),
        make_wordpiece_tokenizer(list(RESERVED_TOKENS) + english, lowercase=False),
    )
    pipeline.save(tmp_path / "translation_pipeline.keras")
    records = run(
        tmp_path,
        "--translator",
        str(tmp_path),
        "--sentence",
        "Le chat dort",
        "--sentence",
        "sur le lit",
    )["sentences"]
    run_dir = tmp_path / "attention_maps" / "cpu"
    assert [r["source_tokens"] for r in records] == [["le", "chat", "dort"], ["sur", "le", "lit"]]
    for record in records:
        # The text of the greedy output whose attention is drawn.
        assert record["translation"] == pipeline.translate([record["sentence"]], method="greedy")[0]
        assert len(record["files"]) == 2 and record["files"][0].startswith("cross_attention/")
        with Image.open(run_dir / record["files"][1]) as image:
            assert image.format == "PNG"


def test_translator_with_head_summary_is_one_clear_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(tmp_path, "--translator", str(tmp_path), "--head-summary", "chat")
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "--translator" in errors[0]
