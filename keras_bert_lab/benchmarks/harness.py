"""How every section times its contenders, and the training step they run.

Contenders do the same work; `alternate` runs them in turn, round after
round, after a warm-up (tracing, XLA compilation). A figure is the median
over the rounds and a ratio the median of the per-round ratios, so that a
slow-down that hits one round (another job on the machine) hits both
contenders of that round.
"""

import contextlib
import statistics
import time

import keras
import tensorflow as tf

from keras_bert_lab.training import objectives


def alternate(contenders, repetitions, warmup=1):
    """Times each contender in turn, round after round.

    Every other round runs the contenders in reverse order (A B B A ...),
    so that no contender always runs right after the same neighbour.

    Args:
        contenders: `{name: run}`; `run()` does the work and returns only
            once it is finished (e.g. after `.numpy()`).
        repetitions: number of rounds.
        warmup: untimed calls of each contender first (tracing, XLA).

    Returns:
        `{name: [seconds of round 1, ...]}`.
    """
    for run in contenders.values():
        for _ in range(warmup):
            run()
    seconds = {name: [] for name in contenders}
    order = list(contenders.items())
    for repetition in range(repetitions):
        for name, run in order if repetition % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def median_ratio(numerators, denominators):
    """Median of the per-round ratios of two timing lists."""
    return statistics.median(a / b for a, b in zip(numerators, denominators))


def median_rate(seconds, amount):
    """Median over the rounds of `amount / seconds` (e.g. tokens/s)."""
    return statistics.median(amount / s for s in seconds)


@contextlib.contextmanager
def dtype_policy(name):
    """Keras's global dtype policy set to `name` (`"mixed_bfloat16"`, ...) inside the
    block, for the models built there; restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def jit_key(jit_compile):
    """The results' key of an XLA setting: `"jit"` or `"no_jit"`."""
    return "jit" if jit_compile else "no_jit"


def make_train_step(model, optimizer, objective, jit_compile):
    """The training step every model contender runs: a `tf.function`
    (XLA-compiled with `jit_compile`) doing forward, `objective` (sums and
    counts from `keras_bert_lab.training.objectives`), `GradientTape`
    backward and `optimizer.apply`. Returns the loss."""
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=jit_compile)
    def train_step(features, labels):
        with tf.GradientTape() as tape:
            outputs = model(features, training=True)
            terms = objective(labels, outputs)
            loss = tf.add_n(
                [
                    terms[name].total / tf.maximum(terms[name].count, 1.0)
                    for name in objectives.LOSS_TERMS
                    if name in terms
                ]
            )
        variables = model.trainable_variables
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return train_step


def repeat_step(step, features, labels, steps):
    """A `run()` doing `steps` calls of `step` on one fixed batch; it
    returns once the last loss is computed."""

    def run():
        for _ in range(steps):
            loss = step(features, labels)
        return float(loss)

    return run
