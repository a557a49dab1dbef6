"""End-to-end runs of `bert_pretrain` and `bert_imdb` on a tiny IMDB.

Each strategy runs each experiment once: pre-training under MirroredStrategy in
`test_pretrain_then_fine_tune` (its second run), fine-tuning under it from a Hugging Face
folder, and a two-process MultiWorkerMirroredStrategy cluster for pre-training and for a
classifier trained from scratch.
"""

import contextlib
import io
import json
import subprocess
import sys
import textwrap

import keras
import keras_hub
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from experiments import bert_imdb, bert_pretrain
from keras_bert_lab.tasks.pretraining import load_pretrained_encoder
from keras_bert_lab.tasks.starting_points import load_bert
from keras_bert_lab.text.special_tokens import bert_special_ids
from tests.experiments import cluster


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


@pytest.fixture(scope="module")
def first_phase(tiny_imdb_dir, tmp_path_factory):
    """`(logdir, results, printed)` of one smoke pre-training run, which the tests below go
    on from."""
    logdir = tmp_path_factory.mktemp("first_phase")
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        results = bert_pretrain.main(smoke_args(tiny_imdb_dir, logdir))
    return logdir, results, printed.getvalue()


# The tests that go on from the first phase run on one pytest-xdist worker, so that it runs once.
goes_on_from_the_first_phase = pytest.mark.xdist_group("bert_first_phase")


@goes_on_from_the_first_phase
def test_pretrain_then_fine_tune(tiny_imdb_dir, first_phase):
    logdir, pretrained, printed = first_phase
    assert "bert_pretrain: MLM accuracy (validation) " in printed
    metrics = pretrained["metrics"]
    for key in (
        "validation_mlm_accuracy",
        "validation_nsp_accuracy",
        "validation_mlm_loss",
        "validation_nsp_loss",
        "optimizer_steps",
    ):
        assert metrics[key] is not None, key
    pretrain_dir = logdir / "bert_pretrain" / "smoke"
    # The examples are cached once per corpus and configuration, outside the run folder.
    assert not list(pretrain_dir.rglob("*.npz"))
    cached = sorted((logdir / "cache" / "bert_pretraining").glob("*.npz"))
    assert [path.name.split("-")[0] for path in cached] == ["train", "validation"]
    mtimes = [path.stat().st_mtime_ns for path in cached]
    # Another run of the same configuration, under MirroredStrategy: it reads the cache.
    mirrored = bert_pretrain.main(
        smoke_args(
            tiny_imdb_dir,
            logdir,
            *("--run-name", "mirrored", "--epochs", "2"),
            *("--strategy", "mirrored", "--cpu-devices", "2"),
        )
    )
    assert mirrored["replicas"] == 2 and mirrored["metrics"]["optimizer_steps"] > 0
    assert sorted((logdir / "cache" / "bert_pretraining").glob("*.npz")) == cached
    assert [path.stat().st_mtime_ns for path in cached] == mtimes  # Read, not rebuilt.
    events = event_accumulator.EventAccumulator(str(pretrain_dir / "train"))
    events.Reload()
    assert {"mlm_loss", "nsp_loss", "mlm_accuracy", "nsp_accuracy", "loss"} <= set(
        events.Tags()["tensors"]
    )

    fine_tuned = bert_imdb.main(smoke_args(tiny_imdb_dir, logdir))
    assert fine_tuned["start_point"] == str(pretrain_dir)
    assert fine_tuned["metrics"]["test_examples"] == 80
    run_dir = logdir / "bert_imdb" / "smoke"
    script = textwrap.dedent(f"""
        import keras, numpy as np, tensorflow as tf
        import keras_bert_lab.models.bert, keras_bert_lab.export.raw_text
        model = keras.saving.load_model({str(run_dir / "model.keras")!r})
        probabilities = np.asarray(model(tf.constant(["Superb!", "", "dull " * 500])))
        assert probabilities.shape == (3, 2) and np.isfinite(probabilities).all()
        print("RAW STRINGS OK")
    """)
    process = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env=cluster.environment(),
    )
    assert "RAW STRINGS OK" in process.stdout, process.stderr[-3000:]


@goes_on_from_the_first_phase
def test_second_phase_goes_on_at_a_longer_length(tiny_imdb_dir, first_phase, tmp_path):
    first_dir = first_phase[0] / "bert_pretrain" / "smoke"
    first, first_vocabulary = load_pretrained_encoder(first_dir)
    bert_pretrain.main(
        smoke_args(
            tiny_imdb_dir,
            tmp_path,
            "--init-from",
            str(first_dir),
            "--run-name",
            "long",
            "--set",
            "sequence_length=48",
        )
    )
    second, second_vocabulary = load_pretrained_encoder(tmp_path / "bert_pretrain" / "long")
    assert second_vocabulary == first_vocabulary
    assert (first.max_sequence_length, second.max_sequence_length) == (32, 48)
    assert not (tmp_path / "bert_pretrain" / "long" / "vocabulary").exists()
    # Trained on: the weights moved away from the first phase's.
    assert not np.array_equal(first.pooled_dense.kernel, second.pooled_dense.kernel)


@pytest.mark.parametrize(
    "folder, message",
    [("missing", "argument --init-from: {} is not a folder"), ("empty", "{} has no encoder.keras")],
)
def test_second_phase_needs_a_finished_first_one(tiny_imdb_dir, tmp_path, capsys, folder, message):
    (tmp_path / "empty").mkdir()
    init_from = str(tmp_path / folder)
    with pytest.raises(SystemExit):
        bert_pretrain.main(smoke_args(tiny_imdb_dir, tmp_path / "logs", "--init-from", init_from))
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message.format(init_from) in errors[0], errors
    assert not (tmp_path / "logs").exists()


def test_fine_tuning_without_a_pretrained_encoder_is_a_clear_error(tiny_imdb_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        bert_imdb.main(smoke_args(tiny_imdb_dir, tmp_path))
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "encoder.keras not found" in errors[0]


@pytest.mark.parametrize(
    "module, extra",
    [
        ("bert_pretrain", []),
        ("bert_imdb", ["--no-pretrain"]),
    ],
)
def test_multi_worker_cluster_of_two_processes(tiny_imdb_dir, tmp_path, module, extra):
    workers = cluster.start_cluster(
        module,
        smoke_args(tiny_imdb_dir, tmp_path / "logs", "--strategy", "multi_worker", *extra),
        tmp_path,
    )
    try:
        codes = [worker.wait(timeout=300) for worker in workers]
    finally:
        cluster.stop(workers)
    logs = [(tmp_path / f"worker{i}.log").read_text()[-3000:] for i in range(2)]
    assert codes == [0, 0], logs
    results = json.loads((tmp_path / "logs" / module / "smoke" / "results.json").read_text())
    assert results["strategy"] == "multi_worker" and results["replicas"] == 2


def test_hugging_face_folder_loads_with_its_own_vocabulary(hugging_face_bert_dir):
    encoder, tokenizer = load_bert(str(hugging_face_bert_dir))
    assert bert_special_ids(tokenizer) == (4, 5)
    backbone = keras_hub.models.BertBackbone.from_preset(str(hugging_face_bert_dir))
    token_ids = np.asarray([[4, 20, 9, 5, 0], [4, 11, 5, 0, 0]], np.int32)
    batch = {
        "token_ids": token_ids,
        "segment_ids": np.zeros_like(token_ids),
        "padding_mask": token_ids != 0,
    }
    ours, theirs = encoder(batch), backbone(batch)
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(ours[key], theirs[key], atol=1e-5)


def test_fine_tune_from_a_hugging_face_folder_under_mirrored(
    tiny_imdb_dir, hugging_face_bert_dir, tmp_path
):
    results = bert_imdb.main(
        smoke_args(
            tiny_imdb_dir,
            tmp_path,
            *("--init-from", str(hugging_face_bert_dir)),
            *("--strategy", "mirrored", "--cpu-devices", "2"),
        )
    )
    assert results["start_point"] == str(hugging_face_bert_dir) and results["replicas"] == 2
    assert results["metrics"]["test_examples"] == 80
    model = keras.saving.load_model(tmp_path / "bert_imdb" / "smoke" / "model.keras")
    assert bert_special_ids(model.tokenizer) == (4, 5)
    assert model.classifier.encoder.hidden_dim == 16


def test_unknown_init_from_is_a_clear_error(tiny_imdb_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        bert_imdb.main(
            smoke_args(tiny_imdb_dir, tmp_path, "--init-from", str(tmp_path / "no_such_folder"))
        )
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "--init-from" in errors[0] and "no_such_folder" in errors[0]
