"""Peak memory: of a section with all its contenders alive, and of one BERT
configuration trained alone in a fresh process.

Before each section the earlier sections' objects are freed and returned to
the OS (`release_memory`), then the peak resident set size of the process
is reset (`PeakMemory`, Linux `/proc/self/clear_refs`), so the peak of a
section is the high-water mark of that section with all its contenders
alive at once: an upper bound for each of its configurations run alone. It
includes the RSS the section starts from (the libraries, and what could not
be released, mostly compiled functions), hence the lightest sections run
first (`run.RUN_ORDER`). The memory a user needs is measured apart: each of
our BERT configurations trained for a few steps in a fresh process
(`peak_rss_alone`), which runs this module:

    python -m keras_bert_lab.benchmarks.memory CONFIG_JSON TASK {jit,no_jit}

prints the peak RSS in bytes of `train_alone` in that process.
"""

import argparse
import ctypes
import dataclasses
import gc
import json
import resource
import subprocess
import sys

import keras

from keras_bert_lab.benchmarks.bert import OBJECTIVES, bert_batch, build_trainee
from keras_bert_lab.benchmarks.flops import TASKS
from keras_bert_lab.benchmarks.harness import jit_key, make_train_step, repeat_step
from keras_bert_lab.presets import BenchmarkConfig, ImdbLstmPreset


class PeakMemory:
    """Peak resident set size of this process, per section where possible.

    On Linux, writing 5 to `/proc/self/clear_refs` resets the high-water
    mark `VmHWM` (and with it `ru_maxrss`, which reads the same counter), so
    the process peak is kept here as the largest mark seen before each reset.
    """

    def __init__(self):
        self._earlier_peak = 0

    def reset(self):
        """Starts a new high-water mark; False where the OS cannot."""
        self._earlier_peak = max(self._earlier_peak, self.peak_bytes())
        try:
            with open("/proc/self/clear_refs", "w") as file:
                file.write("5")
            return True
        except OSError:
            return False

    @staticmethod
    def peak_bytes():
        """`VmHWM` since the last reset, else `ru_maxrss`."""
        peak = _process_status_bytes("VmHWM")
        if peak is not None:
            return peak
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024

    def process_peak_bytes(self):
        """The peak over the whole process, resets included."""
        return max(self._earlier_peak, self.peak_bytes())


def current_rss():
    """This process's resident set size in bytes (`VmRSS`), or None where
    `/proc` cannot tell."""
    return _process_status_bytes("VmRSS")


def _process_status_bytes(field):
    """The size `field` (e.g. `VmRSS`) of `/proc/self/status` in bytes, or None where there is
    no such file or line."""
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def release_memory():
    """Frees what earlier sections left: Python garbage, Keras' global
    state, and the heap pages glibc keeps after `free` (`malloc_trim`), so
    that a section's peak RSS is mostly its own."""
    gc.collect()
    keras.backend.clear_session()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # Not glibc.
        pass


# ---------------------------------------------------------------- alone


def train_alone(config, task, jit_compile, steps=3):
    """Builds our model for `task`, runs `steps` training steps and returns
    this process's peak RSS in bytes (meant for a fresh process:
    `peak_rss_alone`)."""
    features, labels = bert_batch(config, task, config.seed)
    model, optimizer = build_trainee(config, "ours", task)
    step = make_train_step(model, optimizer, OBJECTIVES[task], jit_compile)
    repeat_step(step, features, labels, steps)()
    return max(PeakMemory.peak_bytes(), current_rss() or 0)


def peak_rss_alone(config):
    """Peak RSS of one configuration (our model, one task, one XLA
    setting) trained alone in a fresh Python process: the memory a user
    needs for it, libraries included. `{task: {"jit"|"no_jit": bytes}}`."""
    fields = json.dumps(dataclasses.asdict(config))
    peaks = {}
    for task in TASKS:
        for jit_compile in config.jit_modes:
            key = jit_key(jit_compile)
            peaks.setdefault(task, {})[key] = _peak_rss_of_child(fields, task, key)
    return peaks


def _peak_rss_of_child(fields, task, key):
    """Runs this module's `main` in a fresh process; its printed bytes."""
    process = subprocess.run(
        [sys.executable, "-m", "keras_bert_lab.benchmarks.memory", fields, task, key],
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode:
        raise RuntimeError(
            f"measuring {task} ({key}) alone failed: {process.stderr.strip().splitlines()[-1:]}"
        )
    return int(process.stdout.strip().splitlines()[-1])


def config_from_json(text):
    """The `BenchmarkConfig` whose `dataclasses.asdict` is the JSON `text`."""
    fields = json.loads(text)
    fields["lstm"] = ImdbLstmPreset(**fields["lstm"])
    fields["jit_modes"] = tuple(fields["jit_modes"])
    return BenchmarkConfig(**fields)


def main(argv=None):
    """The fresh process of `peak_rss_alone`: trains one configuration and
    prints its peak RSS in bytes."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("config", type=config_from_json, help="BenchmarkConfig fields, as JSON")
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("jit", choices=("jit", "no_jit"))
    args = parser.parse_args(argv)
    print(json.dumps(train_alone(args.config, args.task, args.jit == "jit")))


if __name__ == "__main__":
    main()
