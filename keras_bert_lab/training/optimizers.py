"""BERT's optimizer: AdamW with linear warm-up, then decay."""

import keras

from keras_bert_lab.presets.fields import LEARNING_RATE_DECAYS
from keras_bert_lab.training.schedules import WarmupLinearDecay


def bert_adamw(learning_rate, total_steps, warmup_fraction, weight_decay, decay="cosine"):
    """AdamW as in BERT: the rate rises linearly from 0 over the first
    `warmup_fraction` of `total_steps`, then falls to 0 along a cosine or, as in BERT, a
    line (`decay`, one of `LEARNING_RATE_DECAYS`); no weight
    decay on biases and layer-norm parameters.

    Args:
        learning_rate: float, peak rate (already scaled for the replicas).
        total_steps: int, optimizer steps of the whole run.
        warmup_fraction: float, share of the steps spent warming up.
        weight_decay: float, decoupled weight decay (Loshchilov & Hutter).
        decay: how the rate falls after the warm-up.
    """
    warmup_steps = max(1, int(total_steps * warmup_fraction))
    if decay not in LEARNING_RATE_DECAYS:
        raise ValueError(f"decay must be one of {', '.join(LEARNING_RATE_DECAYS)}, got {decay!r}")
    if decay == "linear":
        schedule = WarmupLinearDecay(learning_rate, warmup_steps, total_steps)
    else:
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=max(1, total_steps - warmup_steps),
            warmup_target=learning_rate,
            warmup_steps=warmup_steps,
        )
    optimizer = keras.optimizers.AdamW(
        learning_rate=schedule, weight_decay=weight_decay, epsilon=1e-6
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer
