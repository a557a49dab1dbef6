"""The flags and `results.json` every training experiment shares."""

import dataclasses
import json

import pytest

from keras_bert_lab.tasks.run import Run, experiment_parser, parse_flags


@dataclasses.dataclass(frozen=True)
class Preset:
    epochs: int = 2
    batch_size: int = 4
    learning_rate: float = 1e-3
    steps_per_epoch: int | None = None
    units: int = 8


PRESETS = {"smoke": Preset(), "cpu": Preset(epochs=5)}


def test_flags_override_the_preset():
    parser = experiment_parser("test", PRESETS)
    args, config = parse_flags(
        parser, PRESETS, ["--preset", "smoke", "--epochs", "3", "--set", "units=16"]
    )
    assert args.preset == "smoke" and args.checkpoint_every == 200
    assert config == Preset(epochs=3, units=16)
    with pytest.raises(SystemExit):
        parse_flags(parser, PRESETS, ["--set", "units=many"])


def test_results_json(tmp_path):
    argv = ["--preset", "smoke", "--logdir", str(tmp_path), "--quiet"]
    run = Run.start("exp", experiment_parser("test", PRESETS), PRESETS, argv)
    assert run.run_dir == tmp_path / "exp" / "smoke" and run.run_dir.is_dir()
    results = run.write_results({"accuracy": 0.5}, "local data", extra={"model": "tiny"})
    assert json.loads((run.run_dir / "results.json").read_text()) == results
    assert set(results) == {
        "experiment",
        "run_name",
        "metrics",
        "config",
        "hparams",
        "data_source",
        "strategy",
        "replicas",
        "wall_time_seconds",
        "git_commit",
        "machine",
        "command",
        "finished",
        "model",
    }
    assert results["config"] == dataclasses.asdict(Preset())
    assert results["command"].startswith("python -m experiments.exp --checkpoint-every=200 ")
    assert "--quiet" in results["command"].split()
