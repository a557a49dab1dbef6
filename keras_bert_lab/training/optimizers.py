"""BERT's optimizer: AdamW with linear warm-up, then decay."""

import keras


def bert_adamw(learning_rate, total_steps, warmup_fraction, weight_decay):
    """AdamW as in BERT: the rate rises linearly from 0 over the first
    `warmup_fraction` of `total_steps`, then follows a cosine to 0; no weight
    decay on biases and layer-norm parameters.

    Args:
        learning_rate: float, peak rate (already scaled for the replicas).
        total_steps: int, optimizer steps of the whole run.
        warmup_fraction: float, share of the steps spent warming up.
        weight_decay: float, decoupled weight decay (Loshchilov & Hutter).
    """
    warmup_steps = max(1, int(total_steps * warmup_fraction))
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
