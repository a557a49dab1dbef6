"""Compare the IMDB models in one go, under one strategy: the LSTM baseline, BERT from
scratch, and BERT pre-trained here (MLM + NSP) then fine-tuned; with `--with-word2vec`, also
the LSTM started from word2vec vectors trained here, fine-tuned and frozen.

Each model runs as its own `python -m experiments.<name>` process (so that
each creates its own `tf.distribute` strategy, and a cluster's `TF_CONFIG`
applies to each in turn), with the flags given here (`--set FIELD=VALUE` goes to the
stages whose preset has FIELD); Ctrl-C or SIGTERM is passed on to the running stage, which
stops at a checkpoint. Run again, finished stages print their results and the others
resume. The comparison is written as markdown and JSON under
`<logdir>/compare_imdb/<run-name>/`.
"""

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path

from keras_bert_lab.analysis.results import comparison_rows, markdown_table
from keras_bert_lab.presets import (
    BERT_IMDB_PRESETS,
    BERT_PRETRAIN_PRESETS,
    IMDB_LSTM_PRESETS,
    WORD2VEC_IMDB_PRESETS,
)
from keras_bert_lab.presets.fields import PresetError
from keras_bert_lab.tasks.flags import experiment_parser, overrides
from keras_bert_lab.tasks.run import command_line
from keras_bert_lab.training.interrupts import run_child
from keras_bert_lab.utils import write_json_atomically, write_text_atomically

EXPERIMENT = "compare_imdb"
STAGE_PRESETS = {
    "imdb_lstm": IMDB_LSTM_PRESETS,
    "bert_imdb": BERT_IMDB_PRESETS,
    "bert_pretrain": BERT_PRETRAIN_PRESETS,
    "word2vec_imdb": WORD2VEC_IMDB_PRESETS,
}
# Flags passed on to every stage when given; the stages' run names are derived from
# --run-name, and --set goes to the stages whose preset has the field.
FORWARDED_FLAGS = (
    "preset",
    "logdir",
    "data_dir",
    "seed",
    "strategy",
    "cpu_devices",
    "precision",
    "jit_compile",
    "epochs",
    "steps_per_epoch",
    "batch_size",
    "global_batch_size",
    "learning_rate",
    "lr_scaling",
    "checkpoint_every",
    "force",
    "quiet",
    "verbose",
)


def build_parser():
    parser = experiment_parser(
        __doc__,
        IMDB_LSTM_PRESETS,
        set_help="override a preset field of the stages that have it (repeatable), "
        "e.g. --set sequence_length=64",
    )
    parser.add_argument(
        "--with-word2vec",
        action="store_true",
        help="also train word2vec and the LSTM started from it",
    )
    return parser


def planned_runs(args):
    """`(experiment, run name, extra flags)` for each model, in order."""
    name = args.run_name or args.preset
    pretrain_dir = Path(args.logdir) / "bert_pretrain" / name
    runs = [
        ("imdb_lstm", name, []),
        ("bert_imdb", f"{name}-scratch", ["--no-pretrain"]),
        ("bert_pretrain", name, []),
        ("bert_imdb", f"{name}-pretrained", ["--init-from", str(pretrain_dir)]),
    ]
    if args.with_word2vec:
        word2vec = ["--init-embeddings", str(Path(args.logdir) / "word2vec_imdb" / name)]
        runs += [
            ("word2vec_imdb", name, []),
            ("imdb_lstm", f"{name}-word2vec", word2vec),
            ("imdb_lstm", f"{name}-word2vec-frozen", [*word2vec, "--freeze-embeddings"]),
        ]
    return runs


def stage_assignments(parser, args, experiments):
    """`{experiment: [--set assignments for it]}`; an assignment no stage takes, or whose
    value a stage cannot take, is the parser's one-line error."""
    taken = {experiment: [] for experiment in experiments}
    for assignment in args.set:
        name = assignment.partition("=")[0]
        takers = [
            experiment
            for experiment in experiments
            if name in {f.name for f in dataclasses.fields(STAGE_PRESETS[experiment]["cpu"])}
        ]
        if not takers:
            parser.error(f"--set {assignment!r}: no stage ({', '.join(experiments)}) has {name}")
        for experiment in takers:
            taken[experiment].append(assignment)
    for experiment, assignments in taken.items():
        preset = STAGE_PRESETS[experiment][args.preset]
        stage_args = argparse.Namespace(**vars(args) | {"set": assignments})
        try:
            dataclasses.replace(preset, **overrides(preset, stage_args))
        except (PresetError, ValueError) as error:
            parser.error(f"{experiment}, preset {args.preset}: {error}")
    return taken


def forwarded(parser, args):
    """The flags of `FORWARDED_FLAGS` that differ from their defaults (and always
    `--preset` and `--logdir`), as command-line words."""
    words = []
    for name in FORWARDED_FLAGS:
        value = getattr(args, name)
        if value in (None, False) or (
            value == parser.get_default(name) and name not in ("preset", "logdir")
        ):
            continue
        flag = "--" + name.replace("_", "-")
        words += [flag] if value is True else [flag, str(value)]
    return words


def run_stages(parser, args, runs, assignments):
    """Runs every stage of `runs` (`planned_runs`) in turn, with its `--set` `assignments`
    (`stage_assignments`); returns the results of the classifiers."""
    results = []
    for experiment, run_name, extra in runs:
        sets = [word for assignment in assignments[experiment] for word in ("--set", assignment)]
        command = [
            sys.executable,
            "-m",
            f"experiments.{experiment}",
            *forwarded(parser, args),
            "--run-name",
            run_name,
            *extra,
            *sets,
        ]
        print("$", shlex.join(["python", *command[1:]]), flush=True)
        status = run_child(command)
        if status in (130, 143):
            print(
                f"{EXPERIMENT}: interrupted in {experiment} ({run_name}); "
                "run the same command to resume"
            )
            sys.exit(status)
        if status:
            sys.exit(
                f"{EXPERIMENT}: {experiment} ({run_name}) failed; "
                "run the same command again to resume it"
            )
        if experiment not in ("bert_pretrain", "word2vec_imdb"):  # steps towards a classifier
            path = Path(args.logdir) / experiment / run_name / "results.json"
            results.append(json.loads(path.read_text()))
    return results


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    runs = planned_runs(args)
    assignments = stage_assignments(parser, args, dict.fromkeys(e for e, _, _ in runs))
    out_dir = Path(args.logdir) / EXPERIMENT / (args.run_name or args.preset)
    print(f"{EXPERIMENT}: run folder {out_dir}", flush=True)
    rows = comparison_rows(run_stages(parser, args, runs, assignments))
    table = markdown_table(rows)
    write_text_atomically(out_dir / "comparison.md", table + "\n")
    write_json_atomically(out_dir / "comparison.json", rows)
    print(table)
    return rows


if __name__ == "__main__":
    command_line(main)
