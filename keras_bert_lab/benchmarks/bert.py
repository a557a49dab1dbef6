"""The `bert` section: one training step of our BERT models against
`keras_hub.models.BertBackbone`, the fp32 matmul peak, and our dropout
against Keras's.

One training step (forward, backward, optimizer update) of MLM+NSP
pre-training and of classification fine-tuning, our `BertEncoder` models
(as they train: last block only where the heads read it; and with the
whole last block, to isolate that saving) against
`keras_hub.models.BertBackbone` with the same heads, sizes, batch and
optimizer, with and without XLA (`jit_compile`). Both run the same step
(`harness.make_train_step`) on one fixed in-memory batch (no `fit`, no
input pipeline). Their analytic training FLOPs (`flops.bert_training_flops`)
divided by the fp32 throughput of a large `tf.matmul`, timed in the same
rounds, give the hardware utilisation. In the same rounds: our `Dropout`
against `keras.layers.Dropout` on one layer's attention weights, forward
and backward.
"""

import statistics

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from keras_bert_lab.benchmarks.flops import (
    FLOP_FORMULA,
    TASKS,
    bert_training_flops,
    max_predictions,
)
from keras_bert_lab.benchmarks.harness import (
    alternate,
    dtype_policy,
    jit_key,
    make_train_step,
    median_rate,
    median_ratio,
    repeat_step,
)
from keras_bert_lab.benchmarks.synthetic import FIRST_REGULAR_ID
from keras_bert_lab.layers import Dropout
from keras_bert_lab.models.bert import BertClassifier, BertEncoder, BertPretrainer
from keras_bert_lab.training import objectives

# "ours" computes the last block only where the heads read it (the
# default, `prune_last_layer`); "ours_whole_last_layer" does not, like
# keras-hub, to show what that saves.
FAMILIES = ("ours", "ours_whole_last_layer", "keras_hub")
OBJECTIVES = {
    "pretraining": objectives.bert_pretraining,
    "classification": objectives.classification,
}


def bert_batch(config, task, seed=0):
    """A fixed `(features, labels)` batch without padding: every position
    is a real token, so the FLOP count is the work done.

    Features are int32 `[batch_size, sequence_length]` (`token_ids`,
    `segment_ids`, `padding_mask`), plus `mask_positions`
    `[batch_size, P]` for pre-training, whose labels are `mlm_labels`,
    `mlm_weights` `[batch_size, P]` and `nsp_labels` `[batch_size]`;
    classification labels are `[batch_size]`.
    """
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
        p = max_predictions(config)
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


# ---------------------------------------------------------------- models


def _truncated_normal():
    return keras.initializers.TruncatedNormal(stddev=0.02, seed=keras.random.SeedGenerator())


def _gelu_approximate(x):
    return keras.activations.gelu(x, approximate=True)


def build_bert(config, family, task):
    """Our `BertPretrainer`/`BertClassifier` (`family` `"ours"` or
    `"ours_whole_last_layer"`), or the same network on a
    `keras_hub.models.BertBackbone` (`"keras_hub"`)."""
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
    return _build_keras_hub_bert(config, task, keras_hub.models.BertBackbone(**sizes))


def _build_keras_hub_bert(config, task, backbone):
    """Our heads on `backbone`: MLM through `keras_hub.layers.MaskedLMHead`
    tied to the backbone's token embedding (tanh GELU, as ours), NSP and
    classification as dense layers on `pooled_output`."""
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


def build_trainee(config, family, task, precision="float32"):
    """`build_bert` with the step's AdamW optimizer, from `config.seed`:
    what every timed, profiled or memory-measured BERT step trains.

    `precision` is the Keras dtype policy the model is built under
    (`"float32"`, `"mixed_bfloat16"`): float32 weights either way."""
    keras.utils.set_random_seed(config.seed)
    with dtype_policy(precision):
        model = build_bert(config, family, task)
    optimizer = keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
    return model, optimizer


# ---------------------------------------------------------------- contenders


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


def make_matmul(size, jit_compile, dtype=tf.float32):
    """A `run()` doing one `[size, size] @ [size, size]` product in `dtype`;
    `2 · size³` FLOPs."""
    a = tf.cast(tf.random.stateless_normal([size, size], seed=[1, 2]), dtype)
    b = tf.cast(tf.random.stateless_normal([size, size], seed=[3, 4]), dtype)
    matmul = tf.function(tf.matmul, jit_compile=jit_compile)
    # One element read outside the function, so that no compiler can
    # shrink the product to the element read.
    return lambda: matmul(a, b)[0, 0].numpy()


def _step_contenders(config):
    """The training steps of `TASKS` × `jit_modes` × `FAMILIES`, keyed
    `(task, family, jit key)`: `(train steps, their run()s)`."""
    contenders, steps = {}, {}
    for task in TASKS:
        features, labels = bert_batch(config, task, config.seed)
        models = {family: build_trainee(config, family, task) for family in FAMILIES}
        # The families of a comparison run next to each other.
        for jit_compile in config.jit_modes:
            for family, trainee in models.items():
                name = (task, family, jit_key(jit_compile))
                steps[name], contenders[name] = step_contender(
                    config, trainee, task, jit_compile, (features, labels)
                )
    return steps, contenders


def step_contender(config, trainee, task, jit_compile, batch):
    """`(train step, run())` of one BERT step contender: `trainee` (`build_trainee`'s
    model and optimizer) on `batch` (`bert_batch`), `config.steps_per_repetition` steps a
    round."""
    model, optimizer = trainee
    step = make_train_step(model, optimizer, OBJECTIVES[task], jit_compile)
    return step, repeat_step(step, *batch, config.steps_per_repetition)


def _attention_weights_shape(config):
    """`[batch_size, num_heads, sequence_length, sequence_length]`: the
    largest tensor dropout acts on, one layer's attention weights."""
    return (config.batch_size, config.num_heads, config.sequence_length, config.sequence_length)


def _dropout_contenders(config):
    """Our `Dropout` and `keras.layers.Dropout` per `jit_modes`, keyed
    `("dropout", "ours" | "keras", jit key)`."""
    contenders = {}
    for jit_compile in config.jit_modes:
        for name, layer in (
            ("ours", Dropout(config.dropout, seed=1)),
            ("keras", keras.layers.Dropout(config.dropout, seed=1)),
        ):
            contenders[("dropout", name, jit_key(jit_compile))] = make_dropout(
                layer, _attention_weights_shape(config), jit_compile
            )
    return contenders


# ---------------------------------------------------------------- section


def benchmark_bert(config):
    """BERT training steps, ours against keras-hub, and fp32 matmul peak.

    All contenders (the `TASKS` × `FAMILIES` × `jit_modes` steps, the
    dropout layers and the matmul probes) alternate in every round.
    """
    steps, contenders = _step_contenders(config)
    contenders["matmul"] = make_matmul(config.matmul_size, jit_compile=False)
    contenders["matmul_xla"] = make_matmul(config.matmul_size, jit_compile=True)
    contenders.update(_dropout_contenders(config))
    seconds = alternate(contenders, config.repetitions, warmup=config.warmup_steps)
    traces = {name: step.experimental_get_tracing_count() for name, step in steps.items()}

    matmul, peak_per_round = matmul_results(
        config.matmul_size, seconds["matmul"], seconds["matmul_xla"]
    )
    results = {
        "matmul": matmul,
        "flop_formula": FLOP_FORMULA,
        "dropout": _dropout_results(config, seconds),
    }
    for task in TASKS:
        results[task] = {
            jit_key(jit_compile): _comparison(
                config, task, jit_key(jit_compile), seconds, traces, peak_per_round
            )
            for jit_compile in config.jit_modes
        }
    return results


def matmul_results(size, tf_seconds, xla_seconds):
    """The matmul probes' FLOP/s from their round times (`make_matmul`
    without and with XLA), and the machine's matmul peak of each round in
    their dtype: the better of the two kernels."""
    flops = 2 * size**3
    peak_per_round = [max(flops / a, flops / b) for a, b in zip(tf_seconds, xla_seconds)]
    results = {
        "size": size,
        "flops": flops,
        "tf_matmul_flops_per_second": median_rate(tf_seconds, flops),
        "xla_matmul_flops_per_second": median_rate(xla_seconds, flops),
        "peak_flops_per_second": statistics.median(peak_per_round),
    }
    return results, peak_per_round


def _dropout_results(config, seconds):
    """Seconds of each dropout and the speed-up of ours, per jit mode."""
    results = {"shape": list(_attention_weights_shape(config)), "rate": config.dropout}
    for jit_compile in config.jit_modes:
        key = jit_key(jit_compile)
        ours, theirs = (seconds[("dropout", name, key)] for name in ("ours", "keras"))
        results[key] = {
            "ours_seconds": statistics.median(ours),
            "keras_seconds": statistics.median(theirs),
            "speedup_ours_over_keras": median_ratio(theirs, ours),
        }
    return results


def _comparison(config, task, key, seconds, traces, peak_per_round):
    """The figures of every family for one task and jit mode, and the
    speed ratios: their time over ours, round by round."""
    entry = {}
    for family in FAMILIES:
        name = (task, family, key)
        flops = bert_training_flops(config, task, prune_last_layer=family == "ours")
        entry[family] = step_figures(config, flops, seconds[name], traces[name], peak_per_round)
    ours, whole, hub = (
        seconds[(task, family, key)] for family in ("ours", "ours_whole_last_layer", "keras_hub")
    )
    entry["speedup_ours_over_keras_hub"] = median_ratio(hub, ours)
    entry["speedup_ours_over_keras_hub_best_rounds"] = min(hub) / min(ours)
    entry["speedup_of_pruned_last_layer"] = median_ratio(whole, ours)
    return entry


def step_figures(config, flops, times, traces, peak_per_round):
    """Speeds and utilisation of one training step from its round times;
    `flops` is its `bert_training_flops`."""
    steps = config.steps_per_repetition
    tokens = config.batch_size * config.sequence_length * steps
    utilisation = [flops * steps / s / peak for s, peak in zip(times, peak_per_round)]
    return {
        "training_flops_per_step": flops,
        "tokens_per_second": median_rate(times, tokens),
        # The fastest round: the least disturbed by other jobs.
        "best_tokens_per_second": tokens / min(times),
        "examples_per_second": median_rate(times, config.batch_size * steps),
        "seconds_per_step": statistics.median(times) / steps,
        "flops_per_second": median_rate(times, flops * steps),
        "utilisation": statistics.median(utilisation),
        "traces": traces,
        "round_seconds": times,
    }
