"""Flags, run folder and results of the analysis experiments: the shared pieces of
`keras_bert_lab.tasks.run` without the strategy, learning-rate or checkpoint flags (analysis
runs do not train)."""

import dataclasses
import sys
import time

import keras

from keras_bert_lab.tasks.flags import (
    add_path_flag,
    existing_path,
    parse_flags,
    positive_int,
    run_parser,
)
from keras_bert_lab.tasks.run import RunFolder, make_run_dir


def analysis_parser(description, presets):
    """An `argparse` parser with `--preset`, `--logdir`, `--run-name`, `--seed`,
    `--batch-size`, `--set FIELD=VALUE` and `--verbose`."""
    parser = run_parser(
        description,
        presets,
        preset_help="smoke: tiny random models for the sources not given; "
        "cpu / gpu: trained models, batch sizes for each machine",
        run_name_help="run folder name; default: the preset name",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=None, help="sentences per forward pass"
    )
    return parser


def add_bert_flags(parser, bert_help):
    """`--bert` (described by `bert_help`), `--bert-vocabulary` and `--bert-cased`: a BERT to
    analyse and, for a bare encoder file, its WordPiece vocabulary
    (`analysis.loading.load_bert`)."""
    parser.add_argument("--bert", default=None, help=bert_help)
    add_path_flag(
        parser,
        "--bert-vocabulary",
        "WordPiece vocabulary file, when --bert has no tokenizer",
        kind=existing_path,
    )
    parser.add_argument("--bert-cased", action="store_true", help="the BERT vocabulary keeps case")


@dataclasses.dataclass
class AnalysisRun(RunFolder):
    """One analysis run: its flags, configuration and folder
    `<logdir>/<experiment>/<run-name>/`."""

    argv: list

    @classmethod
    def start(cls, experiment, parser, presets, argv=None):
        """Parses flags, applies the preset and overrides, seeds, makes the folder."""
        argv = list(sys.argv[1:] if argv is None else argv)
        args, config = parse_flags(parser, presets, argv)
        keras.utils.set_random_seed(args.seed)
        run = cls(
            experiment=experiment,
            args=args,
            config=config,
            run_dir=make_run_dir(experiment, args),
            started=time.time(),
            argv=argv,
        )
        run.announce()
        return run

    def write_results(self, metrics, extra=None):
        """Writes `results.json` (atomically) and returns its content."""
        return self._write_results(metrics, extra, preset=self.args.preset, seed=self.args.seed)

    def command(self):
        return " ".join(["python -m experiments." + self.experiment, *self.argv])
