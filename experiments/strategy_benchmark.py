"""Training-step time under each tf.distribute strategy, and the price of a kill-and-resume.

    python -m experiments.strategy_benchmark --json strategy_benchmark.json

See `keras_bert_lab.benchmarks.strategies` for what is measured and how.
"""

import argparse
import json
import sys
import tempfile
import time

from keras_bert_lab.benchmarks import strategies as strategy_benchmark
from keras_bert_lab.presets import STRATEGY_BENCHMARK_PRESETS
from keras_bert_lab.tasks.flags import add_verbose_flag
from keras_bert_lab.utils import write_json_atomically, write_text_atomically


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--preset",
        choices=sorted(STRATEGY_BENCHMARK_PRESETS),
        default="default",
        help="default: BERT-tiny, sequence 128, global batch 32; tiny: seconds (tests)",
    )
    parser.add_argument(
        "--json", default=None, metavar="OUT", help="write the results to this JSON file"
    )
    parser.add_argument(
        "--markdown", default=None, metavar="OUT", help="also write the markdown table to this file"
    )
    add_verbose_flag(parser)
    # One contender, run by the launcher in a process of its own.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--strategy", choices=strategy_benchmark.STRATEGIES, help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", help=argparse.SUPPRESS)
    parser.add_argument("--launched-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--extra-epochs", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    config = STRATEGY_BENCHMARK_PRESETS[args.preset]
    if args.worker:
        result = strategy_benchmark.measure_in_process(
            config, args.strategy, args.run_dir, args.launched_at, args.extra_epochs
        )
        print(strategy_benchmark.RESULT_PREFIX + json.dumps(result), flush=True)
        return result
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="strategy_benchmark.") as work_dir:
        results = strategy_benchmark.run_strategy_benchmark(args.preset, work_dir)
    results["wall_time_seconds"] = time.perf_counter() - started
    results["command"] = " ".join(["python -m experiments.strategy_benchmark", *sys.argv[1:]])
    markdown = strategy_benchmark.markdown_report(results)
    print(markdown)
    if args.json:
        write_json_atomically(args.json, results)
    if args.markdown:
        write_text_atomically(args.markdown, markdown)
    return results


if __name__ == "__main__":
    main()
