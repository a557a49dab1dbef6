"""`python -m experiments.soak` on the tiny IMDB: a short soak of a 2-worker cluster."""

import json
import re

from experiments import soak as soak_experiment
from keras_bert_lab.benchmarks import soak


def test_a_tiny_soak_counts_steps_threads_and_memory_of_each_worker(tiny_imdb_dir, tmp_path):
    out = tmp_path / "soak.json"
    results = soak_experiment.main(
        [
            "--data-dir",
            str(tiny_imdb_dir),
            "--steps",
            "30",
            "--steps-per-epoch",
            "10",
            "--checkpoint-every",
            "5",
            "--interval",
            "0.2",
            "--json",
            str(out),
        ]
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(results))
    assert results["optimizer_steps"] == 30 and results["flags"]["epochs"] == 3
    assert len(results["epoch_seconds"]) == 3 and results["steps_per_second"] > 0
    assert len(results["workers"]) == 2
    for worker in results["workers"]:
        # A Python process with TensorFlow loaded has dozens of threads and far more than
        # 100 MiB resident; a thread per collective op would give thousands.
        assert 10 < worker["peak_threads"] < 500, worker["peak_threads"]
        assert worker["peak_rss_mib"] > 100
        assert 0 < len(worker["samples"]) <= soak.MAX_SAMPLES + 1
        assert max(sample["threads"] for sample in worker["samples"]) <= worker["peak_threads"]
    # No folder of this machine in the results: paths are relative to the repository.
    assert not [text for text in strings(results) if re.search(r"(^|[\s=])/\w", text)]
    assert results["command"] == (
        "python -m experiments.soak --checkpoint-every=5 "
        f"--data-dir={soak.relative_to_repository(tiny_imdb_dir)} --interval=0.2 "
        f"--json={soak.relative_to_repository(out)} --steps=30 --steps-per-epoch=10"
    )


def strings(value):
    """Every string in a JSON-like value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [text for item in value for text in strings(item)] if isinstance(value, list) else []
