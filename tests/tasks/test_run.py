"""The run folder, `results.json` and the console lines every training experiment shares; a
finished run is recognised, and started again prints its results without writing."""

import dataclasses
import json

import keras
import pytest
from tensorboard.backend.event_processing import event_accumulator

from keras_bert_lab import utils
from keras_bert_lab.tasks.flags import experiment_parser
from keras_bert_lab.tasks.run import Run, finished_results, headline


@dataclasses.dataclass(frozen=True)
class Preset:
    epochs: int = 2
    batch_size: int = 4
    learning_rate: float = 1e-3
    steps_per_epoch: int | None = None
    units: int = 8
    precision: str = "float32"


PRESETS = {"smoke": Preset(), "cpu": Preset(epochs=5)}


def start(tmp_path, *extra):
    argv = ["--preset", "smoke", "--logdir", str(tmp_path), "--quiet", *extra]
    return Run.start("exp", experiment_parser("test", PRESETS), PRESETS, argv)


def test_results_json(tmp_path, capsys):
    run = start(tmp_path)
    assert run.run_dir == tmp_path / "exp" / "smoke"
    assert not run.run_dir.exists()  # Made by the first write: a failed start leaves none.
    assert capsys.readouterr().out == f"exp: run folder {run.run_dir}\n"
    results = run.write_results({"test_accuracy": 0.5}, extra={"model": "tiny"})
    assert json.loads((run.run_dir / "results.json").read_text()) == results
    assert set(results) == {
        "experiment",
        "run_name",
        "metrics",
        "config",
        "arguments",
        "hparams",
        "strategy",
        "replicas",
        "wall_time_seconds",
        "total_wall_time_seconds",
        "git_commit",
        "machine",
        "command",
        "finished",
        "model",
    }
    assert results["total_wall_time_seconds"] == results["wall_time_seconds"]  # No training.
    assert results["config"] == dataclasses.asdict(Preset())
    assert results["arguments"] == {"global_batch_size": None, "lr_scaling": "sqrt", "seed": 1337}
    assert results["command"].startswith("python -m experiments.exp --checkpoint-every=200 ")
    assert "--quiet" in results["command"].split()
    out = capsys.readouterr().out
    assert out == f"exp: test accuracy 50.00%; {run.run_dir / 'results.json'}\n"


def test_a_finished_run_is_recognised_by_its_results(tmp_path):
    run = start(tmp_path)
    assert finished_results(run.run_dir, "exp", run.config, run.args) is None
    run.write_results({"test_accuracy": 0.5})
    assert finished_results(run.run_dir, "exp", run.config, run.args)["metrics"] == {
        "test_accuracy": 0.5
    }
    assert finished_results(run.run_dir, "other", run.config, run.args) is None
    # A results file that cannot be read is no finished run: the run resumes and rewrites it.
    (run.run_dir / "results.json").write_text('{"experiment": "exp", "metr')
    assert finished_results(run.run_dir, "exp", run.config, run.args) is None


def test_a_finished_run_starts_again_as_a_message_and_status_0(tmp_path, capsys):
    run = start(tmp_path)
    run.write_results({"test_accuracy": 0.875, "test_f1": 0.5})
    before = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")}
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        start(tmp_path)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"exp: {run.run_dir} is finished" in out and "--force" in out
    assert "test accuracy 87.50%, test F1 50.00%" in out
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")} == before

    # Other flags would resume a finished run with another configuration: a flag error.
    with pytest.raises(SystemExit) as exit_info:
        start(tmp_path, "--epochs", "3", "--seed", "7")
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "holds a finished run of other flags (epochs: 2 -> 3; seed: 1337 -> 7)" in error

    # A field added to the preset since the run, at its default, leaves it finished.
    results = json.loads((run.run_dir / "results.json").read_text())
    del results["config"]["units"]
    (run.run_dir / "results.json").write_text(json.dumps(results))
    assert finished_results(run.run_dir, "exp", run.config, run.args) is not None
    other = dataclasses.replace(run.config, units=4)
    with pytest.raises(ValueError, match=r"units: None -> 4"):
        finished_results(run.run_dir, "exp", other, run.args)

    # --force starts from an empty folder.
    (run.run_dir / "checkpoints").mkdir()
    forced = start(tmp_path, "--force")
    assert forced.run_dir == run.run_dir and not run.run_dir.exists()


def test_an_unfinished_run_resumes_only_with_its_own_flags(tmp_path, capsys):
    run = start(tmp_path)
    run.run_dir.mkdir(parents=True)
    run.record_configuration()  # Before its first step; then interrupted.
    recorded = (run.run_dir / "configuration.json").read_text()
    assert start(tmp_path).run_dir == run.run_dir  # The same flags resume it.
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        start(tmp_path, "--set", "units=4")
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "holds an unfinished run of other flags (units: 8 -> 4)" in error
    resumed = start(tmp_path)
    resumed.record_configuration()  # A resumed run keeps the first record.
    assert (run.run_dir / "configuration.json").read_text() == recorded


def test_the_preset_chooses_the_precision_and_the_flag_overrides_it(tmp_path):
    presets = {"smoke": Preset(precision="mixed_bfloat16")}
    parser = experiment_parser("test", presets)
    try:
        argv = ["--preset", "smoke", "--logdir", str(tmp_path), "--quiet"]
        run = Run.start("exp", parser, presets, argv)
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        assert run.hparams()["preset.precision"] == "mixed_bfloat16"
        run = Run.start("exp", parser, presets, [*argv, "--precision", "float32"])
        assert run.config.precision == keras.config.dtype_policy().name == "float32"
    finally:
        keras.config.set_dtype_policy("float32")


SLOWER = (
    "exp: this CPU has no bfloat16 instructions (AVX-512 BF16 or AMX): mixed_bfloat16 "
    "trains slower here than --precision float32"
)
AUTO_FLOAT32 = (
    "exp: --precision auto: float32, no bfloat16 instructions known on this CPU "
    "(AVX-512 BF16 or AMX)"
)


@pytest.mark.parametrize(
    ("cpu_features", "precision", "policy", "line"),
    [
        (["avx2", "fma"], "mixed_bfloat16", "mixed_bfloat16", SLOWER),
        (["avx2", "fma", "avx512f", "avx512_bf16"], "mixed_bfloat16", "mixed_bfloat16", None),
        (["avx2", "fma", "avx512f", "amx_bf16"], "mixed_bfloat16", "mixed_bfloat16", None),
        ([], "mixed_bfloat16", "mixed_bfloat16", None),  # Not x86, or no /proc/cpuinfo.
        (["avx2", "fma"], "auto", "float32", AUTO_FLOAT32),
        (
            ["avx2", "fma", "avx512f", "avx512_bf16"],
            "auto",
            "mixed_bfloat16",
            "exp: --precision auto: mixed_bfloat16, this CPU multiplies bfloat16 natively "
            "(avx512_bf16)",
        ),
        ([], "auto", "float32", AUTO_FLOAT32),
    ],
)
def test_the_precision_line_says_what_bfloat16_costs_and_what_auto_chose(
    tmp_path, capsys, monkeypatch, cpu_features, precision, policy, line
):
    monkeypatch.setattr(utils, "_cpu_features", lambda: cpu_features)
    try:
        run = start(tmp_path, "--precision", precision)
        assert run.config.precision == keras.config.dtype_policy().name == policy
    finally:
        keras.config.set_dtype_policy("float32")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("exp: run folder ")
    assert lines[1:] == ([line] if line else [])


def test_a_run_of_precision_auto_records_the_policy_it_chose(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(utils, "_cpu_features", lambda: ["avx2", "fma"])
    try:
        run = start(tmp_path, "--precision", "auto")
        run.run_dir.mkdir(parents=True)
        run.record_configuration()  # Before its first step; then interrupted.
        recorded = json.loads((run.run_dir / "configuration.json").read_text())
        assert recorded["config"]["precision"] == "float32"
        assert start(tmp_path, "--precision", "auto").run_dir == run.run_dir  # It resumes.
        # Where `auto` chooses bfloat16, resuming would mix two policies: a flag error.
        monkeypatch.setattr(utils, "_cpu_features", lambda: ["avx2", "fma", "avx512_bf16"])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            start(tmp_path, "--precision", "auto")
    finally:
        keras.config.set_dtype_policy("float32")
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "unfinished run of other flags (precision: 'float32' -> 'mixed_bfloat16')" in error


def test_hparams_leave_out_metrics_that_are_not_numbers(tmp_path):
    # A resumed run that trained no step has no speed: `None` made `tf.summary` raise.
    run = start(tmp_path)
    run.log_hparams({"test_accuracy": 0.5, "train_examples_per_second": None, "ok": True})
    events = event_accumulator.EventAccumulator(str(run.run_dir), size_guidance={"tensors": 0})
    events.Reload()
    tags = set(events.Tags()["tensors"])
    assert "test_accuracy" in tags and "train_examples_per_second" not in tags


def test_headline_of_each_kind_of_experiment():
    assert headline({"test_accuracy": 0.87564, "test_f1": 0.8892, "parameters": 10}) == (
        "test accuracy 87.56%, test F1 88.92%"
    )
    assert headline(
        {
            "test_bleu_greedy": 53.31,
            "test_bleu_beam": 54.26,
            "test_chrf_greedy": 65.7,
            "test_chrf_beam": 66.4,
        }
    ) == ("BLEU greedy 53.3, BLEU beam 54.3, chrF greedy 65.7, chrF beam 66.4")
    assert headline({"validation_mlm_accuracy": 0.31, "validation_nsp_accuracy": 0.8}) == (
        "MLM accuracy (validation) 31.00%, NSP accuracy (validation) 80.00%"
    )
    assert headline({"test_accuracy": None}) == ""
