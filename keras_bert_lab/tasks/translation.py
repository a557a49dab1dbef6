"""Train, evaluate, save and reload the French-to-English translator: the
workflow of `experiments.translate_fr_en`.

1. WordPiece vocabularies learned from the training split only (cased
   English; French cased unless `lowercase_source`), cached in the run
   folder (`translation_vocabularies`).
2. Bucketed teacher-forcing `tf.data` pipelines, and `DistributedTrainer.fit`
   with the validation split: the weights with the lowest validation loss
   are kept. At each epoch end, example translations (text) and the
   cross-attention of the last decoder block (images) go to TensorBoard
   under `<run_dir>/examples` (`TranslationSummaries`).
3. Corpus BLEU and chrF (sacreBLEU) of greedy and beam search on every
   distinct test source, scored against all of its references.
4. Decoding speed, sentences/s and tokens/s, with and without the key/value
   cache.
5. Saving: the `TranslationPipeline` as `translation_pipeline.keras`
   (`keras.saving.load_model(path).translate(["Je suis sûr."])`), and a
   SavedModel whose `serve` (beam) and `greedy` signatures map a string
   `[batch]` to a string `[batch]` entirely in the graph
   (`export_translation_signatures`). Both are reloaded and must give the
   same greedy translations as the trained model.

Decoding, saving and export use a *serving copy* of the translator: the same
configuration and weights in plain variables, made outside the distribution
strategy, so that XLA-compiled search and export never meet mirrored
variables.
"""

import time
from pathlib import Path

import keras
import numpy as np
import sacrebleu
import tensorflow as tf

from keras_bert_lab.data.pipelines import translation_dataset
from keras_bert_lab.models.translator import decoding
from keras_bert_lab.models.translator.model import TranslationPipeline, Translator
from keras_bert_lab.text.packing import to_ragged_ids
from keras_bert_lab.text.special_tokens import CLS_ID, END_ID, MASK_ID, PAD_ID, SEP_ID, START_ID
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_wordpiece_vocabulary
from keras_bert_lab.training import objectives
from keras_bert_lab.training.loop import DistributedTrainer
from keras_bert_lab.training.schedules import TransformerLearningRateSchedule
from keras_bert_lab.utils import atomic_directory, save_keras_atomically

PIPELINE_FILE = "translation_pipeline.keras"
SAVED_MODEL_DIR = "saved_model"

# ----------------------------------------------------------------- building


def translation_vocabularies(run, data):
    """French and English WordPiece vocabularies of the training pairs,
    cached under `<run_dir>/vocabulary` (a second run loads them)."""
    config = run.config
    pairs = data.train[: config.max_train_pairs]
    cache_dir = run.run_dir / "vocabulary"
    french = train_wordpiece_vocabulary(
        [french for french, _ in pairs],
        config.source_vocabulary_size,
        lowercase=config.lowercase_source,
        cache_dir=cache_dir,
        name="french",
    )
    english = train_wordpiece_vocabulary(
        [english for _, english in pairs],
        config.target_vocabulary_size,
        lowercase=False,
        cache_dir=cache_dir,
        name="english",
    )
    return french, english


def build_translator(config, source_vocabulary_size, target_vocabulary_size):
    """The `Translator` of a `presets.TranslateFrEnPreset`, built."""
    translator = Translator(
        source_vocabulary_size,
        target_vocabulary_size,
        sequence_length=config.sequence_length,
        num_layers=config.num_layers,
        hidden_dim=config.hidden_dim,
        num_heads=config.num_heads,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
        normalize_first=config.normalize_first,
        name="translator",
    )
    translator.build()
    return translator


def transformer_optimizer(run):
    """Adam(β2, ε of the preset) on the paper's warm-up schedule, scaled by
    the run's learning rate (the preset's, scaled for the replicas)."""
    config = run.config
    schedule = TransformerLearningRateSchedule(
        config.hidden_dim,
        warmup_steps=config.warmup_steps,
        scale=run.learning_rate,
    )
    return run.optimizer(
        keras.optimizers.Adam(
            schedule,
            beta_1=0.9,
            beta_2=config.adam_beta_2,
            epsilon=config.adam_epsilon,
        )
    )


def serving_copy(translator):
    """A float32 `Translator` with the config and current weights of
    `translator`, in ordinary variables (call outside any
    `strategy.scope()`). Float32 whatever the training precision, so that
    the saved model does not depend on the serving machine's support for
    bfloat16 or float16."""
    copy = Translator.from_config(translator.get_config() | {"dtype": "float32"})
    copy.build()
    copy.set_weights(translator.get_weights())
    return copy


# ----------------------------------------------------------------- decoding


def translate_texts(pipeline, texts, config, method="greedy"):
    """`pipeline.translate` with the preset's decoding settings, over the
    texts sorted by length (a batch of similar sources pads little and
    finishes together); returns translations in the order of `texts`."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    translations = pipeline.translate(
        [texts[i] for i in order],
        method=method,
        beam_size=config.beam_size,
        length_penalty=config.length_penalty,
        batch_size=config.decode_batch_size,
        jit_compile=config.xla_decoding,
    )
    restored = [""] * len(texts)
    for index, translation in zip(order, translations):
        restored[index] = translation
    return restored


def sorted_batches(texts, batch_size):
    """`texts` sorted by length, in lists of `batch_size` (as
    `translate_texts` groups them)."""
    ordered = sorted(texts, key=len)
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]


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
    `decoding.generate` on `texts`, tokenised beforehand and batched by
    length. Every input shape is compiled before the clock starts."""
    batches = [
        pipeline.tokenize_sources(batch)
        for batch in sorted_batches(texts, config.decode_batch_size)
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


# ------------------------------------------------------- in-graph serving

_SKIPPED_IDS = (PAD_ID, CLS_ID, SEP_ID, MASK_ID, START_ID)
# The spacing rules of `vocabulary.detokenize_to_text`, for the graph.
_NO_SPACE_BEFORE = (".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "…")
_NO_SPACE_AFTER = ("(", "[", "{", "$", "¿", "¡")
_JOINERS = ("'", "’", "-")
# Python's `\w` (letters, numbers, underscore) and `\d`, in RE2.
_ENDS_WITH_WORD_CHARACTER = r"(?s).*[\pL\pN_]"
_STARTS_WITH_WORD_CHARACTER = r"(?s)[\pL\pN_].*"
_NUMBER = r"\p{Nd}+"


def _is_one_of(words, tokens):
    return tf.reduce_any(words[..., None] == tf.constant(tokens)[None, None], -1)


def ids_to_text(tokenizer, output_ids):
    """`decoding.generate` output ids `[batch, length]` -> English strings
    `[batch]`, in the graph.

    Gives the same text as `vocabulary.detokenize_to_text` row by row:
    stops at `[END]`, drops `[PAD]`, `[CLS]`, `[SEP]`, `[MASK]`, `[START]`,
    joins `##` pieces (tf-text's WordPiece detokenizer), then applies the
    same spacing rules to whole words. Each rule depends only on a word's
    neighbours and on how many straight quotes came before it, so the rules
    are vectorised over a `[batch, words]` tensor instead of a loop. Known
    difference: a bare `##` token after a word is kept by tf-text but
    dropped by the Python version (the translator does not produce it in
    practice).
    """
    output_ids = tf.cast(output_ids, tf.int32)
    before_end = tf.equal(tf.cumsum(tf.cast(output_ids == END_ID, tf.int32), axis=1), 0)
    keep = before_end & ~tf.reduce_any(
        output_ids[..., None] == tf.constant(_SKIPPED_IDS)[None, None], -1
    )
    words_text = tokenizer.detokenize(tf.ragged.boolean_mask(output_ids, keep))
    words = tf.strings.split(words_text).to_tensor("")
    rows = tf.shape(words)[0]
    # One empty column more, so that every word has a next (and a
    # previous) neighbour, even in an all-empty batch.
    empty = tf.fill([rows, 1], "")
    words = tf.concat([words, empty], axis=1)
    previous_words = tf.concat([empty, words[:, :-1]], axis=1)
    next_words = tf.concat([words[:, 1:], empty], axis=1)

    between_words = tf.strings.regex_full_match(
        previous_words, _ENDS_WITH_WORD_CHARACTER
    ) & tf.strings.regex_full_match(next_words, _STARTS_WITH_WORD_CHARACTER)
    between_numbers = tf.strings.regex_full_match(
        previous_words, _NUMBER
    ) & tf.strings.regex_full_match(next_words, _NUMBER)
    joined = (_is_one_of(words, _JOINERS) & between_words) | (
        _is_one_of(words, (".", ",")) & between_numbers
    )
    quote = tf.equal(words, '"')
    inside_quotes = tf.equal(
        tf.math.floormod(tf.cumsum(tf.cast(quote, tf.int32), axis=1, exclusive=True), 2), 1
    )
    glue_next = joined | tf.where(quote, ~inside_quotes, _is_one_of(words, _NO_SPACE_AFTER))
    glued_to_previous = tf.concat([tf.fill([rows, 1], True), glue_next[:, :-1]], axis=1)
    glue_before = (
        glued_to_previous | _is_one_of(words, _NO_SPACE_BEFORE) | joined | (quote & inside_quotes)
    )
    pieces = tf.where(glue_before, words, tf.strings.join([" ", words]))
    pieces = tf.where(tf.equal(words, ""), "", pieces)
    return tf.strings.reduce_join(pieces, axis=1)


def tokenize_sources_in_graph(pipeline, texts):
    """Strings `[batch]` -> int32 `[batch, length]`, in the graph, exactly as
    `TranslationPipeline.tokenize_sources` (truncated to `sequence_length`,
    padded to a power of two)."""
    sequence_length = pipeline.translator.sequence_length
    token_ids = to_ragged_ids(pipeline.source_tokenizer(texts))[:, :sequence_length]
    # At least 1, also for an empty batch.
    longest = tf.cast(
        tf.reduce_max(tf.concat([token_ids.row_lengths(), [1]], axis=0)),
        tf.int32,
    )
    powers = tf.constant([2**i for i in range(int(np.ceil(np.log2(sequence_length))) + 1)])
    length = tf.minimum(
        tf.reduce_min(tf.where(powers >= longest, powers, powers[-1])),
        sequence_length,
    )
    return token_ids.to_tensor(0, shape=tf.stack([token_ids.nrows(), tf.cast(length, tf.int64)]))


def export_translation_signatures(pipeline, path, *, beam_size, length_penalty, jit_compile):
    """Writes a SavedModel with two signatures, each string `[batch]` ->
    string `[batch]`, tokenisation, search and detokenisation all in the
    graph: `serve` (beam search) and `greedy`.

    Needs TensorFlow and TensorFlow Text (for its tokenizer ops), not this
    package: `import tensorflow_text`, then `tf.saved_model.load(path).serve(
    tf.constant(["Je suis sûr."]))`; TF Serving sees `serve` as
    `serving_default`.
    """
    archive = keras.export.ExportArchive()
    archive.track(pipeline)

    def translation_function(method):
        search = decoding.generator(
            pipeline.translator,
            method=method,
            beam_size=beam_size,
            length_penalty=length_penalty,
            jit_compile=jit_compile,
        )

        def translate(text):
            output_ids = search(tokenize_sources_in_graph(pipeline, text))
            return ids_to_text(pipeline.target_tokenizer, output_ids)

        return translate

    for name, method in (("serve", "beam"), ("greedy", "greedy")):
        archive.add_endpoint(
            name,
            translation_function(method),
            input_signature=[tf.TensorSpec([None], tf.string, name="text")],
        )
    archive.write_out(str(path), verbose=False)


def saved_model_translate(saved_model, texts, batch_size, signature="greedy"):
    """Runs a SavedModel signature over `texts` batched as `translate_texts`
    does (so the computation is the same); results in the order of
    `texts`."""
    function = getattr(saved_model, signature)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    translations = [""] * len(texts)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        batch = tf.constant([texts[i] for i in rows], tf.string)
        for index, text in zip(rows, function(batch).numpy()):
            translations[index] = text.decode("utf-8")
    return translations


# --------------------------------------------------------- TensorBoard


def heatmap_image(weights, source_tokens, output_tokens):
    """A `[1, height, width, channels]` uint8 picture of attention weights
    `[len(output_tokens), len(source_tokens)]`, labelled with the tokens
    (matplotlib), or without matplotlib a grayscale matrix, 16 pixels a
    cell."""
    try:
        from matplotlib.figure import Figure

        from keras_bert_lab.figures import render
    except ImportError:
        pixels = np.uint8(255 * weights / max(float(weights.max()), 1e-9))
        return np.kron(pixels, np.ones((16, 16), np.uint8))[None, :, :, None]
    figure = Figure(
        figsize=(1.5 + 0.45 * len(source_tokens), 1.2 + 0.35 * len(output_tokens)),
        dpi=80,
        layout="constrained",
    )
    axes = figure.add_subplot()
    image = axes.imshow(weights, vmin=0.0, cmap="viridis", aspect="auto")
    axes.set_xticks(range(len(source_tokens)), source_tokens, rotation=60, ha="right")
    axes.set_yticks(range(len(output_tokens)), output_tokens)
    axes.set_xlabel("French (source)")
    axes.set_ylabel("English (output)")
    figure.colorbar(image, ax=axes)
    return render(figure)[None]


class TranslationSummaries:
    """`on_epoch_end` callback: example translations and cross-attention
    heatmaps of fixed sentences, at the trainer's step, in TensorBoard
    (`<run_dir>/examples`: text `translations`, images
    `cross_attention/<i>`). Writes on the chief only.

    Args:
        trainer: the `DistributedTrainer` (its model and step).
        pipeline: a `TranslationPipeline` around a serving copy of the
            trained translator; its weights are refreshed each epoch.
        pairs: `(french, english)` example pairs.
        config: the preset (decoding settings).
        num_heatmaps: how many of the pairs get a heatmap.
    """

    def __init__(self, trainer, pipeline, pairs, config, num_heatmaps=3):
        self.trainer = trainer
        self.pipeline = pipeline
        self.pairs = list(pairs)
        self.config = config
        self.num_heatmaps = min(num_heatmaps, len(self.pairs))
        self.writer = None
        if trainer.chief and self.pairs:
            self.writer = tf.summary.create_file_writer(str(Path(trainer.run_dir) / "examples"))

    def __call__(self, epoch, logs):
        if self.writer is None:
            return
        translator = self.pipeline.translator
        translator.set_weights(self.trainer.model.get_weights())
        sources = [french for french, _ in self.pairs]
        translations = translate_texts(self.pipeline, sources, self.config)
        rows = ["| French | reference | greedy translation |", "|---|---|---|"]
        rows += [
            "| " + " | ".join(text.replace("|", "\\|") for text in row) + " |"
            for row in zip(sources, (english for _, english in self.pairs), translations)
        ]
        step = int(self.trainer.step.numpy())
        with self.writer.as_default(step=step):
            tf.summary.text("translations", "\n".join(rows))
            for index, source in enumerate(sources[: self.num_heatmaps]):
                tf.summary.image(
                    f"cross_attention/{index}",
                    self.heatmap(source),
                    description=f"Last decoder block, mean over heads: {source}",
                )
        self.writer.flush()

    def heatmap(self, source):
        translator = self.pipeline.translator
        source_ids = self.pipeline.tokenize_sources([source])
        output_ids = decoding.generate(translator, source_ids, jit_compile=self.config.xla_decoding)
        # The last decoder block's cross-attention, averaged over heads.
        weights = np.asarray(
            translator.attention_weights(source_ids, output_ids)["cross_attention"]
        )[0, -1].mean(axis=0)
        source_row = [int(i) for i in np.asarray(source_ids)[0] if i != PAD_ID]
        output_row = [int(i) for i in np.asarray(output_ids)[0] if i != PAD_ID]
        return heatmap_image(
            weights[: len(output_row), : len(source_row)],
            [self.pipeline.source_tokenizer.id_to_token(i) for i in source_row],
            [self.pipeline.target_tokenizer.id_to_token(i) for i in output_row],
        )


# ----------------------------------------------------------------- workflow


def first_distinct_sources(pairs, count):
    """The first `count` pairs with distinct French sentences (Tatoeba has
    several translations of many sentences)."""
    first = {}
    for french, english in pairs:
        if len(first) == count:
            break
        first.setdefault(french, (french, english))
    return list(first.values())


def train_translator(run, data, *, translator, optimizer, source_vocabulary, target_vocabulary):
    """Trains `translator` on `data.train`, keeps the weights with the lowest
    validation loss, scores greedy and beam search on the test sources
    with all their references, measures decoding speed, saves the
    pipeline (`.keras`) and the string-to-string SavedModel, reloads both
    and checks they translate identically.

    Every worker trains and takes part in the final validation pass; then
    only the chief decodes, scores and saves (the others return the
    training and validation metrics only).

    Args:
        run: the `experiment.Run` (strategy, preset, run folder).
        data: `fra_eng.ParallelCorpus`.
        translator: a `Translator` built under `run.strategy.scope()`.
        optimizer: built under the same scope.
        source_vocabulary, target_vocabulary: the French and English
            vocabularies (list of str).

    Returns:
        `(metrics, history, details)`: the metrics dict, the per-epoch
        history, and a dict with sacreBLEU's score lines and the first test
        sources with their references and translations (empty on workers
        other than the chief).
    """
    config = run.config
    source_tokenizer = make_wordpiece_tokenizer(
        source_vocabulary, lowercase=config.lowercase_source
    )
    target_tokenizer = make_wordpiece_tokenizer(target_vocabulary, lowercase=False)
    train_pairs = data.train[: config.max_train_pairs]
    validation_pairs = data.validation[: config.max_validation_pairs]

    def dataset(pairs, shuffle):
        return translation_dataset(
            pairs,
            source_tokenizer,
            target_tokenizer,
            batch_size=run.global_batch_size,
            max_length=config.sequence_length,
            shuffle=shuffle,
            seed=run.args.seed,
        )

    def objective(labels, logits):
        return objectives.sequence_to_sequence(
            labels, logits, label_smoothing=config.label_smoothing
        )

    trainer = DistributedTrainer(
        translator,
        optimizer,
        objective,
        strategy=run.strategy,
        run_dir=run.run_dir,
        jit_compile=run.args.jit_compile,
        verbose=not run.args.quiet,
        checkpoint_every_steps=run.args.checkpoint_every,
    )
    pipeline = TranslationPipeline(
        serving_copy(translator),
        source_tokenizer,
        target_tokenizer,
        name="translation_pipeline",
        dtype="float32",
    )
    example_pairs = first_distinct_sources(
        validation_pairs or train_pairs, config.tensorboard_examples
    )
    validation_dataset = dataset(validation_pairs, False) if validation_pairs else None
    history = trainer.fit(
        dataset(train_pairs, shuffle=True),
        epochs=config.epochs,
        steps_per_epoch=run.steps_per_epoch(len(train_pairs)),
        validation_dataset=validation_dataset,
        on_epoch_end=[TranslationSummaries(trainer, pipeline, example_pairs, config)],
    )
    trainer.restore_best_weights()
    validation = trainer.evaluate(validation_dataset) if validation_dataset else {}
    metrics = {
        "validation_loss": validation.get("loss"),
        "validation_accuracy": validation.get("accuracy"),
        "parameters": int(translator.count_params()),
        "train_pairs": len(train_pairs),
        "validation_pairs": len(validation_pairs),
        "source_vocabulary_size": len(source_vocabulary),
        "target_vocabulary_size": len(target_vocabulary),
        "train_examples_per_second": float(
            np.mean([epoch["train_examples_per_second"] for epoch in history])
        )
        if history
        else None,
        "optimizer_steps": int(trainer.step.numpy()),
        "epochs_trained_this_invocation": len(history),
    }
    if not run.chief:
        # Nothing collective is left: the chief decodes, scores and saves.
        return metrics, history, {}
    pipeline.translator.set_weights(translator.get_weights())
    test_metrics, details = evaluate_test_split(pipeline, data, config)
    check_sources = [source for source, _ in data.test_references][
        : min(config.reload_check_sources, test_metrics["test_sources"])
    ]
    check_reloaded(run, pipeline, check_sources)
    metrics |= test_metrics | {"reload_check_sources": len(check_sources)}
    return metrics, history, details


def evaluate_test_split(pipeline, data, config):
    """BLEU and chrF of greedy and beam search on the distinct test sources
    (at most `config.max_test_sources`) against all their references, and
    decoding speed on the first `config.speed_sentences` of them.

    Returns:
        `(metrics, details)`: a flat dict of numbers, and a dict with
        sacreBLEU's score lines and the first ten translations.
    """
    test = data.test_references[: config.max_test_sources]
    sources = [source for source, _ in test]
    references = [refs for _, refs in test]
    metrics = {
        "test_sources": len(sources),
        "test_references": sum(len(refs) for refs in references),
    }
    translations = {}
    for method in ("greedy", "beam"):
        started = time.perf_counter()
        translations[method] = translate_texts(pipeline, sources, config, method)
        metrics[f"test_{method}_seconds"] = time.perf_counter() - started
        scores = corpus_scores(translations[method], references)
        metrics[f"test_bleu_{method}"] = scores["bleu"]
        metrics[f"test_chrf_{method}"] = scores["chrf"]
        metrics[f"bleu_{method}"] = scores["bleu_detail"]
    details = {f"bleu_{method}": metrics.pop(f"bleu_{method}") for method in ("greedy", "beam")}
    details["examples"] = [
        {"french": source, "references": refs, "greedy": greedy, "beam": beam}
        for source, refs, greedy, beam in zip(
            sources, references, translations["greedy"], translations["beam"]
        )
    ][:10]

    speed_sources = sources[: config.speed_sentences]
    for method in ("greedy", "beam"):
        for use_cache in (True, False):
            measured = decoding_speed(
                pipeline, speed_sources, config, method=method, use_cache=use_cache
            )
            label = f"decode_{method}_{'cached' if use_cache else 'uncached'}"
            metrics |= {f"{label}_{unit}": value for unit, value in measured.items()}
    return metrics, details


def check_reloaded(run, pipeline, sources):
    """Saves the pipeline and the SavedModel, reloads both, and raises
    unless their greedy translations of `sources` equal the pipeline's."""
    config = run.config
    model_path = run.run_dir / PIPELINE_FILE
    saved_model_path = run.run_dir / SAVED_MODEL_DIR
    save_keras_atomically(pipeline, model_path)
    with atomic_directory(saved_model_path) as folder:
        export_translation_signatures(
            pipeline,
            folder,
            beam_size=config.beam_size,
            length_penalty=config.length_penalty,
            jit_compile=config.xla_decoding,
        )
    expected = translate_texts(pipeline, sources, config)
    reloaded = translate_texts(keras.saving.load_model(model_path), sources, config)
    exported = saved_model_translate(
        tf.saved_model.load(str(saved_model_path)),
        sources,
        config.decode_batch_size,
    )
    for name, translations in ((model_path, reloaded), (saved_model_path, exported)):
        different = [
            (source, want, got)
            for source, want, got in zip(sources, expected, translations)
            if want != got
        ]
        if different:
            raise RuntimeError(
                f"{name}: {len(different)} of {len(sources)} greedy "
                f"translations differ after reloading, e.g. {different[:3]}"
            )
