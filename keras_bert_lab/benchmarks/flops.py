"""The analytic FLOP count of a BERT training step (`FLOP_FORMULA`).

Divided by the measured fp32 matmul throughput, it gives the hardware
utilisation the `bert` section reports.
"""

from keras_bert_lab.data.bert_pretraining import default_max_predictions

TASKS = ("pretraining", "classification")

FLOP_FORMULA = (
    "training FLOPs per step = 3 x batch x forward FLOPs per sequence "
    "(backward = 2 x forward: gradients w.r.t. inputs and w.r.t. weights); "
    "forward per sequence = (L - 1) x layer(T) + layer(Q) + 2 H^2 [pooler] "
    "+ head, layer(q) = 4 T H^2 [K,V projections of all T positions] + "
    "4 q H^2 [Q,O projections] + 4 q T H [Q K^T and weights x V] + "
    "4 q H I [feed-forward] for q query positions, so layer(T) = 8 T H^2 + "
    "4 T^2 H + 4 T H I; Q = T for keras-hub and ours_whole_last_layer, Q = "
    "1 + P (pre-training: [CLS] and the P masked positions) or 1 "
    "(classification: [CLS]) for ours, whose last block runs only there; "
    "head = P (2 H^2 + 2 H V) + 2 x 2H [MLM dense + tied output at the P "
    "masked positions, NSP] or 2 H C [classifier]. Matrix products only, a "
    "multiply-add = 2 FLOPs; embedding lookups, biases, layer norms, "
    "softmax, GELU and dropout are not counted."
)


def max_predictions(config):
    """`P`, the masked positions per sequence of a `BenchmarkConfig`:
    `config.max_predictions`, or 15% of the sequence length."""
    if config.max_predictions is not None:
        return config.max_predictions
    return default_max_predictions(config.sequence_length)


def _layer_forward_flops(hidden_dim, intermediate_dim, sequence_length, query_positions):
    t, q, h, i = sequence_length, query_positions, hidden_dim, intermediate_dim
    return 4 * t * h * h + 4 * q * h * h + 4 * q * t * h + 4 * q * h * i


def encoder_forward_flops(
    num_layers, hidden_dim, intermediate_dim, sequence_length, last_layer_positions=None
):
    """Matmul FLOPs of one sequence through `BertEncoder` (with pooler).

    Per layer, with `T = sequence_length`, `H = hidden_dim`,
    `I = intermediate_dim` and `q` query positions: the key and value
    projections of all positions `2 · 2TH²`, the query and output
    projections `2 · 2qH²`, the scores `QKᵀ` and the context `weights · V`
    `2 · 2qTH` (summed over heads: `num_heads · key_dim = H`), the
    feed-forward network `2 · 2qHI`; `q = T` except in the last layer when
    it runs at `last_layer_positions` only (`BertEncoder.outputs_at`); then
    the pooler `2H²` on `[CLS]`.
    """
    full = _layer_forward_flops(hidden_dim, intermediate_dim, sequence_length, sequence_length)
    last = _layer_forward_flops(
        hidden_dim,
        intermediate_dim,
        sequence_length,
        sequence_length if last_layer_positions is None else last_layer_positions,
    )
    return (num_layers - 1) * full + last + 2 * hidden_dim * hidden_dim


def head_forward_flops(task, hidden_dim, vocabulary_size, max_predictions=0, num_classes=2):
    """Matmul FLOPs of one sequence through a head.

    `"pretraining"`: the MLM dense layer and the tied output projection at
    the `P = max_predictions` masked positions, `P(2H² + 2HV)`, and the NSP
    dense layer `2 · 2H`. `"classification"`: `2HC`.
    """
    h = hidden_dim
    if task == "pretraining":
        return max_predictions * (2 * h * h + 2 * h * vocabulary_size) + 4 * h
    if task == "classification":
        return 2 * h * num_classes
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def bert_training_flops(config, task, prune_last_layer=False):
    """Matmul FLOPs of one training step of a whole batch (see
    `FLOP_FORMULA`): `3 × batch × (encoder + head)` forward FLOPs, with the
    last layer at `[CLS]` and the masked positions only if
    `prune_last_layer`."""
    predictions = max_predictions(config)
    last_layer_positions = None
    if prune_last_layer:
        last_layer_positions = 1 + (predictions if task == "pretraining" else 0)
    forward = encoder_forward_flops(
        config.num_layers,
        config.hidden_dim,
        config.intermediate_dim,
        config.sequence_length,
        last_layer_positions,
    ) + head_forward_flops(
        task,
        config.hidden_dim,
        config.vocabulary_size,
        predictions,
        config.num_classes,
    )
    return 3 * config.batch_size * forward
