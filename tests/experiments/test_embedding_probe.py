"""End-to-end runs of `python -m experiments.embedding_probe`: tiny random models (smoke), and
saved word2vec, LSTM and BERT runs read from disk."""

import json

import numpy as np
import pytest
from matplotlib.image import imread

from experiments import embedding_probe, word2vec_imdb
from keras_bert_lab.analysis import probe
from keras_bert_lab.export.raw_text import raw_text_classifier
from keras_bert_lab.models.bert import BertClassifier, BertEncoder
from keras_bert_lab.models.lstm import build_lstm_classifier
from keras_bert_lab.text.vocabulary import (
    make_wordpiece_tokenizer,
    train_word_vocabulary,
    train_wordpiece_vocabulary,
)

TEXTS = [o.text for o in probe.load_probe_set()]


def run_probe(logdir, *flags):
    return embedding_probe.main(["--logdir", str(logdir), *flags])


def tiny_encoder(vocabulary_size):
    return BertEncoder(
        vocabulary_size,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=64,
        dropout=0.0,
    )


@pytest.fixture(scope="module")
def saved_runs(tiny_imdb_dir, tmp_path_factory):
    """A word2vec smoke run, an LSTM and a BERT raw-text classifier, a bare BERT encoder and
    its vocabulary file."""
    root = tmp_path_factory.mktemp("runs")
    word2vec_imdb.main(
        ["--preset", "smoke", "--data-dir", str(tiny_imdb_dir), "--logdir", str(root), "--quiet"]
    )
    words = train_word_vocabulary(TEXTS, 500, lowercase=True)
    lstm = raw_text_classifier(
        build_lstm_classifier(len(words), 8, 4, pooling="mean"),
        make_wordpiece_tokenizer(words, lowercase=True),
        sequence_length=64,
        bert_inputs=False,
    )
    (root / "lstm").mkdir()
    lstm.save(root / "lstm" / "model.keras")
    pieces = train_wordpiece_vocabulary(TEXTS, 400, lowercase=True)
    bert = raw_text_classifier(
        BertClassifier(tiny_encoder(len(pieces))),
        make_wordpiece_tokenizer(pieces, lowercase=True),
        sequence_length=64,
        bert_inputs=True,
    )
    bert.save(root / "bert.keras")
    tiny_encoder(len(pieces)).save(root / "encoder.keras")
    (root / "vocabulary.txt").write_text("".join(token + "\n" for token in pieces))
    return root


def test_smoke_run_on_tiny_random_models(tmp_path):
    results = run_probe(tmp_path, "--preset", "smoke")
    run_dir = tmp_path / "embedding_probe" / "smoke"
    sources = results["sources"]
    assert json.loads((run_dir / "results.json").read_text())["sources"] == sources
    assert list(sources) == [
        "word2vec",
        "lstm_embedding",
        "lstm_layer_1",
        "lstm_layer_2",
        "bert_token_embedding",
        "bert_embeddings",
        "bert_layer_1",
        "bert_layer_2",
    ]
    assert results["sentences"] == 220 and results["words"] == 22
    for name, row in sources.items():
        if row["static"]:
            assert row["within"] == row["across"] == 1.0 and row["separation"] == 0.0, name
        else:
            assert row["within"] < 1.0 and row["across"] < 1.0, name
    table = (run_dir / "probe_results.md").read_text().splitlines()
    assert len(table) == 2 + len(sources) and "| word2vec | static | 1.000 | 1.000 |" in table[2]
    assert imread(run_dir / "separation.png").ndim == 3
    config = (run_dir / "projector" / "projector_config.pbtxt").read_text()
    assert config.count("embeddings {") == len(sources)
    per_word = json.loads((run_dir / "per_word.json").read_text())
    assert set(per_word["bert_layer_2"]) >= {"plot", "star", "cast", "character", "scene"}


def test_probe_of_saved_runs(saved_runs, tmp_path):
    results = run_probe(
        tmp_path,
        "--preset",
        "cpu",
        "--word2vec",
        str(saved_runs / "word2vec_imdb" / "smoke"),
        "--lstm",
        str(saved_runs / "lstm"),
        "--bert",
        str(saved_runs / "bert.keras"),
    )
    sources = results["sources"]
    assert list(sources) == [
        "word2vec",
        "lstm_embedding",
        "lstm_layer_1",
        "bert_token_embedding",
        "bert_embeddings",
        "bert_layer_1",
        "bert_layer_2",
    ]
    # The tiny IMDB knows "plot" and "scene" but not "bank": [UNK] in every sentence.
    assert "bank" in sources["word2vec"]["unknown_words"]
    assert "plot" not in sources["word2vec"]["unknown_words"]
    assert sources["word2vec"]["within"] == sources["word2vec"]["across"] == 1.0

    # The word2vec vectors of "plot" are the saved table's row.
    run_dir = saved_runs / "word2vec_imdb" / "smoke"
    vocabulary = (run_dir / "vocabulary.txt").read_text().splitlines()
    table = np.load(run_dir / "vectors.npy")
    projected = np.loadtxt(
        tmp_path / "embedding_probe" / "cpu" / "projector" / "vectors_word2vec.tsv", delimiter="\t"
    )
    np.testing.assert_allclose(projected[0], table[vocabulary.index("plot")], rtol=1e-5)


def test_bert_encoder_file_with_its_vocabulary(saved_runs, tmp_path, capsys):
    encoder = str(saved_runs / "encoder.keras")
    with pytest.raises(SystemExit) as exit_info:
        run_probe(tmp_path, "--bert", encoder)
    assert exit_info.value.code == 2
    assert "has no tokenizer: give its WordPiece vocabulary file" in capsys.readouterr().err
    results = run_probe(
        tmp_path, "--bert", encoder, "--bert-vocabulary", str(saved_runs / "vocabulary.txt")
    )
    assert list(results["sources"])[-1] == "bert_layer_2"


def test_a_real_checkpoint_is_probed_beside_the_bert_trained_here(
    saved_runs, hugging_face_bert_dir, tmp_path
):
    results = run_probe(
        tmp_path,
        "--bert",
        str(saved_runs / "bert.keras"),
        "--real-bert",
        str(hugging_face_bert_dir),
    )
    sources = results["sources"]
    assert list(sources)[4:] == [
        "real_bert_token_embedding",
        "real_bert_embeddings",
        "real_bert_layer_1",
        "real_bert_layer_2",
    ]
    assert {row["family"] for name, row in sources.items() if name.startswith("bert_")} == {"bert"}
    real = {name: row for name, row in sources.items() if name.startswith("real_bert_")}
    assert {row["family"] for row in real.values()} == {"real checkpoint"}
    assert real["real_bert_token_embedding"]["static"] and not real["real_bert_layer_2"]["static"]
    # Its own vocabulary (Hugging Face ids), not the one of the BERT trained here.
    assert real["real_bert_layer_2"]["within"] != sources["bert_layer_2"]["within"]
    assert results["inputs"]["real_bert"] == str(hugging_face_bert_dir)


@pytest.mark.parametrize(
    "flags, message",
    [
        ([], "give at least one of --word2vec, --lstm, --bert, --real-bert"),
        (["--lstm", "/nonexistent/run"], "/nonexistent/run does not exist"),
        (["--word2vec", "/tmp"], "/tmp is not a word2vec run folder"),
        (["--preset", "smoke", "--probe-set", "/nonexistent.json"], "json does not exist"),
        (["--set", "batch_sise=3"], "expected FIELD=VALUE"),
    ],
)
def test_bad_flags_are_one_clear_line(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        run_probe(tmp_path, *flags)
    assert exit_info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], errors


def test_an_lstm_path_holding_bert_is_refused(saved_runs, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_probe(tmp_path, "--lstm", str(saved_runs / "bert.keras"))
    assert "is not a raw-text LSTM classifier" in capsys.readouterr().err
