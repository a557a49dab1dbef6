"""What every experiment module shares: the run folder, TensorBoard HParams and
`results.json`, the one-line console reports, and `command_line`.

A training experiment parses its flags with `flags.experiment_parser`, then `Run.start(...)`
picks the preset, applies overrides, sets seeds, precision and the `tf.distribute` strategy,
and names the run folder `<logdir>/<experiment>/<run-name>/`, where all it writes goes (made
by the first write, so a run that fails before writing, on missing data say, leaves none).

Started again with the same command, a run resumes from its last checkpoint; a run whose
folder holds its `results.json` (written last, atomically, after the model is saved and
reload-checked) is finished: `Run.start` prints its results and exits with status 0 without
writing anything, and `--force` removes the folder and trains again from scratch. A
`results.json` of other flags (another `--epochs`, say) is a flag error, and so is the
`configuration.json` of an unfinished run of other flags (written before its first
training step), since resuming from its checkpoints would mix two runs.

The analysis experiments (`keras_bert_lab.analysis.runs`) build on the same pieces:
`flags.run_parser` for the flags they share, `RunFolder` for the folder and `results.json`.
"""

import argparse
import dataclasses
import datetime
import json
import math
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

from keras_bert_lab.tasks.flags import parse_flags, with_resolved_precision
from keras_bert_lab.training import interrupts
from keras_bert_lab.training import strategy as strategies
from keras_bert_lab.training.optimizers import bert_adamw
from keras_bert_lab.utils import (
    git_commit,
    machine_description,
    remove_directory,
    write_json_atomically,
)

RESULTS_FILE = "results.json"
CONFIGURATION_FILE = "configuration.json"
"""What a run records before its first training step: its configuration and flags, so that a
run resumed with others is refused (`check_resumable`)."""
# The metrics each experiment ends on, in the order printed: `(key, label, is_a_share)`.
HEADLINE_METRICS = (
    ("test_accuracy", "test accuracy", True),
    ("test_f1", "test F1", True),
    ("test_bleu_greedy", "BLEU greedy", False),
    ("test_bleu_beam", "BLEU beam", False),
    ("test_chrf_greedy", "chrF greedy", False),
    ("test_chrf_beam", "chrF beam", False),
    ("validation_mlm_accuracy", "MLM accuracy (validation)", True),
    ("validation_nsp_accuracy", "NSP accuracy (validation)", True),
    ("train_accuracy", "skip-gram accuracy (training)", True),
)
# Flags that change how a run goes, not what it computes: a finished run's results stand
# whatever they are now. `flags.OVERRIDE_FLAGS` and `--set` are compared through the config.
OPERATIONAL_FLAGS = {
    "batch_size",
    "checkpoint_every",
    "cpu_devices",
    "data_dir",
    "epochs",
    "force",
    "jit_compile",
    "learning_rate",
    "logdir",
    "precision",
    "preset",
    "quiet",
    "run_name",
    "set",
    "steps_per_epoch",
    "strategy",
    "verbose",
}


def run_folder(experiment, args):
    """The run folder `<logdir>/<experiment>/<run-name or preset>/` (not created)."""
    return Path(args.logdir) / experiment / (args.run_name or args.preset)


def make_run_dir(experiment, args):
    """Creates and returns the run folder `<logdir>/<experiment>/<run-name or preset>/`."""
    run_dir = run_folder(experiment, args)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def headline(metrics):
    """The metrics an experiment ends on, on one line: `test accuracy 87.56%, test F1
    88.92%`; accuracies and F1 as percentages, BLEU and chrF as sacreBLEU prints them."""
    parts = []
    for key, label, share in HEADLINE_METRICS:
        value = metrics.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(f"{label} {100 * value:.2f}%" if share else f"{label} {value:.1f}")
    return ", ".join(parts)


def recorded_arguments(args):
    """The flags of `args` that decide what a run computes, JSON-ready."""
    return {
        name: value for name, value in sorted(vars(args).items()) if name not in OPERATIONAL_FLAGS
    }


def differences(recorded, current):
    """`["name: recorded -> current", ...]` for the keys whose values differ."""
    return [
        f"{name}: {recorded.get(name)!r} -> {current.get(name)!r}"
        for name in sorted(set(recorded) | set(current))
        if recorded.get(name) != current.get(name)
    ]


def total_seconds(results):
    """A run's wall time over all its invocations, from its `results.json` (a resumed run's
    earlier ones included; results written before that was recorded have only their last
    invocation's)."""
    return results.get("total_wall_time_seconds", results["wall_time_seconds"])


def _recorded(path, experiment):
    """The JSON dict in `path` if it is a record of a run of `experiment`, else None."""
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or recorded.get("experiment") != experiment:
        return None
    return recorded


def _changes(recorded, config, args):
    """`differences` between a record's configuration and flags and these. A preset field or
    flag the record lacks (added to the code after the run) counts only where it is not at
    its default (the field's default; None or False for a flag): the run was made without
    it, as with its default."""
    current = json.loads(json.dumps(dataclasses.asdict(config)))
    defaults = json.loads(
        json.dumps({field.name: field.default for field in dataclasses.fields(config)}, default=str)
    )
    old_config = recorded.get("config", {})
    current = {k: v for k, v in current.items() if k in old_config or v != defaults[k]}
    changed = differences(old_config, current)
    if "arguments" in recorded:
        old_arguments = recorded["arguments"]
        arguments = {
            name: value
            for name, value in recorded_arguments(args).items()
            if name in old_arguments or value not in (None, False)
        }
        changed += differences(old_arguments, arguments)
    return changed


def finished_results(run_dir, experiment, config, args):
    """The `results.json` of a finished run of `experiment` in `run_dir`, or None if there is
    none (or it cannot be read: the run then resumes and writes it again).

    Raises:
        ValueError: the results are those of another configuration or other flags, or the
            folder holds an unfinished run of other ones (`check_resumable`); one line.
    """
    results = _recorded(run_dir / RESULTS_FILE, experiment)
    if results is None:
        check_resumable(run_dir, experiment, config, args)
        return None
    changed = _changes(results, config, args)
    if changed:
        raise ValueError(
            f"{run_dir} holds a finished run of other flags ({'; '.join(changed)}): "
            "add --force to train it again from scratch, or choose another --run-name"
        )
    return results


def check_resumable(run_dir, experiment, config, args):
    """Raises ValueError (one line) if `run_dir` holds an unfinished run of `experiment` with
    another configuration or other flags (its `CONFIGURATION_FILE`): resuming its
    checkpoints would mix two runs."""
    recorded = _recorded(run_dir / CONFIGURATION_FILE, experiment)
    changed = _changes(recorded, config, args) if recorded else []
    if changed:
        raise ValueError(
            f"{run_dir} holds an unfinished run of other flags ({'; '.join(changed)}): "
            "add --force to train it again from scratch, or choose another --run-name"
        )


@dataclasses.dataclass
class RunFolder:
    """What every run has, training or analysis: its experiment, flags, configuration, folder
    and start time; and the one writer of its `results.json`.

    Subclasses give `command()`, the command line that reproduces the run.
    """

    experiment: str
    args: argparse.Namespace
    config: object
    run_dir: Path
    started: float
    clock = None
    """The training's `training.checkpoints.RunClock` (`tasks.workflow.task_trainer`), or
    None."""

    @property
    def chief(self):
        """Whether this process writes the run's files."""
        return True

    def command(self):
        """The command line that reproduces the run (`python -m experiments.<name> ...`)."""
        raise NotImplementedError

    def announce(self):
        """Prints the run folder, on the chief: the first line of every run."""
        if self.chief:
            print(f"{self.experiment}: run folder {self.run_dir}", flush=True)

    def _write_results(self, metrics, extra, **fields):
        """Writes `results.json` (atomically, on the chief), prints its headline metrics and
        returns its content: the run's name, `metrics`, configuration, the subclass's
        `fields`, wall time (this invocation's, and with the earlier invocations' of a
        resumed run), commit, machine and command, then `extra`."""
        wall_time = time.time() - self.started
        results = {
            "experiment": self.experiment,
            "run_name": self.run_dir.name,
            "metrics": metrics,
            "config": dataclasses.asdict(self.config),
            "arguments": recorded_arguments(self.args),
            **fields,
            "wall_time_seconds": wall_time,
            "total_wall_time_seconds": wall_time + (self.clock.earlier if self.clock else 0.0),
            "git_commit": git_commit(),
            "machine": machine_description(),
            "command": self.command(),
            "finished": datetime.datetime.now(datetime.UTC).isoformat(),
        } | (extra or {})
        if self.chief:
            write_json_atomically(self.run_dir / RESULTS_FILE, results)
            line = headline(metrics)
            print(f"{self.experiment}: {line + '; ' if line else ''}{self.run_dir / RESULTS_FILE}")
        return results


@dataclasses.dataclass
class Run(RunFolder):
    """One training run of an experiment: its configuration, strategy and folder.

    `data` is what `load_data` read: `{"data_source": ..., "data_stats": {...}}`.
    """

    strategy: tf.distribute.Strategy
    global_batch_size: int
    learning_rate: float
    data: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def start(cls, experiment, parser, presets, argv=None, check_flags=None):
        """Parses flags; exits with status 0 after printing the results of a finished run
        (module docstring); prepares seeds, precision, strategy and folder (removed first
        with `--force`); prints the folder's line, then `flags.with_resolved_precision`'s.

        Args:
            experiment: the experiment's name (`imdb_lstm`).
            parser: its `flags.experiment_parser`.
            presets: `{name: preset}`.
            argv: the flags (default: the command line).
            check_flags: `check_flags(parser, args)`, called once the flags are parsed, to
                reject flags that do not go together with `parser.error`.
        """
        args, config = parse_flags(parser, presets, argv)
        config, precision_line = with_resolved_precision(config)
        if check_flags is not None:
            check_flags(parser, args)
        run_dir = run_folder(experiment, args)
        if not args.force:
            try:
                finished = finished_results(run_dir, experiment, config, args)
            except ValueError as error:
                parser.error(str(error))
            if finished is not None:
                report_finished(experiment, run_dir, finished)
                sys.exit(0)
        strategy, global_batch, learning_rate = _distribution(parser, args, config)
        if args.force and strategies.is_chief(strategy):
            remove_directory(run_dir)
        keras.utils.set_random_seed(args.seed)
        keras.config.set_dtype_policy(config.precision)
        run = cls(
            experiment=experiment,
            args=args,
            config=config,
            run_dir=run_dir,
            started=time.time(),
            strategy=strategy,
            global_batch_size=global_batch,
            learning_rate=learning_rate,
        )
        run.announce()
        if run.chief and precision_line:
            print(f"{experiment}: {precision_line}", flush=True)
        return run

    def load_data(self, loader, **kwargs):
        """`loader(--data-dir, seed=--seed, max_per_split=config.max_per_split, **kwargs)`: a
        `keras_bert_lab.data` loader (`load_imdb`, `load_fra_eng`). Prints on one line where
        the data came from and what reading it skipped or repaired (its `stats`), and keeps
        both for `results.json` (`data_source`, `data_stats`)."""
        cap = getattr(self.config, "max_per_split", None)
        data = loader(self.args.data_dir, seed=self.args.seed, max_per_split=cap, **kwargs)
        stats = dataclasses.asdict(data.stats)
        self.data = {"data_source": data.source, "data_stats": stats}
        if self.chief:
            counts = ", ".join(
                f"{name.replace('_', ' ')} {value:,}" for name, value in stats.items()
            )
            capped = f"; at most {cap:,} per split" if cap else ""
            print(f"data: {data.source}: {counts}{capped}", flush=True)
        return data

    def record_configuration(self):
        """Writes `CONFIGURATION_FILE` (on the chief, once: a resumed run keeps the first)."""
        path = self.run_dir / CONFIGURATION_FILE
        if self.chief and not path.exists():
            record = {
                "experiment": self.experiment,
                "config": dataclasses.asdict(self.config),
                "arguments": recorded_arguments(self.args),
            }
            write_json_atomically(path, record)

    def steps_per_epoch(self, num_examples):
        """The preset's `steps_per_epoch`, else one pass over `num_examples`
        in global batches. Fixed before training, so that learning-rate
        schedules know the length of the run."""
        return self.config.steps_per_epoch or math.ceil(num_examples / self.global_batch_size)

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync

    @property
    def chief(self):
        return strategies.is_chief(self.strategy)

    def optimizer(self, optimizer):
        """`optimizer`, wrapped for loss scaling under `mixed_float16`."""
        if self.config.precision == "mixed_float16":
            return keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    def bert_optimizer(self, total_steps):
        """BERT's AdamW (`training.optimizers.bert_adamw`) for `total_steps` at the run's
        learning rate, with the warm-up, weight decay and decay of its preset."""
        config = self.config
        return self.optimizer(
            bert_adamw(
                self.learning_rate,
                total_steps,
                config.warmup_fraction,
                config.weight_decay,
                config.learning_rate_decay,
            )
        )

    def hparams(self):
        """The run's hyper-parameters, flat, for TensorBoard and results."""
        values = {
            f"preset.{key}": value
            for key, value in dataclasses.asdict(self.config).items()
            if isinstance(value, (bool, int, float, str))
        }
        values |= {
            "experiment": self.experiment,
            "preset": self.args.preset,
            "strategy": strategies.strategy_name(self.strategy),
            "replicas": self.replicas,
            "global_batch_size": self.global_batch_size,
            "learning_rate": self.learning_rate,
            "jit_compile": self.args.jit_compile,
            "seed": self.args.seed,
        }
        return values

    def log_hparams(self, metrics):
        """Writes the HParams entry so that runs compare in TensorBoard's HParams dashboard,
        with the numbers among `metrics` as its values (a None, a resumed run's speed when it
        trained no step, is left out)."""
        from tensorboard.plugins.hparams import api as hparams_api

        if not self.chief:
            return
        writer = tf.summary.create_file_writer(str(self.run_dir))
        with writer.as_default(step=0):
            hparams_api.hparams(self.hparams(), trial_id=str(self.run_dir))
            for name, value in metrics.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    tf.summary.scalar(name, value)
        writer.flush()

    def finish(self, metrics, *, model, history, **extra):
        """The end of a training run: its HParams entry (`log_hparams`), then `results.json`
        (`write_results`) with the model's name, the training history and `extra`; returns
        the results."""
        self.log_hparams(metrics)
        return self.write_results(metrics, extra={"model": model, "history": history, **extra})

    def write_results(self, metrics, extra=None):
        """Writes `results.json` (atomically, on the chief) and returns its content, with the
        data source and statistics of `load_data`."""
        return self._write_results(
            metrics,
            extra,
            hparams=self.hparams(),
            **self.data,
            strategy=strategies.strategy_name(self.strategy),
            replicas=self.replicas,
        )

    def command(self):
        return "python -m experiments." + self.experiment + " " + " ".join(self.args_as_flags())

    def args_as_flags(self):
        flags = []
        for name, value in sorted(vars(self.args).items()):
            if value in (None, False, []) or name in ("set", "force", "verbose"):
                continue
            flag = "--" + name.replace("_", "-")
            flags.append(flag if value is True else f"{flag}={value}")
        flags += [f"--set={assignment}" for assignment in self.args.set]
        return flags


def _distribution(parser, args, config):
    """`(strategy, global batch size, learning rate)` of the flags; a combination that cannot
    work is the parser's one-line error."""
    try:
        if args.cpu_devices:
            strategies.split_cpu(args.cpu_devices)
        strategy = strategies.create_strategy(args.strategy)
        global_batch = strategies.global_batch_size(
            strategy, config.batch_size, args.global_batch_size
        )
        learning_rate = strategies.scale_learning_rate(
            config.learning_rate, strategy.num_replicas_in_sync, args.lr_scaling
        )
    except strategies.StrategyError as error:
        parser.error(str(error))
    if (
        args.jit_compile
        and strategy.num_replicas_in_sync > 1
        and not (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
    ):
        parser.error(
            "--jit-compile with several CPU replicas is not supported "
            "(XLA cannot reach variables on the other logical devices)"
        )
    return strategy, global_batch, learning_rate


def report_finished(experiment, run_dir, results):
    """The lines a finished run prints when started again."""
    line = headline(results.get("metrics", {}))
    print(
        f"{experiment}: {run_dir} is finished ({results.get('finished', 'date unknown')}); "
        "--force trains it again from scratch"
    )
    print(f"{experiment}: {line + '; ' if line else ''}{run_dir / RESULTS_FILE}", flush=True)


def command_line(main):
    """Runs an experiment's `main()`, turning the errors a user can act on
    (bad data, a lost worker, no readable checkpoint) into one line on stderr and exit
    status 1, and Ctrl-C or SIGTERM into one line and status 130 or 143
    (`training.interrupts`)."""
    from keras_bert_lab.data.sources import DataError
    from keras_bert_lab.training.checkpoints import CheckpointError
    from keras_bert_lab.training.loop import ClusterError

    program = Path(sys.argv[0]).stem
    try:
        with interrupts.signals_interrupt():
            main()
    except (DataError, ClusterError, CheckpointError) as error:
        sys.exit(f"{program}: error: {error}")
    except KeyboardInterrupt as interrupt:
        print(f"{program}: {interrupts.message(interrupt)}", file=sys.stderr, flush=True)
        interrupts.exit_now(interrupts.exit_status(interrupt))
