"""The floor any translator must clear: translation by retrieval, which learns nothing.

Each source sentence is answered with the target of the most similar training source, by the
cosine of character 2-4-gram TF-IDF vectors. On a split where test sentences have near-copies
in training, this scores well without generalising at all; on the near-duplicate-free split
(`data.fra_eng`, `split="hard"`) it shows how much of a score memory alone can buy.
"""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from keras_bert_lab.utils import Progress


class RetrievalTranslator:
    """Nearest training source by character n-gram TF-IDF cosine; answers with its target.

    Args:
        ngram_range: character n-gram lengths, within word boundaries (`char_wb`).
        batch_size: sources compared with the whole training set at once (memory:
            `batch_size × num_training_pairs` floats).

    Example:

        baseline = RetrievalTranslator().fit(corpus.train)
        hypotheses = baseline.translate(["Je suis sûr."])
    """

    def __init__(self, ngram_range=(2, 4), batch_size=256):
        self.ngram_range = ngram_range
        self.batch_size = batch_size

    def fit(self, pairs):
        """Indexes `(source, target)` pairs; returns `self`."""
        if not pairs:
            raise ValueError("RetrievalTranslator.fit needs at least one pair")
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=self.ngram_range, sublinear_tf=True, dtype=np.float32
        )
        self._index = self._vectorizer.fit_transform([source for source, _ in pairs]).T.tocsr()
        self._targets = [target for _, target in pairs]
        return self

    def nearest(self, sources):
        """Index in the training pairs of each source's nearest training source (the first of
        equally near ones, so the answer is deterministic)."""
        found, progress = [], Progress("retrieval baseline", len(sources))
        for start in range(0, len(sources), self.batch_size):
            queries = self._vectorizer.transform(sources[start : start + self.batch_size])
            similarities = (queries @ self._index).toarray()
            found.append(np.argmax(similarities, axis=1))
            progress.advance(queries.shape[0])
        return np.concatenate(found) if found else np.zeros([0], np.int64)

    def translate(self, sources):
        """The training target of each source's nearest training source."""
        return [self._targets[index] for index in self.nearest(list(sources))]
