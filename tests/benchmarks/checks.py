"""Checks shared by the tests of the benchmark's sections."""

import math

JIT_KEYS = ("jit",)
"""The XLA settings of the tiny run (`--jit on`, see conftest.py)."""


def is_number(value):
    """A finite int or float (not a bool): what every measured figure is."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
