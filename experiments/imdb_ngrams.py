"""Train the bag-of-n-grams baseline on IMDB sentiment: word uni- and bigrams, NBSVM or TF-IDF
weights, one linear layer (the static end of the comparison)."""

from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.presets import IMDB_NGRAMS_PRESETS
from keras_bert_lab.tasks.classification import train_ngram_classifier
from keras_bert_lab.tasks.flags import experiment_parser
from keras_bert_lab.tasks.run import Run, command_line

EXPERIMENT = "imdb_ngrams"


def build_parser():
    return experiment_parser(__doc__, IMDB_NGRAMS_PRESETS)


def main(argv=None):
    run = Run.start(EXPERIMENT, build_parser(), IMDB_NGRAMS_PRESETS, argv)
    data = run.load_data(load_imdb)
    metrics, history = train_ngram_classifier(run, data)
    weighting = "NBSVM" if run.config.weighting == "nbsvm" else "TF-IDF"
    return run.finish(metrics, model=f"{weighting} {run.config.ngrams}-grams", history=history)


if __name__ == "__main__":
    command_line(main)
