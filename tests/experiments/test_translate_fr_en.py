"""End-to-end runs of `python -m experiments.translate_fr_en` on a tiny
fra-eng corpus: one device, two mirrored replicas, two worker processes."""

import json
import subprocess
import sys
import textwrap

from tensorboard.backend.event_processing import event_accumulator

from experiments import translate_fr_en
from tests.experiments import cluster

METRICS = (
    "test_bleu_greedy",
    "test_bleu_beam",
    "test_chrf_greedy",
    "test_chrf_beam",
    "test_bleu_retrieval",
    "test_chrf_retrieval",
    "test_bleu_beam_words_1_5",
    "test_sources_words_1_5",
    "validation_loss",
    "validation_accuracy",
    "parameters",
    "train_examples_per_second",
    "optimizer_steps",
    "decode_greedy_cached_sentences_per_second",
    "decode_greedy_cached_tokens_per_second",
    "decode_greedy_uncached_sentences_per_second",
    "decode_greedy_uncached_tokens_per_second",
    "decode_beam_cached_sentences_per_second",
    "decode_beam_uncached_sentences_per_second",
)


def smoke_args(data_dir, logdir, *extra):
    return [
        "--preset",
        "smoke",
        "--data-dir",
        str(data_dir),
        "--logdir",
        str(logdir),
        "--quiet",
        *extra,
    ]


def summaries(folder):
    """`{tag: plugin name}` of the TensorBoard events in `folder`."""
    events = event_accumulator.EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return {
        tag: events.SummaryMetadata(tag).plugin_data.plugin_name for tag in events.Tags()["tensors"]
    }


def assert_complete_results(run_dir, results, replicas):
    on_disk = json.loads((run_dir / "results.json").read_text())
    assert on_disk["metrics"] == results["metrics"]
    for key in METRICS:
        assert on_disk["metrics"][key] is not None, key
    # 3 distinct test sources in the tiny corpus (default, hard split), one reference each.
    assert on_disk["metrics"]["test_sources"] == 3
    assert on_disk["metrics"]["test_references"] == 3
    assert on_disk["metrics"]["optimizer_steps"] == 60
    assert on_disk["replicas"] == replicas
    assert on_disk["bleu_greedy"].startswith("BLEU = ")
    assert len(on_disk["examples"]) == 3
    for key in (
        "config",
        "data_source",
        "strategy",
        "wall_time_seconds",
        "git_commit",
        "command",
        "history",
    ):
        assert key in on_disk, key
    assert (run_dir / "translation_pipeline.keras").is_file()
    assert (run_dir / "saved_model" / "saved_model.pb").is_file()
    vocabularies = ["shared"] if on_disk["config"]["shared_vocabulary"] else ["english", "french"]
    assert sorted(path.name.split("-")[0] for path in (run_dir / "vocabulary").glob("*.txt")) == (
        vocabularies
    )


def test_smoke_run_trains_logs_saves_and_reloads(tiny_fra_eng_dir, tmp_path):
    # XLA decoding here (the real presets' path, SavedModel included); the
    # distributed runs below decode without it, for speed.
    results = translate_fr_en.main(
        smoke_args(tiny_fra_eng_dir, tmp_path, "--set", "xla_decoding=true")
    )
    run_dir = tmp_path / "translate_fr_en" / "smoke"
    assert_complete_results(run_dir, results, replicas=1)

    train = summaries(run_dir / "train")
    assert {"loss", "accuracy", "learning_rate", "examples_per_second"} <= set(train)
    assert {"loss", "accuracy"} <= set(summaries(run_dir / "validation"))
    examples = summaries(run_dir / "examples")
    assert examples["translations"] == "text"
    assert examples["cross_attention/0"] == "images"
    assert examples["cross_attention/1"] == "images"
    assert "_hparams_/session_start_info" in summaries(run_dir)

    # In a fresh process: the .keras pipeline translates raw strings, and
    # the SavedModel signatures give the same text, empty and over-long
    # sources included.
    script = textwrap.dedent(f"""
        import keras, tensorflow as tf
        import keras_bert_lab  # registers the classes of the saved pipeline
        texts = ["Je vois.", "J'ai froid.", "", "Je sais " * 3000]
        pipeline = keras.saving.load_model({str(run_dir / "translation_pipeline.keras")!r})
        greedy = pipeline.translate(texts, method="greedy")
        beam = pipeline.translate(texts, method="beam")
        assert all(isinstance(text, str) for text in greedy + beam)
        assert greedy[2] == beam[2] == ""
        exported = tf.saved_model.load({str(run_dir / "saved_model")!r})
        def served(signature, batch):
            return [t.decode("utf-8") for t in signature(tf.constant(batch, tf.string)).numpy()]
        assert served(exported.greedy, texts) == greedy, (served(exported.greedy, texts), greedy)
        assert served(exported.serve, texts) == beam, (served(exported.serve, texts), beam)
        assert served(exported.greedy, []) == []
        print("RAW STRINGS OK", greedy)
    """)
    process = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env=cluster.environment(),
    )
    assert "RAW STRINGS OK" in process.stdout, process.stderr[-3000:]


def test_mirrored_over_two_logical_cpus_shared_vocabulary_rsqrt_decay(tiny_fra_eng_dir, tmp_path):
    results = translate_fr_en.main(
        smoke_args(
            tiny_fra_eng_dir,
            tmp_path,
            *("--strategy", "mirrored", "--cpu-devices", "2"),
            *("--set", "shared_vocabulary=true", "--set", "learning_rate_decay=rsqrt"),
        )
    )
    assert results["strategy"] == "mirrored"
    assert results["hparams"]["global_batch_size"] == 16
    run_dir = tmp_path / "translate_fr_en" / "smoke"
    assert_complete_results(run_dir, results, 2)  # One vocabulary file.
    metrics = results["metrics"]
    assert metrics["source_vocabulary_size"] == metrics["target_vocabulary_size"]


def test_multi_worker_cluster_of_two_processes(tiny_fra_eng_dir, tmp_path):
    workers = cluster.start_cluster(
        "translate_fr_en",
        smoke_args(tiny_fra_eng_dir, tmp_path / "logs", "--strategy", "multi_worker"),
        tmp_path,
    )
    try:
        codes = [worker.wait(timeout=300) for worker in workers]
    finally:
        cluster.stop(workers)
    logs = [(tmp_path / f"worker{i}.log").read_text()[-3000:] for i in range(2)]
    assert codes == [0, 0], logs
    run_dir = tmp_path / "logs" / "translate_fr_en" / "smoke"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["strategy"] == "multi_worker"
    assert_complete_results(run_dir, results, replicas=2)
