"""Flags, run folder and results of the analysis experiments (no training, so none of the
strategy, learning-rate or checkpoint flags of `keras_bert_lab.tasks.run`)."""

import argparse
import dataclasses
import datetime
import sys
import time
from pathlib import Path

import keras

from keras_bert_lab.tasks.run import apply_overrides
from keras_bert_lab.utils import git_commit, machine_description, write_json_atomically


def analysis_parser(description, presets):
    """An `argparse` parser with `--preset`, `--logdir`, `--run-name`, `--seed`,
    `--batch-size` and `--set FIELD=VALUE`."""
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--preset",
        choices=sorted(presets),
        default="cpu",
        help="smoke: tiny random models for the sources not given; "
        "cpu / gpu: trained models, batch sizes for each machine",
    )
    parser.add_argument(
        "--logdir", default="tb_logs", help="root of TensorBoard logs and run folders"
    )
    parser.add_argument(
        "--run-name", default=None, help="run folder name; default: the preset name"
    )
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--batch-size", type=int, default=None, help="sentences per forward pass")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one preset field",
    )
    # Read by `apply_overrides`; analysis runs do not train.
    parser.set_defaults(epochs=None, steps_per_epoch=None, learning_rate=None)
    return parser


@dataclasses.dataclass
class AnalysisRun:
    """One analysis run: its flags, configuration and folder
    `<logdir>/<experiment>/<run-name>/`."""

    experiment: str
    argv: list
    args: argparse.Namespace
    config: object
    run_dir: Path
    started: float

    @classmethod
    def start(cls, experiment, parser, presets, argv=None):
        """Parses flags, applies the preset and overrides, seeds, makes the folder."""
        argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
        config = apply_overrides(parser, presets[args.preset], args)
        keras.utils.set_random_seed(args.seed)
        run_dir = Path(args.logdir) / experiment / (args.run_name or args.preset)
        run_dir.mkdir(parents=True, exist_ok=True)
        return cls(experiment, argv, args, config, run_dir, time.time())

    def write_results(self, metrics, extra=None):
        """Writes `results.json` (atomically) and returns its content."""
        results = {
            "experiment": self.experiment,
            "run_name": self.run_dir.name,
            "metrics": metrics,
            "config": dataclasses.asdict(self.config),
            "preset": self.args.preset,
            "seed": self.args.seed,
            "wall_time_seconds": time.time() - self.started,
            "git_commit": git_commit(),
            "machine": machine_description(),
            "command": " ".join(["python -m experiments." + self.experiment, *self.argv]),
            "finished": datetime.datetime.now(datetime.UTC).isoformat(),
        } | (extra or {})
        write_json_atomically(self.run_dir / "results.json", results)
        return results
