"""Attention heatmaps, a per-token summary of what each head attends to, a translation's
source × output alignment, and the IMDB study's test accuracy against compute.

Figures are `matplotlib.figure.Figure`s drawn without pyplot (no global state, no display
needed); `render` draws one into an RGBA array, which `save_png` writes atomically and
`tf.summary.image` logs.

Attention weights are `[num_heads, T, T]` per layer (query by key, as from
`BertEncoder.layer_outputs`), with padding already removed: row `i` is where token `i` looks.
"""

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from PIL import Image

from keras_bert_lab.utils import atomic_path


def attention_heads_figure(
    weights, tokens, title, max_columns=4, key_tokens=None, axis_labels=("key", "query")
):
    """One layer's heads side by side: queries down, keys across.

    Args:
        weights: float `[num_heads, T, K]`, rows (queries) summing to 1.
        tokens: `T` query token strings.
        title: figure title, e.g. `"layer 2"`.
        max_columns: heads per row of the grid.
        key_tokens: `K` key token strings (default: `tokens`, self-attention); for
            cross-attention, the source sentence's.
        axis_labels: `(x label, y label)`.

    Returns:
        A `Figure` with one heatmap per head, on one colour scale from 0 to the layer's
        largest weight.
    """
    weights = np.asarray(weights)
    key_tokens = tokens if key_tokens is None else key_tokens
    num_heads, length, key_length = weights.shape[0], len(tokens), len(key_tokens)
    if weights.shape[1:] != (length, key_length):
        raise ValueError(
            f"weights {weights.shape} do not match {length} query and {key_length} key tokens"
        )
    columns = min(num_heads, max_columns)
    rows = math.ceil(num_heads / columns)
    width, height = 1.2 + 0.28 * key_length, 1.2 + 0.28 * length
    figure = Figure(figsize=(width * columns, height * rows + 0.6), layout="constrained")
    figure.suptitle(title)
    top = float(weights.max())
    for head in range(num_heads):
        axes = figure.add_subplot(rows, columns, head + 1)
        image = axes.imshow(weights[head], vmin=0.0, vmax=top, cmap="viridis")
        axes.set_title(f"head {head + 1}", fontsize=9)
        axes.set_xticks(range(key_length), key_tokens, rotation=90, fontsize=7)
        axes.set_yticks(range(length), tokens, fontsize=7)
        axes.set_xlabel(axis_labels[0], fontsize=8)
        axes.set_ylabel(axis_labels[1], fontsize=8)
    figure.colorbar(image, ax=figure.axes, shrink=0.6, label="attention weight")
    return figure


def head_summary(weights, tokens, query_index, top_k=3):
    """What each head attends to most from one token.

    Args:
        weights: float `[num_layers, num_heads, T, T]`.
        tokens: `T` token strings.
        query_index: int, position of the chosen token.
        top_k: keys kept per head.

    Returns:
        list of `{"layer", "head", "top": [[token, position, weight], ...]}` (layers and heads
        numbered from 1), strongest first.
    """
    rows = []
    for layer, layer_weights in enumerate(np.asarray(weights), start=1):
        for head, head_weights in enumerate(layer_weights, start=1):
            row = head_weights[query_index]
            best = np.argsort(-row, kind="stable")[:top_k]
            rows.append(
                {
                    "layer": layer,
                    "head": head,
                    "top": [[tokens[i], int(i), round(float(row[i]), 4)] for i in best],
                }
            )
    return rows


def head_summary_figure(weights, tokens, query_index):
    """A heatmap of the chosen token's attention row for every layer and head.

    Args:
        weights: float `[num_layers, num_heads, T, T]`.
        tokens: `T` token strings.
        query_index: int, position of the chosen token.

    Returns:
        A `Figure`: one row per (layer, head), one column per key token, each head's
        strongest key outlined; colours from 0 to the largest weight shown.
    """
    weights = np.asarray(weights)
    num_layers, num_heads, length = weights.shape[:3]
    rows = weights[:, :, query_index, :].reshape(num_layers * num_heads, length)
    figure = Figure(figsize=(1.5 + 0.35 * length, 1.0 + 0.25 * len(rows)), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(rows, vmin=0.0, vmax=float(rows.max()), cmap="magma", aspect="auto")
    for row, key in enumerate(rows.argmax(axis=1)):
        axes.add_patch(_outline(key, row))
    axes.set_xticks(range(length), tokens, rotation=90, fontsize=8)
    axes.set_yticks(
        range(len(rows)),
        [f"L{layer + 1} H{head + 1}" for layer in range(num_layers) for head in range(num_heads)],
        fontsize=7,
    )
    axes.set_title(f"attention from {tokens[query_index]!r} (position {query_index})")
    figure.colorbar(image, ax=axes, label="attention weight")
    return figure


def alignment_figure(weights, source_tokens, output_tokens):
    """A translation's cross-attention, one heatmap: output tokens down, source tokens across.

    Args:
        weights: float `[len(output_tokens), len(source_tokens)]`, e.g. one decoder block's
            cross-attention averaged over heads.
        source_tokens: the source (French) token strings.
        output_tokens: the output (English) token strings.

    Returns:
        A `Figure` with a colour bar from 0 to the largest weight.
    """
    figure = Figure(
        figsize=(1.5 + 0.45 * len(source_tokens), 1.2 + 0.35 * len(output_tokens)),
        dpi=80,
        layout="constrained",
    )
    axes = figure.add_subplot()
    image = axes.imshow(weights, vmin=0.0, cmap="viridis", aspect="auto")
    axes.set_xticks(range(len(source_tokens)), source_tokens, rotation=60, ha="right")
    axes.set_yticks(range(len(output_tokens)), output_tokens)
    axes.set_xlabel("French (source)")
    axes.set_ylabel("English (output)")
    figure.colorbar(image, ax=axes)
    return figure


FAMILIES = {
    "imdb_ngrams": ("bag of n-grams", "tab:green"),
    "imdb_lstm": ("BiLSTM", "tab:orange"),
    "bert_imdb": ("BERT", "tab:blue"),
}
"""The study's model families by experiment: their names in the legend, and colours."""


def accuracy_figure(rows):
    """Test accuracy against compute of each row that has an accuracy (the study's rows,
    with `compute_minutes`): one labelled point per model, coloured by family (`FAMILIES`),
    minutes on a log axis."""
    scored = [row for row in rows if row["test_accuracy"] is not None]
    figure = Figure(figsize=(7.5, 4.8), layout="constrained")
    axes = figure.add_subplot()
    for experiment, (family, colour) in FAMILIES.items():
        members = [row for row in scored if row["experiment"] == experiment]
        if members:
            minutes = [row["compute_minutes"] for row in members]
            accuracies = [100 * row["test_accuracy"] for row in members]
            axes.scatter(minutes, accuracies, color=colour, label=family, zorder=2)
    for row in scored:
        point = (row["compute_minutes"], 100 * row["test_accuracy"])
        axes.annotate(row["model"], point, xytext=(5, 4), textcoords="offset points", fontsize=8)
    axes.set_xscale("log")
    # Minutes as plain numbers at 1-2-5 steps (a log axis labels its minor ticks 2×10⁰...).
    axes.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.margins(x=0.15, y=0.1)  # Room for the labels of the points at the edges.
    axes.set_xlabel("wall minutes on this machine, with what the model starts from")
    axes.set_ylabel("IMDB test accuracy (%)")
    axes.grid(alpha=0.3, zorder=0)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # Off the points.
    return figure


def _outline(column, row):
    return Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="cyan", linewidth=1.2)


def render(figure):
    """Draws a `Figure`: uint8 RGBA `[height, width, 4]` (for `save_png`, and, with a batch
    axis added, `tf.summary.image`)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def save_png(image, path):
    """Writes a rendered image `[height, width, 4]` to `path` as PNG, atomically."""
    with atomic_path(path, suffix=".png") as partial:
        Image.fromarray(image).save(partial, format="PNG")
