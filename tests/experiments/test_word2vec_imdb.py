"""End-to-end smoke run of `python -m experiments.word2vec_imdb` on a tiny IMDB."""

import json
import math
import shutil

import numpy as np
from tensorboard.backend.event_processing import event_accumulator

from experiments import word2vec_imdb
from keras_bert_lab.tasks.starting_points import load_word2vec

TEST_ONLY_WORD = "testsplitonlyword"


def test_smoke_run_trains_on_train_and_unlabelled_text_only(tiny_imdb_dir, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(tiny_imdb_dir, data_dir)
    for review in (data_dir / "aclImdb" / "test").glob("*/*.txt"):
        review.write_text(review.read_text() + f" {TEST_ONLY_WORD}" * 5)

    results = word2vec_imdb.main(
        [
            "--preset",
            "smoke",
            "--data-dir",
            str(data_dir),
            "--logdir",
            str(tmp_path / "logs"),
            "--quiet",
        ]
    )
    run_dir = tmp_path / "logs" / "word2vec_imdb" / "smoke"
    metrics = json.loads((run_dir / "results.json").read_text())["metrics"]
    assert metrics == results["metrics"]
    assert metrics["texts"] == 72 + 40  # train after the validation carve-out, + unlabelled
    # Two epochs of about one pass over the pairs each, in batches of 64.
    assert metrics["optimizer_steps"] == 2 * math.ceil(metrics["pairs_per_epoch"] / 64)
    losses = [epoch["train_loss"] for epoch in results["history"]]
    assert losses[1] < losses[0]
    assert "plot" in results["nearest_words"]

    vocabulary = (run_dir / "vocabulary.txt").read_text().splitlines()
    assert TEST_ONLY_WORD not in vocabulary and "plot" in vocabulary
    vectors, tokenizer = load_word2vec(run_dir)
    assert vectors.shape == (len(vocabulary), 8) and vectors.dtype == np.float32
    assert tokenizer.token_to_id("plot") == vocabulary.index("plot")

    events = event_accumulator.EventAccumulator(str(run_dir / "train"))
    events.Reload()
    assert {"loss", "accuracy"} <= set(events.Tags()["tensors"])
