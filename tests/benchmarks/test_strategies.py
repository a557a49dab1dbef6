"""`experiments.strategy_benchmark` end to end on the tiny preset."""

import json

from experiments import strategy_benchmark
from keras_bert_lab.presets import STRATEGY_BENCHMARK_PRESETS


def test_every_strategy_and_the_resume_are_measured(tmp_path):
    config = STRATEGY_BENCHMARK_PRESETS["tiny"]
    results = strategy_benchmark.main(
        [
            "--preset",
            "tiny",
            "--json",
            str(tmp_path / "out.json"),
            "--markdown",
            str(tmp_path / "out.md"),
        ]
    )
    assert json.loads((tmp_path / "out.json").read_text())["strategies"].keys() == {
        "default",
        "mirrored",
        "multi_worker",
    }
    strategies = results["strategies"]
    assert [strategies[name]["replicas"] for name in ("default", "mirrored", "multi_worker")] == [
        1,
        2,
        2,
    ]
    assert strategies["default"]["step_time_ratio_to_default"] == 1.0
    for result in strategies.values():
        assert result["start_step"] == 0 and result["seconds_per_step"] > 0
        assert len(result["epoch_seconds"]) == config.repetitions + 1
    resume = results["resume"]
    # The restarted process found the first run's last checkpoint and trained one more epoch.
    assert resume["start_step"] == config.steps * (config.repetitions + 1)
    assert len(resume["epoch_seconds"]) == 1 and resume["restart_seconds"] > 0
    assert "| multi_worker | 2 |" in (tmp_path / "out.md").read_text()
