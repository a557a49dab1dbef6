"""BertEncoder: shapes, named sizes, masking, every layer's outputs, initial weights,
mixed precision (with the heads on top) and saving."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_bert_lab.models.bert import BertClassifier, BertEncoder, BertPretrainer
from keras_bert_lab.presets.bert import BERT_CONFIGS
from tests.models.bert.helpers import (
    HEADS,
    HIDDEN,
    LAYERS,
    VOCABULARY,
    make_batch,
    make_encoder,
    max_difference,
    numpy_outputs,
    pretraining_features,
)


def test_encoder_output_shapes():
    encoder = make_encoder()
    outputs = encoder(make_batch([7, 4], 7))
    assert set(outputs) == {"sequence_output", "pooled_output"}
    assert outputs["sequence_output"].shape == (2, 7, HIDDEN)
    assert outputs["pooled_output"].shape == (2, HIDDEN)
    assert encoder.token_embedding.embeddings.shape == (VOCABULARY, HIDDEN)
    assert encoder.token_embedding is encoder.embeddings.token_embedding


def test_named_configs():
    assert BERT_CONFIGS["base"] == dict(
        num_layers=12, hidden_dim=768, num_heads=12, intermediate_dim=3072
    )
    encoder = BertEncoder.from_config_name("tiny", vocabulary_size=100, max_sequence_length=32)
    config = encoder.get_config()
    sizes = [config[k] for k in ("num_layers", "hidden_dim", "num_heads")]
    assert sizes == [2, 128, 2]
    assert (config["intermediate_dim"], config["vocabulary_size"]) == (512, 100)
    assert config["max_sequence_length"] == 32
    assert config["activation"] == "gelu_approximate"
    assert config["layer_norm_epsilon"] == 1e-12
    assert encoder(make_batch([5], 5, 100))["pooled_output"].shape == (1, 128)
    with pytest.raises(ValueError, match="config_name must be one of"):
        BertEncoder.from_config_name("huge", vocabulary_size=100)


def test_padding_does_not_change_real_positions():
    encoder = make_encoder()
    batch = make_batch([6, 4], 6)
    padded = make_batch([6, 4], 10)
    for name in batch:
        padded[name][:, :6] = batch[name]
    # Non-zero ids in the padding: only `padding_mask` may hide them.
    padded["token_ids"][:, 6:] = 5
    expected, actual = encoder(batch), encoder(padded)
    real = batch["padding_mask"].astype(bool)
    np.testing.assert_allclose(
        np.asarray(actual["sequence_output"])[:, :6][real],
        np.asarray(expected["sequence_output"])[real],
        atol=1e-5,
    )
    np.testing.assert_allclose(actual["pooled_output"], expected["pooled_output"], atol=1e-5)


def test_layer_outputs_expose_every_layer_and_attention_map():
    encoder = make_encoder()
    batch = make_batch([5, 3], 5)
    outputs = encoder.layer_outputs(batch)
    assert outputs["embedding_output"].shape == (2, 5, HIDDEN)
    assert len(outputs["encoder_layer_outputs"]) == LAYERS
    assert len(outputs["attention_weights"]) == LAYERS
    for hidden, weights in zip(outputs["encoder_layer_outputs"], outputs["attention_weights"]):
        assert hidden.shape == (2, 5, HIDDEN)
        assert weights.shape == (2, HEADS, 5, 5)
        np.testing.assert_allclose(np.sum(weights, -1), 1.0, atol=1e-5)
        # Padded keys of the second example get no attention at all.
        assert np.all(np.asarray(weights)[1, :, :, 3:] == 0)
    reference = encoder(batch)
    np.testing.assert_array_equal(
        outputs["encoder_layer_outputs"][-1], reference["sequence_output"]
    )
    np.testing.assert_array_equal(outputs["pooled_output"], reference["pooled_output"])

    model_outputs = encoder.layer_outputs_model().predict(batch, verbose=0)
    assert max_difference(model_outputs, outputs) < 1e-5


def test_initial_weights_are_distinct():
    # Keras initializers return the same values for the same shape unless
    # seeded with a SeedGenerator: Q, K and V must not start identical.
    encoder = make_encoder()
    attention = encoder.transformer_layers[0].self_attention_layer
    query, key, value = (
        np.asarray(dense.kernel)
        for dense in (attention.query_dense, attention.key_dense, attention.value_dense)
    )
    assert not np.allclose(query, key) and not np.allclose(key, value)
    embeddings = encoder.embeddings
    token_rows = np.asarray(embeddings.token_embedding.embeddings)[:2]
    position_rows = np.asarray(embeddings.position_embedding.position_embeddings)[:2]
    assert not np.allclose(token_rows, position_rows)
    assert np.asarray(embeddings.token_embedding.embeddings).std() == pytest.approx(
        0.02 * 0.88, rel=0.25
    )  # truncated normal, stddev 0.02


def test_encoder_ignores_extra_input_keys():
    encoder = make_encoder()
    batch = make_batch([5, 3], 5)
    features = pretraining_features(batch, [[1, 2], [1, 0]]) | {"labels": [0, 1]}
    np.testing.assert_array_equal(
        encoder(features)["sequence_output"], encoder(batch)["sequence_output"]
    )


def test_with_dropout_keeps_the_weights_and_sets_the_rate():
    encoder = make_encoder(dropout=0.0, normalize_first=True)
    batch = make_batch([7, 4], 7)
    copy = encoder.with_dropout(0.5)
    assert (copy.dropout, copy.normalize_first) == (0.5, True)
    np.testing.assert_array_equal(copy(batch)["pooled_output"], encoder(batch)["pooled_output"])
    np.testing.assert_array_equal(
        encoder(batch, training=True)["pooled_output"], encoder(batch)["pooled_output"]
    )
    assert max_difference(copy(batch, training=True), encoder(batch)) > 1e-3


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(policy):
    encoder = make_encoder(dtype=policy)
    batch = make_batch([6, 4], 6)
    encoded = encoder(batch)
    assert encoded["sequence_output"].dtype == keras.DTypePolicy(policy).compute_dtype
    assert encoder.token_embedding.embeddings.dtype == "float32"
    pretrainer = BertPretrainer(encoder)
    classifier = BertClassifier(encoder)
    outputs = pretrainer(pretraining_features(batch, [[1, 2], [3, 0]])) | {
        "classifier_logits": classifier(batch)
    }
    for name, output in outputs.items():
        assert output.dtype == "float32", name
        assert np.isfinite(np.asarray(output)).all(), name


def test_encoder_saves_and_reloads_in_a_fresh_process(tmp_path):
    encoder = make_encoder(dropout=0.1)
    batch = make_batch([6, 3], 6)
    expected = numpy_outputs(encoder(batch))
    path = tmp_path / "encoder.keras"
    encoder.save(path)
    np.savez(tmp_path / "io.npz", **batch, **expected)
    script = textwrap.dedent(
        f"""
        import keras, numpy as np
        import keras_bert_lab.models.bert  # registers the classes
        data = np.load({str(tmp_path / "io.npz")!r})
        encoder = keras.saving.load_model({str(path)!r})
        assert type(encoder).__name__ == "BertEncoder", type(encoder)
        outputs = encoder({{k: data[k] for k in
                            ("token_ids", "segment_ids", "padding_mask")}})
        for name in ("sequence_output", "pooled_output"):
            np.testing.assert_array_equal(np.asarray(outputs[name]), data[name])
        print("IDENTICAL")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "IDENTICAL" in result.stdout


def test_a_pre_ln_encoder_normalises_its_last_output_on_every_path():
    encoder = make_encoder(normalize_first=True)
    assert all(block.normalize_first for block in encoder.transformer_layers)
    batch = make_batch([6, 4], 6)
    outputs = encoder(batch)
    # The last block's output, through the final LayerNorm: zero mean, unit variance.
    sequence = np.asarray(outputs["sequence_output"])
    np.testing.assert_allclose(sequence.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(sequence.std(-1), 1.0, atol=1e-2)
    layers = encoder.layer_outputs(batch)
    np.testing.assert_array_equal(layers["encoder_layer_outputs"][-1], sequence)
    positions = np.array([[1, 3], [2, 0]])
    pruned = encoder.outputs_at(batch, positions)
    expected = np.take_along_axis(sequence, positions[:, :, None], axis=1)
    np.testing.assert_allclose(pruned["sequence_output"], expected, atol=1e-5)
    np.testing.assert_allclose(pruned["pooled_output"], outputs["pooled_output"], atol=1e-5)
    # The configuration round-trips, and post-LN (BERT's, the default) has no final norm.
    copy = BertEncoder.from_config(encoder.get_config())
    copy.set_weights(encoder.get_weights())
    np.testing.assert_array_equal(copy(batch)["sequence_output"], sequence)
    assert make_encoder().final_norm is None and not make_encoder().get_config()["normalize_first"]
