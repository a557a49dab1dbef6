"""Soak and chaos runs of the IMDB LSTM smoke training: long-run threads and memory on a
2-worker cluster, and SIGKILL-and-restart against an uninterrupted run.

    python -m experiments.soak --data-dir ../shared/data --steps 3000 --json results/soak.json
    python -m experiments.soak --chaos --kills 5 --steps 120 --json results/chaos.json

See `keras_bert_lab.benchmarks.soak` and `keras_bert_lab.benchmarks.chaos`.
"""

import argparse
import os
import sys
import tempfile
import time

from keras_bert_lab.benchmarks import chaos, soak
from keras_bert_lab.tasks.flags import add_verbose_flag, docstring_summary
from keras_bert_lab.utils import git_commit, machine_description, write_json_atomically

_PATH_FLAGS = ("data_dir", "json", "work_dir")


def build_parser():
    parser = argparse.ArgumentParser(
        description=docstring_summary(__doc__),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_verbose_flag(parser)
    parser.add_argument("--chaos", action="store_true", help="the chaos run instead of the soak")
    parser.add_argument("--data-dir", default=None, help="folder with aclImdb_v1.tar.gz")
    parser.add_argument("--steps", type=int, default=3000, help="optimizer steps of the run")
    parser.add_argument(
        "--steps-per-epoch", type=int, default=None, help="default: 1000 (soak), 20 (chaos)"
    )
    parser.add_argument(
        "--checkpoint-every", type=int, default=None, help="default: 200 (soak), 5 (chaos)"
    )
    parser.add_argument("--seed", type=int, default=1337, help="training seed and kill plan")
    parser.add_argument("--workers", type=int, default=2, help="soak: processes in the cluster")
    parser.add_argument("--interval", type=float, default=1.0, help="soak: seconds per sample")
    parser.add_argument("--kills", type=int, default=5, help="chaos: kills per strategy")
    parser.add_argument(
        "--strategy",
        choices=(*chaos.STRATEGIES, "both"),
        default="both",
        help="chaos: a single process, a 2-worker cluster, or one run of each",
    )
    parser.add_argument("--json", default=None, metavar="OUT", help="write the results here")
    parser.add_argument("--work-dir", default=None, help="keep the runs here (default: removed)")
    return parser


def command(parser, args):
    """The command line of `args` (the flags not left at their defaults), its paths relative
    to the repository."""
    flags = []
    for name, value in sorted(vars(args).items()):
        if value in (None, False) or value == parser.get_default(name):
            continue
        if name in _PATH_FLAGS:
            value = soak.relative_to_repository(value)
        flag = "--" + name.replace("_", "-")
        flags.append(flag if value is True else f"{flag}={value}")
    return " ".join(["python -m experiments.soak", *flags])


def run(args, work_dir):
    """The soak, or the chaos run of each strategy asked for, in `work_dir`."""
    flags = soak.TrainingFlags(
        data_dir=os.path.abspath(args.data_dir) if args.data_dir else None,
        steps=args.steps,
        steps_per_epoch=args.steps_per_epoch or min(args.steps, 20 if args.chaos else 1000),
        checkpoint_every=args.checkpoint_every or (5 if args.chaos else 200),
        seed=args.seed,
    )
    if not args.chaos:
        return soak.run_soak(flags, work_dir, num_workers=args.workers, interval=args.interval)
    strategies = chaos.STRATEGIES if args.strategy == "both" else (args.strategy,)
    runs = {
        name: chaos.run_chaos(flags, name, args.kills, os.path.join(work_dir, name), seed=args.seed)
        for name in strategies
    }
    return {"runs": runs, "passed": all(result["passed"] for result in runs.values())}


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    started = time.time()
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)
        results = run(args, args.work_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="soak.") as work_dir:
            results = run(args, work_dir)
    results.setdefault("wall_time_seconds", time.time() - started)
    results |= {
        "git_commit": git_commit(),
        "machine": machine_description(),
        "command": command(parser, args),
    }
    if args.json:
        write_json_atomically(args.json, results)
    print(chaos.summary_line(results) if args.chaos else soak.summary_line(results))
    return results


if __name__ == "__main__":
    sys.exit(0 if main().get("passed", True) else 1)
