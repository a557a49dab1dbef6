"""The study's stages: what each needs, and the time each still needs."""

import dataclasses
import json

import pytest
import tensorflow as tf

from keras_bert_lab.presets.study import IMDB_STUDY_PRESETS
from keras_bert_lab.tasks import study
from keras_bert_lab.tasks.study import (
    pace,
    seconds_left,
    select_stages,
    stage_times,
    study_stages,
)


def stages(tmp_path):
    return study_stages("cpu", tmp_path, IMDB_STUDY_PRESETS["cpu"], init_from="some-preset")


def test_a_stage_brings_every_stage_it_needs_in_the_studys_order(tmp_path):
    chosen = select_stages(stages(tmp_path), ["bert_pretrained"])
    assert [stage.name for stage in chosen] == [
        "bert_pretrain_128",
        "bert_pretrain_256",
        "bert_pretrained",
    ]
    with pytest.raises(ValueError, match="no stage bert; the stages are ngrams, word2vec"):
        select_stages(stages(tmp_path), ["bert"])


def test_the_real_checkpoint_is_fine_tuned_with_berts_linear_decay(tmp_path):
    real = stages(tmp_path)[-1]
    assert real.name == "bert_real_checkpoint" and real.flags == ("--init-from", "some-preset")
    assert real.settings["learning_rate_decay"] == "linear"
    assert real.settings["learning_rate"] == 5e-5 and real.settings["sequence_length"] == 512


def test_the_real_checkpoint_reads_its_own_window_where_the_recipe_gives_one(tmp_path):
    recipe = dataclasses.replace(
        IMDB_STUDY_PRESETS["cpu"],
        real_checkpoint_sequence_length=512,
        real_checkpoint_tail_length=0,
        real_checkpoint_precision="mixed_bfloat16",
    )
    by_name = {stage.name: stage for stage in study_stages("cpu", tmp_path, recipe, "x")}
    real = by_name["bert_real_checkpoint"].settings
    assert (real["sequence_length"], real["tail_length"]) == (512, 0)
    assert real["precision"] == "mixed_bfloat16"
    # The encoders pre-trained here keep the study's window (their position tables end there).
    scratch = by_name["bert_scratch"].settings
    assert (scratch["sequence_length"], scratch["tail_length"]) == (256, 192)
    assert "precision" not in scratch


def test_the_probe_reads_the_real_checkpoint_when_there_is_one(tmp_path, monkeypatch):
    (probe,) = [stage for stage in stages(tmp_path) if stage.name == "probe"]
    assert probe.flags[-2:] == ("--real-bert", "some-preset")
    assert probe.needs == ("word2vec", "lstm", "bert_pretrain_256")
    monkeypatch.setattr(study, "minilm_folder", lambda: None)  # As where it is not installed.
    without = study_stages("cpu", tmp_path, IMDB_STUDY_PRESETS["cpu"])
    (probe,) = [stage for stage in without if stage.name == "probe"]
    assert "--real-bert" not in probe.flags and "--bert" in probe.flags
    assert without[-1].skipped.startswith("no real checkpoint")


def finish(stage, logdir, seconds, steps):
    stage.run_dir(logdir).mkdir(parents=True)
    results = {"wall_time_seconds": 1.0, "total_wall_time_seconds": seconds}
    results["metrics"] = {"optimizer_steps": steps}
    (stage.run_dir(logdir) / "results.json").write_text(json.dumps(results))


def test_the_time_left_is_the_measured_time_of_what_is_not_done(tmp_path):
    by_name = {stage.name: stage for stage in stages(tmp_path)}
    measured, here = tmp_path / "measured", tmp_path / "here"
    finish(by_name["ngrams"], measured, 60.0, 1000)
    finish(by_name["bert_pretrain_128"], measured, 3000.0, 16000)
    reference = stage_times(by_name.values(), measured)
    assert reference == {
        "ngrams": {
            "seconds": 60.0,
            "optimizer_steps": 1000,
            "run_dir": f"{measured}/imdb_ngrams/cpu",
        },
        "bert_pretrain_128": {
            "seconds": 3000.0,
            "optimizer_steps": 16000,
            "run_dir": f"{measured}/bert_pretrain/cpu",
        },
    }

    finish(by_name["ngrams"], here, 50.0, 1000)
    assert seconds_left(by_name["ngrams"], here, reference) == 0.0  # Finished.
    pretraining = by_name["bert_pretrain_128"]
    assert seconds_left(pretraining, here, reference) == 3000.0  # New.
    # Resumes from step 4,000 of 16,000: three quarters left.
    checkpoint = tf.train.Checkpoint(step=tf.Variable(0))
    manager = tf.train.CheckpointManager(checkpoint, pretraining.run_dir(here) / "checkpoints", 2)
    manager.save(checkpoint_number=4000)
    assert seconds_left(pretraining, here, reference) == pytest.approx(2250.0)
    assert seconds_left(by_name["word2vec"], here, reference) is None  # Never measured.


def test_the_pace_is_this_machines_time_over_the_measured_once_it_adds_up(tmp_path):
    by_name = {stage.name: stage for stage in stages(tmp_path)}
    measured, here = tmp_path / "measured", tmp_path / "here"
    finish(by_name["ngrams"], measured, 60.0, 1000)
    finish(by_name["word2vec"], measured, 1200.0, 5000)
    reference = stage_times(by_name.values(), measured)
    assert pace(by_name.values(), here, reference) is None  # Nothing finished here yet.
    finish(by_name["ngrams"], here, 150.0, 1000)
    assert pace(by_name.values(), here, reference) is None  # 60 s measured: mostly start-up.
    finish(by_name["word2vec"], here, 2370.0, 5000)
    finish(by_name["lstm"], here, 400.0, 2000)  # Not in the reference: left out.
    assert pace(by_name.values(), here, reference) == pytest.approx(2520.0 / 1260.0)
