"""Train skip-gram word2vec (negative sampling) on IMDB train + unlabelled reviews."""

from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.presets import WORD2VEC_IMDB_PRESETS
from keras_bert_lab.tasks.flags import experiment_parser
from keras_bert_lab.tasks.run import Run, command_line
from keras_bert_lab.tasks.word2vec import train_word2vec

EXPERIMENT = "word2vec_imdb"


def build_parser():
    return experiment_parser(__doc__, WORD2VEC_IMDB_PRESETS)


def main(argv=None):
    run = Run.start(EXPERIMENT, build_parser(), WORD2VEC_IMDB_PRESETS, argv)
    data = run.load_data(load_imdb)
    metrics, history, nearest = train_word2vec(run, data)
    return run.finish(
        metrics,
        model="word2vec skip-gram, negative sampling",
        history=history,
        nearest_words=nearest,
    )


if __name__ == "__main__":
    command_line(main)
