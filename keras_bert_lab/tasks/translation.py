"""Train, evaluate, save and reload the French-to-English translator: the
workflow of `experiments.translate_fr_en`.

1. WordPiece vocabularies learned from the training split only (cased
   English; French cased unless `lowercase_source`; or one shared by both
   sides), cached in the run folder (`translation_vocabularies`).
2. Bucketed teacher-forcing `tf.data` pipelines, and `DistributedTrainer.fit`
   with the validation split: the weights with the lowest validation loss
   are kept (or, with the preset's `average_last_epochs`, the mean of the last
   epochs' weights where it validates better). At each epoch end, example
   translations (text) and the cross-attention of the last decoder block
   (images) go to TensorBoard under `<run_dir>/examples`
   (`translation_summaries.TranslationSummaries`).
3. Corpus BLEU and chrF (sacreBLEU) of greedy and beam search on every
   distinct test source, scored against all of its references
   (`translation_scores`).
4. Decoding speed, sentences/s and tokens/s, with and without the key/value
   cache (`translation_scores.decoding_speed`).
5. Saving: the `TranslationPipeline` as `translation_pipeline.keras`
   (`keras.saving.load_model(path).translate(["Je suis sûr."])`), and a
   SavedModel whose `serve` (beam) and `greedy` signatures map a string
   `[batch]` to a string `[batch]` entirely in the graph
   (`keras_bert_lab.export.saved_model.export_translation_signatures`). Both
   are reloaded and must give the same greedy translations as the trained
   model (`check_reloaded`).

The steps follow the skeleton every task shares (`workflow.run_task`).
Decoding, saving and export use a *serving copy* of the translator: the same
configuration and weights in plain variables, made outside the distribution
strategy, so that XLA-compiled search and export never meet mirrored
variables.
"""

import time

import keras
import tensorflow as tf

from keras_bert_lab.data.pipelines import translation_dataset
from keras_bert_lab.export.saved_model import export_translation_signatures, saved_model_translate
from keras_bert_lab.models.translator.model import Translator
from keras_bert_lab.models.translator.pipeline import TranslationPipeline
from keras_bert_lab.tasks.retrieval_baseline import RetrievalTranslator
from keras_bert_lab.tasks.translation_scores import (
    corpus_scores,
    decoding_speed,
    scores_by_length,
    translate_texts,
)
from keras_bert_lab.tasks.translation_summaries import TranslationSummaries
from keras_bert_lab.tasks.workflow import run_task, task_trainer
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_wordpiece_vocabulary
from keras_bert_lab.training import objectives
from keras_bert_lab.training.schedules import TransformerLearningRateSchedule, WarmupLinearDecay
from keras_bert_lab.utils import atomic_directory, save_keras_atomically

PIPELINE_FILE = "translation_pipeline.keras"
SAVED_MODEL_DIR = "saved_model"

# ----------------------------------------------------------------- building


def translation_vocabularies(run, data):
    """`(french, english)` WordPiece vocabularies of the training pairs,
    cached under `<run_dir>/vocabulary` (a second run loads them). With the
    preset's `shared_vocabulary`, one vocabulary of both sides, twice."""
    config = run.config
    pairs = data.train[: config.max_train_pairs]
    cache_dir = run.run_dir / "vocabulary"
    if config.shared_vocabulary:
        shared = train_wordpiece_vocabulary(
            [sentence for pair in pairs for sentence in pair],
            config.target_vocabulary_size,
            lowercase=False,
            cache_dir=cache_dir,
            name="shared",
        )
        return shared, shared
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
        share_source_embeddings=config.shared_vocabulary,
        name="translator",
    )
    translator.build()
    return translator


def transformer_optimizer(run, total_steps):
    """Adam(β2, ε of the preset) on the paper's warm-up, scaled by the run's learning rate (the
    preset's, scaled for the replicas), then the preset's decay: the paper's inverse square
    root, or a line from the same peak to 0 at `total_steps`."""
    config = run.config
    schedule = TransformerLearningRateSchedule(
        config.hidden_dim,
        warmup_steps=config.warmup_steps,
        scale=run.learning_rate,
    )
    if config.learning_rate_decay == "linear":
        schedule = WarmupLinearDecay(schedule.peak, config.warmup_steps, total_steps)
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
    and checks they translate identically (`workflow.run_task`).

    Every worker trains and takes part in the final validation pass; then
    only the chief decodes, scores and saves (the others return the
    training and validation metrics only).

    Args:
        run: the `tasks.run.Run` (strategy, preset, run folder).
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
    tokenizers = translation_tokenizers(config, source_vocabulary, target_vocabulary)
    train_pairs = data.train[: config.max_train_pairs]
    validation_pairs = data.validation[: config.max_validation_pairs]
    trainer = task_trainer(run, translator, optimizer, translation_objective(config))
    pipeline = TranslationPipeline(
        serving_copy(translator), *tokenizers, name="translation_pipeline", dtype="float32"
    )
    example_pairs = first_distinct_sources(
        validation_pairs or train_pairs, config.tensorboard_examples
    )
    validation_dataset = None
    if validation_pairs:
        validation_dataset = translation_batches(run, validation_pairs, tokenizers, shuffle=False)
    check_sources = [source for source, _ in data.test_references[: config.max_test_sources]]
    check_sources = check_sources[: config.reload_check_sources]
    details = {}

    def serving_model():
        pipeline.translator.set_weights(translator.get_weights())
        return pipeline

    def test(serving):
        metrics, test_details = evaluate_test_split(serving, data, config)
        details.update(test_details)
        return metrics

    outcome = run_task(
        run,
        trainer,
        translation_batches(run, train_pairs, tokenizers, shuffle=True),
        steps_per_epoch=run.steps_per_epoch(len(train_pairs)),
        validation_dataset=validation_dataset,
        on_epoch_end=[TranslationSummaries(trainer, pipeline, example_pairs, config)],
        serving_model=serving_model,
        test=test,
        save=lambda serving: save_translation_pipeline(run, serving),
        check_reloaded=lambda serving, _: check_reloaded(run, serving, check_sources),
        average_last_epochs=config.average_last_epochs,
    )
    metrics = outcome.training | {
        "validation_loss": outcome.validation.get("loss"),
        "validation_accuracy": outcome.validation.get("accuracy"),
        "train_pairs": len(train_pairs),
        "validation_pairs": len(validation_pairs),
        "source_vocabulary_size": len(source_vocabulary),
        "target_vocabulary_size": len(target_vocabulary),
    }
    if run.chief:
        metrics |= outcome.test | {"reload_check_sources": len(check_sources)}
    return metrics, outcome.history, details


def translation_tokenizers(config, source_vocabulary, target_vocabulary):
    """The French (lowercased if the preset says so) and the cased English tokenizer."""
    return (
        make_wordpiece_tokenizer(source_vocabulary, lowercase=config.lowercase_source),
        make_wordpiece_tokenizer(target_vocabulary, lowercase=False),
    )


def translation_batches(run, pairs, tokenizers, shuffle):
    """The bucketed teacher-forcing `tf.data` pipeline of `(french, english)` pairs, in
    batches of the run's global batch size."""
    return translation_dataset(
        pairs,
        *tokenizers,
        batch_size=run.global_batch_size,
        max_length=run.config.sequence_length,
        shuffle=shuffle,
        seed=run.args.seed,
    )


def translation_objective(config):
    """Sequence-to-sequence cross-entropy with the preset's label smoothing."""

    def objective(labels, logits):
        return objectives.sequence_to_sequence(
            labels, logits, label_smoothing=config.label_smoothing
        )

    return objective


def evaluate_test_split(pipeline, data, config):
    """BLEU and chrF of greedy and beam search, and of the retrieval baseline
    (`retrieval_baseline.RetrievalTranslator` on the training pairs: the floor a translator
    must clear), on the distinct test sources (at most `config.max_test_sources`) against
    all their references, overall and by source length; decoding speed on the first
    `config.speed_sentences` of them.

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
    translations, details = {}, {}
    for method in ("greedy", "beam", "retrieval"):
        started = time.perf_counter()
        if method == "retrieval":
            translations[method] = RetrievalTranslator().fit(data.train).translate(sources)
        else:
            translations[method] = translate_texts(pipeline, sources, config, method)
        metrics[f"test_{method}_seconds"] = time.perf_counter() - started
        scores = corpus_scores(translations[method], references)
        metrics[f"test_bleu_{method}"] = scores["bleu"]
        metrics[f"test_chrf_{method}"] = scores["chrf"]
        details[f"bleu_{method}"] = scores["bleu_detail"]
        for bucket, bucket_scores in scores_by_length(
            sources, translations[method], references
        ).items():
            metrics[f"test_bleu_{method}_words_{bucket}"] = bucket_scores["bleu"]
            metrics[f"test_chrf_{method}_words_{bucket}"] = bucket_scores["chrf"]
            metrics[f"test_sources_words_{bucket}"] = bucket_scores["sources"]
    details["examples"] = [
        {"french": source, "references": refs}
        | {name: output[i] for name, output in translations.items()}
        for i, (source, refs) in enumerate(zip(sources, references))
    ][:10]
    metrics |= _decoding_speeds(pipeline, sources[: config.speed_sentences], config)
    return metrics, details


def _decoding_speeds(pipeline, sources, config):
    """`decoding_speed` of greedy and beam search, with and without the cache (one line
    before each, the uncached ones taking minutes)."""
    metrics = {}
    for method in ("greedy", "beam"):
        for use_cache in (True, False):
            cache = "cached" if use_cache else "uncached"
            print(f"decoding speed: {method}, {cache}, {len(sources)} sentences", flush=True)
            measured = decoding_speed(pipeline, sources, config, method=method, use_cache=use_cache)
            label = f"decode_{method}_{cache}"
            metrics |= {f"{label}_{unit}": value for unit, value in measured.items()}
    return metrics


def save_translation_pipeline(run, pipeline):
    """The pipeline as `translation_pipeline.keras` and as a SavedModel of string-to-string
    signatures (`saved_model/`), both written atomically."""
    config = run.config
    save_keras_atomically(pipeline, run.run_dir / PIPELINE_FILE)
    with atomic_directory(run.run_dir / SAVED_MODEL_DIR) as folder:
        export_translation_signatures(
            pipeline,
            folder,
            beam_size=config.beam_size,
            length_penalty=config.length_penalty,
            jit_compile=config.xla_decoding,
        )


def check_reloaded(run, pipeline, sources):
    """Reloads what `save_translation_pipeline` wrote, and raises unless the greedy
    translations of `sources` by the `.keras` pipeline and by the SavedModel equal the
    pipeline's."""
    config = run.config
    model_path = run.run_dir / PIPELINE_FILE
    saved_model_path = run.run_dir / SAVED_MODEL_DIR
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
