"""Train skip-gram word2vec (negative sampling) on IMDB train + unlabelled reviews."""

import os

import keras
import numpy as np

from keras_bert_lab.analysis.loading import WORD2VEC_VECTORS, WORD2VEC_VOCABULARY
from keras_bert_lab.analysis.probe import nearest_words
from keras_bert_lab.data import skipgrams
from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.models.word2vec import Word2Vec
from keras_bert_lab.presets import WORD2VEC_IMDB_PRESETS
from keras_bert_lab.tasks.run import Run, command_line, experiment_parser
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary
from keras_bert_lab.training.loop import DistributedTrainer
from keras_bert_lab.training.objectives import negative_sampling_objective
from keras_bert_lab.utils import write_text_atomically

EXPERIMENT = "word2vec_imdb"
QUERY_WORDS = ("good", "bad", "funny", "boring", "plot", "actor", "star", "scene", "music")


def save_vectors(run_dir, vectors, vocabulary):
    """`vectors.npy` `[vocabulary_size, dim]` and `vocabulary.txt`, each written atomically."""
    partial = run_dir / (WORD2VEC_VECTORS + ".partial")
    with open(partial, "wb") as file:
        np.save(file, vectors)
    os.replace(partial, run_dir / WORD2VEC_VECTORS)
    write_text_atomically(
        run_dir / WORD2VEC_VOCABULARY, "".join(token + "\n" for token in vocabulary)
    )


def main(argv=None):
    parser = experiment_parser(__doc__, WORD2VEC_IMDB_PRESETS)
    run = Run.start(EXPERIMENT, parser, WORD2VEC_IMDB_PRESETS, argv)
    config = run.config
    data = load_imdb(run.args.data_dir, seed=run.args.seed)
    # Never the validation or test reviews: the vectors may initialise the classifiers.
    texts = (data.train.texts + data.unsup)[: config.max_texts]
    vocabulary = train_word_vocabulary(
        texts,
        config.vocabulary_size,
        lowercase=True,
        cache_dir=run.run_dir / "vocabulary",
    )
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
    steps_per_epoch = run.steps_per_epoch(max(pairs_per_epoch, 1))

    with run.strategy.scope():
        model = Word2Vec(len(vocabulary), config.embedding_dim, name="word2vec")
        model.build()
        optimizer = run.optimizer(keras.optimizers.Adam(run.learning_rate))
    trainer = DistributedTrainer(
        model,
        optimizer,
        negative_sampling_objective,
        strategy=run.strategy,
        run_dir=run.run_dir,
        jit_compile=run.args.jit_compile,
        verbose=not run.args.quiet,
        checkpoint_every_steps=run.args.checkpoint_every,
    )
    history = trainer.fit(dataset, epochs=config.epochs, steps_per_epoch=steps_per_epoch)

    vectors = np.asarray(keras.ops.convert_to_tensor(model.vectors), np.float32)
    if run.chief:
        save_vectors(run.run_dir, vectors, vocabulary)
    metrics = {
        "train_loss": history[-1]["train_loss"] if history else None,
        "train_accuracy": history[-1]["train_accuracy"] if history else None,
        "train_examples_per_second": float(
            np.mean([epoch["train_examples_per_second"] for epoch in history])
        )
        if history
        else None,
        "optimizer_steps": int(trainer.step.numpy()),
        "pairs_per_epoch": pairs_per_epoch,
        "training_tokens": int(counts[skipgrams.FIRST_WORD_ID :].sum()),
        "texts": len(texts),
        "parameters": int(model.count_params()),
    }
    run.log_hparams({k: v for k, v in metrics.items() if v is not None})
    return run.write_results(
        metrics,
        data.source,
        extra={
            "model": "word2vec skip-gram, negative sampling",
            "history": history,
            "nearest_words": nearest_words(vectors, vocabulary, QUERY_WORDS),
        },
    )


if __name__ == "__main__":
    command_line(main)
