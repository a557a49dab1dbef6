"""Pre-train BERT (MLM + NSP) on IMDB unlabelled + train reviews."""

from pathlib import Path

from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.presets import BERT_PRETRAIN_PRESETS
from keras_bert_lab.tasks.pretraining import ENCODER_FILE, pretrain_bert
from keras_bert_lab.tasks.run import Run, command_line, experiment_parser

EXPERIMENT = "bert_pretrain"


def main(argv=None):
    parser = experiment_parser(__doc__, BERT_PRETRAIN_PRESETS)
    parser.add_argument(
        "--init-from",
        default=None,
        metavar="RUN_DIR",
        help="go on from an earlier bert_pretrain run's encoder and "
        "vocabulary, e.g. with a longer --set sequence_length=256 "
        "(BERT's second, long-sequence phase)",
    )
    run = Run.start(EXPERIMENT, parser, BERT_PRETRAIN_PRESETS, argv)
    init_from = run.args.init_from
    if init_from is not None:
        if not (Path(init_from) / ENCODER_FILE).is_file():
            parser.error(
                f"--init-from: {init_from} has no {ENCODER_FILE} (not a finished bert_pretrain run)"
            )
        if Path(init_from).resolve() == run.run_dir.resolve():
            parser.error(
                f"--init-from: {init_from} is this run's own folder; "
                "give the new run another --run-name"
            )
    data = load_imdb(run.args.data_dir, seed=run.args.seed)
    metrics, history = pretrain_bert(run, data, init_from=init_from)
    run.log_hparams(metrics)
    return run.write_results(
        metrics,
        data.source,
        extra={"model": f"BERT-{run.config.config_name} MLM+NSP", "history": history},
    )


if __name__ == "__main__":
    command_line(main)
