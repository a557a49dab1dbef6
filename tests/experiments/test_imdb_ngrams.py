"""The bag-of-n-grams experiment end to end on a tiny IMDB: trains through the project's loop,
writes results.json, and saves a raw-string `.keras` model that reloads."""

import json

import keras
import numpy as np

import keras_bert_lab  # noqa: F401  (registers the saved model's classes)
from experiments import imdb_ngrams


def test_smoke_run_trains_saves_and_reloads(tiny_imdb_dir, tmp_path):
    imdb_ngrams.main(
        [
            "--preset",
            "smoke",
            "--data-dir",
            str(tiny_imdb_dir),
            "--logdir",
            str(tmp_path),
            "--quiet",
        ]
    )
    run_dir = tmp_path / "imdb_ngrams" / "smoke"
    results = json.loads((run_dir / "results.json").read_text())
    metrics = results["metrics"]
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["optimizer_steps"] > 0
    assert results["model"] == "NBSVM 2-grams"
    model = keras.saving.load_model(run_dir / "model.keras")
    probabilities = np.asarray(model(["a wonderful film", ""]))
    np.testing.assert_allclose(probabilities.sum(-1), 1, atol=1e-6)
    assert model.class_names == ("negative", "positive")
