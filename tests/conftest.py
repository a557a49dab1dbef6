"""Session-wide test setup.

The CPU is split into two logical devices before TensorFlow starts, so that
`tf.distribute.MirroredStrategy` can be exercised with two replicas on a
machine without GPUs.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration()] * 2,
)

# Folders whose tests run whole experiments, clusters of processes or the benchmark: marked
# `e2e`, so that `pytest -m "not e2e"` runs the fast unit tests alone.
_END_TO_END_FOLDERS = ("experiments", "benchmarks")


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow", action="store_true", help="also run the tests marked slow (minutes each)"
    )


def pytest_collection_modifyitems(config, items):
    import pytest

    tests_root = os.path.dirname(__file__)
    skip_slow = pytest.mark.skip(reason="slow: give --run-slow to run it")
    for item in items:
        folder = os.path.relpath(str(item.path), tests_root).split(os.sep)[0]
        if folder in _END_TO_END_FOLDERS:
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("slow") and not config.getoption("--run-slow"):
            item.add_marker(skip_slow)
