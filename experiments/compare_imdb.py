"""The IMDB study in one command: every model on the same 25,000 test reviews, static
vectors to contextual embeddings, under one strategy.

The stages (`keras_bert_lab.tasks.study`), in order: `ngrams` (bag of n-grams), `word2vec`,
`lstm`, `lstm_word2vec`, `lstm_word2vec_frozen`, `bert_scratch`, one `bert_pretrain_<T>`
per pre-training phase of the preset's recipe (`presets.study`), `bert_pretrained`, `probe`
(`embedding_probe`: static vs contextual vectors of ambiguous words) and
`bert_real_checkpoint` (`--init-from`, or the MiniLM-L6 package when installed; else
skipped, with why). `--stages` runs some of them and the stages they need.

Each stage runs as its own `python -m experiments.<name>` process (so that each creates its
own `tf.distribute` strategy, and a cluster's `TF_CONFIG` applies to each in turn), with
the flags given here (`--set FIELD=VALUE` goes to the stages whose preset has FIELD, and
wins over the recipe); Ctrl-C or SIGTERM is passed on to the running stage, which stops at
a checkpoint. Run again: finished stages print their results (without starting a process)
and the others resume; a stage whose settings changed (a `--set`, say) goes to a new run
folder, and so do the stages that start from it, the earlier runs left as they are. Before
the first stage, the plan: each stage's folder, state and the time it needs, as measured by
a study of the same preset run to its end (`results/compare_imdb-<preset>-stages.json`).
The comparison goes to `<logdir>/compare_imdb/<run-name>/`: a short table with the commands
below it (`summary.md`, also printed), the full table (`comparison.md`, `comparison.json`),
a chart of test accuracy against compute (`accuracy.png`), the stages' times
(`stages.json`) and a TensorBoard HParams experiment (`hparams/`: `tensorboard --logdir` on
that folder lists the models side by side).
"""

import argparse
import contextlib
import dataclasses
import functools
import hashlib
import importlib
import io
import json
import shlex
import sys
import time
from pathlib import Path

from keras_bert_lab.analysis.results import (
    comparison_rows,
    markdown_table,
    skipped_row,
    study_summary,
    write_hparams_sessions,
)
from keras_bert_lab.figures import accuracy_figure, render, save_png
from keras_bert_lab.presets import (
    BERT_IMDB_PRESETS,
    BERT_PRETRAIN_PRESETS,
    EMBEDDING_PROBE_PRESETS,
    IMDB_LSTM_PRESETS,
    IMDB_NGRAMS_PRESETS,
    WORD2VEC_IMDB_PRESETS,
)
from keras_bert_lab.presets.fields import PresetError, TrainingPreset
from keras_bert_lab.presets.study import IMDB_STUDY_PRESETS
from keras_bert_lab.tasks.flags import (
    OVERRIDE_FLAGS,
    experiment_parser,
    overrides,
    parse_flags,
    with_resolved_precision,
)
from keras_bert_lab.tasks.run import (
    command_line,
    finished_results,
    report_finished,
    run_folder,
    total_seconds,
)
from keras_bert_lab.tasks.study import (
    pace,
    seconds_left,
    select_stages,
    stage_state,
    stage_times,
    study_stages,
)
from keras_bert_lab.training.interrupts import run_child
from keras_bert_lab.utils import (
    BFLOAT16_MATMUL_FEATURES,
    atomic_directory,
    auto_precision,
    machine_description,
    resolve_precision,
    write_json_atomically,
    write_text_atomically,
)

EXPERIMENT = "compare_imdb"
REFERENCE_DIR = Path(__file__).resolve().parents[1] / "results"
"""Where `reference_times` looks for a measured study of the preset."""
STAGE_PRESETS = {
    "imdb_ngrams": IMDB_NGRAMS_PRESETS,
    "word2vec_imdb": WORD2VEC_IMDB_PRESETS,
    "imdb_lstm": IMDB_LSTM_PRESETS,
    "bert_imdb": BERT_IMDB_PRESETS,
    "bert_pretrain": BERT_PRETRAIN_PRESETS,
    "embedding_probe": EMBEDDING_PROBE_PRESETS,
}
# Flags passed on to every stage that takes them, when given; the stages' run names are
# derived from --run-name, and --set goes to the stages whose preset has the field.
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
        IMDB_STUDY_PRESETS,
        set_help="override a preset field of the stages that have it (repeatable), "
        "e.g. --set sequence_length=64",
    )
    parser.add_argument(
        "--stages",
        default=None,
        help="comma-separated stages to run (and the stages they need); default: all",
    )
    parser.add_argument(
        "--init-from",
        default=None,
        help="the real checkpoint bert_real_checkpoint fine-tunes: a Hugging Face folder or "
        "a keras-hub preset name; default: the MiniLM-L6 package if installed",
    )
    return parser


def planned_stages(parser, args):
    """The stages to run (`--stages` and what they need), checked: an unknown stage name or
    a real checkpoint folder that does not exist is the parser's one-line error."""
    init_from = args.init_from
    if init_from and ("/" in init_from or Path(init_from).exists()):
        if not Path(init_from).is_dir():
            parser.error(f"--init-from {init_from}: no such folder (bert_real_checkpoint)")
    name = args.run_name or args.preset
    stages = study_stages(name, args.logdir, IMDB_STUDY_PRESETS[args.preset], init_from)
    if args.stages is None:
        return stages
    try:
        return select_stages(stages, [s for s in args.stages.split(",") if s])
    except ValueError as error:
        parser.error(f"--stages {args.stages}: {error}")


def user_fields(args):
    """The preset fields the user set (by flag or `--set`): the recipe leaves them alone."""
    given = {flag for flag in OVERRIDE_FLAGS if getattr(args, flag, None) is not None}
    return given | {assignment.partition("=")[0] for assignment in args.set}


def stage_assignments(parser, args, stages):
    """`{stage name: [--set assignments]}`: the recipe's settings the user did not set, then
    the user's `--set` for the stage's experiment. An assignment no stage takes, or whose
    value a stage cannot take, is the parser's one-line error."""
    fields = {
        stage.name: {f.name for f in dataclasses.fields(STAGE_PRESETS[stage.experiment]["cpu"])}
        for stage in stages
    }
    for assignment in args.set:
        name = assignment.partition("=")[0]
        if not any(name in taken for taken in fields.values()):
            experiments = ", ".join(dict.fromkeys(stage.experiment for stage in stages))
            parser.error(f"--set {assignment!r}: no stage ({experiments}) has {name}")
    assignments, given = {}, user_fields(args)
    for stage in stages:
        recipe = [
            f"{field}={value}" for field, value in stage.settings.items() if field not in given
        ]
        mine = [a for a in args.set if a.partition("=")[0] in fields[stage.name]]
        assignments[stage.name] = recipe + mine
        preset = STAGE_PRESETS[stage.experiment][args.preset]
        stage_args = argparse.Namespace(**vars(args) | {"set": assignments[stage.name]})
        try:
            dataclasses.replace(preset, **overrides(preset, stage_args))
        except (PresetError, ValueError) as error:
            parser.error(f"{stage.name} ({stage.experiment}), preset {args.preset}: {error}")
    return assignments


@functools.cache
def stage_parser(experiment):
    """The flag parser of `experiments.<experiment>`."""
    return importlib.import_module(f"experiments.{experiment}").build_parser()


def forwarded(parser, args, experiment):
    """The flags of `FORWARDED_FLAGS` that `experiment` takes and that differ from their
    defaults (and always `--preset` and `--logdir`), as command-line words."""
    taken = {action.dest for action in stage_parser(experiment)._actions}
    words = []
    for name in FORWARDED_FLAGS:
        if name not in taken:
            continue
        value = getattr(args, name)
        if value in (None, False) or (
            value == parser.get_default(name) and name not in ("preset", "logdir")
        ):
            continue
        flag = "--" + name.replace("_", "-")
        words += [flag] if value is True else [flag, str(value)]
    return words


def reference_times(preset, stages):
    """The `stages` times of `results/compare_imdb-<preset>-stages.json` (a study of
    `preset` measured to its end, a copy of its `stages.json`) that apply here, and where
    they were measured; `({}, None)` without one. A stage of `stages` at `--precision auto`
    has none where auto chooses another policy here than there (`utils.auto_precision`):
    bfloat16 on a CPU with bfloat16 instructions, float32 on one without, times apart."""
    path = REFERENCE_DIR / f"{EXPERIMENT}-{preset}-stages.json"
    if not path.is_file():
        return {}, None
    reference = json.loads(path.read_text())
    machine = reference["machine"]
    native = [f for f in machine["cpu_features"] if f in BFLOAT16_MATMUL_FEATURES]
    cpu = machine["cpu_model"] + (f" ({', '.join(native)})" if native else "")
    where = [cpu, f"{machine['usable_cpus']} CPUs", *machine["accelerators"]]
    times = reference["stages"]
    policy_there = auto_precision(machine["cpu_features"], machine["accelerators"])
    if policy_there != resolve_precision("auto")[0]:
        auto = {stage.name for stage in stages if stage.settings.get("precision") == "auto"}
        times = {name: measured for name, measured in times.items() if name not in auto}
    return times, ", ".join(where)


def _minutes(seconds):
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def time_left(stages, logdir, reference, speed=None):
    """The study's seconds left (`tasks.study.seconds_left`), times `speed` (this machine's
    `tasks.study.pace`, where known), or None where a stage to run has no measured figure."""
    left = [seconds_left(stage, logdir, reference) for stage in stages]
    return None if None in left else sum(left) * (speed or 1.0)


def _pace_words(speed, machine):
    """How the time left was estimated."""
    if speed is None:
        return f"as measured on {machine}"
    return f"at this machine's pace, {speed:.1f}× the times measured on {machine}"


def print_plan(stages, logdir, preset):
    """One line per stage: its name, run folder, state (`tasks.study.stage_state`) and the
    time it needs, as measured (`reference_times`) and scaled to this machine's pace where
    finished stages give it (`tasks.study.pace`); then the study's time left."""
    reference, machine = reference_times(preset, stages)
    speed = pace(stages, logdir, reference)
    print(f"{EXPERIMENT}: {len(stages)} stages", flush=True)
    for number, stage in enumerate(stages, 1):
        state = stage_state(stage, logdir)
        left = time_left([stage], logdir, reference, speed)
        if left and not stage.skipped:
            state += f", about {_minutes(left)}"
        print(f"  {number}. {stage.name}: {stage.run_dir(logdir)} ({state})")
    left = time_left(stages, logdir, reference, speed)
    unmeasured = [stage.name for stage in stages if time_left([stage], logdir, reference) is None]
    if left == 0:
        print(f"{EXPERIMENT}: nothing left to run (every stage finished or skipped)", flush=True)
    elif machine is None:
        print(
            f"{EXPERIMENT}: no time estimate (no study of preset {preset} measured to its end "
            f"in {REFERENCE_DIR.name}/)"
        )
    elif left is None:
        known = time_left(
            [stage for stage in stages if stage.name not in unmeasured], logdir, reference, speed
        )
        line = (
            f"{EXPERIMENT}: no estimate for {', '.join(unmeasured)} (the study measured on "
            f"{machine} ran it at another precision than this machine's, or not at all)"
        )
        if known:
            line += f"; about {_minutes(known)} left for the others, {_pace_words(speed, machine)}"
        print(line, flush=True)
    else:
        print(
            f"{EXPERIMENT}: about {_minutes(left)} left, {_pace_words(speed, machine)}", flush=True
        )


def stage_flags(parser, args, stage, assignments):
    """The command-line words of the stage's experiment."""
    sets = [word for assignment in assignments for word in ("--set", assignment)]
    words = forwarded(parser, args, stage.experiment)
    return [*words, "--run-name", stage.run_name, *stage.flags, *sets]


def parsed_stage(stage, words):
    """`(args, config)` of the stage's experiment with these flags, a training run's
    precision resolved as its run resolves it (`tasks.flags.with_resolved_precision`), or None
    if they do not parse (the stage's own process then says what is wrong with them)."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            args, config = parse_flags(
                stage_parser(stage.experiment), STAGE_PRESETS[stage.experiment], words
            )
    except SystemExit:
        return None
    if isinstance(config, TrainingPreset):
        config, _ = with_resolved_precision(config)
    return args, config


def finished_stage(stage, words):
    """The results of the stage's finished run with these flags, or None: the stage's own
    process then resumes or trains it. (A finished stage is reported here, without starting
    a process.)"""
    parsed = parsed_stage(stage, words)
    if parsed is None:
        return None
    args, config = parsed
    try:
        return finished_results(run_folder(stage.experiment, args), stage.experiment, config, args)
    except ValueError:
        return None


def holds_other_run(stage, words):
    """Whether the stage's run folder holds a run of other settings, finished or not (with
    flags that do not parse, the stage's own process says what is wrong with them)."""
    parsed = parsed_stage(stage, words)
    if parsed is None:
        return False
    args, config = parsed
    try:
        finished_results(run_folder(stage.experiment, args), stage.experiment, config, args)
    except ValueError:
        return True
    return False


UNDIGESTED_FLAGS = {"--logdir": 1, "--data-dir": 1, "--run-name": 1, "--checkpoint-every": 1}
UNDIGESTED_FLAGS |= {"--force": 0, "--quiet": 0, "--verbose": 0}
"""Flags that say where a run reads and writes, or how it reports, with their value counts:
they do not change what it computes."""


def settings_digest(words):
    """8 hex digits of a stage's flags but `UNDIGESTED_FLAGS`."""
    kept, position = [], 0
    while position < len(words):
        values = UNDIGESTED_FLAGS.get(words[position])
        if values is None:
            kept.append(words[position])
            position += 1
        else:
            position += 1 + values
    return hashlib.sha256("\0".join(kept).encode()).hexdigest()[:8]


def placed_stages(parser, args, stages, assignments):
    """`stages`, each whose run folder holds a run of other settings (finished or not), or
    that starts from a stage moved so, moved to a folder of its own, `<run name>-<digest of
    its flags>`, with one line saying so; the stages that start from a moved one are pointed
    at its new folder. So a changed setting re-runs the stages it changes, never over their
    earlier runs, and the same command finds them there again."""
    placed, moved, moved_names = [], {}, set()
    for stage in stages:
        stage = dataclasses.replace(stage, flags=tuple(moved.get(w, w) for w in stage.flags))
        words = stage_flags(parser, args, stage, assignments[stage.name])
        old = stage.run_dir(args.logdir)
        # Its flags name a moved folder that may not be there yet, so they may not parse.
        starts_from_moved = bool(moved_names & set(stage.needs)) and old.exists()
        if not args.force and (starts_from_moved or holds_other_run(stage, words)):
            stage = dataclasses.replace(
                stage, run_name=f"{stage.run_name}-{settings_digest(words)}"
            )
            moved[str(old)] = str(stage.run_dir(args.logdir))
            moved_names.add(stage.name)
            print(
                f"{EXPERIMENT}: {stage.name}: {old} holds a run of other settings; this one "
                f"goes to {stage.run_dir(args.logdir)}"
            )
        placed.append(stage)
    return placed


def run_stage(parser, args, stage, assignments):
    """Runs one stage's experiment to its end, or reports its results if it is finished;
    exits on a signal or a failure, with one line naming the stage."""
    words = stage_flags(parser, args, stage, assignments)
    results = None if args.force else finished_stage(stage, words)
    if results is not None:
        report_finished(stage.experiment, stage.run_dir(args.logdir), results)
        return
    command = [sys.executable, "-m", f"experiments.{stage.experiment}", *words]
    print("$", shlex.join(["python", *command[1:]]), flush=True)
    status = run_child(command)
    if status in (130, 143):
        print(
            f"{EXPERIMENT}: interrupted in {stage.experiment} ({stage.run_name}); "
            "run the same command to resume"
        )
        sys.exit(status)
    if status:
        sys.exit(
            f"{EXPERIMENT}: stage {stage.name} ({stage.experiment} {stage.run_name}) failed; "
            "run the same command again to resume it"
        )


def run_stages(parser, args, stages, assignments):
    """Runs every stage in turn (one line at its start and end); returns the rows of the
    classifiers, a skipped stage's row saying why. A row's `compute_minutes` are the wall
    minutes of its run and of the runs it starts from (`tasks.study.select_stages`)."""
    rows, seconds, started = [], {}, time.monotonic()
    reference, _ = reference_times(args.preset, stages)
    for number, stage in enumerate(stages, 1):
        if stage.skipped:
            print(f"{EXPERIMENT}: [{number}/{len(stages)}] {stage.name} skipped: {stage.skipped}")
            row = skipped_row(stage.model, stage.experiment, stage.skipped)
            rows.append(row | {"starts_from": stage.starts_from})
            continue
        print(f"{EXPERIMENT}: [{number}/{len(stages)}] {stage.name} ...", flush=True)
        stage_started = time.monotonic()
        run_stage(parser, args, stage, assignments[stage.name])
        speed = pace(stages, args.logdir, reference)
        left = time_left(stages[number:], args.logdir, reference, speed)
        print(
            f"{EXPERIMENT}: [{number}/{len(stages)}] {stage.name} done in "
            f"{(time.monotonic() - stage_started) / 60:.1f} min "
            f"(study {(time.monotonic() - started) / 60:.1f} min"
            + ("" if left is None else f", about {_minutes(left)} left")
            + ("" if speed is None else f" at {speed:.1f}× the measured times")
            + ")",
            flush=True,
        )
        results = json.loads((stage.run_dir(args.logdir) / "results.json").read_text())
        seconds[stage.name] = total_seconds(results)
        if stage.classifier:
            (row,) = comparison_rows([results])
            compute = sum(seconds[needed.name] for needed in select_stages(stages, [stage.name]))
            rows.append(row | {"starts_from": stage.starts_from, "compute_minutes": compute / 60})
    return rows


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    stages = planned_stages(parser, args)
    assignments = stage_assignments(parser, args, stages)
    out_dir = Path(args.logdir) / EXPERIMENT / (args.run_name or args.preset)
    print(f"{EXPERIMENT}: run folder {out_dir}", flush=True)
    stages = placed_stages(parser, args, stages, assignments)
    print_plan(stages, args.logdir, args.preset)
    rows = run_stages(parser, args, stages, assignments)
    write_comparison(rows, out_dir, stage_times(stages, args.logdir))
    print(study_summary(rows))
    return rows


def write_comparison(rows, out_dir, times):
    """The study's outputs in `out_dir`: `summary.md` (the short table and its commands),
    `comparison.md` (every column), `comparison.json` (the rows), `accuracy.png`, the
    TensorBoard HParams experiment `hparams/`, and `stages.json` (`times`, the stages'
    `tasks.study.stage_times`, with the machine: copied to `results/`, the plan's
    estimates)."""
    stages = {"machine": machine_description(), "stages": times}
    write_json_atomically(out_dir / "stages.json", stages)
    write_text_atomically(out_dir / "summary.md", study_summary(rows) + "\n")
    write_text_atomically(out_dir / "comparison.md", markdown_table(rows) + "\n")
    write_json_atomically(out_dir / "comparison.json", rows)
    save_png(render(accuracy_figure(rows)), out_dir / "accuracy.png")
    with atomic_directory(out_dir / "hparams") as folder:
        write_hparams_sessions(rows, folder)


if __name__ == "__main__":
    command_line(main)
