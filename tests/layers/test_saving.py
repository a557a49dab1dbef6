"""A model using every layer saves to `.keras` and reloads, in a fresh Python
process, with identical outputs."""

import subprocess
import sys
import textwrap

import keras
import numpy as np

from keras_bert_lab import layers


def build_model_with_every_layer():
    source = keras.Input((None,), dtype="int32", name="source")
    segments = keras.Input((None,), dtype="int32", name="segments")
    target = keras.Input((None,), dtype="int32", name="target")
    encoded = layers.TokenAndPositionEmbedding(
        50, 16, 16, num_segments=2, use_layer_norm=True, dropout=0.1
    )(source, segment_ids=segments)
    encoded = layers.TransformerEncoderBlock(4, 32, dropout=0.1)(encoded)
    decoded = layers.TokenAndPositionEmbedding(
        50, 16, 16, position_encoding="sinusoidal", scale_token_embeddings=True
    )(target)
    decoded = layers.TransformerDecoderBlock(4, 32, normalize_first=True)(decoded, encoded)
    positions = layers.PositionEmbedding(16)(decoded)
    positions = positions + layers.SinusoidalPositionEncoding()(decoded)
    attended = layers.MultiHeadAttention(2, 8)(decoded + positions, encoded)
    outputs = layers.FeedForward(24, activation="gelu")(attended)
    return keras.Model([source, segments, target], outputs)


def test_save_and_reload_in_a_fresh_process(tmp_path):
    model = build_model_with_every_layer()
    rng = np.random.default_rng(0)
    inputs = [
        np.array([[4, 9, 12, 3, 0, 0], [7, 1, 2, 3, 4, 5]], "int32"),
        rng.integers(0, 2, (2, 6)).astype("int32"),
        np.array([[5, 6, 7, 0], [8, 9, 1, 2]], "int32"),
    ]
    expected = np.asarray(model.predict(inputs, verbose=0))
    model_path = tmp_path / "every_layer.keras"
    model.save(model_path)
    np.savez(tmp_path / "io.npz", *inputs, expected=expected)

    script = textwrap.dedent(
        f"""
        import keras, numpy as np
        import keras_bert_lab.layers  # registers the serializable classes
        data = np.load({str(tmp_path / "io.npz")!r})
        model = keras.saving.load_model({str(model_path)!r})
        inputs = [data["arr_0"], data["arr_1"], data["arr_2"]]
        actual = np.asarray(model.predict(inputs, verbose=0))
        np.testing.assert_array_equal(actual, data["expected"])
        print("IDENTICAL")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "IDENTICAL" in result.stdout
