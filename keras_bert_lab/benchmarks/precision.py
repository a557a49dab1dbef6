"""The `precision` section: the BERT pre-training step in `mixed_bfloat16`
against float32, ours and keras-hub's, with and without XLA.

On a CPU with AVX-512 BF16, oneDNN runs bfloat16 matrix products on the
BF16 dot-product instructions. Each step's hardware utilisation is its
analytic FLOPs (`flops.bert_training_flops`) over the matmul throughput of
its own compute dtype, measured in the same rounds (a large `tf.matmul` in
float32 and in bfloat16, each with and without XLA; the better kernel of
each round is that dtype's peak). Under `mixed_bfloat16` the weights stay
float32; layer norms, softmax and the losses run in float32.
"""

from keras_bert_lab.benchmarks.bert import (
    bert_batch,
    build_trainee,
    make_matmul,
    matmul_results,
    step_contender,
    step_figures,
)
from keras_bert_lab.benchmarks.flops import bert_training_flops
from keras_bert_lab.benchmarks.harness import alternate, jit_key, median_ratio

TASK = "pretraining"
PRECISIONS = ("float32", "mixed_bfloat16")
FAMILIES = ("ours", "keras_hub")
MATMUL_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16"}
"""The compute dtype of each policy: the matmul probe its steps are measured against."""


def _contenders(config):
    """The pre-training steps of `FAMILIES` × `PRECISIONS` × `jit_modes`, keyed
    `(family, precision, jit key)`: `(train steps, their run()s)`."""
    batch = bert_batch(config, TASK, config.seed)
    steps, contenders = {}, {}
    for family in FAMILIES:
        for precision in PRECISIONS:
            trainee = build_trainee(config, family, TASK, precision)
            for jit_compile in config.jit_modes:
                name = (family, precision, jit_key(jit_compile))
                steps[name], contenders[name] = step_contender(
                    config, trainee, TASK, jit_compile, batch
                )
    return steps, contenders


def benchmark_precision(config):
    """The `FAMILIES` × `PRECISIONS` × `jit_modes` pre-training steps and the
    matmul probes of both dtypes, alternating in every round.

    Returns `{"matmul": {dtype: ...}, "pretraining": {family: {precision:
    {jit key: step figures}}}, "speedups": {...}}`.
    """
    steps, contenders = _contenders(config)
    for dtype in MATMUL_DTYPES.values():
        for jit_compile in (False, True):
            contenders[("matmul", dtype, jit_key(jit_compile))] = make_matmul(
                config.matmul_size, jit_compile, dtype
            )
    seconds = alternate(contenders, config.repetitions, warmup=config.warmup_steps)
    matmul, peaks = {}, {}
    for dtype in MATMUL_DTYPES.values():
        matmul[dtype], peaks[dtype] = matmul_results(
            config.matmul_size,
            seconds[("matmul", dtype, "no_jit")],
            seconds[("matmul", dtype, "jit")],
        )
    steps_figures = {}
    for (family, precision, key), step in steps.items():
        flops = bert_training_flops(config, TASK, prune_last_layer=family == "ours")
        figures = step_figures(
            config,
            flops,
            seconds[(family, precision, key)],
            step.experimental_get_tracing_count(),
            peaks[MATMUL_DTYPES[precision]],
        )
        steps_figures.setdefault(family, {}).setdefault(precision, {})[key] = figures
    return {
        "matmul": matmul,
        "matmul_bfloat16_over_float32": median_ratio(
            _best_rounds(seconds, "matmul", "float32"), _best_rounds(seconds, "matmul", "bfloat16")
        ),
        TASK: steps_figures,
        "speedups": _speedups(config, seconds),
    }


def _best_rounds(seconds, family, precision):
    """Per round, the faster of the contender's two jit modes (or of its dtype's matmuls)."""
    if family == "matmul":
        no_jit, jit = (seconds[("matmul", precision, key)] for key in ("no_jit", "jit"))
    else:
        no_jit, jit = (seconds.get((family, precision, key)) for key in ("no_jit", "jit"))
        no_jit, jit = no_jit or jit, jit or no_jit  # A preset may time one jit mode only.
    return [min(a, b) for a, b in zip(no_jit, jit)]


def _speedups(config, seconds):
    """The issue's ratios, each the median of the per-round ratios (their time over ours):
    per jit mode, and `best` with each side at its faster jit mode in that round."""
    pairs = {
        "ours_bfloat16_over_ours_float32": (("ours", "float32"), ("ours", "mixed_bfloat16")),
        "ours_bfloat16_over_keras_hub_bfloat16": (
            ("keras_hub", "mixed_bfloat16"),
            ("ours", "mixed_bfloat16"),
        ),
        "ours_float32_over_keras_hub_float32": (("keras_hub", "float32"), ("ours", "float32")),
        "keras_hub_bfloat16_over_keras_hub_float32": (
            ("keras_hub", "float32"),
            ("keras_hub", "mixed_bfloat16"),
        ),
    }
    speedups = {}
    for name, (slower, faster) in pairs.items():
        ratios = {
            jit_key(jit): median_ratio(
                seconds[(*slower, jit_key(jit))], seconds[(*faster, jit_key(jit))]
            )
            for jit in config.jit_modes
        }
        ratios["best"] = median_ratio(
            _best_rounds(seconds, *slower), _best_rounds(seconds, *faster)
        )
        speedups[name] = ratios
    return speedups
