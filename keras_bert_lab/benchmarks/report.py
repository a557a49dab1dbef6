"""The markdown report of a benchmark run: ratios first (with the targets),
then the op-type tables of the profiles, then the absolute figures with the
machine named.

Each `_*_rows` function turns one section's results into
`(ratio rows, absolute rows)`; a section not run gives no rows.
"""

from keras_bert_lab.benchmarks.bert import FAMILIES
from keras_bert_lab.benchmarks.flops import TASKS
from keras_bert_lab.benchmarks.profile import PROFILED_FAMILIES
from keras_bert_lab.benchmarks.run import SECTIONS

_GIB = 2**30


def _format(value, digits=2):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def markdown_report(results):
    """Ratios first, then absolute figures with the machine named."""
    rows = [
        _bert_rows(results.get("bert")),
        _precision_rows(results.get("precision")),
        _decoding_rows(results.get("decoding")),
        _pipeline_rows(results.get("pipelines")),
        _lstm_rows(results.get("lstm")),
        _memory_rows(results["memory"]),
    ]
    lines = ["## Ratios", "", "| measure | value | target |", "|---|---|---|"]
    lines += [row for ratios, _ in rows for row in ratios]
    profile = results.get("profile")
    if profile:
        lines += _profile_tables(profile, results["config"]["profile_precision"])
    lines += _absolute_header(results["machine"])
    lines += [row for _, absolute in rows for row in absolute]
    return "\n".join(lines) + "\n"


def _absolute_header(machine):
    return [
        "",
        f"## Absolute figures on {machine['cpu_model']}, "
        f"{machine['usable_cpus']} CPUs, TensorFlow {machine['tensorflow']} "
        f"(load average at start {machine['load_average_1_5_15'][0]:.1f})",
        "",
        "| measure | value | |",
        "|---|---|---|",
    ]


# ---------------------------------------------------------------- bert


def _bert_rows(bert):
    if not bert:
        return [], []
    ratios, absolute = [], []
    for task in TASKS:
        task_ratios, task_absolute = _bert_task_rows(task, bert[task])
        ratios += task_ratios
        absolute += task_absolute
    ratios += _dropout_rows(bert["dropout"])
    absolute.append(
        f"| fp32 matmul {bert['matmul']['size']}² (peak of tf / XLA) | "
        f"{_format(bert['matmul']['peak_flops_per_second'] / 1e9, 1)} "
        f"GFLOP/s | |"
    )
    return ratios, absolute


def _bert_task_rows(task, by_jit):
    """Speed-ups and utilisation of one task's steps; each family's speed."""
    ratios, absolute = [], []
    for key in ("no_jit", "jit"):
        if key not in by_jit:
            continue
        entry = by_jit[key]
        target = "≥ 1.15" if key == "jit" else "≥ 1.3"
        ratios.append(
            f"| BERT {task} step ({key}): ours / keras-hub speed, "
            f"median of rounds (fastest rounds) | "
            f"{_format(entry['speedup_ours_over_keras_hub'])}× "
            f"({_format(entry['speedup_ours_over_keras_hub_best_rounds'])}×)"
            f" | {target} |"
        )
        ratios.append(
            f"| BERT {task} step ({key}): last block pruned / whole, "
            f"ours | {_format(entry['speedup_of_pruned_last_layer'])}× | |"
        )
        absolute += [_bert_family_row(task, family, key, entry[family]) for family in FAMILIES]
    for key in ("jit", "no_jit"):
        if key in by_jit:
            ratios.append(
                f"| BERT {task} utilisation, ours, {key} | "
                f"{_format(100 * by_jit[key]['ours']['utilisation'], 0)}% | "
                f"{'≥ 70%' if key == 'jit' else ''} |"
            )
    return ratios, absolute


def _bert_family_row(task, family, key, figures):
    return (
        f"| BERT {task} step, {family}, {key} | "
        f"{_format(figures['tokens_per_second'], 0)} "
        f"tokens/s (fastest round "
        f"{_format(figures['best_tokens_per_second'], 0)})"
        f" | "
        f"{_format(figures['flops_per_second'] / 1e9, 1)}"
        f" GFLOP/s, utilisation "
        f"{_format(100 * figures['utilisation'], 0)}% |"
    )


# ---------------------------------------------------------------- precision

_PRECISION_TARGETS = {
    "ours_bfloat16_over_ours_float32": "≥ 1.6",
    "ours_bfloat16_over_keras_hub_bfloat16": "≥ 1.3",
    "ours_float32_over_keras_hub_float32": "≥ 1.3 (no_jit)",
    "keras_hub_bfloat16_over_keras_hub_float32": "",
}


def _precision_rows(precision):
    """The bfloat16 speed-ups (each jit mode, and each side at its faster one) and the
    utilisation of every pre-training step against its own dtype's matmul peak."""
    if not precision:
        return [], []
    ratios = []
    for name, by_key in precision["speedups"].items():
        values = ", ".join(f"{key} {_format(value)}×" for key, value in by_key.items())
        ratios.append(
            f"| BERT pretraining step, {name.replace('_', ' ')} | {values} | "
            f"{_PRECISION_TARGETS[name]} |"
        )
    absolute = []
    for family, by_precision in precision["pretraining"].items():
        for policy, by_key in by_precision.items():
            for key, figures in by_key.items():
                target = "≥ 60%" if (family, policy) == ("ours", "mixed_bfloat16") else ""
                ratios.append(
                    f"| BERT pretraining utilisation, {family}, {policy}, {key} "
                    f"(of its dtype's matmul peak) | "
                    f"{_format(100 * figures['utilisation'], 0)}% | {target} |"
                )
                absolute.append(_bert_family_row(f"pretraining {policy}", family, key, figures))
    for dtype, matmul in precision["matmul"].items():
        absolute.append(
            f"| {dtype} matmul {matmul['size']}² (peak of tf / XLA) | "
            f"{_format(matmul['peak_flops_per_second'] / 1e9, 1)} GFLOP/s | "
            f"tf {_format(matmul['tf_matmul_flops_per_second'] / 1e9, 1)}, "
            f"XLA {_format(matmul['xla_matmul_flops_per_second'] / 1e9, 1)} |"
        )
    return ratios, absolute


def _dropout_rows(dropout):
    shape = "×".join(str(n) for n in dropout["shape"])
    return [
        f"| dropout forward + backward on {shape} attention "
        f"weights ({key}): ours / `keras.layers.Dropout` speed | "
        f"{_format(dropout[key]['speedup_ours_over_keras'])}× | |"
        for key in ("no_jit", "jit")
        if key in dropout
    ]


# ---------------------------------------------------------------- other sections


def _decoding_rows(decoding):
    if not decoding:
        return [], []
    ratios = [
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
    absolute = [
        f"| decode {method} {cache} | "
        f"{_format(entry['sentences_per_second'])} sentences/s | "
        f"{_format(entry['tokens_per_second'], 0)} tokens/s |"
        for method in ("greedy", "beam", "keras_hub_greedy")
        for cache, entry in decoding[method].items()
    ]
    return ratios, absolute


def _pipeline_rows(pipes):
    if not pipes:
        return [], []
    c, p = pipes["classification"], pipes["pretraining"]
    ratios = []
    if "slowest_pass_over_model_consumption" in c:
        ratios.append(
            f"| classification pipeline / model consumption | "
            f"{_format(c['slowest_pass_over_model_consumption'])}× | ≥ 3 |"
        )
        ratios.append(
            f"| pre-training pipeline / model consumption | "
            f"{_format(p['over_model_consumption'])}× | ≥ 3 |"
        )
    pad = pipes["padding"]
    ratios.append(
        f"| padded tokens cut by bucketing at {pad['max_length']} | "
        f"{_format(100 * pad['padded_tokens_cut'], 0)}% "
        f"({_format(100 * pad['fixed_length_fraction'], 0)}% → "
        f"{_format(100 * pad['bucketed_fraction'], 0)}%) | ≥ 30% |"
    )
    absolute = [
        f"| {name} pipeline, first / cached pass | "
        f"{_format(pipes[name]['first_pass_examples_per_second'], 0)}"
        f" / "
        f"{_format(pipes[name]['cached_pass_examples_per_second'], 0)}"
        f" examples/s | |"
        for name in ("classification", "translation")
    ]
    absolute.append(
        f"| pre-training pipeline (masking) | {_format(p['examples_per_second'], 0)} examples/s | |"
    )
    return ratios, absolute


def _lstm_rows(lstm):
    if not lstm:
        return [], []
    ratios = [
        f"| LSTM step: ours / stock Keras speed | "
        f"{_format(lstm['speedup_ours_over_stock_keras'])}× | ≈ 1 |",
        f"| LSTM step: ours in mixed_bfloat16 / float32 speed | "
        f"{_format(lstm['speedup_bfloat16_over_float32'])}× | |",
    ]
    absolute = [
        f"| LSTM step, {name} | {_format(lstm[name]['examples_per_second'], 1)} examples/s | |"
        for name in ("ours", "stock_keras", "ours_mixed_bfloat16")
    ]
    return ratios, absolute


def _memory_rows(memory):
    """The BERT configurations alone, then the sections' peaks."""
    ratios, absolute = [], []
    alone = memory.get("bert_alone_peak_rss_bytes")
    if alone:
        largest = max(peak for by_jit in alone.values() for peak in by_jit.values())
        ratios.append(
            f"| peak memory of a BERT configuration trained alone (largest) | "
            f"{_format(largest / _GIB)} GiB | < 4 GiB |"
        )
        absolute += [
            f"| peak RSS, BERT {task} ({key}), ours alone | {_format(peak / _GIB)} GiB | |"
            for task, by_jit in alone.items()
            for key, peak in by_jit.items()
        ]
    sections = [section for section in SECTIONS if section in memory]
    if sections:
        largest = max(memory[section]["peak_rss_bytes"] for section in sections)
        ratios.append(
            f"| peak memory (largest section, all its contenders alive) | "
            f"{_format(largest / _GIB)} GiB | |"
        )
        absolute += [
            f"| peak RSS, {section} section | "
            f"{_format(memory[section]['peak_rss_bytes'] / _GIB)} GiB | |"
            for section in sections
        ]
    return ratios, absolute


# ---------------------------------------------------------------- profile


def _profile_tables(profile, precision):
    """One table per task and jit mode (see `_profile_table`)."""
    return [
        line
        for task, by_jit in profile.items()
        for key, families in by_jit.items()
        for line in _profile_table(task, key, precision, families)
    ]


def _profile_table(task, key, precision, families):
    """The op types that take the most time, ours next to keras-hub's."""
    ours, theirs = (families[family] for family in PROFILED_FAMILIES)
    theirs_by_op = dict(theirs["top_ops"])
    lines = [
        "",
        f"## Where the time goes: BERT {task} step, {key}, {precision}",
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
            f"| {label} | {_format(1e3 * ours[name], 1)} | {_format(1e3 * theirs[name], 1)} |"
        )
    lines.append(
        f"| matrix products' share of op time | "
        f"{_format(100 * ours['matrix_product_share'], 0)}% | "
        f"{_format(100 * theirs['matrix_product_share'], 0)}% |"
    )
    return lines
