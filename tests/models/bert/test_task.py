"""BertTask, the base of the BERT models with heads: inputs taken by name, the encoder's dtype
policy, and a config that holds the encoder."""

import numpy as np

from keras_bert_lab.models.bert import BertClassifier, BertPretrainer
from keras_bert_lab.models.bert.task import BertTask
from tests.models.bert.helpers import make_batch, make_encoder, pretraining_features


def test_models_take_their_own_inputs_from_a_dict_with_extra_keys():
    batch = make_batch([5, 3], 5)
    classifier = BertClassifier(make_encoder(), num_classes=2)
    pretrainer = BertPretrainer(make_encoder())
    features = pretraining_features(batch, [[1, 2], [1, 0]])
    labels = {"labels": np.array([0, 1]), "nsp_labels": np.array([1, 0])}
    np.testing.assert_array_equal(classifier(batch | labels), classifier(batch))
    np.testing.assert_array_equal(
        pretrainer(features | labels)["mlm_logits"], pretrainer(features)["mlm_logits"]
    )


def test_models_keep_the_encoder_and_its_dtype_policy():
    encoder = make_encoder(dtype="mixed_bfloat16")
    for model in (BertClassifier(encoder), BertPretrainer(encoder)):
        assert isinstance(model, BertTask)
        assert model.encoder is encoder
        assert model.dtype_policy.name == "mixed_bfloat16"
        config = model.get_config()
        assert list(config)[:3] == ["name", "trainable", "encoder"]
        assert config["encoder"]["config"]["vocabulary_size"] == encoder.vocabulary_size
