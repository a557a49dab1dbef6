"""Where the time of a BERT training step goes: `tf.profiler` traces of our
and keras-hub's steps, and the op types that take the time in them.

A trace (`*.xplane.pb`, what TensorBoard's Profile tab reads) holds one
line of events per host thread; `op_seconds` sums the innermost op events
of the worker threads by op type.
"""

import glob
import os
import re
import time

import tensorflow as tf

from keras_bert_lab.benchmarks.bert import OBJECTIVES, bert_batch, build_trainee
from keras_bert_lab.benchmarks.flops import TASKS
from keras_bert_lab.benchmarks.harness import jit_key, make_train_step, repeat_step
from keras_bert_lab.benchmarks.memory import release_memory

# Op types (TensorFlow kernels; XLA thunks under jit_compile) that are
# matrix products.
MATRIX_PRODUCT = re.compile(r"MatMul|Einsum|^dot$|convolution")
PROFILED_FAMILIES = ("ours", "keras_hub")


def _op_type(event_name, stat_names):
    """The op type of a trace event, or None if the event is not an op.

    TensorFlow kernels are named `node:Type` (`.../MatMul_1:_MklMatMul` ->
    `MatMul`); XLA thunks carry an `hlo_op` stat and are named after their
    instruction (`MatMul_1.204` -> `MatMul`, `wrapped_reduce-window.3` ->
    `wrapped_reduce-window`). Executor loops, thread-pool and memory events
    are neither.
    """
    if "hlo_op" in stat_names:
        return re.sub(r"([._]\d+)+$", "", event_name)
    node, colon, op = event_name.rpartition(":")
    if colon and node and " " not in event_name and "::" not in event_name:
        return op.removeprefix("_Mkl")
    return None


def _innermost(events):
    """The `(start, duration, op)` events that contain no other one: an XLA
    `call` thunk holds the thunks it calls."""
    events = sorted(events, key=lambda e: (e[0], -e[1]))
    open_events, containers = [], set()
    for index, (start, _, _) in enumerate(events):
        while open_events and sum(events[open_events[-1]][:2]) <= start:
            open_events.pop()
        if open_events:
            containers.add(open_events[-1])
        open_events.append(index)
    return [e for i, e in enumerate(events) if i not in containers]


def op_seconds(xplane_path):
    """`{op type: seconds}` summed over the host's worker threads (not the
    Python thread) of a TensorFlow profile (`*.xplane.pb`)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as file:
        space.ParseFromString(file.read())
    seconds = {}
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        stat_names = {key: stat.name for key, stat in plane.stat_metadata.items()}
        for line in plane.lines:
            if line.name == "python":
                continue
            ops = []
            for event in line.events:
                op = _op_type(
                    plane.event_metadata[event.metadata_id].name,
                    {stat_names[stat.metadata_id] for stat in event.stats},
                )
                if op is not None:
                    ops.append((event.offset_ps, event.duration_ps, op))
            for _, duration, op in _innermost(ops):
                seconds[op] = seconds.get(op, 0.0) + duration * 1e-12
    return seconds


def profile_bert(config, logdir, steps=3, top=12):
    """Where the time of the BERT training steps goes.

    For each task, `jit_modes` and family in `PROFILED_FAMILIES`, runs
    `steps` steps (after a warm-up) under `tf.profiler` into
    `logdir/<task>-<family>-<jit>` (TensorBoard's Profile tab reads these)
    and sums the time of each op type over the worker threads. Several ops
    run at once on the threads, so these seconds add up to more than the
    wall time.

    Returns:
        `{task: {jit: {family: {"wall_seconds_per_step",
        "op_seconds_per_step", "matrix_product_share", "top_ops":
        [[op type, seconds per step], ...], "trace_folder"}}}}`, the `top`
        op types each.
    """
    results = {}
    for task in TASKS:
        batch = bert_batch(config, task, config.seed)
        for jit_compile in config.jit_modes:
            key = jit_key(jit_compile)
            for family in PROFILED_FAMILIES:
                folder = os.path.join(logdir, f"{task}-{family}-{key}")
                results.setdefault(task, {}).setdefault(key, {})[family] = _profile_step(
                    config, task, family, jit_compile, batch, folder, steps, top
                )
                release_memory()
    return results


def _profile_step(config, task, family, jit_compile, batch, folder, steps, top):
    """Profiles `steps` steps of one family's model into `folder`; one
    entry of `profile_bert`'s results."""
    model, optimizer = build_trainee(config, family, task, config.profile_precision)
    step = make_train_step(model, optimizer, OBJECTIVES[task], jit_compile)
    run = repeat_step(step, *batch, steps)
    run()  # Tracing and compilation stay out of the profile.
    tf.profiler.experimental.start(folder)
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    tf.profiler.experimental.stop()
    traces = sorted(
        glob.glob(os.path.join(folder, "plugins", "profile", "*", "*.xplane.pb")),
        key=os.path.getmtime,
    )
    by_op = op_seconds(traces[-1])
    total = sum(by_op.values())
    ranked = sorted(by_op.items(), key=lambda item: -item[1])
    return {
        "wall_seconds_per_step": wall / steps,
        "op_seconds_per_step": total / steps,
        "matrix_product_share": sum(t for op, t in by_op.items() if MATRIX_PRODUCT.search(op))
        / total,
        "top_ops": [[op, t / steps] for op, t in ranked[:top]],
        "trace_folder": folder,
    }
