"""Learning-rate schedules: the Transformer's (Vaswani et al.) and BERT's linear warm-up and
decay (Devlin et al.)."""

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

    @property
    def peak(self):
        """The rate at the end of the warm-up, `scale · (d_model · warmup_steps)^-0.5`."""
        return self.scale * (self.hidden_dim * self.warmup_steps) ** -0.5

    def get_config(self):
        return {
            "hidden_dim": self.hidden_dim,
            "warmup_steps": self.warmup_steps,
            "scale": self.scale,
        }


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """BERT's schedule: linear warm-up from 0 to `peak` over `warmup_steps`, then linear
    decay to 0 at `total_steps` (and 0 after it).

    Args:
        peak: float, the rate at the end of the warm-up.
        warmup_steps: int, steps of linear warm-up (at least 1).
        total_steps: int, the step at which the rate reaches 0.

    References:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), appendix A.2.
    """

    def __init__(self, peak, warmup_steps, total_steps):
        super().__init__()
        self.peak = peak
        self.warmup_steps = max(1, warmup_steps)
        self.total_steps = max(self.warmup_steps + 1, total_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = self.peak * step / self.warmup_steps
        remaining = (self.total_steps - step) / (self.total_steps - self.warmup_steps)
        return ops.where(step < self.warmup_steps, warmup, self.peak * ops.maximum(remaining, 0.0))

    def get_config(self):
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
        }
