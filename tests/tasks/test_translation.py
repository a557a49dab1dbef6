from types import SimpleNamespace

import pytest

from keras_bert_lab.presets import TranslateFrEnPreset
from keras_bert_lab.presets.fields import PresetError
from keras_bert_lab.tasks.translation import transformer_optimizer


def schedule_of(total_steps, **overrides):
    run = SimpleNamespace(
        config=TranslateFrEnPreset(hidden_dim=256, warmup_steps=100, **overrides),
        learning_rate=2.0,
        optimizer=lambda optimizer: optimizer,
    )
    return transformer_optimizer(run, total_steps)._learning_rate


def test_the_linear_decay_falls_from_the_papers_peak_to_zero_at_the_last_step():
    rsqrt = schedule_of(1000, learning_rate_decay="rsqrt")
    linear = schedule_of(1000)
    peak = 2.0 * (256 * 100) ** -0.5
    assert float(rsqrt(99)) == pytest.approx(peak, rel=1e-5)
    assert float(linear(100)) == pytest.approx(peak, rel=1e-5)
    assert float(linear(550)) == pytest.approx(peak / 2, rel=1e-5)
    assert float(linear(1000)) == 0.0
    assert float(rsqrt(1000)) == pytest.approx(peak * (100 / 1001) ** 0.5, rel=1e-4)


def test_an_unknown_decay_is_refused():
    with pytest.raises(PresetError, match="learning_rate_decay"):
        TranslateFrEnPreset(learning_rate_decay="cosine")
