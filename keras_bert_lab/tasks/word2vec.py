"""Train skip-gram word2vec (negative sampling) on IMDB's training and unlabelled reviews, and
save the table with its vocabulary (`vectors.npy`, `vocabulary.txt`): the workflow of
`experiments.word2vec_imdb`, whose table can start the LSTM's embeddings
(`starting_points.load_word2vec`)."""

import keras
import numpy as np

from keras_bert_lab.data import skipgrams
from keras_bert_lab.data.imdb import unlabelled_texts
from keras_bert_lab.models.word2vec import Word2Vec
from keras_bert_lab.tasks.workflow import run_task, task_trainer
from keras_bert_lab.text.special_tokens import RESERVED_TOKENS
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary
from keras_bert_lab.training.objectives import negative_sampling_objective
from keras_bert_lab.utils import atomic_path, write_text_atomically

VECTORS_FILE = "vectors.npy"
VOCABULARY_FILE = "vocabulary.txt"
QUERY_WORDS = ("good", "bad", "funny", "boring", "plot", "actor", "star", "scene", "music")


def save_vectors(run_dir, vectors, vocabulary):
    """`vectors.npy` `[vocabulary_size, dim]` and `vocabulary.txt`, each written atomically."""
    with atomic_path(run_dir / VECTORS_FILE, suffix=".npy") as partial:
        np.save(partial, vectors)
    write_text_atomically(run_dir / VOCABULARY_FILE, "".join(token + "\n" for token in vocabulary))


def word_vectors(model):
    """The `Word2Vec` model's table, float32 `[vocabulary_size, dim]`."""
    return np.asarray(keras.ops.convert_to_tensor(model.vectors), np.float32)


def nearest_words(vectors, vocabulary, words, k=8):
    """The `k` nearest words (cosine) of each of `words` found in `vocabulary`.

    Args:
        vectors: float `[vocabulary_size, dim]`.
        vocabulary: list of str, index = id.
        words: the query words; those absent from `vocabulary` are skipped.

    Returns:
        `{word: [[neighbour, similarity], ...]}`, reserved tokens excluded.
    """
    vectors = np.asarray(vectors, np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    index = {token: i for i, token in enumerate(vocabulary)}
    neighbours = {}
    for word in words:
        if word not in index:
            continue
        similarities = unit @ unit[index[word]]
        similarities[: len(RESERVED_TOKENS)] = -np.inf
        similarities[index[word]] = -np.inf
        best = np.argsort(-similarities, kind="stable")[:k]
        neighbours[word] = [
            [vocabulary[i], round(float(similarities[i]), 4)]
            for i in best
            if np.isfinite(similarities[i])
        ]
    return neighbours


def skipgram_pairs(run, texts, vocabulary):
    """The skip-gram `tf.data` stream of `texts` and what it holds.

    Returns:
        `(dataset, pairs_per_epoch, training_tokens)`: global batches of (target, context
        and negatives) pairs; the expected number of pairs in one pass over `texts` (after
        subsampling, if `config.subsample_threshold > 0`); the number of word tokens.
    """
    config = run.config
    tokenizer = make_wordpiece_tokenizer(vocabulary, lowercase=True)
    sequences = skipgrams.token_sequences(texts, tokenizer)
    counts = skipgrams.count_token_ids(sequences, len(vocabulary))
    keep = (
        skipgrams.subsampling_keep_probabilities(counts, config.subsample_threshold)
        if config.subsample_threshold > 0
        else None
    )
    pairs_per_epoch = skipgrams.expected_pair_count(counts, keep, config.window_size, len(texts))
    dataset = skipgrams.skipgram_dataset(
        sequences.shuffle(len(texts), seed=run.args.seed),
        vocabulary_size=len(vocabulary),
        window_size=config.window_size,
        num_negatives=config.num_negatives,
        batch_size=run.global_batch_size,
        keep_probabilities=keep,
        shuffle_texts=config.shuffle_texts,
        seed=run.args.seed,
    )
    return dataset, pairs_per_epoch, int(counts[skipgrams.FIRST_WORD_ID :].sum())


def train_word2vec(run, data):
    """Learns a word vocabulary and trains `Word2Vec` as configured by `run.config` on
    `data.imdb.unlabelled_texts` (at most `config.max_texts`; never a validation or test
    review: the vectors may initialise the classifiers); saves the table and its vocabulary
    in the run folder.

    Returns:
        `(metrics, history, nearest)`: the metrics dict, the per-epoch history, and the
        nearest words of `QUERY_WORDS` (`nearest_words`).
    """
    config = run.config
    texts, removed = unlabelled_texts(data)
    texts = texts[: config.max_texts]
    vocabulary = train_word_vocabulary(
        texts,
        config.vocabulary_size,
        lowercase=True,
        cache_dir=run.run_dir / "vocabulary",
    )
    dataset, pairs_per_epoch, training_tokens = skipgram_pairs(run, texts, vocabulary)
    with run.strategy.scope():
        model = Word2Vec(len(vocabulary), config.embedding_dim, name="word2vec")
        model.build()
        optimizer = run.optimizer(keras.optimizers.Adam(run.learning_rate))
    outcome = run_task(
        run,
        task_trainer(run, model, optimizer, negative_sampling_objective),
        dataset,
        steps_per_epoch=run.steps_per_epoch(max(pairs_per_epoch, 1)),
        save=lambda model: save_vectors(run.run_dir, word_vectors(model), vocabulary),
    )
    history = outcome.history
    metrics = {
        # None if the last epoch trained in an earlier invocation (a resumed epoch end).
        "train_loss": history[-1].get("train_loss") if history else None,
        "train_accuracy": history[-1].get("train_accuracy") if history else None,
        "pairs_per_epoch": pairs_per_epoch,
        "training_tokens": training_tokens,
        "texts": len(texts),
        "held_out_reviews_removed": removed,
    }
    nearest = nearest_words(word_vectors(model), vocabulary, QUERY_WORDS)
    return metrics | outcome.training, history, nearest
