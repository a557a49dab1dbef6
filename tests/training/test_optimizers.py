"""BERT's AdamW: the warm-up and the decay of its learning rate."""

import keras
import numpy as np
import pytest

from keras_bert_lab.training.optimizers import bert_adamw
from keras_bert_lab.training.schedules import WarmupLinearDecay


def rates(optimizer, steps):
    """The optimizer's learning rate at each of `steps`."""
    found = []
    for step in steps:
        optimizer.iterations.assign(step)
        found.append(float(optimizer.learning_rate))
    return np.array(found)


def test_linear_decay_is_berts_schedule():
    optimizer = bert_adamw(
        1e-3, total_steps=100, warmup_fraction=0.1, weight_decay=0.01, decay="linear"
    )
    np.testing.assert_allclose(
        rates(optimizer, [0, 5, 10, 55, 100, 150]), [0.0, 5e-4, 1e-3, 5e-4, 0.0, 0.0], atol=1e-9
    )


def test_cosine_decay_warms_up_the_same_way_then_falls_along_a_cosine():
    optimizer = bert_adamw(1e-3, total_steps=100, warmup_fraction=0.2, weight_decay=0.01)
    quarter_way_down = 1e-3 * (1 + np.cos(np.pi / 4)) / 2  # Above the line, as a cosine is.
    np.testing.assert_allclose(
        rates(optimizer, [0, 10, 20, 40, 60, 100]),
        [0.0, 5e-4, 1e-3, quarter_way_down, 5e-4, 0.0],
        atol=1e-9,
    )


def test_an_unknown_decay_is_refused():
    with pytest.raises(ValueError, match="decay must be one of cosine, linear, got 'step'"):
        bert_adamw(1e-3, 100, 0.1, 0.01, decay="step")


def test_the_linear_schedule_round_trips_through_its_config():
    schedule = WarmupLinearDecay(2e-5, warmup_steps=30, total_steps=300)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(again, WarmupLinearDecay) and again.get_config() == schedule.get_config()
    assert float(again(165)) == pytest.approx(1e-5)
