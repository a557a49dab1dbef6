"""Runnable experiments: `python -m experiments.NAME --help`.

Importing this package quiets TensorFlow's C++ start-up logging (CUDA probing, absl's
pre-initialisation notice) unless `--verbose` is on the command line: it must happen before
TensorFlow is first imported, so before any flag is parsed.
"""

import os
import sys


def _import_tensorflow_quietly():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Some lines are written to file descriptor 2 before TensorFlow reads that setting.
    saved_stderr = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)


if "--verbose" not in sys.argv[1:] and "tensorflow" not in sys.modules:
    _import_tensorflow_quietly()
