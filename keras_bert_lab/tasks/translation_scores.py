"""How the translation workflow measures a translator: translations with the preset's decoding
settings (`translate_texts`), their corpus BLEU and chrF against every reference
(`corpus_scores`, sacreBLEU), the same by source length (`scores_by_length`), decoding speed
(`decoding_speed`), and the search for the decoding settings that score best on a split
(`search_decoding_settings`)."""

import dataclasses
import time

import sacrebleu
import tensorflow as tf

from keras_bert_lab.models.translator import decoding
from keras_bert_lab.text.packing import length_sorted_batches, map_in_length_order
from keras_bert_lab.text.special_tokens import PAD_ID
from keras_bert_lab.utils import Progress


def translate_texts(pipeline, texts, config, method="greedy"):
    """`pipeline.translate` with the preset's decoding settings over `list[str]` texts in
    `packing.length_sorted_batches` (a batch of similar sources pads little and finishes
    together); the translations in the order of `texts`. A long pass prints a progress line
    every 30 s (`utils.Progress`)."""
    progress = Progress(f"{method} decoding", len(texts))

    def translate(batch):
        translations = pipeline.translate(
            batch,
            method=method,
            beam_size=config.beam_size,
            length_penalty=config.length_penalty,
            batch_size=config.decode_batch_size,
            jit_compile=config.xla_decoding,
        )
        progress.advance(len(batch))
        return translations

    return map_in_length_order(translate, texts, config.decode_batch_size)


def search_decoding_settings(pipeline, references, config, beam_sizes, length_penalties):
    """Corpus BLEU and chrF of greedy decoding and of beam search with each beam size and
    length penalty, on `references` (`[(source, [reference, ...]), ...]`, a validation
    split: never tune on test).

    Args:
        pipeline: a `TranslationPipeline`.
        config: the translator's preset (`TranslateFrEnPreset`): its batch size and XLA
            setting decode; its beam size and length penalty are replaced by each setting's.
        beam_sizes, length_penalties: the grid of beam search.

    Returns:
        One row per setting, best BLEU first: `{"method", "beam_size", "length_penalty",
        "bleu", "chrf", "seconds"}` (greedy's beam size and length penalty are None).
    """
    sources = [source for source, _ in references]
    targets = [refs for _, refs in references]
    settings = [("greedy", None, None)] + [
        ("beam", beam_size, penalty) for beam_size in beam_sizes for penalty in length_penalties
    ]
    rows = []
    for method, beam_size, penalty in settings:
        chosen = config
        if method == "beam":
            chosen = dataclasses.replace(config, beam_size=beam_size, length_penalty=penalty)
        started = time.perf_counter()
        scores = corpus_scores(translate_texts(pipeline, sources, chosen, method), targets)
        rows.append(
            {"method": method, "beam_size": beam_size, "length_penalty": penalty}
            | {"bleu": scores["bleu"], "chrf": scores["chrf"]}
            | {"seconds": time.perf_counter() - started}
        )
    return sorted(rows, key=lambda row: -row["bleu"])


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


LENGTH_BUCKETS = {"1_5": (1, 5), "6_10": (6, 10), "11_plus": (11, None)}
"""Source lengths in whitespace-separated words: each source falls in exactly one bucket (an
empty source counts as one word)."""


def length_bucket(source):
    """The `LENGTH_BUCKETS` name of a source sentence."""
    words = max(len(source.split()), 1)
    return next(
        name for name, (low, high) in LENGTH_BUCKETS.items() if low <= words <= (high or words)
    )


def scores_by_length(sources, hypotheses, references):
    """`corpus_scores` of the sources of each `LENGTH_BUCKETS` bucket: `{bucket: {"sources",
    "bleu", "chrf"}}`, a bucket without sources left out."""
    buckets = [length_bucket(source) for source in sources]
    scores = {}
    for name in LENGTH_BUCKETS:
        chosen = [index for index, bucket in enumerate(buckets) if bucket == name]
        if chosen:
            bucket_scores = corpus_scores(
                [hypotheses[i] for i in chosen], [references[i] for i in chosen]
            )
            scores[name] = {"sources": len(chosen), "bleu": bucket_scores["bleu"]}
            scores[name]["chrf"] = bucket_scores["chrf"]
    return scores


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
