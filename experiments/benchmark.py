"""Benchmark training steps, decoding, input pipelines and memory against keras-hub.

    python -m experiments.benchmark --json benchmark.json
    python -m experiments.benchmark --tiny --sections bert,lstm
    python -m experiments.benchmark --sections bert --profile /tmp/profile

See `keras_bert_lab.benchmarks` for what is measured and how.
"""

import argparse
import dataclasses
import json
import sys

from keras_bert_lab.benchmarks.precision import PRECISIONS
from keras_bert_lab.benchmarks.report import markdown_report
from keras_bert_lab.benchmarks.run import SECTIONS, run_benchmark
from keras_bert_lab.presets import BENCHMARK_PRESETS
from keras_bert_lab.tasks.flags import add_verbose_flag
from keras_bert_lab.utils import write_text_atomically

# Flags that override single `BenchmarkConfig` fields.
_OVERRIDES = {
    "num_layers": int,
    "hidden_dim": int,
    "num_heads": int,
    "intermediate_dim": int,
    "vocabulary_size": int,
    "sequence_length": int,
    "batch_size": int,
    "repetitions": int,
    "steps_per_repetition": int,
    "warmup_steps": int,
    "matmul_size": int,
    "decode_batch_size": int,
    "decode_length": int,
    "decode_repetitions": int,
    "pipeline_texts": int,
    "lstm_repetitions": int,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--preset",
        choices=sorted(BENCHMARK_PRESETS),
        default="default",
        help="default: BERT-mini sizes, sequence 128, batch 32; "
        "tiny: every field in seconds (tests)",
    )
    parser.add_argument(
        "--tiny", action="store_const", const="tiny", dest="preset", help="same as --preset tiny"
    )
    for name, kind in _OVERRIDES.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            default=None,
            help="override the preset's value",
        )
    parser.add_argument(
        "--jit",
        choices=("both", "on", "off"),
        default="both",
        help="time the BERT steps with and/or without XLA",
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help="comma-separated subset of " + ",".join(SECTIONS),
    )
    parser.add_argument(
        "--profile",
        default=None,
        metavar="DIR",
        help="also profile our and keras-hub's BERT steps "
        "into DIR (TensorBoard's Profile tab) and report the "
        "op types that take the time",
    )
    parser.add_argument(
        "--profile-precision",
        choices=PRECISIONS,
        default=None,
        help="the Keras dtype policy of the profiled steps (default: the preset's, float32)",
    )
    parser.add_argument(
        "--json", default=None, metavar="OUT", help="write every result to this JSON file"
    )
    parser.add_argument(
        "--markdown", default=None, metavar="OUT", help="also write the markdown table to this file"
    )
    parser.add_argument("--quiet", action="store_true", help="do not print the markdown table")
    add_verbose_flag(parser)
    return parser.parse_args(argv)


def make_config(args):
    """The preset with the command line's overrides."""
    overrides = (*_OVERRIDES, "profile_precision")
    changes = {name: getattr(args, name) for name in overrides if getattr(args, name) is not None}
    changes["jit_modes"] = {"both": (False, True), "on": (True,), "off": (False,)}[args.jit]
    return dataclasses.replace(BENCHMARK_PRESETS[args.preset], **changes)


def main(argv=None):
    args = parse_args(argv)
    config = make_config(args)
    sections = tuple(s for s in args.sections.split(",") if s)
    log = (lambda *_: None) if args.quiet else print
    results = run_benchmark(config, sections, log=log, profile_dir=args.profile)
    results["command"] = [
        "python",
        "-m",
        "experiments.benchmark",
        *(sys.argv[1:] if argv is None else argv),
    ]
    results["preset"] = args.preset
    report = markdown_report(results)
    results["markdown"] = report
    if args.json:
        write_text_atomically(args.json, json.dumps(results, indent=2) + "\n")
    if args.markdown:
        write_text_atomically(args.markdown, report)
    log(report)
    return results


if __name__ == "__main__":
    main()
