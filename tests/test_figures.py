"""Attention weights as the plots receive them, the heatmap files, and the head summary."""

import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image

from keras_bert_lab import figures
from keras_bert_lab.analysis import probe
from keras_bert_lab.models.bert import BertEncoder

LAYERS, HEADS = 2, 2


@pytest.fixture(scope="module")
def encoder():
    return BertEncoder(
        50,
        num_layers=LAYERS,
        num_heads=HEADS,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=32,
        dropout=0.0,
    )


def test_attention_rows_sum_to_one_and_padded_keys_get_nothing(encoder):
    token_ids = [[7, 8, 9, 10, 11, 12], [13, 14]]  # the second is padded by 4
    inputs = probe.bert_inputs(token_ids)
    weights = [np.asarray(w) for w in encoder.layer_outputs(inputs)["attention_weights"]]
    assert inputs["padding_mask"][1].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    for layer_weights in weights:  # [batch, heads, query, key]
        assert layer_weights.shape == (2, HEADS, 8, 8)
        np.testing.assert_allclose(layer_weights.sum(-1), 1.0, atol=1e-5)
        assert not layer_weights[1, :, :, 4:].any()  # no query looks at a padded key

    # Padding stripped: the short sentence's weights are those of a run without padding.
    stripped = probe.bert_layer_outputs(encoder, token_ids)
    alone = probe.bert_layer_outputs(encoder, token_ids[1:])
    assert stripped[1]["attention_weights"].shape == (LAYERS, HEADS, 4, 4)
    np.testing.assert_allclose(
        stripped[1]["attention_weights"], alone[0]["attention_weights"], atol=1e-5
    )
    np.testing.assert_allclose(stripped[1]["hidden_states"], alone[0]["hidden_states"], atol=1e-5)


def test_heatmaps_are_written_and_readable(encoder, tmp_path):
    tokens = ["[CLS]", "a", "good", "film", "[SEP]"]
    weights = probe.bert_layer_outputs(encoder, [[7, 8, 9]])[0]["attention_weights"]
    figure = figures.attention_heads_figure(weights[0], tokens, "layer 1")
    image = figures.render(figure)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 4
    path = tmp_path / "attention" / "layer_1.png"
    figures.save_png(image, path)
    assert list(path.parent.iterdir()) == [path]  # no partial file left
    with Image.open(path) as png:
        assert png.format == "PNG" and png.width > 100 and png.height > 100
    assert imread(path).shape == image.shape

    summary = figures.head_summary_figure(weights, tokens, query_index=2)
    figures.save_png(figures.render(summary), tmp_path / "summary.png")
    assert imread(tmp_path / "summary.png").shape[0] > 50


def test_mismatched_tokens_are_refused():
    with pytest.raises(ValueError, match="do not match 3 query and 3 key tokens"):
        figures.attention_heads_figure(np.ones((2, 4, 4)) / 4, ["a", "b", "c"], "x")
    with pytest.raises(ValueError, match="do not match 4 query and 2 key tokens"):
        figures.attention_heads_figure(
            np.ones((2, 4, 3)) / 3, list("abcd"), "x", key_tokens=["a", "b"]
        )


def test_cross_attention_figure_has_source_tokens_across():
    figure = figures.attention_heads_figure(
        np.full((2, 4, 3), 1 / 3),
        list("abcd"),
        "x",
        key_tokens=["le", "chat", "dort"],
        axis_labels=("French", "English"),
    )
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == ["le", "chat", "dort"]
    assert axes.get_xlabel() == "French" and axes.get_ylabel() == "English"


def test_alignment_figure_has_output_tokens_down_and_source_tokens_across():
    figure = figures.alignment_figure(
        np.full((4, 3), 1 / 3), ["le", "chat", "dort"], ["the", "cat", "sleeps", "[END]"]
    )
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == ["le", "chat", "dort"]
    assert [label.get_text() for label in axes.get_yticklabels()][-1] == "[END]"
    assert axes.get_xlabel() == "French (source)" and axes.get_ylabel() == "English (output)"
    assert figures.render(figure).shape[-1] == 4


def test_head_summary_lists_the_strongest_keys():
    tokens = ["[CLS]", "the", "plot", "thickens", "[SEP]"]
    weights = np.full((LAYERS, HEADS, 5, 5), 0.1)
    weights[0, 1, 2] = [0.05, 0.6, 0.05, 0.25, 0.05]  # layer 1, head 2, from "plot"
    rows = figures.head_summary(weights, tokens, query_index=2, top_k=2)
    assert len(rows) == LAYERS * HEADS
    assert rows[1] == {"layer": 1, "head": 2, "top": [["the", 1, 0.6], ["thickens", 3, 0.25]]}
    assert [(row["layer"], row["head"]) for row in rows] == [(1, 1), (1, 2), (2, 1), (2, 2)]
