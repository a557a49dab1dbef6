"""What every experiment module shares: flags, presets, the run directory,
TensorBoard HParams and `results.json`.

A training experiment parses its flags with `experiment_parser`, then
`Run.start(...)` picks the preset, applies overrides, sets seeds, precision
and the `tf.distribute` strategy, and makes the run directory
`<logdir>/<experiment>/<run-name>/`, where everything the run writes goes.
The analysis experiments (`keras_bert_lab.analysis.runs`) build on the same
pieces: `run_parser` for the flags they share, `RunFolder` for the folder and
`results.json`.
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

from keras_bert_lab.training import strategy as strategies
from keras_bert_lab.utils import git_commit, machine_description, write_json_atomically

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def run_parser(description, presets, *, preset_help, run_name_help, set_help):
    """An `argparse` parser with the flags every run takes, training or analysis: `--preset`,
    `--logdir`, `--run-name`, `--seed` and `--set FIELD=VALUE` (repeatable).

    Args:
        description: the experiment's one-line description.
        presets: `{name: preset dataclass}`; `--preset` chooses one.
        preset_help, run_name_help, set_help: the help of those flags.
    """
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--preset", choices=sorted(presets), default="cpu", help=preset_help)
    parser.add_argument(
        "--logdir", default="tb_logs", help="root of TensorBoard logs and run folders"
    )
    parser.add_argument("--run-name", default=None, help=run_name_help)
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help=set_help)
    return parser


def experiment_parser(description, presets):
    """An `argparse` parser with the flags every training experiment takes.

    Args:
        description: the experiment's one-line description.
        presets: `{name: preset dataclass}`; `--preset` chooses one.
    """
    parser = run_parser(
        description,
        presets,
        preset_help="smoke: seconds, for tests; cpu: a real run sized "
        "for a 2-core machine; gpu: the full recipe",
        run_name_help="run folder name; default: the preset name. "
        "Run again with the same name to resume.",
        set_help="override one preset field, e.g. --set lstm_units=128",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder with the dataset archives; default: "
        "$KBL_DATA_DIR, else download from the publisher",
    )
    add_distribution_flags(parser)
    add_schedule_flags(parser)
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=200,
        help="save a checkpoint every N optimizer steps",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def add_distribution_flags(parser):
    """`--strategy`, `--cpu-devices`, `--precision` and `--jit-compile`: where and how the
    steps run."""
    parser.add_argument("--strategy", choices=strategies.STRATEGIES, default="auto")
    parser.add_argument(
        "--cpu-devices",
        type=int,
        default=None,
        help="split the CPU into N logical devices (to try --strategy=mirrored without GPUs)",
    )
    parser.add_argument("--precision", choices=PRECISIONS, default="float32")
    parser.add_argument(
        "--jit-compile", action="store_true", help="compile the training step with XLA"
    )


def add_schedule_flags(parser):
    """`--epochs`, `--steps-per-epoch`, the batch sizes and the learning rate: overrides of
    the preset's training schedule."""
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="per-replica batch size")
    parser.add_argument(
        "--global-batch-size",
        type=int,
        default=None,
        help="global batch size instead (must divide over the replicas)",
    )
    parser.add_argument(
        "--learning-rate", type=float, default=None, help="learning rate for one replica"
    )
    parser.add_argument(
        "--lr-scaling",
        choices=strategies.LEARNING_RATE_SCALING,
        default="sqrt",
        help="how the learning rate grows with the replicas",
    )


def apply_overrides(parser, preset, args):
    """The preset with `--epochs`, `--batch-size`, ... and `--set` applied."""
    fields = {field.name: field for field in dataclasses.fields(preset)}
    changes = {}
    for flag in ("epochs", "steps_per_epoch", "batch_size", "learning_rate"):
        value = getattr(args, flag)
        if value is not None and flag in fields:
            changes[flag] = value
    for assignment in args.set:
        name, separator, text = assignment.partition("=")
        if not separator or name not in fields:
            parser.error(
                f"--set {assignment!r}: expected FIELD=VALUE with FIELD one of "
                f"{', '.join(sorted(fields))}"
            )
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        default = getattr(preset, name)
        if (
            default is not None
            and type(value) is not type(default)
            and not (isinstance(default, float) and isinstance(value, int))
        ):
            parser.error(
                f"--set {assignment!r}: {name} takes a {type(default).__name__}, got {text!r}"
            )
        changes[name] = float(value) if isinstance(default, float) else value
    return dataclasses.replace(preset, **changes)


def parse_flags(parser, presets, argv=None):
    """Parses `argv` (default: the command line) with `parser`.

    Returns:
        `(args, config)`: the flags, and the preset they choose with their overrides applied.
    """
    args = parser.parse_args(argv)
    return args, apply_overrides(parser, presets[args.preset], args)


def make_run_dir(experiment, args):
    """Creates and returns the run folder `<logdir>/<experiment>/<run-name or preset>/`."""
    run_dir = Path(args.logdir) / experiment / (args.run_name or args.preset)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


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

    @property
    def chief(self):
        """Whether this process writes the run's files."""
        return True

    def command(self):
        """The command line that reproduces the run (`python -m experiments.<name> ...`)."""
        raise NotImplementedError

    def _write_results(self, metrics, extra, **fields):
        """Writes `results.json` (atomically, on the chief) and returns its content: the
        run's name, `metrics`, configuration, the subclass's `fields`, wall time, commit,
        machine and command, then `extra`."""
        results = {
            "experiment": self.experiment,
            "run_name": self.run_dir.name,
            "metrics": metrics,
            "config": dataclasses.asdict(self.config),
            **fields,
            "wall_time_seconds": time.time() - self.started,
            "git_commit": git_commit(),
            "machine": machine_description(),
            "command": self.command(),
            "finished": datetime.datetime.now(datetime.UTC).isoformat(),
        } | (extra or {})
        if self.chief:
            write_json_atomically(self.run_dir / "results.json", results)
        return results


@dataclasses.dataclass
class Run(RunFolder):
    """One training run of an experiment: its configuration, strategy and folder."""

    strategy: tf.distribute.Strategy
    global_batch_size: int
    learning_rate: float

    @classmethod
    def start(cls, experiment, parser, presets, argv=None):
        """Parses flags and prepares seeds, precision, strategy and folder."""
        args, config = parse_flags(parser, presets, argv)
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
        keras.utils.set_random_seed(args.seed)
        keras.config.set_dtype_policy(args.precision)
        return cls(
            experiment=experiment,
            args=args,
            config=config,
            run_dir=make_run_dir(experiment, args),
            started=time.time(),
            strategy=strategy,
            global_batch_size=global_batch,
            learning_rate=learning_rate,
        )

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
        if self.args.precision == "mixed_float16":
            return keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

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
            "precision": self.args.precision,
            "jit_compile": self.args.jit_compile,
            "seed": self.args.seed,
        }
        return values

    def log_hparams(self, metrics):
        """Writes the HParams entry so that runs compare in TensorBoard's
        HParams dashboard, with `metrics` (a dict of floats) as its values."""
        from tensorboard.plugins.hparams import api as hparams_api

        if not self.chief:
            return
        writer = tf.summary.create_file_writer(str(self.run_dir))
        with writer.as_default(step=0):
            hparams_api.hparams(self.hparams(), trial_id=str(self.run_dir))
            for name, value in metrics.items():
                tf.summary.scalar(name, value)
        writer.flush()

    def write_results(self, metrics, data_source, extra=None):
        """Writes `results.json` (atomically, on the chief) and returns its content."""
        return self._write_results(
            metrics,
            extra,
            hparams=self.hparams(),
            data_source=data_source,
            strategy=strategies.strategy_name(self.strategy),
            replicas=self.replicas,
        )

    def command(self):
        return "python -m experiments." + self.experiment + " " + " ".join(self.args_as_flags())

    def args_as_flags(self):
        flags = []
        for name, value in sorted(vars(self.args).items()):
            if value in (None, False, []) or name in ("set",):
                continue
            flag = "--" + name.replace("_", "-")
            flags.append(flag if value is True else f"{flag}={value}")
        flags += [f"--set={assignment}" for assignment in self.args.set]
        return flags


def command_line(main):
    """Runs an experiment's `main()`, turning the errors a user can act on
    (bad data, a lost worker) into one line on stderr and exit status 1."""
    from keras_bert_lab.data.sources import DataError
    from keras_bert_lab.training.loop import ClusterError

    try:
        main()
    except (DataError, ClusterError) as error:
        program = Path(sys.argv[0]).stem
        sys.exit(f"{program}: error: {error}")
