"""Resuming from the newest intact checkpoint when the newest ones are damaged."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.training import checkpoints
from keras_bert_lab.training.checkpoints import CheckpointError
from tests.training.test_loop import GLOBAL_BATCH, dataset, make_trainer

DATA = "ckpt-8.data-00000-of-00001"
INDEX = "ckpt-8.index"


def train(run_dir, epochs=2, dropout=0.0):
    """8 steps (64 examples, batch 16, 2 epochs), a checkpoint every 2: ckpt-6 and ckpt-8 kept."""
    trainer = make_trainer(tf.distribute.get_strategy(), run_dir, dropout=dropout)
    trainer.fit(dataset().shuffle(64, seed=3).batch(GLOBAL_BATCH), epochs=epochs)
    return trainer


def truncate(path, size):
    with open(path, "r+b") as file:
        file.truncate(size)


def flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGES = {
    "data cut in half": (DATA, lambda path: truncate(path, path.stat().st_size // 2)),
    "data short by one byte": (DATA, lambda path: truncate(path, path.stat().st_size - 1)),
    "data emptied": (DATA, lambda path: truncate(path, 0)),
    "data shard deleted": (DATA, os.remove),
    "data byte flipped": (DATA, flip_a_byte),
    "index emptied": (INDEX, lambda path: truncate(path, 0)),
    "index cut in half": (INDEX, lambda path: truncate(path, path.stat().st_size // 2)),
    "index deleted": (INDEX, os.remove),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_newest_checkpoint_resumes_from_the_older_one_with_one_warning(
    tmp_path, capsys, damage
):
    train(tmp_path)
    name, damage_file = DAMAGES[damage]
    bad_file = tmp_path / "checkpoints" / name
    damage_file(bad_file)
    capsys.readouterr()

    resumed = make_trainer(tf.distribute.get_strategy(), tmp_path)
    assert resumed.restore() == 6
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"warning: damaged checkpoint {bad_file} (")
    assert lines[0].endswith("; resuming from the older ckpt-6")


def test_training_resumed_past_a_damaged_checkpoint_ends_as_an_uninterrupted_run(tmp_path):
    uninterrupted = train(tmp_path / "uninterrupted", epochs=3, dropout=0.5)
    train(tmp_path / "damaged", epochs=2, dropout=0.5)
    truncate(tmp_path / "damaged" / "checkpoints" / DATA, 100)
    resumed = train(tmp_path / "damaged", epochs=3, dropout=0.5)
    assert int(resumed.step.numpy()) == 12
    for expected, actual in zip(uninterrupted.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(actual, expected)
    # The damaged checkpoint was written over when step 8 came round again.
    assert checkpoints.find_damage(str(tmp_path / "damaged" / "checkpoints" / "ckpt-12")) is None


def test_when_every_checkpoint_is_damaged_the_run_stops_with_one_line(tmp_path):
    train(tmp_path)
    folder = tmp_path / "checkpoints"
    truncate(folder / DATA, 0)
    os.remove(folder / "ckpt-6.index")
    trainer = make_trainer(tf.distribute.get_strategy(), tmp_path)
    with pytest.raises(CheckpointError) as raised:
        trainer.restore()
    message = str(raised.value)
    assert "\n" not in message
    assert str(folder / DATA) in message and str(folder / "ckpt-6.index") in message
    assert message.endswith("move the folder away to train again from step 0")
    assert int(trainer.step.numpy()) == 0


def test_an_intact_checkpoint_has_no_damage_and_no_warning(tmp_path, capsys):
    train(tmp_path)
    assert checkpoints.listed_checkpoints(str(tmp_path / "checkpoints")) == [
        str(tmp_path / "checkpoints" / "ckpt-8"),
        str(tmp_path / "checkpoints" / "ckpt-6"),
    ]
    capsys.readouterr()
    assert make_trainer(tf.distribute.get_strategy(), tmp_path).restore() == 8
    assert capsys.readouterr().err == ""


def test_a_fresh_folder_has_no_resume_point(tmp_path):
    assert checkpoints.resume_point(str(tmp_path)) is None


def test_a_checkpoint_of_an_earlier_version_still_restores(tmp_path):
    """Checkpoints written before the model's seed counters, the last epoch end and the epoch
    logs were saved restore the rest; such a checkpoint was saved after its epoch's end, if at
    one."""
    trainer = make_trainer(tf.distribute.get_strategy(), tmp_path, dropout=0.5)
    later = (checkpoints.MODEL_STATE, checkpoints.LAST_EPOCH_END, checkpoints.EPOCH_LOGS)
    old = {key: value for key, value in trainer._checkpointed.items() if key not in later}
    trainer.step.assign(8)
    tf.train.Checkpoint(**old).save(str(tmp_path / "checkpoints" / "ckpt"))
    trainer.step.assign(0)
    assert trainer.restore() == 8 and int(trainer.last_epoch_end.numpy()) == 8
