"""One benchmark run: the chosen sections, their peak memory, the BERT
configurations alone and the profiles, as one JSON-ready dict.

The lightest sections run first (`RUN_ORDER`): memory that TensorFlow keeps
after a section (compiled functions, XLA executables) would count in the
peaks of the sections after it (see `memory`).
"""

import dataclasses
import os
import time

from keras_bert_lab.benchmarks.bert import benchmark_bert
from keras_bert_lab.benchmarks.decoding import benchmark_decoding
from keras_bert_lab.benchmarks.lstm import benchmark_lstm
from keras_bert_lab.benchmarks.memory import (
    PeakMemory,
    current_rss,
    peak_rss_alone,
    release_memory,
)
from keras_bert_lab.benchmarks.pipelines import benchmark_pipelines, compare_with_consumption
from keras_bert_lab.benchmarks.precision import benchmark_precision
from keras_bert_lab.benchmarks.profile import profile_bert
from keras_bert_lab.utils import machine_description

SECTIONS = ("bert", "precision", "decoding", "pipelines", "lstm")
SECTION_FUNCTIONS = {
    "bert": benchmark_bert,
    "decoding": benchmark_decoding,
    "pipelines": benchmark_pipelines,
    "lstm": benchmark_lstm,
    "precision": benchmark_precision,
}
RUN_ORDER = ("pipelines", "lstm", "decoding", "bert", "precision")
METHOD = {
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
}


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
        "method": dict(METHOD),
        "memory": {"baseline_rss_bytes": current_rss()},
    }
    memory = PeakMemory()
    for section in RUN_ORDER:
        if section in sections:
            log(f"[benchmark] {section} ...")
            results[section], results["memory"][section] = _run_section(section, config, memory)
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


def _run_section(section, config, memory):
    """Runs one section on released memory and a reset peak (`memory`, a
    `PeakMemory`): `(its results, its memory entry)`."""
    release_memory()
    resettable = memory.reset()
    start_rss = current_rss()
    start = time.perf_counter()
    results = SECTION_FUNCTIONS[section](config)
    return results, {
        # The kernel updates VmHWM lazily: never report less than the RSS
        # already seen.
        "peak_rss_bytes": max(memory.peak_bytes(), start_rss or 0),
        "rss_at_start_bytes": start_rss,
        "per_section": resettable,
        "seconds": time.perf_counter() - start,
    }
