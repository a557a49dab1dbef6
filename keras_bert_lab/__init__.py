"""keras-bert-lab: from static word vectors to contextual embeddings.

Importing the package registers every class its saved models contain, so that
`keras.saving.load_model(path)` works in a fresh process after `import keras_bert_lab`.
"""

from keras_bert_lab import layers
from keras_bert_lab.export import raw_text
from keras_bert_lab.models import bert, ngrams, word2vec
from keras_bert_lab.models.translator import model as translator_model
from keras_bert_lab.models.translator import pipeline as translator_pipeline
from keras_bert_lab.training import schedules

__version__ = "0.1.0"

del bert, layers, ngrams, raw_text, schedules, translator_model, translator_pipeline, word2vec
