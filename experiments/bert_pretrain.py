"""Pre-train BERT (MLM + NSP) on IMDB unlabelled + train reviews."""

from pathlib import Path

from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.presets import BERT_PRETRAIN_PRESETS
from keras_bert_lab.tasks.flags import add_path_flag, experiment_parser
from keras_bert_lab.tasks.pretraining import ENCODER_FILE, pretrain_bert
from keras_bert_lab.tasks.run import Run, command_line, run_folder

EXPERIMENT = "bert_pretrain"


def build_parser():
    parser = experiment_parser(__doc__, BERT_PRETRAIN_PRESETS)
    add_path_flag(
        parser,
        "--init-from",
        "go on from an earlier bert_pretrain run's encoder and vocabulary, e.g. with a longer "
        "--set sequence_length=256 (BERT's second, long-sequence phase)",
        metavar="RUN_DIR",
    )
    return parser


def check_flags(parser, args):
    """`--init-from` must be a finished run, and not this run's own folder (which `--force`
    would remove)."""
    init_from = args.init_from
    if init_from is None:
        return
    if not (Path(init_from) / ENCODER_FILE).is_file():
        parser.error(
            f"--init-from: {init_from} has no {ENCODER_FILE} (not a finished bert_pretrain run)"
        )
    if Path(init_from).resolve() == run_folder(EXPERIMENT, args).resolve():
        parser.error(
            f"--init-from: {init_from} is this run's own folder; "
            "give the new run another --run-name"
        )


def main(argv=None):
    parser = build_parser()
    run = Run.start(EXPERIMENT, parser, BERT_PRETRAIN_PRESETS, argv, check_flags=check_flags)
    data = run.load_data(load_imdb)
    metrics, history = pretrain_bert(run, data, init_from=run.args.init_from)
    return run.finish(metrics, model=f"BERT-{run.config.config_name} MLM+NSP", history=history)


if __name__ == "__main__":
    command_line(main)
