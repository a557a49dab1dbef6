"""Speed, hardware utilisation and memory of the models and input pipelines.

The measuring code behind `python -m experiments.benchmark`. Every section
compares *contenders* that do the same work; their timed runs alternate
within one process after a warm-up (tracing, XLA compilation), round after
round, and each figure is the median over the rounds. A ratio is the median
of the per-round ratios, so a slow-down that hits one round (another job on
the machine) hits both contenders of that round.

Sections:

- `bert`: one training step (forward, backward, optimizer update) of MLM+NSP
  pre-training and of classification fine-tuning, our `BertEncoder` models
  (as they train: last block only where the heads read it; and with the
  whole last block, to isolate that saving) against
  `keras_hub.models.BertBackbone` with the same heads, sizes, batch and
  optimizer, with and without XLA (`jit_compile`). Both run the same
  step: a `tf.function` doing `GradientTape` + `optimizer.apply` on one fixed
  in-memory batch (no `fit`, no input pipeline). Their analytic training
  FLOPs (`bert_training_flops`) divided by the fp32 throughput of a large
  `tf.matmul`, timed in the same rounds, give the hardware utilisation.
  In the same rounds: our `Dropout` against `keras.layers.Dropout` on one
  layer's attention weights, forward and backward.
- `decoding`: greedy and beam search of `Translator`, cached and uncached,
  against the same encoder-decoder built from `keras_hub.layers`
  (`TransformerEncoder`, `TransformerDecoder`) decoded with
  `keras_hub.samplers.GreedySampler`.
- `pipelines`: examples/s of the `tf.data` pipelines on synthetic text with
  IMDB-like lengths, against the examples/s the BERT step consumes, and the
  padded-token fraction with and without bucketing.
- `lstm`: `build_lstm_classifier` against the same network written here
  from stock Keras layers.

Peak memory: before each section the earlier sections' objects are freed
and returned to the OS (`release_memory`), then the peak resident set size
of the process is reset (Linux `/proc/self/clear_refs`), so `peak_rss_bytes`
of a section is the high-water mark of that section with all its
contenders alive at once: an upper bound for each of its configurations run
alone. It includes the `rss_at_start_bytes` the section starts from (the
libraries, ~0.8 GiB, and what could not be released, mostly compiled
functions), hence the lightest sections run first (`RUN_ORDER`).
`process_peak_rss_bytes` is the peak of the whole process. The memory a
user needs is measured apart: each of our BERT configurations trained for a
few steps in a fresh process (`peak_rss_alone`).
"""

import ctypes
import dataclasses
import gc
import glob
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from keras_bert_lab.data import pipelines
from keras_bert_lab.data.bert_pretraining import default_max_predictions
from keras_bert_lab.layers import Dropout
from keras_bert_lab.models.bert import BertClassifier, BertEncoder, BertPretrainer
from keras_bert_lab.models.lstm import build_lstm_classifier
from keras_bert_lab.text.special_tokens import END_ID, RESERVED_TOKENS, START_ID
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer
from keras_bert_lab.training import objectives
from keras_bert_lab.utils import machine_description

SECTIONS = ("bert", "decoding", "pipelines", "lstm")
TASKS = ("pretraining", "classification")
# "ours" computes the last block only where the heads read it (the
# default, `prune_last_layer`); "ours_whole_last_layer" does not, like
# keras-hub, to show what that saves.
FAMILIES = ("ours", "ours_whole_last_layer", "keras_hub")
OBJECTIVES = {
    "pretraining": objectives.bert_pretraining,
    "classification": objectives.classification,
}
FIRST_REGULAR_ID = len(RESERVED_TOKENS)  # Random ids avoid [PAD], [END]...


# ---------------------------------------------------------------- FLOPs

FLOP_FORMULA = (
    "training FLOPs per step = 3 x batch x forward FLOPs per sequence "
    "(backward = 2 x forward: gradients w.r.t. inputs and w.r.t. weights); "
    "forward per sequence = (L - 1) x layer(T) + layer(Q) + 2 H^2 [pooler] "
    "+ head, layer(q) = 4 T H^2 [K,V projections of all T positions] + "
    "4 q H^2 [Q,O projections] + 4 q T H [Q K^T and weights x V] + "
    "4 q H I [feed-forward] for q query positions, so layer(T) = 8 T H^2 + "
    "4 T^2 H + 4 T H I; Q = T for keras-hub and ours_whole_last_layer, Q = "
    "1 + P (pre-training: [CLS] and the P masked positions) or 1 "
    "(classification: [CLS]) for ours, whose last block runs only there; "
    "head = P (2 H^2 + 2 H V) + 2 x 2H [MLM dense + tied output at the P "
    "masked positions, NSP] or 2 H C [classifier]. Matrix products only, a "
    "multiply-add = 2 FLOPs; embedding lookups, biases, layer norms, "
    "softmax, GELU and dropout are not counted."
)


def _layer_forward_flops(hidden_dim, intermediate_dim, sequence_length, query_positions):
    t, q, h, i = sequence_length, query_positions, hidden_dim, intermediate_dim
    return 4 * t * h * h + 4 * q * h * h + 4 * q * t * h + 4 * q * h * i


def encoder_forward_flops(
    num_layers, hidden_dim, intermediate_dim, sequence_length, last_layer_positions=None
):
    """Matmul FLOPs of one sequence through `BertEncoder` (with pooler).

    Per layer, with `T = sequence_length`, `H = hidden_dim`,
    `I = intermediate_dim` and `q` query positions: the key and value
    projections of all positions `2 · 2TH²`, the query and output
    projections `2 · 2qH²`, the scores `QKᵀ` and the context `weights · V`
    `2 · 2qTH` (summed over heads: `num_heads · key_dim = H`), the
    feed-forward network `2 · 2qHI`; `q = T` except in the last layer when
    it runs at `last_layer_positions` only (`BertEncoder.outputs_at`); then
    the pooler `2H²` on `[CLS]`.
    """
    full = _layer_forward_flops(hidden_dim, intermediate_dim, sequence_length, sequence_length)
    last = _layer_forward_flops(
        hidden_dim,
        intermediate_dim,
        sequence_length,
        sequence_length if last_layer_positions is None else last_layer_positions,
    )
    return (num_layers - 1) * full + last + 2 * hidden_dim * hidden_dim


def head_forward_flops(task, hidden_dim, vocabulary_size, max_predictions=0, num_classes=2):
    """Matmul FLOPs of one sequence through a head.

    `"pretraining"`: the MLM dense layer and the tied output projection at
    the `P = max_predictions` masked positions, `P(2H² + 2HV)`, and the NSP
    dense layer `2 · 2H`. `"classification"`: `2HC`.
    """
    h = hidden_dim
    if task == "pretraining":
        return max_predictions * (2 * h * h + 2 * h * vocabulary_size) + 4 * h
    if task == "classification":
        return 2 * h * num_classes
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def bert_training_flops(config, task, prune_last_layer=False):
    """Matmul FLOPs of one training step of a whole batch (see
    `FLOP_FORMULA`): `3 × batch × (encoder + head)` forward FLOPs, with the
    last layer at `[CLS]` and the masked positions only if
    `prune_last_layer`."""
    max_predictions = _max_predictions(config)
    last_layer_positions = None
    if prune_last_layer:
        last_layer_positions = 1 + (max_predictions if task == "pretraining" else 0)
    forward = encoder_forward_flops(
        config.num_layers,
        config.hidden_dim,
        config.intermediate_dim,
        config.sequence_length,
        last_layer_positions,
    ) + head_forward_flops(
        task,
        config.hidden_dim,
        config.vocabulary_size,
        max_predictions,
        config.num_classes,
    )
    return 3 * config.batch_size * forward


def _max_predictions(config):
    if config.max_predictions is not None:
        return config.max_predictions
    return default_max_predictions(config.sequence_length)


# ---------------------------------------------------------------- timing


def alternate(contenders, repetitions, warmup=1):
    """Times each contender in turn, round after round.

    Every other round runs the contenders in reverse order (A B B A ...),
    so that no contender always runs right after the same neighbour.

    Args:
        contenders: `{name: run}`; `run()` does the work and returns only
            once it is finished (e.g. after `.numpy()`).
        repetitions: number of rounds.
        warmup: untimed calls of each contender first (tracing, XLA).

    Returns:
        `{name: [seconds of round 1, ...]}`.
    """
    for run in contenders.values():
        for _ in range(warmup):
            run()
    seconds = {name: [] for name in contenders}
    order = list(contenders.items())
    for repetition in range(repetitions):
        for name, run in order if repetition % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def median_ratio(numerators, denominators):
    """Median of the per-round ratios of two timing lists."""
    return statistics.median(a / b for a, b in zip(numerators, denominators))


def _rates(seconds, amount):
    """Median rate `amount / seconds` and the per-round rates."""
    rates = [amount / s for s in seconds]
    return statistics.median(rates), rates


def make_dropout(layer, shape, jit_compile):
    """A `run()` doing `layer`'s training-mode forward pass on a float32
    tensor of `shape` and the backward pass of an upstream gradient of the
    same shape."""
    inputs = tf.random.stateless_uniform(shape, seed=[5, 6])

    @tf.function(jit_compile=jit_compile, autograph=False)
    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs, training=True)
        return tape.gradient(outputs, inputs, output_gradients=inputs)

    return lambda: forward_backward()[0, 0, 0, 0].numpy()


def make_matmul(size, jit_compile):
    """A `run()` doing one fp32 `[size, size] @ [size, size]` product;
    `2 · size³` FLOPs."""
    a = tf.random.stateless_normal([size, size], seed=[1, 2])
    b = tf.random.stateless_normal([size, size], seed=[3, 4])
    matmul = tf.function(tf.matmul, jit_compile=jit_compile)
    # One element read outside the function, so that no compiler can
    # shrink the product to the element read.
    return lambda: matmul(a, b)[0, 0].numpy()


# ---------------------------------------------------------------- memory


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
        try:
            with open("/proc/self/status") as file:
                for line in file:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024

    def process_peak_bytes(self):
        """The peak over the whole process, resets included."""
        return max(self._earlier_peak, self.peak_bytes())


# ---------------------------------------------------------------- BERT


def bert_batch(config, task, seed=0):
    """A fixed `(features, labels)` batch without padding: every position
    is a real token, so the FLOP count is the work done."""
    rng = np.random.default_rng(seed)
    b, t = config.batch_size, config.sequence_length
    token_ids = rng.integers(FIRST_REGULAR_ID, config.vocabulary_size, (b, t))
    segment_ids = (np.arange(t)[None, :] >= t // 2).repeat(b, 0)
    features = {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": np.ones((b, t)),
    }
    if task == "pretraining":
        p = _max_predictions(config)
        positions = np.sort(
            np.stack([rng.choice(np.arange(1, t), p, replace=False) for _ in range(b)]), axis=1
        )
        features["mask_positions"] = positions
        labels = {
            "mlm_labels": rng.integers(FIRST_REGULAR_ID, config.vocabulary_size, (b, p)),
            "mlm_weights": np.ones((b, p), np.float32),
            "nsp_labels": rng.integers(0, 2, b),
        }
    else:
        labels = rng.integers(0, config.num_classes, b)
    features = {k: tf.constant(v, tf.int32) for k, v in features.items()}
    labels = tf.nest.map_structure(
        lambda v: tf.constant(v, tf.float32 if v.dtype == np.float32 else tf.int32), labels
    )
    return features, labels


def _truncated_normal():
    return keras.initializers.TruncatedNormal(stddev=0.02, seed=keras.random.SeedGenerator())


def _gelu_approximate(x):
    return keras.activations.gelu(x, approximate=True)


def build_bert(config, family, task):
    """Our `BertPretrainer`/`BertClassifier`, or the same network on a
    `keras_hub.models.BertBackbone`: MLM through `keras_hub.layers.
    MaskedLMHead` tied to the backbone's token embedding (tanh GELU, as
    ours), NSP and classification as dense layers on `pooled_output`."""
    sizes = dict(
        vocabulary_size=config.vocabulary_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
        max_sequence_length=config.max_position_embeddings,
    )
    if family in ("ours", "ours_whole_last_layer"):
        encoder = BertEncoder(**sizes)
        prune = family == "ours"
        if task == "pretraining":
            return BertPretrainer(encoder, prune_last_layer=prune)
        return BertClassifier(
            encoder, num_classes=config.num_classes, dropout=config.dropout, prune_last_layer=prune
        )
    if family != "keras_hub":
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    backbone = keras_hub.models.BertBackbone(**sizes)
    names = ["token_ids", "segment_ids", "padding_mask"]
    if task == "pretraining":
        names.append("mask_positions")
    inputs = {name: keras.Input((None,), dtype="int32", name=name) for name in names}
    encoded = backbone({name: inputs[name] for name in names[:3]})
    if task == "pretraining":
        mlm_head = keras_hub.layers.MaskedLMHead(
            token_embedding=backbone.token_embedding,
            intermediate_activation=_gelu_approximate,
            layer_norm_epsilon=1e-12,
            kernel_initializer=_truncated_normal(),
            name="mlm_head",
        )
        outputs = {
            "mlm_logits": mlm_head(
                encoded["sequence_output"], mask_positions=inputs["mask_positions"]
            ),
            "nsp_logits": keras.layers.Dense(
                2, kernel_initializer=_truncated_normal(), name="nsp_dense"
            )(encoded["pooled_output"]),
        }
    else:
        pooled = keras.layers.Dropout(config.dropout)(encoded["pooled_output"])
        outputs = keras.layers.Dense(
            config.num_classes,
            kernel_initializer=_truncated_normal(),
            name="logits",
        )(pooled)
    return keras.Model(inputs, outputs, name=f"keras_hub_bert_{task}")


def build_trainee(config, family, task):
    """`build_bert` with the step's AdamW optimizer, from `config.seed`:
    what every timed, profiled or memory-measured BERT step trains."""
    keras.utils.set_random_seed(config.seed)
    model = build_bert(config, family, task)
    optimizer = keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
    return model, optimizer


def make_train_step(model, optimizer, objective, jit_compile):
    """The training step both families run: a `tf.function` (XLA-compiled
    with `jit_compile`) doing forward, `objective` (sums and counts from
    `keras_bert_lab.training.objectives`), `GradientTape` backward and
    `optimizer.apply`. Returns the loss."""
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=jit_compile)
    def train_step(features, labels):
        with tf.GradientTape() as tape:
            outputs = model(features, training=True)
            terms = objective(labels, outputs)
            loss = tf.add_n(
                [
                    terms[name].total / tf.maximum(terms[name].count, 1.0)
                    for name in objectives.LOSS_TERMS
                    if name in terms
                ]
            )
        variables = model.trainable_variables
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return train_step


def _runner(step, features, labels, steps):
    def run():
        for _ in range(steps):
            loss = step(features, labels)
        return float(loss)

    return run


def _jit_key(jit_compile):
    return "jit" if jit_compile else "no_jit"


def benchmark_bert(config):
    """BERT training steps, ours against keras-hub, and fp32 matmul peak.

    All contenders (the `TASKS` × `FAMILIES` × `jit_modes` steps, the
    dropout layers and the matmul probes) alternate in every round.
    """
    contenders, trace_counts, steps = {}, {}, {}
    for task in TASKS:
        features, labels = bert_batch(config, task, config.seed)
        models = {family: build_trainee(config, family, task) for family in FAMILIES}
        # The families of a comparison run next to each other.
        for jit_compile in config.jit_modes:
            for family, (model, optimizer) in models.items():
                name = (task, family, _jit_key(jit_compile))
                steps[name] = make_train_step(model, optimizer, OBJECTIVES[task], jit_compile)
                contenders[name] = _runner(
                    steps[name], features, labels, config.steps_per_repetition
                )
    size = config.matmul_size
    contenders["matmul"] = make_matmul(size, jit_compile=False)
    contenders["matmul_xla"] = make_matmul(size, jit_compile=True)
    # The largest tensor dropout acts on: one layer's attention weights.
    dropout_shape = (
        config.batch_size,
        config.num_heads,
        config.sequence_length,
        config.sequence_length,
    )
    for jit_compile in config.jit_modes:
        for name, layer in (
            ("ours", Dropout(config.dropout, seed=1)),
            ("keras", keras.layers.Dropout(config.dropout, seed=1)),
        ):
            contenders[("dropout", name, _jit_key(jit_compile))] = make_dropout(
                layer, dropout_shape, jit_compile
            )
    seconds = alternate(contenders, config.repetitions, warmup=config.warmup_steps)
    for name, step in steps.items():
        trace_counts[name] = step.experimental_get_tracing_count()

    matmul_flops = 2 * size**3
    matmul = {name: _rates(seconds[name], matmul_flops)[0] for name in ("matmul", "matmul_xla")}
    # The better of the two kernels is the machine's fp32 matmul peak.
    peak_per_round = [
        max(matmul_flops / a, matmul_flops / b)
        for a, b in zip(seconds["matmul"], seconds["matmul_xla"])
    ]
    results = {
        "matmul": {
            "size": size,
            "flops": matmul_flops,
            "tf_matmul_flops_per_second": matmul["matmul"],
            "xla_matmul_flops_per_second": matmul["matmul_xla"],
            "peak_flops_per_second": statistics.median(peak_per_round),
        },
        "flop_formula": FLOP_FORMULA,
        "dropout": {"shape": list(dropout_shape), "rate": config.dropout},
    }
    for jit_compile in config.jit_modes:
        key = _jit_key(jit_compile)
        ours, theirs = (seconds[("dropout", name, key)] for name in ("ours", "keras"))
        results["dropout"][key] = {
            "ours_seconds": statistics.median(ours),
            "keras_seconds": statistics.median(theirs),
            "speedup_ours_over_keras": median_ratio(theirs, ours),
        }
    tokens = config.batch_size * config.sequence_length * config.steps_per_repetition
    examples = config.batch_size * config.steps_per_repetition
    for task in TASKS:
        task_results = {}
        for jit_compile in config.jit_modes:
            key = _jit_key(jit_compile)
            entry = {}
            for family in FAMILIES:
                flops = bert_training_flops(config, task, prune_last_layer=family == "ours")
                times = seconds[(task, family, key)]
                utilisation = [
                    flops * config.steps_per_repetition / s / peak
                    for s, peak in zip(times, peak_per_round)
                ]
                entry[family] = {
                    "training_flops_per_step": flops,
                    "tokens_per_second": _rates(times, tokens)[0],
                    # The fastest round: the least disturbed by other jobs.
                    "best_tokens_per_second": tokens / min(times),
                    "examples_per_second": _rates(times, examples)[0],
                    "seconds_per_step": statistics.median(times) / config.steps_per_repetition,
                    "flops_per_second": _rates(times, flops * config.steps_per_repetition)[0],
                    "utilisation": statistics.median(utilisation),
                    "traces": trace_counts[(task, family, key)],
                    "round_seconds": times,
                }
            # Speed ratio: their time over ours, round by round.
            entry["speedup_ours_over_keras_hub"] = median_ratio(
                seconds[(task, "keras_hub", key)], seconds[(task, "ours", key)]
            )
            entry["speedup_ours_over_keras_hub_best_rounds"] = min(
                seconds[(task, "keras_hub", key)]
            ) / min(seconds[(task, "ours", key)])
            entry["speedup_of_pruned_last_layer"] = median_ratio(
                seconds[(task, "ours_whole_last_layer", key)], seconds[(task, "ours", key)]
            )
            task_results[key] = entry
        results[task] = task_results
    return results


# ---------------------------------------------------------------- profile

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
        features, labels = bert_batch(config, task, config.seed)
        for jit_compile in config.jit_modes:
            key = _jit_key(jit_compile)
            for family in PROFILED_FAMILIES:
                model, optimizer = build_trainee(config, family, task)
                run = _runner(
                    make_train_step(model, optimizer, OBJECTIVES[task], jit_compile),
                    features,
                    labels,
                    steps,
                )
                run()  # Tracing and compilation stay out of the profile.
                folder = os.path.join(logdir, f"{task}-{family}-{key}")
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
                results.setdefault(task, {}).setdefault(key, {})[family] = {
                    "wall_seconds_per_step": wall / steps,
                    "op_seconds_per_step": total / steps,
                    "matrix_product_share": sum(
                        t for op, t in by_op.items() if MATRIX_PRODUCT.search(op)
                    )
                    / total,
                    "top_ops": [[op, t / steps] for op, t in ranked[:top]],
                    "trace_folder": folder,
                }
                del model, optimizer, run
                release_memory()
    return results


_ALONE_SCRIPT = """
import json, sys
from keras_bert_lab import benchmarks as benchmarking
from keras_bert_lab.presets import BenchmarkConfig, ImdbLstmPreset
fields = json.loads(sys.argv[1])
fields["lstm"] = ImdbLstmPreset(**fields["lstm"])
fields["jit_modes"] = tuple(fields["jit_modes"])
config = BenchmarkConfig(**fields)
print(json.dumps(benchmarking.train_alone(config, sys.argv[2], sys.argv[3] == "jit")))
"""


def train_alone(config, task, jit_compile, steps=3):
    """Builds our model for `task`, runs `steps` training steps and returns
    this process's peak RSS in bytes (meant for a fresh process:
    `peak_rss_alone`)."""
    features, labels = bert_batch(config, task, config.seed)
    model, optimizer = build_trainee(config, "ours", task)
    _runner(
        make_train_step(model, optimizer, OBJECTIVES[task], jit_compile), features, labels, steps
    )()
    return max(PeakMemory.peak_bytes(), _current_rss() or 0)


def peak_rss_alone(config):
    """Peak RSS of one configuration (our model, one task, one XLA
    setting) trained alone in a fresh Python process: the memory a user
    needs for it, libraries included. `{task: {"jit"|"no_jit": bytes}}`."""
    fields = json.dumps(dataclasses.asdict(config))
    peaks = {}
    for task in TASKS:
        for jit_compile in config.jit_modes:
            key = _jit_key(jit_compile)
            process = subprocess.run(
                [sys.executable, "-c", _ALONE_SCRIPT, fields, task, key],
                capture_output=True,
                text=True,
                check=False,
            )
            if process.returncode:
                raise RuntimeError(
                    f"measuring {task} ({key}) alone failed: "
                    f"{process.stderr.strip().splitlines()[-1:]}"
                )
            peaks.setdefault(task, {})[key] = int(process.stdout.strip().splitlines()[-1])
    return peaks


# ---------------------------------------------------------------- decoding


def _translator_modules():
    """`(Translator, decoding)`, or the reason they cannot be used."""
    try:
        from keras_bert_lab.models.translator import decoding
        from keras_bert_lab.models.translator.model import Translator
    except ImportError as error:  # Not written yet.
        return None, f"{type(error).__name__}: {error}"
    return (Translator, decoding), None


def _never_end(token_embedding):
    """Zeroes the `[END]` row of a tied output embedding: its logit is then
    0 while the largest of thousands of random logits is well above it, so
    every sentence runs to the full output length."""
    embeddings = token_embedding.embeddings
    embeddings.assign(
        tf.tensor_scatter_nd_update(embeddings, [[END_ID]], tf.zeros([1, embeddings.shape[1]]))
    )


class KerasHubSeq2Seq:
    """The translator's encoder-decoder from `keras_hub.layers`, decoded
    greedily with the key/value cache by `keras_hub.samplers.GreedySampler`.

    Same sizes as `Translator` (post-LN, ReLU, tied output embeddings); the
    positions are learned rather than sinusoidal (a lookup either way).
    """

    def __init__(self, config, sequence_length):
        h, v = config.hidden_dim, config.translator_vocabulary_size
        self.num_heads = config.num_heads
        self.key_dim = h // config.num_heads
        self.source_embedding = keras_hub.layers.TokenAndPositionEmbedding(
            v, sequence_length, h, name="source_embedding"
        )
        self.target_embedding = keras_hub.layers.TokenAndPositionEmbedding(
            v, sequence_length + 1, h, tie_weights=True, name="target_embedding"
        )
        block = dict(
            intermediate_dim=config.intermediate_dim,
            num_heads=config.num_heads,
            dropout=config.dropout,
            activation="relu",
        )
        self.encoder_blocks = [
            keras_hub.layers.TransformerEncoder(**block, name=f"encoder_{i}")
            for i in range(config.num_layers)
        ]
        self.decoder_blocks = [
            keras_hub.layers.TransformerDecoder(**block, name=f"decoder_{i}")
            for i in range(config.num_layers)
        ]
        self.sampler = keras_hub.samplers.GreedySampler()
        # Build every layer eagerly (no variables in the tf.function).
        ids = tf.ones([1, 2], tf.int32)
        encoded = self.encode(ids)[0]
        x = self.target_embedding(ids)
        for block_layer in self.decoder_blocks:
            x = block_layer(x, encoded)
        _never_end(self.target_embedding.token_embedding)

    def encode(self, source_ids):
        padding_mask = source_ids != 0
        x = self.source_embedding(source_ids)
        for block_layer in self.encoder_blocks:
            x = block_layer(x, padding_mask=padding_mask)
        return x, padding_mask

    def greedy(self, source_ids, max_length):
        """int32 `[batch, max_length + 1]`: `[START]` and the outputs."""
        encoded, padding_mask = self.encode(source_ids)
        batch_size = tf.shape(source_ids)[0]
        # The cross-attention keys and values, once per sentence, as
        # keras-hub's own seq2seq models do (private layers: no public API).
        cross_caches = tuple(
            tf.stack(
                [
                    block_layer._cross_attention_layer._key_dense(encoded),
                    block_layer._cross_attention_layer._value_dense(encoded),
                ],
                axis=1,
            )
            for block_layer in self.decoder_blocks
        )
        self_caches = tuple(
            tf.zeros([batch_size, 2, max_length + 1, self.num_heads, self.key_dim])
            for _ in self.decoder_blocks
        )

        def next_logits(prompt, caches, index):
            # Logits at `index` from the token at `index - 1`.
            x = self.target_embedding(prompt[:, index - 1 : index], start_index=index - 1)
            updated = []
            for block_layer, self_cache, cross_cache in zip(
                self.decoder_blocks, caches, cross_caches
            ):
                x, self_cache, _ = block_layer(
                    x,
                    encoded,
                    encoder_padding_mask=padding_mask,
                    self_attention_cache=self_cache,
                    self_attention_cache_update_index=index - 1,
                    cross_attention_cache=cross_cache,
                )
                updated.append(self_cache)
            logits = self.target_embedding.token_embedding(x, reverse=True)
            return logits[:, 0], x, tuple(updated)

        prompt = tf.pad(tf.fill([batch_size, 1], START_ID), [[0, 0], [0, max_length]])
        return self.sampler(
            next_logits, prompt, cache=self_caches, index=1, stop_token_ids=[END_ID]
        )


def benchmark_decoding(config):
    """Sentences/s and tokens/s of greedy and beam search, cached and not,
    and keras-hub's cached greedy sampling, at `decode_length` tokens."""
    modules, missing = _translator_modules()
    if modules is None:
        return {"available": False, "reason": missing}
    Translator, decoding = modules
    length = config.decode_length
    sequence_length = max(length, config.decode_source_length)
    keras.utils.set_random_seed(config.seed)
    translator = Translator(
        config.translator_vocabulary_size,
        config.translator_vocabulary_size,
        sequence_length=sequence_length,
        num_layers=config.num_layers,
        hidden_dim=config.hidden_dim,
        num_heads=config.num_heads,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
    )
    translator.build()
    _never_end(translator.target_embedding.token_embedding)
    hub = KerasHubSeq2Seq(config, sequence_length)
    rng = np.random.default_rng(config.seed)
    source_ids = tf.constant(
        rng.integers(
            FIRST_REGULAR_ID,
            config.translator_vocabulary_size,
            (config.decode_batch_size, config.decode_source_length),
        ),
        tf.int32,
    )
    hub_greedy = {
        jit: tf.function(lambda ids: hub.greedy(ids, length), jit_compile=jit)
        for jit in (True, False)
    }

    # (method, setting) -> a run() that decodes the batch, keeping outputs.
    outputs = {}

    def ours(method, use_cache, jit_compile=True):
        def run():
            return decoding.generate(
                translator,
                source_ids,
                method=method,
                beam_size=config.beam_size,
                max_length=length,
                use_cache=use_cache,
                jit_compile=jit_compile,
            ).numpy()

        return run

    def keras_hub_run(jit_compile):
        return lambda: hub_greedy[jit_compile](source_ids).numpy()[:, 1:]

    runs = {
        ("greedy", "cached"): ours("greedy", True),
        ("greedy", "uncached"): ours("greedy", False),
        ("beam", "cached"): ours("beam", True),
        ("beam", "uncached"): ours("beam", False),
        ("keras_hub_greedy", "cached"): keras_hub_run(True),
        ("greedy", "cached_no_jit"): ours("greedy", True, False),
        ("keras_hub_greedy", "cached_no_jit"): keras_hub_run(False),
    }

    def keeping(name, run):
        def kept():
            outputs[name] = run()

        return kept

    seconds = alternate(
        {name: keeping(name, run) for name, run in runs.items()},
        config.decode_repetitions,
        warmup=1,
    )
    results = {
        "available": True,
        "batch_size": config.decode_batch_size,
        "source_length": config.decode_source_length,
        "output_tokens": length,
        "beam_size": config.beam_size,
        "jit_compile": "XLA unless the setting ends in _no_jit",
        "note": "random weights, [END] logit pinned to 0 so that every "
        "sentence has output_tokens tokens; keras-hub: "
        "TransformerEncoder/TransformerDecoder with cached keys and "
        "values, GreedySampler, same sizes",
    }
    for (method, setting), times in seconds.items():
        generated = int(np.count_nonzero(outputs[(method, setting)]))
        results.setdefault(method, {})[setting] = {
            "sentences_per_second": _rates(times, config.decode_batch_size)[0],
            "tokens_per_second": _rates(times, generated)[0],
            "mean_output_tokens": generated / config.decode_batch_size,
            "round_seconds": times,
        }

    def speedup(slow, fast):
        return median_ratio(seconds[slow], seconds[fast])

    results["greedy_cached_speedup_over_uncached"] = speedup(
        ("greedy", "uncached"), ("greedy", "cached")
    )
    results["beam_cached_speedup_over_uncached"] = speedup(("beam", "uncached"), ("beam", "cached"))
    results["beam_time_over_greedy_time"] = speedup(("beam", "cached"), ("greedy", "cached"))
    results["greedy_cached_speedup_over_keras_hub"] = speedup(
        ("keras_hub_greedy", "cached"), ("greedy", "cached")
    )
    results["greedy_cached_speedup_over_keras_hub_no_jit"] = speedup(
        ("keras_hub_greedy", "cached_no_jit"), ("greedy", "cached_no_jit")
    )
    # Each side at its faster setting.
    results["greedy_cached_speedup_over_keras_hub_best"] = statistics.median(
        min(hub_jit, hub_eager) / min(ours_jit, ours_eager)
        for ours_jit, ours_eager, hub_jit, hub_eager in zip(
            seconds[("greedy", "cached")],
            seconds[("greedy", "cached_no_jit")],
            seconds[("keras_hub_greedy", "cached")],
            seconds[("keras_hub_greedy", "cached_no_jit")],
        )
    )
    results["all_sentences_full_length"] = all(
        int(np.count_nonzero(ids)) == ids.shape[0] * length for ids in outputs.values()
    )
    return results


# ---------------------------------------------------------------- pipelines

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def synthetic_words(num_words, seed=0):
    """Distinct lowercase pseudo-words of 2 to 10 letters."""
    rng = np.random.default_rng(seed)
    words = set()
    while len(words) < num_words:
        length = int(rng.integers(2, 11))
        words.add("".join(rng.choice(list(_LETTERS), length)))
    return sorted(words)


def synthetic_texts(num_texts, mean_words, words, seed=0):
    """Reviews of random words with IMDB-like lengths.

    Lengths are log-normal (σ = 0.75, median ≈ 0.75 × mean: the skew of IMDB
    reviews, mean 230 and median 174 words); words follow a Zipf law; a
    sentence of 8 to 25 words ends with a full stop and the next starts
    with a capital.
    """
    rng = np.random.default_rng(seed)
    sigma = 0.75
    lengths = np.maximum(
        1, rng.lognormal(math.log(mean_words) - sigma**2 / 2, sigma, num_texts)
    ).astype(int)
    ranks = np.arange(1, len(words) + 1)
    frequencies = 1.0 / ranks
    frequencies /= frequencies.sum()
    texts = []
    for length in lengths:
        chosen = rng.choice(len(words), length, p=frequencies)
        sentences, start = [], 0
        while start < length:
            end = start + int(rng.integers(8, 26))
            sentence = " ".join(words[i] for i in chosen[start:end])
            sentences.append(sentence.capitalize() + ".")
            start = end
        texts.append(" ".join(sentences))
    return texts


def synthetic_vocabulary(words, vocabulary_size):
    """Reserved tokens, single letters and `##` letters (so that any word
    tokenizes), the full stop, then the most frequent words."""
    pieces = list(_LETTERS) + ["##" + c for c in _LETTERS] + ["."]
    room = vocabulary_size - len(RESERVED_TOKENS) - len(pieces)
    return list(RESERVED_TOKENS) + pieces + list(words[: max(room, 0)])


def _examples_per_second(dataset):
    """Examples/s of one full pass; and the number of examples."""
    start = time.perf_counter()
    examples = 0
    for features, _ in dataset:
        examples += int(tf.shape(tf.nest.flatten(features)[0])[0])
    return examples / (time.perf_counter() - start), examples


def synthetic_pretraining_arrays(num_examples, sequence_length, vocabulary_size, seed=0):
    """Arrays shaped like `make_pretraining_examples`' output: `[CLS] A
    [SEP] B [SEP]`, lengths as its 10% short sequences make them."""
    rng = np.random.default_rng(seed)
    t = sequence_length
    token_ids = np.zeros((num_examples, t), np.int32)
    segment_ids = np.zeros((num_examples, t), np.int32)
    for row in range(num_examples):
        length = t if rng.random() > 0.1 else int(rng.integers(5, t + 1))
        split = int(rng.integers(2, length - 2))
        token_ids[row, :length] = rng.integers(FIRST_REGULAR_ID, vocabulary_size, length)
        token_ids[row, 0] = 2  # [CLS]
        token_ids[row, split] = token_ids[row, length - 1] = 3  # [SEP]
        segment_ids[row, split + 1 : length] = 1
    return {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": token_ids != 0,
        "nsp_labels": rng.integers(0, 2, num_examples).astype(np.int32),
    }


def benchmark_pipelines(config):
    """Examples/s of the three pipelines, and their padded fractions
    (`compare_with_consumption` adds what the BERT step consumes)."""
    words = synthetic_words(max(config.pipeline_vocabulary_size * 2, 100), config.seed)
    texts = synthetic_texts(config.pipeline_texts, config.mean_words, words, config.seed)
    labels = np.arange(len(texts)) % 2
    tokenizer = make_wordpiece_tokenizer(
        synthetic_vocabulary(words, config.pipeline_vocabulary_size), lowercase=True
    )
    results = {
        "texts": len(texts),
        "mean_words": float(np.mean([len(t.split()) for t in texts])),
        "median_words": float(np.median([len(t.split()) for t in texts])),
        "mean_tokens": float(np.mean([len(ids) for ids in tokenizer(texts)])),
        "note": "pipelines timed alone (no model running beside them); the "
        "first pass tokenizes and fills the cache, later passes "
        "read the cache",
    }

    def timed_passes(dataset):
        first, examples = _examples_per_second(dataset)
        second, _ = _examples_per_second(dataset)
        return {
            "examples": examples,
            "first_pass_examples_per_second": first,
            "cached_pass_examples_per_second": second,
        }

    classification = timed_passes(
        pipelines.classification_dataset(
            texts,
            labels,
            tokenizer,
            batch_size=config.batch_size,
            sequence_length=config.sequence_length,
            shuffle=True,
            seed=config.seed,
            bert_inputs=True,
        )
    )
    arrays = synthetic_pretraining_arrays(
        config.pretraining_examples, config.sequence_length, config.vocabulary_size, config.seed
    )
    pretraining_rate, examples = _examples_per_second(
        pipelines.pretraining_dataset(
            arrays,
            vocabulary_size=config.vocabulary_size,
            batch_size=config.batch_size,
            shuffle=True,
            seed=config.seed,
            max_predictions=_max_predictions(config),
        )
    )
    pretraining = {"examples": examples, "examples_per_second": pretraining_rate}
    pairs = [
        (" ".join(rng_words), " ".join(rng_words[::-1]))
        for rng_words in _sentence_words(config.translation_pairs, words, config.seed)
    ]
    translation = timed_passes(
        pipelines.translation_dataset(
            pairs,
            tokenizer,
            tokenizer,
            batch_size=config.batch_size,
            max_length=config.decode_length,
            shuffle=True,
            seed=config.seed,
        )
    )
    translation["consumer"] = None  # No translator training step timed.

    results.update(classification=classification, pretraining=pretraining, translation=translation)

    padding = pipelines.compare_bucketing(
        lambda bucket: pipelines.classification_dataset(
            texts,
            labels,
            tokenizer,
            batch_size=config.batch_size,
            sequence_length=config.padding_max_length,
            shuffle=True,
            seed=config.seed,
            bucket=bucket,
            bert_inputs=True,
        )
    )
    results["padding"] = {
        "max_length": config.padding_max_length,
        "fixed_length_fraction": padding["fixed_length"],
        "bucketed_fraction": padding["bucketed"],
        "padded_tokens_cut": 1.0 - padding["bucketed"] / max(padding["fixed_length"], 1e-12),
    }
    return results


def compare_with_consumption(pipelines_results, bert_results, jit_modes):
    """Adds to the pipeline results the examples/s our BERT step consumes
    (its faster jit mode) and the ratio of delivery to consumption."""
    consumption = {
        task: max(
            bert_results[task][_jit_key(jit)]["ours"]["examples_per_second"] for jit in jit_modes
        )
        for task in TASKS
    }
    classification = pipelines_results["classification"]
    classification["model_examples_per_second"] = consumption["classification"]
    classification["slowest_pass_over_model_consumption"] = (
        min(
            classification["first_pass_examples_per_second"],
            classification["cached_pass_examples_per_second"],
        )
        / consumption["classification"]
    )
    pretraining = pipelines_results["pretraining"]
    pretraining["model_examples_per_second"] = consumption["pretraining"]
    pretraining["over_model_consumption"] = (
        pretraining["examples_per_second"] / consumption["pretraining"]
    )


def _sentence_words(num_pairs, words, seed):
    """Short sentences (fra-eng: 3 to 12 words) as word lists."""
    rng = np.random.default_rng(seed + 1)
    top = words[: min(len(words), 2000)]
    return [
        [top[i] for i in rng.integers(0, len(top), rng.integers(3, 13))] for _ in range(num_pairs)
    ]


# ---------------------------------------------------------------- LSTM


def build_stock_lstm_classifier(preset):
    """`build_lstm_classifier`'s network written from stock Keras layers:
    masked embedding, spatial dropout, bidirectional LSTM(s), mean or last
    pooling, dropout, float32 logits."""
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(preset.vocabulary_size, preset.embedding_dim, mask_zero=True)(
        token_ids
    )
    if preset.embedding_dropout:
        x = keras.layers.SpatialDropout1D(preset.embedding_dropout)(x)
    for index in range(preset.num_lstm_layers):
        sequences = preset.pooling == "mean" or index < preset.num_lstm_layers - 1
        x = keras.layers.Bidirectional(
            keras.layers.LSTM(preset.lstm_units, return_sequences=sequences)
        )(x)
    if preset.pooling == "mean":
        x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(preset.dropout)(x)
    logits = keras.layers.Dense(2, dtype="float32")(x)
    return keras.Model({"token_ids": token_ids}, logits, name="stock_lstm")


def benchmark_lstm(config):
    """One training step of the LSTM classifier, ours against stock Keras,
    on a batch of IMDB-like lengths (padded to the preset's length)."""
    preset = config.lstm
    rng = np.random.default_rng(config.seed)
    b, t = preset.batch_size, preset.sequence_length
    lengths = np.clip(rng.lognormal(math.log(0.6 * t), 0.6, b), 1, t).astype(int)
    token_ids = rng.integers(FIRST_REGULAR_ID, preset.vocabulary_size, (b, t))
    token_ids[np.arange(t)[None, :] >= lengths[:, None]] = 0
    features = {"token_ids": tf.constant(token_ids, tf.int32)}
    labels = tf.constant(rng.integers(0, 2, b), tf.int32)
    models = {
        "ours": build_lstm_classifier(
            preset.vocabulary_size,
            embedding_dim=preset.embedding_dim,
            lstm_units=preset.lstm_units,
            num_lstm_layers=preset.num_lstm_layers,
            embedding_dropout=preset.embedding_dropout,
            dropout=preset.dropout,
            pooling=preset.pooling,
        ),
        "stock_keras": build_stock_lstm_classifier(preset),
    }
    contenders = {}
    for name, model in models.items():
        step = make_train_step(
            model, keras.optimizers.Adam(preset.learning_rate), objectives.classification, False
        )
        contenders[name] = _runner(step, features, labels, config.lstm_steps_per_repetition)
    seconds = alternate(contenders, config.lstm_repetitions, warmup=1)
    results = {
        "batch_size": b,
        "sequence_length": t,
        "mean_real_tokens": float(lengths.mean()),
        "jit_compile": False,
        "parameters": {name: model.count_params() for name, model in models.items()},
    }
    steps = config.lstm_steps_per_repetition
    for name, times in seconds.items():
        results[name] = {
            "examples_per_second": _rates(times, b * steps)[0],
            "seconds_per_step": statistics.median(times) / steps,
            "round_seconds": times,
        }
    results["speedup_ours_over_stock_keras"] = median_ratio(seconds["stock_keras"], seconds["ours"])
    return results


# ---------------------------------------------------------------- all

SECTION_FUNCTIONS = {
    "bert": benchmark_bert,
    "decoding": benchmark_decoding,
    "pipelines": benchmark_pipelines,
    "lstm": benchmark_lstm,
}
RUN_ORDER = ("pipelines", "lstm", "decoding", "bert")


def run_benchmark(config, sections=SECTIONS, log=print, profile_dir=None):
    """Runs the chosen sections, then `profile_bert` into `profile_dir`
    if given; returns the results dict (JSON-ready)."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    start = time.perf_counter()
    results = {
        "config": dataclasses.asdict(config),
        "sections": list(sections),
        "machine": machine_description(),
        "method": {
            "training_step": "tf.function (jit_compile as stated) doing "
            "GradientTape forward+backward and AdamW optimizer.apply on one "
            "fixed in-memory batch, identical for both families",
            "timing": "contenders alternate round by round in one process "
            "after warm-up; figures are medians over rounds, ratios medians "
            "of per-round ratios",
            "memory": "peak RSS per section: VmHWM reset before the section "
            "(/proc/self/clear_refs), all the section's contenders alive at "
            "once, so an upper bound for each configuration alone; sections "
            "run in the order " + ", ".join(RUN_ORDER) + " and a peak "
            "includes rss_at_start_bytes (libraries and what earlier "
            "sections left); bert_alone_peak_rss_bytes: each of our BERT "
            "configurations trained for 3 steps in a fresh process",
        },
        "memory": {"baseline_rss_bytes": _current_rss()},
    }
    memory = PeakMemory()
    # The lightest sections first: memory that TensorFlow keeps after a
    # section (compiled functions, XLA executables) would count in the
    # peaks of the sections after it.
    for section in RUN_ORDER:
        if section not in sections:
            continue
        log(f"[benchmark] {section} ...")
        release_memory()
        resettable = memory.reset()
        start_rss = _current_rss()
        section_start = time.perf_counter()
        results[section] = SECTION_FUNCTIONS[section](config)
        results["memory"][section] = {
            # The kernel updates VmHWM lazily: never report less than the
            # RSS already seen.
            "peak_rss_bytes": max(memory.peak_bytes(), start_rss or 0),
            "rss_at_start_bytes": start_rss,
            "per_section": resettable,
            "seconds": time.perf_counter() - section_start,
        }
    if "bert" in sections:
        log("[benchmark] bert, each configuration alone ...")
        results["memory"]["bert_alone_peak_rss_bytes"] = peak_rss_alone(config)
    if "bert" in results and "pipelines" in results:
        compare_with_consumption(results["pipelines"], results["bert"], config.jit_modes)
    if profile_dir:
        log("[benchmark] profiles of the BERT steps ...")
        release_memory()
        results["profile"] = profile_bert(config, profile_dir)
    results["memory"]["process_peak_rss_bytes"] = max(
        [memory.process_peak_bytes()] + [results["memory"][s]["peak_rss_bytes"] for s in sections]
    )
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    results["wall_time_seconds"] = time.perf_counter() - start
    return results


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


def _current_rss():
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# ---------------------------------------------------------------- report


def _format(value, digits=2):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _profile_report(profile):
    """Markdown tables: the op types that take the most time, ours next to
    keras-hub's, per task and jit mode."""
    lines = []
    for task, by_jit in profile.items():
        for key, families in by_jit.items():
            ours, theirs = (families[f] for f in PROFILED_FAMILIES)
            theirs_by_op = dict(theirs["top_ops"])
            lines += [
                "",
                f"## Where the time goes: BERT {task} step, {key}",
                "",
                "| op type (ms per step, summed over threads) | ours | "
                "keras-hub (—: not among its largest) |",
                "|---|---|---|",
            ]
            for op, seconds in ours["top_ops"]:
                other = theirs_by_op.get(op)
                lines.append(
                    f"| {op} | {_format(1e3 * seconds, 1)} | "
                    f"{'—' if other is None else _format(1e3 * other, 1)} |"
                )
            for name, label in (
                ("op_seconds_per_step", "all ops"),
                ("wall_seconds_per_step", "wall time"),
            ):
                lines.append(
                    f"| {label} | {_format(1e3 * ours[name], 1)} | "
                    f"{_format(1e3 * theirs[name], 1)} |"
                )
            lines.append(
                f"| matrix products' share of op time | "
                f"{_format(100 * ours['matrix_product_share'], 0)}% | "
                f"{_format(100 * theirs['matrix_product_share'], 0)}% |"
            )
    return lines


def markdown_report(results):
    """Ratios first, then absolute figures with the machine named."""
    lines = ["## Ratios", "", "| measure | value | target |", "|---|---|---|"]
    absolute = []
    bert = results.get("bert")
    if bert:
        for task in TASKS:
            for key in ("no_jit", "jit"):
                if key not in bert[task]:
                    continue
                entry = bert[task][key]
                target = "≥ 1.15" if key == "jit" else "≥ 1.3"
                lines.append(
                    f"| BERT {task} step ({key}): ours / keras-hub speed, "
                    f"median of rounds (fastest rounds) | "
                    f"{_format(entry['speedup_ours_over_keras_hub'])}× "
                    f"({_format(entry['speedup_ours_over_keras_hub_best_rounds'])}×)"
                    f" | {target} |"
                )
                lines.append(
                    f"| BERT {task} step ({key}): last block pruned / whole, "
                    f"ours | {_format(entry['speedup_of_pruned_last_layer'])}× | |"
                )
                for family in FAMILIES:
                    absolute.append(
                        f"| BERT {task} step, {family}, {key} | "
                        f"{_format(entry[family]['tokens_per_second'], 0)} "
                        f"tokens/s (fastest round "
                        f"{_format(entry[family]['best_tokens_per_second'], 0)})"
                        f" | "
                        f"{_format(entry[family]['flops_per_second'] / 1e9, 1)}"
                        f" GFLOP/s, utilisation "
                        f"{_format(100 * entry[family]['utilisation'], 0)}% |"
                    )
            for key in ("jit", "no_jit"):
                if key in bert[task]:
                    lines.append(
                        f"| BERT {task} utilisation, ours, {key} | "
                        f"{_format(100 * bert[task][key]['ours']['utilisation'], 0)}% | "
                        f"{'≥ 70%' if key == 'jit' else ''} |"
                    )
        dropout = bert["dropout"]
        shape = "×".join(str(n) for n in dropout["shape"])
        for key in ("no_jit", "jit"):
            if key in dropout:
                lines.append(
                    f"| dropout forward + backward on {shape} attention "
                    f"weights ({key}): ours / `keras.layers.Dropout` speed | "
                    f"{_format(dropout[key]['speedup_ours_over_keras'])}× | |"
                )
        absolute.append(
            f"| fp32 matmul {bert['matmul']['size']}² (peak of tf / XLA) | "
            f"{_format(bert['matmul']['peak_flops_per_second'] / 1e9, 1)} "
            f"GFLOP/s | |"
        )
    decoding = results.get("decoding")
    if decoding and decoding.get("available"):
        lines += [
            f"| greedy cached / uncached speed at "
            f"{decoding['output_tokens']} tokens | "
            f"{_format(decoding['greedy_cached_speedup_over_uncached'])}× "
            f"| ≥ 5 |",
            f"| beam{decoding['beam_size']} time / greedy time per sentence "
            f"(cached) | {_format(decoding['beam_time_over_greedy_time'])}× "
            f"| ≤ 3 |",
            f"| greedy cached: ours / keras-hub GreedySampler speed, XLA | "
            f"{_format(decoding['greedy_cached_speedup_over_keras_hub'])}× "
            f"| |",
            f"| greedy cached: ours / keras-hub GreedySampler speed, no XLA | "
            f"{_format(decoding['greedy_cached_speedup_over_keras_hub_no_jit'])}× "
            f"| |",
            f"| greedy cached: ours / keras-hub, each at its faster setting | "
            f"{_format(decoding['greedy_cached_speedup_over_keras_hub_best'])}× "
            f"| |",
        ]
        for method in ("greedy", "beam", "keras_hub_greedy"):
            for cache, entry in decoding[method].items():
                absolute.append(
                    f"| decode {method} {cache} | "
                    f"{_format(entry['sentences_per_second'])} sentences/s | "
                    f"{_format(entry['tokens_per_second'], 0)} tokens/s |"
                )
    elif decoding:
        lines.append(f"| decoding | missing: {decoding['reason']} | |")
    pipes = results.get("pipelines")
    if pipes:
        c, p = pipes["classification"], pipes["pretraining"]
        if "slowest_pass_over_model_consumption" in c:
            lines.append(
                f"| classification pipeline / model consumption | "
                f"{_format(c['slowest_pass_over_model_consumption'])}× | ≥ 3 |"
            )
            lines.append(
                f"| pre-training pipeline / model consumption | "
                f"{_format(p['over_model_consumption'])}× | ≥ 3 |"
            )
        pad = pipes["padding"]
        lines.append(
            f"| padded tokens cut by bucketing at {pad['max_length']} | "
            f"{_format(100 * pad['padded_tokens_cut'], 0)}% "
            f"({_format(100 * pad['fixed_length_fraction'], 0)}% → "
            f"{_format(100 * pad['bucketed_fraction'], 0)}%) | ≥ 30% |"
        )
        for name in ("classification", "translation"):
            absolute.append(
                f"| {name} pipeline, first / cached pass | "
                f"{_format(pipes[name]['first_pass_examples_per_second'], 0)}"
                f" / "
                f"{_format(pipes[name]['cached_pass_examples_per_second'], 0)}"
                f" examples/s | |"
            )
        absolute.append(
            f"| pre-training pipeline (masking) | "
            f"{_format(p['examples_per_second'], 0)} examples/s | |"
        )
    lstm = results.get("lstm")
    if lstm:
        lines.append(
            f"| LSTM step: ours / stock Keras speed | "
            f"{_format(lstm['speedup_ours_over_stock_keras'])}× | ≈ 1 |"
        )
        for name in ("ours", "stock_keras"):
            absolute.append(
                f"| LSTM step, {name} | "
                f"{_format(lstm[name]['examples_per_second'], 1)} examples/s "
                f"| |"
            )
    memory = results["memory"]
    alone = memory.get("bert_alone_peak_rss_bytes")
    if alone:
        largest = max(peak for by_jit in alone.values() for peak in by_jit.values())
        lines.append(
            f"| peak memory of a BERT configuration trained alone (largest) | "
            f"{_format(largest / 2**30)} GiB | < 4 GiB |"
        )
        for task, by_jit in alone.items():
            for key, peak in by_jit.items():
                absolute.append(
                    f"| peak RSS, BERT {task} ({key}), ours alone | {_format(peak / 2**30)} GiB | |"
                )
    peaks = [memory[s]["peak_rss_bytes"] for s in SECTIONS if s in memory]
    if peaks:
        lines.append(
            f"| peak memory (largest section, all its contenders alive) | "
            f"{_format(max(peaks) / 2**30)} GiB | |"
        )
        for section in SECTIONS:
            if section in memory:
                absolute.append(
                    f"| peak RSS, {section} section | "
                    f"{_format(memory[section]['peak_rss_bytes'] / 2**30)} "
                    f"GiB | |"
                )
    profile = results.get("profile")
    if profile:
        lines += _profile_report(profile)
    machine = results["machine"]
    header = [
        "",
        f"## Absolute figures on {machine['cpu_model']}, "
        f"{machine['usable_cpus']} CPUs, TensorFlow {machine['tensorflow']} "
        f"(load average at start {machine['load_average_1_5_15'][0]:.1f})",
        "",
        "| measure | value | |",
        "|---|---|---|",
    ]
    return "\n".join(lines + header + absolute) + "\n"
