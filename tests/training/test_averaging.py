"""Checkpoint averaging: the kept epoch weights, and their mean loaded into the model."""

import keras
import numpy as np
import pytest

from keras_bert_lab.training.averaging import FOLDER, EpochWeights, average_weights


class Counter(keras.layers.Layer):
    """Adds a float weight to its input and holds an integer one, as a seed counter is."""

    def build(self, input_shape):
        self.offset = self.add_weight(shape=(), initializer="zeros", name="offset")
        self.count = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="count"
        )

    def call(self, inputs):
        return inputs + self.offset


def model_of():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1), Counter()])


def set_all(model, value):
    """Every float weight to `value`, the integer one to `10 * value`."""
    model.set_weights(
        [np.full_like(w, value if w.dtype.kind == "f" else 10 * value) for w in model.get_weights()]
    )


def test_only_the_newest_epochs_are_kept_and_only_by_the_chief(tmp_path):
    model = model_of()
    keep_two = EpochWeights(model, tmp_path / "chief", keep=2, chief=True)
    worker = EpochWeights(model, tmp_path / "worker", keep=2, chief=False)
    for epoch in range(4):
        keep_two(epoch, {})
        worker(epoch, {})
    names = [path.name for path in keep_two.paths()]
    assert names == ["epoch-0003.weights.h5", "epoch-0004.weights.h5"]
    assert keep_two.paths()[0].parent == tmp_path / "chief" / FOLDER
    assert not (tmp_path / "worker").exists() and worker.paths() == []


def test_the_mean_of_float_weights_and_the_last_files_integer_ones(tmp_path):
    model = model_of()
    saver = EpochWeights(model, tmp_path, keep=3, chief=True)
    for epoch, value in enumerate([1, 2, 6]):
        set_all(model, value)
        saver(epoch, {})
    set_all(model, 100)
    average_weights(model, saver.paths())
    for weight in model.weights:
        expected = 3.0 if weight.dtype == "float32" else 60
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(weight), expected)
        assert weight.dtype in ("float32", "int32")
    with pytest.raises(ValueError, match="at least one"):
        average_weights(model, [])
