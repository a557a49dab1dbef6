"""Train the bidirectional LSTM baseline on IMDB sentiment, its embedding table
learned from scratch or started from a `word2vec_imdb` run (`--init-embeddings`)."""

from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.presets import IMDB_LSTM_PRESETS
from keras_bert_lab.tasks.classification import train_lstm_classifier
from keras_bert_lab.tasks.flags import add_path_flag, experiment_parser
from keras_bert_lab.tasks.run import Run, command_line
from keras_bert_lab.tasks.starting_points import LoadError, load_word2vec

EXPERIMENT = "imdb_lstm"


def build_parser():
    parser = experiment_parser(__doc__, IMDB_LSTM_PRESETS)
    add_path_flag(
        parser,
        "--init-embeddings",
        "start the embedding table from a word2vec_imdb run; its vocabulary and vector size "
        "replace the preset's",
        metavar="WORD2VEC_RUN_DIR",
    )
    parser.add_argument(
        "--freeze-embeddings",
        action="store_true",
        help="keep the word2vec table fixed (with --init-embeddings)",
    )
    return parser


def check_flags(parser, args):
    if args.freeze_embeddings and not args.init_embeddings:
        parser.error("--freeze-embeddings needs --init-embeddings")


def main(argv=None):
    parser = build_parser()
    run = Run.start(EXPERIMENT, parser, IMDB_LSTM_PRESETS, argv, check_flags=check_flags)
    args = run.args
    word2vec, model = None, "BiLSTM"
    if args.init_embeddings:
        try:
            word2vec = load_word2vec(args.init_embeddings)
        except LoadError as error:
            parser.error(f"--init-embeddings: {error}")
        model += " + word2vec " + ("(frozen)" if args.freeze_embeddings else "(fine-tuned)")
    data = run.load_data(load_imdb)
    metrics, history = train_lstm_classifier(
        run, data, word2vec=word2vec, freeze_embeddings=args.freeze_embeddings
    )
    return run.finish(metrics, model=model, history=history, word2vec=args.init_embeddings)


if __name__ == "__main__":
    command_line(main)
