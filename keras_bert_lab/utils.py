"""Helpers every layer of the project may use; this module imports nothing of the project.

- Atomic writes: a file or folder is written under a temporary name beside its target and
  renamed into place only when complete, so a crash (or a full disk) never leaves a half-written
  artefact where a good one was.
- `machine_description()`: the one description of the machine written into results files.
- `one_line()`: error messages on a single line.
- `remove_directory()`: a folder removed whole, never left half-removed under its name.
- `Progress`: a line now and then from a long loop (evaluation, decoding, example building).
"""

import contextlib
import errno
import functools
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import keras
import keras_hub
import numpy as np
import tensorflow as tf


class DiskFullError(OSError):
    """A write ran out of space; the file it was to replace is intact. One-line message."""


def _is_disk_full(error):
    """`error`, or an error it was raised from, is `ENOSPC` (Keras and h5py wrap it)."""
    while error is not None:
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return True
        error = error.__cause__ or error.__context__
    return False


@contextlib.contextmanager
def _removed_on_failure(path, partial, remove):
    """Runs the body that writes `partial` and puts it in place at `path`; whatever happens,
    `remove(partial)` where it is left over, and a full device is a `DiskFullError`."""
    try:
        yield
    except Exception as error:
        if _is_disk_full(error):
            raise DiskFullError(
                errno.ENOSPC,
                f"no space left on the device to write {path}; the previous one is intact",
            ) from error
        raise
    finally:
        if partial.exists():
            remove(partial)


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path beside `path` to write to; renames it to `path` on success and
    removes it on any error, leaving an existing `path` untouched.

    `suffix` ends the temporary name (Keras wants `.keras` or `.weights.h5`).

    Raises:
        DiskFullError: the device is full (`ENOSPC`), whichever library was writing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial{suffix}")
    with _removed_on_failure(path, partial, Path.unlink):
        yield partial
        os.replace(partial, path)


@contextlib.contextmanager
def atomic_directory(path):
    """Yields a temporary folder beside `path` to fill; swaps it in for `path` on success and
    removes it on any error, leaving an existing `path` untouched.

    Raises:
        DiskFullError: the device is full (`ENOSPC`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    with _removed_on_failure(path, partial, functools.partial(shutil.rmtree, ignore_errors=True)):
        yield partial
        partial.chmod(0o755)  # mkdtemp makes it private; what goes in is not secret.
        if path.exists():
            # Renamed aside, not removed first: one of the two folders is in place at any time.
            retired = path.with_name(f".{path.name}.retired-{os.getpid()}")
            os.replace(path, retired)
            os.replace(partial, path)
            shutil.rmtree(retired)
        else:
            os.replace(partial, path)


def write_text_atomically(path, text):
    """Writes `text` (UTF-8, `\\n` line ends) to `path` atomically."""
    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8", newline="\n")


def write_json_atomically(path, payload):
    """Writes `payload` as indented, key-sorted JSON to `path` atomically."""
    write_text_atomically(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def save_keras_atomically(model, path):
    """`model.save(path)` (a `.keras` file), atomically."""
    with atomic_path(path, suffix=".keras") as partial:
        model.save(partial)


def remove_directory(path):
    """Removes the folder `path` and everything in it, if it exists. It is renamed aside first,
    so that a crash midway leaves either the whole folder or a hidden leftover, never a
    half-emptied folder under its name (a run folder that would resume from part of itself)."""
    path = Path(path)
    if not path.exists():
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.removed-", dir=path.parent))
    os.replace(path, retired)  # Onto the empty folder mkdtemp made: allowed by rename(2).
    shutil.rmtree(retired)


class Progress:
    """Prints `label: done/total (percent), seconds` at most once every `every` seconds of a
    long loop, the first time `every` seconds after it began, so that a short loop prints
    nothing and a long one shows it is alive.

    Args:
        label: what is being done, e.g. `"test scoring"`.
        total: the units the loop will go through (texts, batches, documents).
        every: seconds between two lines.
        clock: the time source (`time.monotonic`); tests pass their own.
        log: where lines go (default: printed and flushed at once, also into a log file).
    """

    def __init__(self, label, total, every=30.0, clock=time.monotonic, log=None):
        self.label = label
        self.total = total
        self.every = every
        self.clock = clock
        self.log = log or functools.partial(print, flush=True)
        self.done = 0
        self.started = self.last = clock()

    def advance(self, count=1):
        """Counts `count` more units done; prints a line if `every` seconds have passed."""
        self.done += count
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            percent = 100 * self.done / max(self.total, 1)
            self.log(
                f"{self.label}: {self.done:,}/{self.total:,} ({percent:.0f}%), "
                f"{now - self.started:.0f} s"
            )


def one_line(text):
    """`text` as a single line, whitespace runs collapsed (for error messages)."""
    return " ".join(str(text).split())


def git_commit():
    """The repository's commit (with `-dirty` if changed), or "unknown"."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


MATMUL_FEATURES = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")
"""The CPU instruction sets that decide how fast float32 and bfloat16 matrix products run."""


def _cpu_features():
    """The `MATMUL_FEATURES` this CPU reports in `/proc/cpuinfo` (empty where unreadable)."""
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [feature for feature in MATMUL_FEATURES if feature in flags]
    except OSError:
        pass
    return []


BFLOAT16_MATMUL_FEATURES = ("avx512_bf16", "amx_bf16")
"""The x86 instruction sets that multiply bfloat16 matrices natively."""


def auto_precision(cpu_features, accelerators):
    """The policy `--precision auto` chooses on a machine with these `MATMUL_FEATURES` and
    accelerators: `mixed_bfloat16` beside an accelerator or on an x86 CPU with
    `BFLOAT16_MATMUL_FEATURES`, `float32` anywhere else (there bfloat16 matrix products are
    emulated and run slower than float32 ones: docs/performance.md, "bfloat16 on this CPU")."""
    native = any(feature in BFLOAT16_MATMUL_FEATURES for feature in cpu_features)
    return "mixed_bfloat16" if accelerators or native else "float32"


def resolve_precision(precision):
    """The Keras dtype policy that a `precision` field or flag chooses (`auto_precision` on
    this machine for `"auto"`), and one line to print about it (or None): what `"auto"`
    chose and why, or that an explicit `mixed_bfloat16` trains slower here than float32.
    """
    # Physical devices: listing logical ones would fix them before `--cpu-devices` splits the CPU.
    accelerators = [
        device for device in tf.config.list_physical_devices() if device.device_type != "CPU"
    ]
    features = _cpu_features()
    native = [feature for feature in features if feature in BFLOAT16_MATMUL_FEATURES]
    if precision == "auto":
        policy = auto_precision(features, accelerators)
        if accelerators:
            why = "beside an accelerator"
        elif native:
            why = f"this CPU multiplies bfloat16 natively ({', '.join(native)})"
        else:
            why = "no bfloat16 instructions known on this CPU (AVX-512 BF16 or AMX)"
        return policy, f"--precision auto: {policy}, {why}"
    emulated = features and auto_precision(features, accelerators) == "float32"
    if precision == "mixed_bfloat16" and emulated:
        return precision, (
            "this CPU has no bfloat16 instructions (AVX-512 BF16 or AMX): mixed_bfloat16 "
            "trains slower here than --precision float32"
        )
    return precision, None


def machine_description():
    """CPU, accelerators, load and library versions: what measured figures depend on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_model": _cpu_model(),
        "cpu_features": _cpu_features(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "accelerators": [
            device.name
            for device in tf.config.list_logical_devices()
            if device.device_type != "CPU"
        ],
        "load_average_1_5_15": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_hub": keras_hub.__version__,
        "numpy": np.__version__,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }
