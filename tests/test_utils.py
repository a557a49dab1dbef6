"""Atomic writes: a failed or disk-full write leaves the previous file intact."""

import errno

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
