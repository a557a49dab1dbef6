"""Datasets to batches: dataset loaders, BERT
pre-training examples and `tf.data` pipelines."""

from keras_bert_lab.data.fra_eng import FraEngStats, ParallelCorpus, load_fra_eng
from keras_bert_lab.data.imdb import ImdbData, ImdbStats, LabelledTexts, load_imdb
from keras_bert_lab.data.sources import DATA_DIR_ENV, DataError, resolve_data_dir

__all__ = [
    "DATA_DIR_ENV",
    "DataError",
    "FraEngStats",
    "ImdbData",
    "ImdbStats",
    "LabelledTexts",
    "ParallelCorpus",
    "load_fra_eng",
    "load_imdb",
    "resolve_data_dir",
]
