"""The kill points of the chaos run's child process (`test_chaos.py` runs it end to end)."""

import argparse

import pytest

from keras_bert_lab.benchmarks import fault_injection


def test_a_kill_is_phase_and_step():
    assert fault_injection.parse_kill("validation:20") == ("validation", 20)
    for bad in ("later:3", "step:", "step:x"):
        with pytest.raises(argparse.ArgumentTypeError, match="PHASE:STEP"):
            fault_injection.parse_kill(bad)
