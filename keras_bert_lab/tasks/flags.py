"""The flags every experiment shares, checked when they are parsed: a bad value is argparse's
one-line error (exit status 2) before anything is loaded or written.

- `run_parser`: what every run takes, training or analysis (`--preset`, `--logdir`,
  `--run-name`, `--seed`, `--set FIELD=VALUE`, `--verbose`);
- `experiment_parser`: those of a training experiment on top (`--data-dir`, the strategy, the
  schedule, `--checkpoint-every`, `--force`, `--quiet`);
- `parse_flags`: the flags and the preset they choose, with `--epochs`, `--batch-size`, ...
  and `--set` applied; a value a preset field cannot take (`presets.fields`) is a flag error;
- `with_resolved_precision`: the preset with the policy `--precision auto` chooses here.
"""

import argparse
import dataclasses
import json
import math
from pathlib import Path

from keras_bert_lab.presets.fields import PRECISIONS, PresetError, field_types, type_phrase
from keras_bert_lab.training import strategy as strategies
from keras_bert_lab.utils import resolve_precision

# Flags of `add_schedule_flags` that override the preset field of the same name.
OVERRIDE_FLAGS = ("epochs", "steps_per_epoch", "batch_size", "learning_rate", "precision")
"""The flags that override the preset field of the same name when given."""


# ------------------------------------------------------------------ value types


def number_type(convert, is_allowed, expected):
    """An argparse type: `convert(text)`, accepted where `is_allowed(value)`; otherwise the
    error "expected {expected}, got '...'"."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not is_allowed(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


positive_int = number_type(int, lambda value: value >= 1, "a positive integer")
non_negative_int = number_type(int, lambda value: value >= 0, "an integer >= 0")
positive_float = number_type(
    float, lambda value: value > 0 and math.isfinite(value), "a positive number"
)
non_negative_float = number_type(
    float, lambda value: value >= 0 and math.isfinite(value), "a number >= 0"
)


def existing_dir(text):
    """argparse type: a folder that exists."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return text


def existing_path(text):
    """argparse type: a file or folder that exists."""
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    return text


def add_path_flag(parser, flag, help, *, kind=existing_dir, metavar=None, **options):
    """Adds `flag`, a folder (`kind=existing_dir`) or a file or folder (`existing_path`) that
    must exist when given; None when not given, unless `options` say otherwise (`required`,
    `default`)."""
    options.setdefault("default", None)
    parser.add_argument(flag, type=kind, metavar=metavar, help=help, **options)


def add_data_dir_flag(parser, contents="the dataset archives"):
    """`--data-dir`: the folder the loaders read `contents` from instead of downloading."""
    add_path_flag(
        parser,
        "--data-dir",
        f"folder with {contents}; default: $KBL_DATA_DIR, else download from the publisher",
    )


def docstring_summary(docstring):
    """The first paragraph of a module docstring, on one line: a parser's description."""
    return " ".join(docstring.strip().split("\n\n")[0].split())


def set_example(presets):
    """`FIELD=VALUE` of the first field of the `cpu` preset (else of the first preset) that
    holds a number or a string and that no flag of its own overrides (`OVERRIDE_FLAGS`): an
    override every preset of `presets` accepts, for the `--set` help."""
    preset = presets.get("cpu") or next(iter(presets.values()))
    values = {field.name: getattr(preset, field.name) for field in dataclasses.fields(preset)}
    telling = (
        name
        for name, value in values.items()
        if name not in OVERRIDE_FLAGS
        and isinstance(value, int | float | str)
        and not isinstance(value, bool)
    )
    name = next(telling, next(iter(values)))
    value = values[name]
    return f"{name}={value if isinstance(value, str) else json.dumps(value)}"


# ---------------------------------------------------------------------- parsers


def run_parser(description, presets, *, preset_help, run_name_help, set_help=None):
    """An `argparse` parser with the flags every run takes, training or analysis: `--preset`,
    `--logdir`, `--run-name`, `--seed`, `--set FIELD=VALUE` (repeatable) and `--verbose`.

    Args:
        description: the experiment's module docstring; its first paragraph is shown.
        presets: `{name: preset dataclass}`; `--preset` chooses one, and `--set` takes their
            fields.
        preset_help, run_name_help: the help of those flags.
        set_help: the help of `--set`; default: an example from the `cpu` preset and the
            list of fields.
    """
    parser = argparse.ArgumentParser(
        description=docstring_summary(description),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--preset", choices=sorted(presets), default="cpu", help=preset_help)
    parser.add_argument(
        "--logdir", default="tb_logs", help="root of TensorBoard logs and run folders"
    )
    parser.add_argument("--run-name", default=None, help=run_name_help)
    parser.add_argument("--seed", type=non_negative_int, default=1337)
    fields = [field.name for field in dataclasses.fields(next(iter(presets.values())))]
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help=set_help
        or f"override one preset field (repeatable), e.g. --set {set_example(presets)}; "
        f"fields: {', '.join(fields)}",
    )
    add_verbose_flag(parser)
    return parser


def add_verbose_flag(parser):
    """`--verbose`: TensorFlow's C++ start-up logging stays on (read by `experiments`)."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up logging (hidden by default)",
    )


def experiment_parser(description, presets, set_help=None):
    """An `argparse` parser with the flags every training experiment takes.

    Args:
        description: the experiment's module docstring; its first paragraph is shown.
        presets: `{name: preset dataclass}`; `--preset` chooses one.
        set_help: the help of `--set` (`run_parser`).
    """
    parser = run_parser(
        description,
        presets,
        preset_help="smoke: seconds, for tests; cpu: a real run sized "
        "for a 2-core machine; gpu: the full recipe",
        run_name_help="run folder name; default: the preset name. Run again with the same "
        "name to resume; a finished run prints its results (see --force)",
        set_help=set_help,
    )
    add_training_flags(parser)
    return parser


def add_training_flags(parser):
    """`--data-dir`, the distribution and schedule flags, `--checkpoint-every`, `--force` and
    `--quiet`: what a training run takes besides `run_parser`'s flags."""
    add_data_dir_flag(parser)
    add_distribution_flags(parser)
    add_schedule_flags(parser)
    parser.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=200,
        help="save a checkpoint every N optimizer steps",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="train again from scratch even if the run folder holds a finished run "
        "(its contents are removed first)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_distribution_flags(parser):
    """`--strategy`, `--cpu-devices`, `--precision` and `--jit-compile`: where and how the
    steps run."""
    parser.add_argument("--strategy", choices=strategies.STRATEGIES, default="auto")
    parser.add_argument(
        "--cpu-devices",
        type=positive_int,
        default=None,
        help="split the CPU into N logical devices (to try --strategy=mirrored without GPUs)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="the Keras dtype policy of the training (auto: mixed_bfloat16 where this machine "
        "multiplies bfloat16 natively, else float32); default: the preset's `precision`",
    )
    parser.add_argument(
        "--jit-compile", action="store_true", help="compile the training step with XLA"
    )


def add_schedule_flags(parser):
    """`--epochs`, `--steps-per-epoch`, the batch sizes and the learning rate: overrides of
    the preset's training schedule."""
    parser.add_argument("--epochs", type=positive_int, default=None)
    parser.add_argument("--steps-per-epoch", type=positive_int, default=None)
    parser.add_argument(
        "--batch-size", type=positive_int, default=None, help="per-replica batch size"
    )
    parser.add_argument(
        "--global-batch-size",
        type=positive_int,
        default=None,
        help="global batch size instead (must divide over the replicas)",
    )
    parser.add_argument(
        "--learning-rate",
        type=positive_float,
        default=None,
        help="learning rate for one replica",
    )
    parser.add_argument(
        "--lr-scaling",
        choices=strategies.LEARNING_RATE_SCALING,
        default="sqrt",
        help="how the learning rate grows with the replicas",
    )


# -------------------------------------------------------------------- overrides


def set_value(field, text):
    """The value of `--set FIELD=TEXT` for a preset field: JSON (`128`, `0.1`, `true`,
    `null`), or the text itself for a string field.

    Raises:
        ValueError: the value is not of the field's type; the message says what it takes.
    """
    kinds = field_types(field)
    if str in kinds:
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) not in kinds:
        raise ValueError(f"{field.name} takes {type_phrase(field)}, got {text!r}")
    return value


def overrides(preset, args):
    """`{field: value}` of the `OVERRIDE_FLAGS` and `--set` assignments of `args` for `preset`.

    Raises:
        ValueError: a `--set` names no field of `preset` or gives a value of the wrong type;
            one line.
    """
    fields = {field.name: field for field in dataclasses.fields(preset)}
    changes = {
        flag: getattr(args, flag)
        for flag in OVERRIDE_FLAGS
        if getattr(args, flag, None) is not None and flag in fields
    }
    for assignment in args.set:
        name, separator, text = assignment.partition("=")
        if not separator or name not in fields:
            raise ValueError(
                f"--set {assignment!r}: expected FIELD=VALUE with FIELD one of "
                f"{', '.join(sorted(fields))}"
            )
        try:
            changes[name] = set_value(fields[name], text)
        except ValueError as error:
            raise ValueError(f"--set {assignment!r}: {error}") from None
    return changes


def apply_overrides(parser, preset, args):
    """The preset with `--epochs`, `--batch-size`, ... and `--set` applied; a bad override is
    the parser's one-line error."""
    try:
        return dataclasses.replace(preset, **overrides(preset, args))
    except PresetError as error:
        parser.error(f"preset {args.preset}: {error}")
    except ValueError as error:
        parser.error(str(error))


def parse_flags(parser, presets, argv=None):
    """Parses `argv` (default: the command line) with `parser`.

    Returns:
        `(args, config)`: the flags, and the preset they choose with their overrides applied.
    """
    args = parser.parse_args(argv)
    return args, apply_overrides(parser, presets[args.preset], args)


def with_resolved_precision(config):
    """`(config, line)`: `config` with the policy its `precision` chooses on this machine
    (`utils.resolve_precision`: `auto` resolved), the one a run trains under, records and
    compares on resuming; and the line to print about it (or None)."""
    precision, line = resolve_precision(config.precision)
    return dataclasses.replace(config, precision=precision), line
