"""The `decoding` section: greedy and beam search of `Translator`, cached and
uncached, against the same encoder-decoder built from `keras_hub.layers`
(`TransformerEncoder`, `TransformerDecoder`) decoded with
`keras_hub.samplers.GreedySampler`.

Both models have random weights with the `[END]` logit pinned to 0
(`_never_end`), so every sentence runs to `decode_length` tokens and the
contenders do the same work.
"""

import statistics

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from keras_bert_lab.benchmarks.harness import alternate, median_rate, median_ratio
from keras_bert_lab.benchmarks.synthetic import FIRST_REGULAR_ID
from keras_bert_lab.models.translator.decoding import generate
from keras_bert_lab.models.translator.model import Translator
from keras_bert_lab.text.special_tokens import END_ID, START_ID


def _never_end(token_embedding):
    """Zeroes the `[END]` row of a tied output embedding: its logit is then
    0 while the largest of thousands of random logits is well above it, so
    every sentence runs to the full output length."""
    embeddings = token_embedding.embeddings
    embeddings.assign(
        tf.tensor_scatter_nd_update(embeddings, [[END_ID]], tf.zeros([1, embeddings.shape[1]]))
    )


class KerasHubSeq2Seq:
    """The translator's encoder-decoder from `keras_hub.layers`, decoded
    greedily with the key/value cache by `keras_hub.samplers.GreedySampler`.

    Same sizes as `Translator` (post-LN, ReLU, tied output embeddings); the
    positions are learned rather than sinusoidal (a lookup either way).
    """

    def __init__(self, config, sequence_length):
        h, v = config.hidden_dim, config.translator_vocabulary_size
        self.num_heads = config.num_heads
        self.key_dim = h // config.num_heads
        self.source_embedding = keras_hub.layers.TokenAndPositionEmbedding(
            v, sequence_length, h, name="source_embedding"
        )
        self.target_embedding = keras_hub.layers.TokenAndPositionEmbedding(
            v, sequence_length + 1, h, tie_weights=True, name="target_embedding"
        )
        block = dict(
            intermediate_dim=config.intermediate_dim,
            num_heads=config.num_heads,
            dropout=config.dropout,
            activation="relu",
        )
        self.encoder_blocks = [
            keras_hub.layers.TransformerEncoder(**block, name=f"encoder_{i}")
            for i in range(config.num_layers)
        ]
        self.decoder_blocks = [
            keras_hub.layers.TransformerDecoder(**block, name=f"decoder_{i}")
            for i in range(config.num_layers)
        ]
        self.sampler = keras_hub.samplers.GreedySampler()
        # Build every layer eagerly (no variables in the tf.function).
        ids = tf.ones([1, 2], tf.int32)
        encoded = self.encode(ids)[0]
        x = self.target_embedding(ids)
        for block_layer in self.decoder_blocks:
            x = block_layer(x, encoded)
        _never_end(self.target_embedding.token_embedding)

    def encode(self, source_ids):
        """`([batch, source_length, hidden_dim] encoded, padding mask)`."""
        padding_mask = source_ids != 0
        x = self.source_embedding(source_ids)
        for block_layer in self.encoder_blocks:
            x = block_layer(x, padding_mask=padding_mask)
        return x, padding_mask

    def greedy(self, source_ids, max_length):
        """int32 `[batch, max_length + 1]`: `[START]` and the outputs."""
        encoded, padding_mask = self.encode(source_ids)
        batch_size = tf.shape(source_ids)[0]
        # The cross-attention keys and values, once per sentence, as
        # keras-hub's own seq2seq models do (private layers: no public API).
        cross_caches = tuple(
            tf.stack(
                [
                    block_layer._cross_attention_layer._key_dense(encoded),
                    block_layer._cross_attention_layer._value_dense(encoded),
                ],
                axis=1,
            )
            for block_layer in self.decoder_blocks
        )
        self_caches = tuple(
            tf.zeros([batch_size, 2, max_length + 1, self.num_heads, self.key_dim])
            for _ in self.decoder_blocks
        )

        def next_logits(prompt, caches, index):
            # Logits at `index` from the token at `index - 1`.
            x = self.target_embedding(prompt[:, index - 1 : index], start_index=index - 1)
            updated = []
            for block_layer, self_cache, cross_cache in zip(
                self.decoder_blocks, caches, cross_caches
            ):
                x, self_cache, _ = block_layer(
                    x,
                    encoded,
                    encoder_padding_mask=padding_mask,
                    self_attention_cache=self_cache,
                    self_attention_cache_update_index=index - 1,
                    cross_attention_cache=cross_cache,
                )
                updated.append(self_cache)
            logits = self.target_embedding.token_embedding(x, reverse=True)
            return logits[:, 0], x, tuple(updated)

        prompt = tf.pad(tf.fill([batch_size, 1], START_ID), [[0, 0], [0, max_length]])
        return self.sampler(
            next_logits, prompt, cache=self_caches, index=1, stop_token_ids=[END_ID]
        )


# ---------------------------------------------------------------- contenders


def _build_translator(config, sequence_length):
    """Our `Translator` at the benchmark's sizes, built, never ending."""
    translator = Translator(
        config.translator_vocabulary_size,
        config.translator_vocabulary_size,
        sequence_length=sequence_length,
        num_layers=config.num_layers,
        hidden_dim=config.hidden_dim,
        num_heads=config.num_heads,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
    )
    translator.build()
    _never_end(translator.target_embedding.token_embedding)
    return translator


def _decoders(config, source_ids):
    """`{(method, setting): run}`; `run()` decodes the batch `source_ids`
    and returns the output ids `[batch, decode_length]` as numpy."""
    length = config.decode_length
    sequence_length = max(length, config.decode_source_length)
    keras.utils.set_random_seed(config.seed)
    translator = _build_translator(config, sequence_length)
    hub = KerasHubSeq2Seq(config, sequence_length)
    hub_greedy = {
        jit: tf.function(lambda ids: hub.greedy(ids, length), jit_compile=jit)
        for jit in (True, False)
    }

    def ours(method, use_cache, jit_compile=True):
        return lambda: generate(
            translator,
            source_ids,
            method=method,
            beam_size=config.beam_size,
            max_length=length,
            use_cache=use_cache,
            jit_compile=jit_compile,
        ).numpy()

    def keras_hub_run(jit_compile):
        return lambda: hub_greedy[jit_compile](source_ids).numpy()[:, 1:]

    return {
        ("greedy", "cached"): ours("greedy", True),
        ("greedy", "uncached"): ours("greedy", False),
        ("beam", "cached"): ours("beam", True),
        ("beam", "uncached"): ours("beam", False),
        ("keras_hub_greedy", "cached"): keras_hub_run(True),
        ("greedy", "cached_no_jit"): ours("greedy", True, False),
        ("keras_hub_greedy", "cached_no_jit"): keras_hub_run(False),
    }


def _alternate_keeping_outputs(runs, repetitions):
    """`alternate(runs)`, and each run's last output: `(seconds, outputs)`."""
    outputs = {}

    def keeping(name, run):
        def kept():
            outputs[name] = run()

        return kept

    seconds = alternate(
        {name: keeping(name, run) for name, run in runs.items()}, repetitions, warmup=1
    )
    return seconds, outputs


# ---------------------------------------------------------------- section


def benchmark_decoding(config):
    """Sentences/s and tokens/s of greedy and beam search, cached and not,
    and keras-hub's cached greedy sampling, at `decode_length` tokens."""
    rng = np.random.default_rng(config.seed)
    source_ids = tf.constant(
        rng.integers(
            FIRST_REGULAR_ID,
            config.translator_vocabulary_size,
            (config.decode_batch_size, config.decode_source_length),
        ),
        tf.int32,
    )
    seconds, outputs = _alternate_keeping_outputs(
        _decoders(config, source_ids), config.decode_repetitions
    )
    results = {
        "available": True,
        "batch_size": config.decode_batch_size,
        "source_length": config.decode_source_length,
        "output_tokens": config.decode_length,
        "beam_size": config.beam_size,
        "jit_compile": "XLA unless the setting ends in _no_jit",
        "note": "random weights, [END] logit pinned to 0 so that every "
        "sentence has output_tokens tokens; keras-hub: "
        "TransformerEncoder/TransformerDecoder with cached keys and "
        "values, GreedySampler, same sizes",
    }
    for (method, setting), times in seconds.items():
        results.setdefault(method, {})[setting] = _speeds(
            times, outputs[(method, setting)], config.decode_batch_size
        )
    results.update(_speedups(seconds))
    results["all_sentences_full_length"] = all(
        int(np.count_nonzero(ids)) == ids.shape[0] * config.decode_length
        for ids in outputs.values()
    )
    return results


def _speeds(times, output_ids, batch_size):
    """Sentences/s and tokens/s of one decoder; its tokens are the non-zero
    ids of its output."""
    generated = int(np.count_nonzero(output_ids))
    return {
        "sentences_per_second": median_rate(times, batch_size),
        "tokens_per_second": median_rate(times, generated),
        "mean_output_tokens": generated / batch_size,
        "round_seconds": times,
    }


def _speedups(seconds):
    """The ratios of round times that the report shows."""

    def speedup(slow, fast):
        return median_ratio(seconds[slow], seconds[fast])

    greedy, hub = ("greedy", "cached"), ("keras_hub_greedy", "cached")
    greedy_eager, hub_eager = ("greedy", "cached_no_jit"), ("keras_hub_greedy", "cached_no_jit")
    return {
        "greedy_cached_speedup_over_uncached": speedup(("greedy", "uncached"), greedy),
        "beam_cached_speedup_over_uncached": speedup(("beam", "uncached"), ("beam", "cached")),
        "beam_time_over_greedy_time": speedup(("beam", "cached"), greedy),
        "greedy_cached_speedup_over_keras_hub": speedup(hub, greedy),
        "greedy_cached_speedup_over_keras_hub_no_jit": speedup(hub_eager, greedy_eager),
        # Each side at its faster setting.
        "greedy_cached_speedup_over_keras_hub_best": statistics.median(
            min(hub_jit, hub_no_jit) / min(ours_jit, ours_no_jit)
            for ours_jit, ours_no_jit, hub_jit, hub_no_jit in zip(
                seconds[greedy], seconds[greedy_eager], seconds[hub], seconds[hub_eager]
            )
        ),
    }
