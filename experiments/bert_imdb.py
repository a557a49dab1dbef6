"""Fine-tune BERT on IMDB sentiment: from a `bert_pretrain` run, from a
keras-hub BERT preset (a name, or a folder in Keras or Hugging Face format),
or from scratch (`--no-pretrain`)."""

from pathlib import Path

from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.presets import BERT_IMDB_PRESETS
from keras_bert_lab.tasks.classification import fine_tune_bert
from keras_bert_lab.tasks.pretraining import ENCODER_FILE
from keras_bert_lab.tasks.run import Run, command_line, experiment_parser
from keras_bert_lab.tasks.starting_points import LoadError, fine_tuning_encoder

EXPERIMENT = "bert_imdb"


def build_parser():
    parser = experiment_parser(__doc__, BERT_IMDB_PRESETS)
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--init-from",
        default=None,
        metavar="RUN_DIR_OR_PRESET",
        help="a bert_pretrain run folder (default: "
        "<logdir>/bert_pretrain/<preset>), or a keras-hub BERT preset: "
        "a name such as bert_tiny_en_uncased (downloaded) or a folder in "
        "Keras or Hugging Face format; its own vocabulary is used",
    )
    start.add_argument("--no-pretrain", action="store_true", help="train the encoder from scratch")
    return parser


def start_point(parser, args):
    """None with `--no-pretrain`; else `--init-from`, by default the `bert_pretrain` run of
    the same preset, which must be finished."""
    if args.no_pretrain:
        return None
    if args.init_from is not None:
        return args.init_from
    default = Path(args.logdir) / "bert_pretrain" / args.preset
    if not (default / ENCODER_FILE).exists():
        parser.error(
            f"{default / ENCODER_FILE} not found: run `python -m "
            "experiments.bert_pretrain` first, or pass --init-from or --no-pretrain"
        )
    return str(default)


def main(argv=None):
    parser = build_parser()
    run = Run.start(EXPERIMENT, parser, BERT_IMDB_PRESETS, argv)
    data = load_imdb(run.args.data_dir, seed=run.args.seed)
    init_from = start_point(parser, run.args)
    try:
        encoder, tokenizer = fine_tuning_encoder(run, data, init_from)
    except LoadError as error:
        parser.error(f"--init-from: {error}")
    metrics, history = fine_tune_bert(run, data, encoder, tokenizer)
    run.log_hparams(metrics)
    name = f"BERT-{encoder.num_layers}L/{encoder.hidden_dim}H"
    return run.write_results(
        metrics,
        data.source,
        extra={
            "model": name + (" pre-trained" if init_from else " from scratch"),
            "start_point": init_from or "scratch",
            "history": history,
        },
    )


if __name__ == "__main__":
    command_line(main)
