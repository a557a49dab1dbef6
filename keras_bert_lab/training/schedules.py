"""Learning-rate schedules."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class TransformerLearningRateSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Warm-up then inverse square root decay, §5.3 of Vaswani et al.

    `lr = scale · d_model^-0.5 · min(step^-0.5, step · warmup_steps^-1.5)`:
    linear growth for `warmup_steps` steps, peaking at
    `scale · (d_model · warmup_steps)^-0.5`, then decay as `step^-0.5`. The
    paper uses `scale=1`, `warmup_steps=4000` with Adam(β1=0.9, β2=0.98,
    ε=1e-9).

    `step` counts from 1: the optimizer's iteration `i` (0 for the first
    update) uses `step = i + 1`, so the first update is not zero.

    Args:
        hidden_dim: int, the model size `d_model`.
        warmup_steps: int, steps of linear warm-up.
        scale: float, multiplies the whole schedule.

    Example:
    >>> schedule = TransformerLearningRateSchedule(512, warmup_steps=4000)
    >>> optimizer = keras.optimizers.Adam(schedule, beta_2=0.98, epsilon=1e-9)

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), §5.3.
    """

    def __init__(self, hidden_dim, warmup_steps=4000, scale=1.0):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.warmup_steps = warmup_steps
        self.scale = scale

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0
        warmup_steps = ops.cast(self.warmup_steps, "float32")
        return (
            self.scale
            * self.hidden_dim**-0.5
            * ops.minimum(ops.rsqrt(step), step * warmup_steps**-1.5)
        )

    def get_config(self):
        return {
            "hidden_dim": self.hidden_dim,
            "warmup_steps": self.warmup_steps,
            "scale": self.scale,
        }
