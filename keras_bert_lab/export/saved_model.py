"""SavedModel exports: signatures from strings to outputs, for TF Serving and
`tf.saved_model.load`: a classifier's `serve` (`export_serving_signature`), a translation
pipeline's `serve` and `greedy` (`export_translation_signatures`, run again by
`saved_model_translate`)."""

import keras
import tensorflow as tf

from keras_bert_lab.models.translator import decoding
from keras_bert_lab.text.detokenize import ids_to_text
from keras_bert_lab.text.packing import map_in_length_order


def export_serving_signature(model, path):
    """Writes a SavedModel whose `serve` signature maps string `[batch]` to
    the model's outputs, for TF Serving and `tf.saved_model.load`."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve",
        lambda text: {"probabilities": model(text, training=False)},
        input_signature=[tf.TensorSpec([None], tf.string, name="text")],
    )
    archive.write_out(str(path), verbose=False)


def export_translation_signatures(pipeline, path, *, beam_size, length_penalty, jit_compile):
    """Writes a SavedModel of a `TranslationPipeline` with two signatures, each string
    `[batch]` -> string `[batch]`, tokenisation, search and detokenisation all in the graph:
    `serve` (beam search) and `greedy`.

    Needs TensorFlow and TensorFlow Text (for its tokenizer ops), not this package:
    `import tensorflow_text`, then `tf.saved_model.load(path).serve(tf.constant(["Je suis
    sûr."]))`; TF Serving sees `serve` as `serving_default`.
    """
    archive = keras.export.ExportArchive()
    archive.track(pipeline)
    for name, method in (("serve", "beam"), ("greedy", "greedy")):
        search = decoding.generator(
            pipeline.translator,
            method=method,
            beam_size=beam_size,
            length_penalty=length_penalty,
            jit_compile=jit_compile,
        )
        archive.add_endpoint(
            name,
            _translation_function(pipeline, search),
            input_signature=[tf.TensorSpec([None], tf.string, name="text")],
        )
    archive.write_out(str(path), verbose=False)


def _translation_function(pipeline, search):
    """Strings `[batch]` -> strings `[batch]`, with a compiled `search` (`decoding.generator`)."""

    def translate(text):
        output_ids = search(pipeline.tokenize_sources(text))
        return ids_to_text(pipeline.target_tokenizer, output_ids)

    return translate


def saved_model_translate(saved_model, texts, batch_size, signature="greedy"):
    """Runs a signature of a loaded `export_translation_signatures` SavedModel over `list[str]`
    texts in `packing.length_sorted_batches` (as the training workflow translates, so the
    computation is the same); the translations in the order of `texts`."""
    function = getattr(saved_model, signature)

    def translate(batch):
        return [text.decode("utf-8") for text in function(tf.constant(batch, tf.string)).numpy()]

    return map_in_length_order(translate, texts, batch_size)
