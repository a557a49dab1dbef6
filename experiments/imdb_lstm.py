"""Train the bidirectional LSTM baseline on IMDB sentiment, its embedding table
learned from scratch or started from a `word2vec_imdb` run (`--init-embeddings`)."""

import keras

from keras_bert_lab.analysis.loading import LoadError, load_word2vec
from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.models.lstm import build_lstm_classifier
from keras_bert_lab.presets import IMDB_LSTM_PRESETS
from keras_bert_lab.tasks.classification import train_text_classifier
from keras_bert_lab.tasks.run import Run, command_line, experiment_parser
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary

EXPERIMENT = "imdb_lstm"


def main(argv=None):
    parser = experiment_parser(__doc__, IMDB_LSTM_PRESETS)
    parser.add_argument(
        "--init-embeddings",
        default=None,
        metavar="WORD2VEC_RUN_DIR",
        help="start the embedding table from a word2vec_imdb run; its "
        "vocabulary and vector size replace the preset's",
    )
    parser.add_argument(
        "--freeze-embeddings",
        action="store_true",
        help="keep the word2vec table fixed (with --init-embeddings)",
    )
    run = Run.start(EXPERIMENT, parser, IMDB_LSTM_PRESETS, argv)
    config, args = run.config, run.args
    if args.freeze_embeddings and not args.init_embeddings:
        parser.error("--freeze-embeddings needs --init-embeddings")
    data = load_imdb(args.data_dir, seed=args.seed)
    if args.init_embeddings:
        try:
            vectors, tokenizer = load_word2vec(args.init_embeddings)
        except LoadError as error:
            parser.error(f"--init-embeddings: {error}")
        vocabulary_size, embedding_dim = vectors.shape
        initializer = keras.initializers.Constant(vectors)
        model = "BiLSTM + word2vec " + ("(frozen)" if args.freeze_embeddings else "(fine-tuned)")
    else:
        tokenizer = make_wordpiece_tokenizer(
            train_word_vocabulary(
                data.train.texts,
                config.vocabulary_size,
                lowercase=True,
                cache_dir=run.run_dir / "vocabulary",
            ),
            lowercase=True,
        )
        vocabulary_size, embedding_dim = tokenizer.vocabulary_size(), config.embedding_dim
        initializer, model = "uniform", "BiLSTM"
    with run.strategy.scope():
        classifier = build_lstm_classifier(
            vocabulary_size,
            embedding_dim=embedding_dim,
            lstm_units=config.lstm_units,
            num_lstm_layers=config.num_lstm_layers,
            embedding_dropout=config.embedding_dropout,
            dropout=config.dropout,
            pooling=config.pooling,
            embeddings_initializer=initializer,
            trainable_embeddings=not args.freeze_embeddings,
        )
        optimizer = run.optimizer(keras.optimizers.Adam(run.learning_rate))
    metrics, history = train_text_classifier(
        run,
        data,
        classifier=classifier,
        optimizer=optimizer,
        tokenizer=tokenizer,
        bert_inputs=False,
    )
    run.log_hparams(metrics)
    return run.write_results(
        metrics,
        data.source,
        extra={
            "model": model,
            "word2vec": args.init_embeddings,
            "history": history,
        },
    )


if __name__ == "__main__":
    command_line(main)
