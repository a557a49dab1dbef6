"""The flags and `results.json` of the analysis experiments."""

import dataclasses
import json

from keras_bert_lab.analysis.runs import AnalysisRun, analysis_parser


@dataclasses.dataclass(frozen=True)
class Preset:
    batch_size: int = 4
    random_models: bool = False


PRESETS = {"smoke": Preset(random_models=True), "cpu": Preset()}


def test_flags_and_results_json(tmp_path):
    parser = analysis_parser("test", PRESETS)
    flags = {action.dest for action in parser._actions} - {"help"}
    assert flags == {"preset", "logdir", "run_name", "seed", "batch_size", "set", "verbose"}
    argv = ["--preset", "smoke", "--logdir", str(tmp_path), "--batch-size", "2"]
    run = AnalysisRun.start("probe", parser, PRESETS, argv)
    assert run.config == Preset(batch_size=2, random_models=True)
    results = run.write_results({"separation": 0.1}, extra={"sources": {}})
    assert json.loads((tmp_path / "probe" / "smoke" / "results.json").read_text()) == results
    assert set(results) == {
        "experiment",
        "run_name",
        "metrics",
        "config",
        "arguments",
        "preset",
        "seed",
        "wall_time_seconds",
        "total_wall_time_seconds",
        "git_commit",
        "machine",
        "command",
        "finished",
        "sources",
    }
    assert results["command"] == "python -m experiments.probe " + " ".join(argv)
