"""Train the bidirectional LSTM baseline on IMDB sentiment."""

import keras

from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.data.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary
from keras_bert_lab.models.lstm import build_lstm_classifier
from keras_bert_lab.presets import IMDB_LSTM_PRESETS
from keras_bert_lab.training.classification import train_text_classifier
from keras_bert_lab.training.experiment import Run, command_line, experiment_parser

EXPERIMENT = "imdb_lstm"


def main(argv=None):
    parser = experiment_parser(__doc__, IMDB_LSTM_PRESETS)
    run = Run.start(EXPERIMENT, parser, IMDB_LSTM_PRESETS, argv)
    config = run.config
    data = load_imdb(run.args.data_dir, seed=run.args.seed)
    vocabulary = train_word_vocabulary(
        data.train.texts, config.vocabulary_size, lowercase=True,
        cache_dir=run.run_dir / "vocabulary",
    )
    with run.strategy.scope():
        classifier = build_lstm_classifier(
            len(vocabulary), embedding_dim=config.embedding_dim,
            lstm_units=config.lstm_units, num_lstm_layers=config.num_lstm_layers,
            embedding_dropout=config.embedding_dropout, dropout=config.dropout,
            pooling=config.pooling,
        )
        optimizer = run.optimizer(keras.optimizers.Adam(run.learning_rate))
    metrics, history = train_text_classifier(
        run, data, classifier=classifier, optimizer=optimizer,
        tokenizer=make_wordpiece_tokenizer(vocabulary, lowercase=True),
        bert_inputs=False,
    )
    run.log_hparams(metrics)
    return run.write_results(
        metrics, data.source, extra={"model": "BiLSTM", "history": history}
    )


if __name__ == "__main__":
    command_line(main)
