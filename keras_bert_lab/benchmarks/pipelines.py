"""The `pipelines` section: examples/s of the `tf.data` pipelines on
synthetic text with IMDB-like lengths, against the examples/s the BERT step
consumes, and the padded-token fraction with and without bucketing.

The pipelines are timed alone, no model running beside them; the first
pass tokenizes and fills the cache, later passes read the cache.
"""

import time

import numpy as np
import tensorflow as tf

from keras_bert_lab.benchmarks.flops import TASKS, max_predictions
from keras_bert_lab.benchmarks.harness import jit_key
from keras_bert_lab.benchmarks.synthetic import (
    sentence_words,
    synthetic_pretraining_arrays,
    synthetic_texts,
    synthetic_vocabulary,
    synthetic_words,
)
from keras_bert_lab.data.pipelines import (
    classification_dataset,
    compare_bucketing,
    pretraining_dataset,
    translation_dataset,
)
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer


def _examples_per_second(dataset):
    """Examples/s of one full pass; and the number of examples."""
    start = time.perf_counter()
    examples = 0
    for features, _ in dataset:
        examples += int(tf.shape(tf.nest.flatten(features)[0])[0])
    return examples / (time.perf_counter() - start), examples


def _timed_passes(dataset):
    """Examples/s of a first and a second (cached) pass over `dataset`."""
    first, examples = _examples_per_second(dataset)
    second, _ = _examples_per_second(dataset)
    return {
        "examples": examples,
        "first_pass_examples_per_second": first,
        "cached_pass_examples_per_second": second,
    }


def benchmark_pipelines(config):
    """Examples/s of the three pipelines, and their padded fractions
    (`compare_with_consumption` adds what the BERT step consumes)."""
    words = synthetic_words(max(config.pipeline_vocabulary_size * 2, 100), config.seed)
    texts = synthetic_texts(config.pipeline_texts, config.mean_words, words, config.seed)
    labels = np.arange(len(texts)) % 2
    tokenizer = make_wordpiece_tokenizer(
        synthetic_vocabulary(words, config.pipeline_vocabulary_size), lowercase=True
    )
    results = {
        "texts": len(texts),
        "mean_words": float(np.mean([len(t.split()) for t in texts])),
        "median_words": float(np.median([len(t.split()) for t in texts])),
        "mean_tokens": float(np.mean([len(ids) for ids in tokenizer(texts)])),
        "note": "pipelines timed alone (no model running beside them); the "
        "first pass tokenizes and fills the cache, later passes "
        "read the cache",
    }
    results.update(
        classification=_classification_passes(config, texts, labels, tokenizer),
        pretraining=_pretraining_pass(config),
        translation=_translation_passes(config, words, tokenizer),
        padding=_padding(config, texts, labels, tokenizer),
    )
    return results


def _classification_batches(config, texts, labels, tokenizer, sequence_length, **options):
    """The shuffled BERT classification batches of `texts` the section times (`options`:
    more arguments of `classification_dataset`)."""
    return classification_dataset(
        texts,
        labels,
        tokenizer,
        batch_size=config.batch_size,
        sequence_length=sequence_length,
        shuffle=True,
        seed=config.seed,
        bert_inputs=True,
        **options,
    )


def _classification_passes(config, texts, labels, tokenizer):
    return _timed_passes(
        _classification_batches(config, texts, labels, tokenizer, config.sequence_length)
    )


def _pretraining_pass(config):
    """One pass of dynamic masking over synthetic pre-training arrays."""
    arrays = synthetic_pretraining_arrays(
        config.pretraining_examples, config.sequence_length, config.vocabulary_size, config.seed
    )
    rate, examples = _examples_per_second(
        pretraining_dataset(
            arrays,
            vocabulary_size=config.vocabulary_size,
            batch_size=config.batch_size,
            shuffle=True,
            seed=config.seed,
            max_predictions=max_predictions(config),
        )
    )
    return {"examples": examples, "examples_per_second": rate}


def _translation_passes(config, words, tokenizer):
    """Sentence pairs (a sentence and its words reversed) through the
    translation pipeline."""
    pairs = [
        (" ".join(sentence), " ".join(sentence[::-1]))
        for sentence in sentence_words(config.translation_pairs, words, config.seed)
    ]
    translation = _timed_passes(
        translation_dataset(
            pairs,
            tokenizer,
            tokenizer,
            batch_size=config.batch_size,
            max_length=config.decode_length,
            shuffle=True,
            seed=config.seed,
        )
    )
    translation["consumer"] = None  # No translator training step timed.
    return translation


def _padding(config, texts, labels, tokenizer):
    """Padded-token fractions of the classification batches at
    `padding_max_length`, fixed length against bucketed."""
    padding = compare_bucketing(
        lambda bucket: _classification_batches(
            config, texts, labels, tokenizer, config.padding_max_length, bucket=bucket
        )
    )
    return {
        "max_length": config.padding_max_length,
        "fixed_length_fraction": padding["fixed_length"],
        "bucketed_fraction": padding["bucketed"],
        "padded_tokens_cut": 1.0 - padding["bucketed"] / max(padding["fixed_length"], 1e-12),
    }


def compare_with_consumption(pipelines_results, bert_results, jit_modes):
    """Adds to the pipeline results the examples/s our BERT step consumes
    (its faster jit mode) and the ratio of delivery to consumption."""
    consumption = {
        task: max(
            bert_results[task][jit_key(jit)]["ours"]["examples_per_second"] for jit in jit_modes
        )
        for task in TASKS
    }
    classification = pipelines_results["classification"]
    classification["model_examples_per_second"] = consumption["classification"]
    classification["slowest_pass_over_model_consumption"] = (
        min(
            classification["first_pass_examples_per_second"],
            classification["cached_pass_examples_per_second"],
        )
        / consumption["classification"]
    )
    pretraining = pipelines_results["pretraining"]
    pretraining["model_examples_per_second"] = consumption["pretraining"]
    pretraining["over_model_consumption"] = (
        pretraining["examples_per_second"] / consumption["pretraining"]
    )
