"""Checks shared by the tests of the benchmark's sections."""

import math


def is_number(value):
    """A finite int or float (not a bool): what every measured figure is."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
