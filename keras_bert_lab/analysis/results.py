"""Results tables from `results.json` files, for the comparison and README."""

import json
from pathlib import Path

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
    ("train_minutes", "Wall time of the last invocation (min)"),
    ("parameters", "Parameters"),
    ("command", "Command"),
)


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
                "preset": result["hparams"]["preset"],
                "strategy": f"{result['strategy']} × {result['replicas']}",
                "tokens": tokens,
                "test_accuracy": metrics.get("test_accuracy"),
                "test_f1": metrics.get("test_f1"),
                "bleu": bleu,
                "pretraining": pretraining,
                "train_minutes": f"{result['wall_time_seconds'] / 60:.1f}",  # Not a rate.
                "parameters": metrics.get("parameters"),
                "command": result["command"],
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


def _cell(value):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{100 * value:.2f}%" if value <= 1 else f"{value:g}"
    return str(value).replace("|", "\\|")


def markdown_table(rows):
    header = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "---|" * len(COLUMNS)
    lines = [header, rule]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[key]) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def load_results(folder):
    """Every `*.json` result file in `folder`, sorted by name."""
    return [json.loads(path.read_text()) for path in sorted(Path(folder).glob("*.json"))]
