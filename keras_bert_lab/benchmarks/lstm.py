"""The `lstm` section: one training step of `build_lstm_classifier` against
the same network written here from stock Keras layers, and ours in `mixed_bfloat16`."""

import math
import statistics

import keras
import numpy as np
import tensorflow as tf

from keras_bert_lab.benchmarks.harness import (
    alternate,
    dtype_policy,
    make_train_step,
    median_rate,
    median_ratio,
    repeat_step,
)
from keras_bert_lab.benchmarks.synthetic import FIRST_REGULAR_ID
from keras_bert_lab.models.lstm import lstm_classifier_from_preset
from keras_bert_lab.text.special_tokens import PAD_ID
from keras_bert_lab.training import objectives


def build_stock_lstm_classifier(preset):
    """`build_lstm_classifier`'s network written from stock Keras layers:
    masked embedding, spatial dropout, bidirectional LSTM(s), mean or last
    pooling, dropout, float32 logits."""
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(preset.vocabulary_size, preset.embedding_dim, mask_zero=True)(
        token_ids
    )
    if preset.embedding_dropout:
        x = keras.layers.SpatialDropout1D(preset.embedding_dropout)(x)
    for index in range(preset.num_lstm_layers):
        sequences = preset.pooling == "mean" or index < preset.num_lstm_layers - 1
        x = keras.layers.Bidirectional(
            keras.layers.LSTM(preset.lstm_units, return_sequences=sequences)
        )(x)
    if preset.pooling == "mean":
        x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(preset.dropout)(x)
    logits = keras.layers.Dense(2, dtype="float32")(x)
    return keras.Model({"token_ids": token_ids}, logits, name="stock_lstm")


def _imdb_like_batch(preset, seed):
    """`(features, labels, lengths)`: token ids `[batch_size,
    sequence_length]` with log-normal lengths, padded with `[PAD]`."""
    rng = np.random.default_rng(seed)
    b, t = preset.batch_size, preset.sequence_length
    lengths = np.clip(rng.lognormal(math.log(0.6 * t), 0.6, b), 1, t).astype(int)
    token_ids = rng.integers(FIRST_REGULAR_ID, preset.vocabulary_size, (b, t))
    token_ids[np.arange(t)[None, :] >= lengths[:, None]] = PAD_ID
    features = {"token_ids": tf.constant(token_ids, tf.int32)}
    labels = tf.constant(rng.integers(0, 2, b), tf.int32)
    return features, labels, lengths


def benchmark_lstm(config):
    """One training step of the LSTM classifier, ours against stock Keras,
    on a batch of IMDB-like lengths (padded to the preset's length)."""
    preset = config.lstm
    features, labels, lengths = _imdb_like_batch(preset, config.seed)
    models = {
        "ours": lstm_classifier_from_preset(preset),
        "stock_keras": build_stock_lstm_classifier(preset),
    }
    with dtype_policy("mixed_bfloat16"):
        models["ours_mixed_bfloat16"] = lstm_classifier_from_preset(preset)
    steps = config.lstm_steps_per_repetition
    contenders = {}
    for name, model in models.items():
        step = make_train_step(
            model, keras.optimizers.Adam(preset.learning_rate), objectives.classification, False
        )
        contenders[name] = repeat_step(step, features, labels, steps)
    seconds = alternate(contenders, config.lstm_repetitions, warmup=1)
    results = {
        "batch_size": preset.batch_size,
        "sequence_length": preset.sequence_length,
        "mean_real_tokens": float(lengths.mean()),
        "jit_compile": False,
        "parameters": {name: model.count_params() for name, model in models.items()},
    }
    for name, times in seconds.items():
        results[name] = {
            "examples_per_second": median_rate(times, preset.batch_size * steps),
            "seconds_per_step": statistics.median(times) / steps,
            "round_seconds": times,
        }
    results["speedup_ours_over_stock_keras"] = median_ratio(seconds["stock_keras"], seconds["ours"])
    results["speedup_bfloat16_over_float32"] = median_ratio(
        seconds["ours"], seconds["ours_mixed_bfloat16"]
    )
    return results
