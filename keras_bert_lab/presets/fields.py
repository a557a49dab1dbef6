"""The values a preset field may take, declared with the field and checked whenever a preset is
made, a `--set FIELD=VALUE` override included.

A field is declared with its default and its kind:

    @dataclasses.dataclass(frozen=True)
    class MyPreset(CheckedPreset):
        batch_size: int = positive(32)          # an integer >= 1
        tail_length: int = at_least_zero(0)     # an integer >= 0
        dropout: float = rate(0.1)              # a number in [0, 1]
        learning_rate: float = positive(1e-3)   # a number > 0
        max_per_split: int | None = positive(None)  # None, or an integer >= 1
        config_name: str = one_of("tiny", BERT_CONFIGS)

`dataclasses.replace(preset, batch_size=0)` then raises `PresetError` with a one-line message
(`batch_size must be a positive integer, got 0`), which the experiments' flag parser shows as
its error. `TrainingPreset` declares the fields every training experiment's preset shares.
"""

import dataclasses
import types
import typing

_CHECK = "check"
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


class PresetError(ValueError):
    """A preset field holds a value it cannot take; the message is one line."""


def positive(default):
    """A field that is an integer >= 1 (or a number > 0 for a float field), or None where its
    annotation allows it."""
    return dataclasses.field(default=default, metadata={_CHECK: ("positive",)})


def at_least_zero(default):
    """A field that is >= 0."""
    return dataclasses.field(default=default, metadata={_CHECK: ("at_least_zero",)})


def rate(default):
    """A field that is a number in [0, 1] (a dropout, a share, a probability)."""
    return dataclasses.field(default=default, metadata={_CHECK: ("rate",)})


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
"""The Keras dtype policies a run trains under (`--precision`, a preset's `precision`);
`auto`: `mixed_bfloat16` where this machine multiplies bfloat16 natively, else `float32`
(`utils.resolve_precision`)."""


LEARNING_RATE_DECAYS = ("cosine", "linear")
"""How BERT's learning rate falls after its warm-up (`training.optimizers.bert_adamw`)."""


def one_of(default, choices):
    """A field that is one of `choices` (any iterable of values, e.g. a dict's keys)."""
    return dataclasses.field(default=default, metadata={_CHECK: ("one_of", tuple(choices))})


def field_types(field):
    """The types a preset field takes, from its annotation: `{int}`, `{int, NoneType}`..."""
    return set(typing.get_args(field.type)) or {field.type}


def type_phrase(field):
    """What a field takes, in words: `an integer`, `a number or null`."""
    kinds = field_types(field)
    names = [_TYPE_NAMES.get(kind, kind.__name__) for kind in kinds if kind is not types.NoneType]
    return " or ".join(names + (["null"] if types.NoneType in kinds else []))


def field_problem(field, value):
    """Why `value` cannot go into `field`, as a phrase (`must be a positive integer`), or None
    if it can."""
    kind, *arguments = field.metadata.get(_CHECK, (None,))
    if kind is None or (value is None and types.NoneType in field_types(field)):
        return None
    if kind == "one_of":
        return None if value in arguments[0] else f"must be one of {', '.join(arguments[0])}"
    integer = float not in field_types(field)
    number = "integer" if integer else "number"
    if not isinstance(value, int | float) or isinstance(value, bool):
        return f"must be a{'n' if integer else ''} {number}"
    if kind == "positive" and not value > 0:
        return f"must be a positive {number}"
    if kind == "at_least_zero" and not value >= 0:
        return f"must be a{'n' if integer else ''} {number} >= 0"
    if kind == "rate" and not 0 <= value <= 1:
        return "must be a number in [0, 1]"
    return None


class CheckedPreset:
    """Base of the presets: checks every field declared with `positive`, `at_least_zero`,
    `rate` or `one_of` when the preset is made."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            problem = field_problem(field, value)
            if problem:
                raise PresetError(f"{field.name} {problem}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class TrainingPreset(CheckedPreset):
    """The fields of every training experiment's preset: those the schedule flags override
    (`tasks.flags.OVERRIDE_FLAGS`: `--batch-size`, `--epochs`, ...) and the data cap. A preset
    re-declares a field to change its default.

    `steps_per_epoch` None means one pass over the training data. `max_per_split`: examples
    kept per split by the experiment's loader (`data.imdb.load_imdb`, `data.fra_eng.load_fra_eng`;
    None: all), for smoke runs on the real data.
    """

    batch_size: int = positive(32)
    epochs: int = positive(1)
    steps_per_epoch: int | None = positive(None)
    learning_rate: float = positive(1e-3)
    max_per_split: int | None = positive(None)
    precision: str = one_of("float32", PRECISIONS)
