"""Every experiment's `gpu` preset, checked on a CPU machine before it meets a GPU: its model
built at the preset's real sizes, two training steps and one evaluation step under
`MirroredStrategy` over 2 logical CPU devices, the parameter count, and an estimate of the
memory one device needs at the preset's full per-replica batch.

`python -m experiments.check_gpu_presets` runs `check_in_process` for each experiment in a
process of its own (the CPU must be split before TensorFlow starts, and TensorFlow's CPU
allocator keeps statistics only when asked for at start-up, `TF_CPU_ALLOCATOR_USE_BFC`):

    python -m keras_bert_lab.benchmarks.gpu_presets EXPERIMENT BATCH_SIZE SEQUENCE_LENGTH

prints the result as one JSON line. The steps run on random token ids at a reduced batch
and sequence length (the model itself keeps the preset's vocabulary, widths, depths and
positions).

The memory estimate, float32 without XLA, per device (each replica holds all the weights):
the weights and the optimizer's state (their sizes, exactly), plus what one training step
(forward, backward, update) allocates on top (activations, gradients, workspace) at the full
batch. That last part is measured with TensorFlow's allocator statistics at two batches of
the full sequence length (`memory_batches`) and extrapolated linearly in the batch size; a
GPU's kernels (cuDNN, fused attention, XLA) allocate differently, so it is an estimate for
sizing, not a promise.
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_bert_lab.benchmarks import processes
from keras_bert_lab.presets import (
    BERT_IMDB_PRESETS,
    BERT_PRETRAIN_PRESETS,
    IMDB_LSTM_PRESETS,
    TRANSLATE_FR_EN_PRESETS,
    WORD2VEC_IMDB_PRESETS,
)

PRESETS = {
    "imdb_lstm": IMDB_LSTM_PRESETS,
    "word2vec_imdb": WORD2VEC_IMDB_PRESETS,
    "bert_pretrain": BERT_PRETRAIN_PRESETS,
    "bert_imdb": BERT_IMDB_PRESETS,
    "translate_fr_en": TRANSLATE_FR_EN_PRESETS,
}
"""The experiments that train a model, and their presets (`compare_imdb` trains these)."""

MEMORY_TOKENS = 4096
"""The most tokens of a batch the memory of a step is measured at (`memory_batches`)."""

MEMORY_REPEATS = 3
"""Measurements per batch size; the median is kept (the peak varies with the order in which
TensorFlow's threads run the ops)."""

RESULT_PREFIX = "GPU_PRESET_RESULT "
_FIRST_ID = 4  # above padding and the special tokens of every vocabulary


def build(experiment, config):
    """`(model, optimizer, objective)` of `experiment` at the sizes of preset `config`, as its
    task builds them, under the current strategy's scope (the caller opens it)."""
    from keras_bert_lab.models.bert import BertClassifier, BertEncoder, BertPretrainer
    from keras_bert_lab.models.lstm import lstm_classifier_from_preset
    from keras_bert_lab.models.word2vec import Word2Vec
    from keras_bert_lab.tasks.translation import build_translator, translation_objective
    from keras_bert_lab.training import objectives
    from keras_bert_lab.training.optimizers import bert_adamw

    adam = keras.optimizers.Adam(config.learning_rate)
    if experiment == "imdb_lstm":
        model = lstm_classifier_from_preset(config)
        return model, adam, objectives.classification
    if experiment == "word2vec_imdb":
        model = Word2Vec(config.vocabulary_size, config.embedding_dim, name="word2vec")
        model.build()
        return model, adam, objectives.negative_sampling_objective
    if experiment == "translate_fr_en":
        model = build_translator(
            config, config.source_vocabulary_size, config.target_vocabulary_size
        )
        return model, adam, translation_objective(config)
    encoder = BertEncoder.from_config_name(
        config.config_name, config.vocabulary_size, max_sequence_length=config.sequence_length
    )
    # The schedule's length changes no variable's size; 1000 steps stands for the run's.
    optimizer = bert_adamw(config.learning_rate, 1000, config.warmup_fraction, config.weight_decay)
    if experiment == "bert_pretrain":
        return BertPretrainer(encoder), optimizer, objectives.bert_pretraining
    return BertClassifier(encoder, dropout=config.dropout), optimizer, objectives.classification


def random_batch(experiment, config, batch_size, sequence_length, seed=0):
    """`(features, labels)` of `experiment`'s training step: random ids, `batch_size`
    examples of `sequence_length` tokens (word2vec: one target and its contexts)."""
    rng = np.random.default_rng(seed)
    vocabulary = getattr(config, "vocabulary_size", None)

    def ids(*shape, high=vocabulary):
        return tf.constant(rng.integers(_FIRST_ID, high, shape), tf.int32)

    b, t = batch_size, sequence_length
    if experiment == "word2vec_imdb":
        contexts = 1 + config.num_negatives
        labels = np.zeros((b, contexts), np.float32)
        labels[:, 0] = 1
        return {"target": ids(b), "context": ids(b, contexts)}, tf.constant(labels)
    if experiment == "translate_fr_en":
        features = {
            "encoder_inputs": ids(b, t, high=config.source_vocabulary_size),
            "decoder_inputs": ids(b, t, high=config.target_vocabulary_size),
        }
        return features, ids(b, t, high=config.target_vocabulary_size)
    labels = tf.constant(rng.integers(0, 2, b), tf.int32)
    if experiment == "imdb_lstm":
        return {"token_ids": ids(b, t)}, labels
    features = {
        "token_ids": ids(b, t),
        "segment_ids": tf.zeros((b, t), tf.int32),
        "padding_mask": tf.ones((b, t), tf.int32),
    }
    if experiment == "bert_imdb":
        return features, labels
    p = min(config.max_predictions, t - 1)
    positions = np.sort(np.stack([rng.choice(np.arange(1, t), p, replace=False) for _ in range(b)]))
    features["mask_positions"] = tf.constant(positions, tf.int32)
    return features, {
        "mlm_labels": ids(b, p),
        "mlm_weights": tf.ones((b, p), tf.float32),
        "nsp_labels": labels,
    }


def full_sequence_length(experiment, config):
    """The sequence length of the preset's training batches (word2vec has none: 1)."""
    return getattr(config, "sequence_length", 1)


def _bytes(variables):
    return int(sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables))


def check_in_process(experiment, batch_size=2, sequence_length=32):
    """Checks `experiment`'s `gpu` preset in this process (see the module docstring), which
    must not have started TensorFlow yet.

    Args:
        experiment: a key of `PRESETS`.
        batch_size: per replica, for the two training steps and the evaluation step.
        sequence_length: of those steps' batches (at most the preset's).

    Returns:
        A JSON-ready dict: `parameters`, `mirrored` (the steps' losses) and `memory`.
    """
    from keras_bert_lab.training.strategy import create_strategy, split_cpu

    split_cpu(2)
    config = PRESETS[experiment]["gpu"]
    length = min(sequence_length, full_sequence_length(experiment, config))
    keras.utils.set_random_seed(0)
    strategy = create_strategy("mirrored")
    with strategy.scope():
        model, optimizer, objective = build(experiment, config)
    mirrored = _train_and_evaluate(
        experiment, config, model, optimizer, objective, strategy, batch_size, length
    )
    parameters = int(model.count_params())
    del model, optimizer
    keras.backend.clear_session()
    return {
        "experiment": experiment,
        "preset": "gpu",
        "parameters": parameters,
        "mirrored": mirrored,
        "memory": estimate_memory(experiment, config),
    }


def _train_and_evaluate(experiment, config, model, optimizer, objective, strategy, batch, length):
    """Two training steps and one evaluation step of `DistributedTrainer` under `strategy`;
    their losses."""
    from keras_bert_lab.training.loop import DistributedTrainer

    global_batch = batch * strategy.num_replicas_in_sync
    features, labels = random_batch(experiment, config, 2 * global_batch, length)
    data = tf.data.Dataset.from_tensor_slices((features, labels)).batch(global_batch)
    with tempfile.TemporaryDirectory(prefix="gpu-preset-") as run_dir:
        trainer = DistributedTrainer(
            model,
            optimizer,
            objective,
            strategy=strategy,
            run_dir=run_dir,
            verbose=False,
            checkpoint_every_steps=10**9,
        )
        history = trainer.fit(data, epochs=1, steps_per_epoch=2)
        evaluation = trainer.evaluate(data.take(1))
    return {
        "strategy": "mirrored",
        "replicas": strategy.num_replicas_in_sync,
        "batch_size_per_replica": batch,
        "sequence_length": length,
        "optimizer_steps": int(trainer.step.numpy()),
        "train_loss": history[-1]["train_loss"],
        "evaluation_loss": evaluation["loss"],
    }


def estimate_memory(experiment, config):
    """The memory estimate of the module docstring, for a fresh model under the default
    strategy; the step's part is None where the allocator keeps no statistics."""
    from keras_bert_lab.training.objectives import LOSS_TERMS

    keras.utils.set_random_seed(0)
    model, optimizer, objective = build(experiment, config)
    optimizer.build(model.trainable_variables)

    @tf.function(reduce_retracing=True)
    def train_step(features, labels):
        with tf.GradientTape() as tape:
            terms = objective(labels, model(features, training=True))
            loss = tf.add_n(
                [terms[name].total / terms[name].count for name in LOSS_TERMS if name in terms]
            )
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    length = full_sequence_length(experiment, config)
    small, large = memory_batches(config.batch_size, length)
    step_bytes = {
        batch: _allocated_by(train_step, random_batch(experiment, config, batch, length))
        for batch in (small, large)
    }
    state = {
        "weights_bytes": _bytes(model.weights),
        "optimizer_state_bytes": _bytes(optimizer.variables),
    }
    estimate = {"batch_size": config.batch_size, "sequence_length": length, **state}
    if None in step_bytes.values():
        return estimate | {"step_bytes": None, "estimated_per_device_bytes": None}
    per_example = (step_bytes[large] - step_bytes[small]) / (large - small)
    step_at_full_batch = step_bytes[large] + per_example * (config.batch_size - large)
    return estimate | {
        "step_bytes_at_batch": step_bytes,
        "step_bytes_per_example": per_example,
        "step_bytes": step_at_full_batch,
        "estimated_per_device_bytes": sum(state.values()) + step_at_full_batch,
    }


def memory_batches(batch_size, sequence_length):
    """The two batch sizes a step's memory is measured at: the larger as many examples as
    fit in `MEMORY_TOKENS` tokens, at most `batch_size` (then nothing is extrapolated), the
    smaller half as many. The larger they are, the less the per-example slope depends on
    the noise of the fixed part (gradients, workspace)."""
    large = min(batch_size, max(2, MEMORY_TOKENS // sequence_length))
    return large // 2, large


def _allocated_by(function, batch):
    """The most bytes TensorFlow's CPU allocator held during `function(*batch)` beyond what
    it held before, the median of `MEMORY_REPEATS` calls after one to trace it; None
    without allocator statistics."""
    function(*batch)  # traces
    measured = []
    for _ in range(MEMORY_REPEATS):
        try:
            tf.config.experimental.reset_memory_stats("CPU:0")
            before = tf.config.experimental.get_memory_info("CPU:0")["current"]
        except ValueError:
            return None
        outputs = function(*batch)
        measured.append(tf.config.experimental.get_memory_info("CPU:0")["peak"] - before)
        del outputs
    return int(np.median(measured))


def check_all(experiments=tuple(PRESETS), batch_size=2, sequence_length=32, timeout=1800):
    """`check_in_process` of each experiment in a fresh process.

    Returns:
        `{experiment: result}`.

    Raises:
        RuntimeError: a check failed (with the last lines of its output).
    """
    results = {}
    for experiment in experiments:
        environment = processes.child_environment() | {"TF_CPU_ALLOCATOR_USE_BFC": "true"}
        command = [sys.executable, "-m", __name__, experiment, str(batch_size)]
        process = subprocess.run(
            [*command, str(sequence_length)],
            cwd=processes.REPOSITORY_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        lines = (process.stdout + process.stderr).strip().splitlines()
        found = [line[len(RESULT_PREFIX) :] for line in lines if line.startswith(RESULT_PREFIX)]
        if process.returncode or not found:
            raise RuntimeError(f"checking the gpu preset of {experiment} failed: {lines[-5:]}")
        results[experiment] = json.loads(found[-1])
    return results


def summary_line(result):
    """`imdb_lstm: 4.1M parameters; one device at batch 64 × 512 tokens: about 1.2 GiB ...`."""
    memory = result["memory"]
    gibibyte = 2**30
    state = (memory["weights_bytes"] + memory["optimizer_state_bytes"]) / gibibyte
    head = (
        f"{result['experiment']}: {result['parameters'] / 1e6:.1f}M parameters; one device at "
        f"batch {memory['batch_size']} x {memory['sequence_length']} tokens: "
    )
    if memory["estimated_per_device_bytes"] is None:
        return head + f"{state:.2f} GiB of weights and optimizer state (no step estimate)"
    return head + (
        f"about {memory['estimated_per_device_bytes'] / gibibyte:.2f} GiB "
        f"({state:.2f} GiB weights and optimizer state, "
        f"{memory['step_bytes'] / gibibyte:.2f} GiB for the step)"
    )


def main(argv=None):
    """The fresh process of `check_all`: prints `check_in_process`'s result as a JSON line."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("experiment", choices=sorted(PRESETS))
    parser.add_argument("batch_size", type=int)
    parser.add_argument("sequence_length", type=int)
    args = parser.parse_args(argv)
    result = check_in_process(args.experiment, args.batch_size, args.sequence_length)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
