"""Atomic writes (a failed or disk-full write leaves the previous file intact), and the
policy that `--precision auto` chooses."""

import errno
import types
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_bert_lab import utils


def test_text_and_json_are_written_whole(tmp_path):
    utils.write_json_atomically(tmp_path / "a" / "results.json", {"b": 1, "a": [2]})
    assert (
        tmp_path / "a" / "results.json"
    ).read_text() == '{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'
    assert [path.name for path in (tmp_path / "a").iterdir()] == ["results.json"]


def test_a_failed_write_leaves_the_previous_file_and_no_partial(tmp_path):
    path = tmp_path / "results.json"
    utils.write_text_atomically(path, "good\n")
    with pytest.raises(RuntimeError, match="broken"), utils.atomic_path(path) as partial:
        partial.write_text("half")
        raise RuntimeError("broken writer")
    assert path.read_text() == "good\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["results.json"]


def _model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


def test_disk_full_while_saving_a_model_is_one_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    model = _model()
    utils.save_keras_atomically(model, path)
    before = path.read_bytes()

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", full_disk)
    with pytest.raises(utils.DiskFullError) as error:
        utils.save_keras_atomically(model, path)
    message = str(error.value)
    assert "\n" not in message and str(path) in message and "intact" in message
    assert path.read_bytes() == before
    assert [entry.name for entry in tmp_path.iterdir()] == ["model.keras"]


def test_disk_full_wrapped_by_another_error_is_recognised(tmp_path):
    path = tmp_path / "weights.h5"
    with pytest.raises(utils.DiskFullError), utils.atomic_path(path) as partial:
        partial.write_bytes(b"x")
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as cause:
            raise ValueError("h5py could not write") from cause
    assert not path.exists()


def test_a_directory_is_swapped_in_whole(tmp_path):
    target = tmp_path / "saved_model"
    with utils.atomic_directory(target) as folder:
        (folder / "a").write_text("first")
    with pytest.raises(RuntimeError), utils.atomic_directory(target) as folder:
        (folder / "a").write_text("second, unfinished")
        raise RuntimeError("export failed")
    assert (target / "a").read_text() == "first"
    with utils.atomic_directory(target) as folder:
        (folder / "b").write_text("second")
    assert sorted(entry.name for entry in target.iterdir()) == ["b"]
    assert [entry.name for entry in tmp_path.iterdir()] == ["saved_model"]
    np.testing.assert_equal(utils.one_line("a\n  b\tc"), "a b c")


def test_a_folder_is_removed_whole(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "ckpt-1.index").write_text("x")
    utils.remove_directory(run_dir)
    assert list(tmp_path.iterdir()) == []
    utils.remove_directory(run_dir)  # Nothing there: nothing to do.


def test_progress_prints_a_line_every_so_often():
    now, lines = [0.0], []
    progress = utils.Progress(
        "test scoring", 1000, every=30, clock=lambda: now[0], log=lines.append
    )
    for _ in range(10):
        now[0] += 10
        progress.advance(100)
    # At 30, 60 and 90 s; a loop shorter than `every` prints nothing.
    assert lines == [
        "test scoring: 300/1,000 (30%), 30 s",
        "test scoring: 600/1,000 (60%), 60 s",
        "test scoring: 900/1,000 (90%), 90 s",
    ]


def test_the_machine_description_names_the_cpus_matmul_instruction_sets():
    features = utils.machine_description()["cpu_features"]
    assert set(features) <= set(utils.MATMUL_FEATURES)
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        flags = set(
            next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags"))
            .split(":", 1)[1]
            .split()
        )
        assert features == [feature for feature in utils.MATMUL_FEATURES if feature in flags]


def test_auto_precision_is_bfloat16_beside_an_accelerator(monkeypatch):
    gpu = types.SimpleNamespace(device_type="GPU", name="/device:GPU:0")
    monkeypatch.setattr(utils.tf.config, "list_physical_devices", lambda: [gpu])
    monkeypatch.setattr(utils, "_cpu_features", lambda: ["avx2", "fma"])
    assert utils.resolve_precision("auto") == (
        "mixed_bfloat16",
        "--precision auto: mixed_bfloat16, beside an accelerator",
    )
    assert utils.resolve_precision("mixed_bfloat16") == ("mixed_bfloat16", None)
