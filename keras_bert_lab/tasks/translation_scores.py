"""How the translation workflow measures a translator: translations with the preset's decoding
settings (`translate_texts`), their corpus BLEU and chrF against every reference
(`corpus_scores`, sacreBLEU), and decoding speed (`decoding_speed`)."""

import time

import sacrebleu
import tensorflow as tf

from keras_bert_lab.models.translator import decoding
from keras_bert_lab.text.packing import length_sorted_batches, map_in_length_order
from keras_bert_lab.text.special_tokens import PAD_ID


def translate_texts(pipeline, texts, config, method="greedy"):
    """`pipeline.translate` with the preset's decoding settings over `list[str]` texts in
    `packing.length_sorted_batches` (a batch of similar sources pads little and finishes
    together); the translations in the order of `texts`."""

    def translate(batch):
        return pipeline.translate(
            batch,
            method=method,
            beam_size=config.beam_size,
            length_penalty=config.length_penalty,
            batch_size=config.decode_batch_size,
            jit_compile=config.xla_decoding,
        )

    return map_in_length_order(translate, texts, config.decode_batch_size)


def reference_streams(references):
    """`[[ref, ...] per source]` -> sacreBLEU's reference streams: stream
    `k` holds every source's `k`-th reference, or None where it has fewer."""
    depth = max((len(refs) for refs in references), default=0)
    return [[refs[k] if k < len(refs) else None for refs in references] for k in range(depth)]


def corpus_scores(hypotheses, references):
    """Corpus BLEU and chrF (sacreBLEU defaults: 13a tokenisation, chrF
    with β=2) of `hypotheses` against all `references` of each source."""
    streams = reference_streams(references)
    bleu = sacrebleu.corpus_bleu(hypotheses, streams)
    chrf = sacrebleu.corpus_chrf(hypotheses, streams)
    return {"bleu": float(bleu.score), "chrf": float(chrf.score), "bleu_detail": str(bleu)}


def decoding_speed(pipeline, texts, config, *, method, use_cache):
    """Sentences/s and generated tokens/s (`[END]` included) of
    `decoding.generate` on `texts`, tokenised beforehand and batched as
    `translate_texts` batches them. Every input shape is compiled before
    the clock starts."""
    batches = [
        pipeline.tokenize_sources([texts[i] for i in positions])
        for positions in length_sorted_batches(texts, config.decode_batch_size)
    ]

    def run(source_ids):
        return decoding.generate(
            pipeline.translator,
            source_ids,
            method=method,
            beam_size=config.beam_size,
            length_penalty=config.length_penalty,
            use_cache=use_cache,
            jit_compile=config.xla_decoding,
        )

    warmed = set()
    for source_ids in batches:
        if tuple(source_ids.shape) not in warmed:
            run(source_ids)
            warmed.add(tuple(source_ids.shape))
    tokens = 0
    started = time.perf_counter()
    for source_ids in batches:
        tokens += int(tf.math.count_nonzero(run(source_ids) != PAD_ID))
    seconds = max(time.perf_counter() - started, 1e-9)
    return {"sentences_per_second": len(texts) / seconds, "tokens_per_second": tokens / seconds}
