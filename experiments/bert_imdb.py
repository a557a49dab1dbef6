"""Fine-tune BERT on IMDB sentiment: from a `bert_pretrain` run, from a
keras-hub BERT preset (a name, or a folder in Keras or Hugging Face format),
or from scratch (`--no-pretrain`)."""

from pathlib import Path

import keras_hub

from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.presets import BERT_IMDB_PRESETS
from keras_bert_lab.tasks.classification import fine_tune_bert
from keras_bert_lab.tasks.flags import experiment_parser
from keras_bert_lab.tasks.pretraining import ENCODER_FILE
from keras_bert_lab.tasks.run import Run, command_line
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


def start_point(args):
    """None with `--no-pretrain`; else `--init-from`, by default the `bert_pretrain` run of
    the same preset."""
    if args.no_pretrain:
        return None
    if args.init_from is not None:
        return args.init_from
    return str(Path(args.logdir) / "bert_pretrain" / args.preset)


def check_flags(parser, args):
    """The start point must exist: a finished `bert_pretrain` run, a file or folder, or the
    name of a keras-hub BERT preset (or a `kaggle://`, `hf://` handle)."""
    init_from = start_point(args)
    if init_from is None or "://" in init_from:
        return
    if args.init_from is None and not (Path(init_from) / ENCODER_FILE).exists():
        parser.error(
            f"{Path(init_from) / ENCODER_FILE} not found: run `python -m "
            "experiments.bert_pretrain` first, or pass --init-from or --no-pretrain"
        )
    if not Path(init_from).exists() and init_from not in keras_hub.models.BertBackbone.presets:
        parser.error(
            f"--init-from: {init_from} is neither a file or folder nor a keras-hub BERT preset "
            "(e.g. bert_tiny_en_uncased)"
        )


def main(argv=None):
    parser = build_parser()
    run = Run.start(EXPERIMENT, parser, BERT_IMDB_PRESETS, argv, check_flags=check_flags)
    data = run.load_data(load_imdb)
    init_from = start_point(run.args)
    try:
        encoder, tokenizer = fine_tuning_encoder(run, data, init_from)
    except LoadError as error:
        parser.error(f"--init-from: {error}")
    metrics, history = fine_tune_bert(run, data, encoder, tokenizer)
    name = f"BERT-{encoder.num_layers}L/{encoder.hidden_dim}H"
    return run.finish(
        metrics,
        model=name + (" pre-trained" if init_from else " from scratch"),
        history=history,
        start_point=init_from or "scratch",
    )


if __name__ == "__main__":
    command_line(main)
