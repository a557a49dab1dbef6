"""Check every experiment's gpu preset on the CPU: build at full size, train two steps and
evaluate one under MirroredStrategy over 2 logical CPUs, count parameters, estimate memory.

    python -m experiments.check_gpu_presets
    python -m experiments.check_gpu_presets --experiments bert_imdb,imdb_lstm --json OUT

See `keras_bert_lab.benchmarks.gpu_presets` for what is checked and how memory is estimated.
"""

import argparse
import sys

from keras_bert_lab.benchmarks import gpu_presets
from keras_bert_lab.tasks.flags import add_verbose_flag, docstring_summary
from keras_bert_lab.utils import git_commit, machine_description, write_json_atomically


def experiment_list(text):
    """argparse type: comma-separated experiments with a gpu preset."""
    names = [name for name in text.split(",") if name]
    unknown = sorted(set(names) - set(gpu_presets.PRESETS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected some of {', '.join(gpu_presets.PRESETS)}, got {text!r}"
        )
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=docstring_summary(__doc__),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_verbose_flag(parser)
    parser.add_argument(
        "--experiments", type=experiment_list, default=list(gpu_presets.PRESETS), metavar="A,B"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=2,
        help="per replica, for the steps run (not the estimate)",
    )
    parser.add_argument("--sequence-length", type=int, default=32, help="of the steps run")
    parser.add_argument("--json", default=None, metavar="OUT", help="write the results here")
    args = parser.parse_args(argv)
    results = gpu_presets.check_all(args.experiments, args.batch_size, args.sequence_length)
    for result in results.values():
        print(gpu_presets.summary_line(result))
    if args.json:
        write_json_atomically(
            args.json,
            {
                "presets": results,
                "git_commit": git_commit(),
                "machine": machine_description(),
                "command": " ".join(["python -m experiments.check_gpu_presets", *sys.argv[1:]]),
            },
        )
    return results


if __name__ == "__main__":
    main()
