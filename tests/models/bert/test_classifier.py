"""BertClassifier: from a pre-trained or a new encoder, saving, and files saved before
`prune_last_layer` existed."""

import json
import zipfile

import keras
import numpy as np

from keras_bert_lab.models.bert import BertClassifier
from tests.models.bert.helpers import VOCABULARY, make_batch, make_encoder


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


def test_classifier_saves_and_reloads(tmp_path):
    classifier = BertClassifier(make_encoder(), num_classes=3, dropout=0.2)
    batch = make_batch([6, 4], 6)
    expected = classifier(batch)
    classifier.save(tmp_path / "classifier.keras")
    reloaded = keras.saving.load_model(tmp_path / "classifier.keras")
    assert isinstance(reloaded, BertClassifier)
    assert reloaded.get_config() == classifier.get_config()
    np.testing.assert_array_equal(reloaded(batch), expected)
