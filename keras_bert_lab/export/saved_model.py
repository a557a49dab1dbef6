"""SavedModel exports: signatures from strings to outputs, for TF Serving and
`tf.saved_model.load`."""

import keras
import tensorflow as tf


def export_serving_signature(model, path):
    """Writes a SavedModel whose `serve` signature maps string `[batch]` to
    the model's outputs, for TF Serving and `tf.saved_model.load`."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve",
        lambda text: model(text, training=False),
        input_signature=[tf.TensorSpec([None], tf.string, name="text")],
    )
    archive.write_out(str(path), verbose=False)
