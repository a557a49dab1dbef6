"""Choosing a `tf.distribute` strategy, and what it implies for batch sizes
and learning rates.

One code path runs everywhere: the experiment asks for a strategy by name
(`auto` picks from the hardware and `TF_CONFIG`), builds its model and
optimizer under `strategy.scope()`, and trains with
`keras_bert_lab.training.loop.DistributedTrainer`.
"""

import json
import os
import socket

import tensorflow as tf

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")

LEARNING_RATE_SCALING = ("none", "linear", "sqrt")
"""How the learning rate follows the replica count: `linear` (Goyal et al.,
2017: the rate grows with the global batch, from the per-replica rate),
`sqrt` (Krizhevsky, 2014; common for Adam), or `none` (the rate is given for
the global batch)."""


class StrategyError(ValueError):
    """A strategy cannot be created as asked; the message is one line."""


def split_cpu(num_devices):
    """Splits the CPU into `num_devices` logical devices, so that `mirrored`
    can be tried without GPUs. Must run before TensorFlow starts."""
    if num_devices < 1:
        raise StrategyError(f"--cpu-devices must be >= 1, got {num_devices}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
        )
    except RuntimeError as error:
        existing = len(tf.config.list_logical_devices("CPU"))
        if existing != num_devices:
            raise StrategyError(
                f"--cpu-devices={num_devices}: TensorFlow already started with "
                f"{existing} CPU device(s); set it before any TensorFlow work"
            ) from error


def free_local_ports(count):
    """`count` TCP ports free on 127.0.0.1 now, for a cluster of local workers."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def read_tf_config():
    """The parsed `TF_CONFIG` environment variable, or None if unset.

    Raises:
        StrategyError: if it is not JSON, or lacks `cluster` or `task`, or
            names a task that is not in the cluster.
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise StrategyError(f"TF_CONFIG is not valid JSON: {error}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise StrategyError('TF_CONFIG needs a "cluster" object of job -> addresses')
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise StrategyError('TF_CONFIG needs a "task" with "type" and "index"')
    addresses = config["cluster"].get(task["type"])
    if not isinstance(addresses, list) or not (
        isinstance(task["index"], int) and 0 <= task["index"] < len(addresses)
    ):
        raise StrategyError(f"TF_CONFIG task {task['type']}:{task['index']} is not in its cluster")
    return config


def _tpu_configured():
    return bool(os.environ.get("TPU_NAME")) or bool(tf.config.list_physical_devices("TPU"))


def resolve_strategy_name(name):
    """What `name` means on this machine: `auto` becomes `tpu` when a TPU
    is configured, `multi_worker` when `TF_CONFIG` names a cluster of more
    than one task, `mirrored` when more than one GPU is visible,
    `one_device` on a single GPU, `default` otherwise."""
    if name not in STRATEGIES:
        raise StrategyError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    tf_config = read_tf_config()
    if name != "auto":
        return name
    # Physical devices: listing logical ones would start the runtime, which
    # MultiWorkerMirroredStrategy must configure first.
    gpus = tf.config.list_physical_devices("GPU")
    cluster = (tf_config or {"cluster": {}})["cluster"]
    if _tpu_configured():
        return "tpu"
    if sum(len(addresses) for addresses in cluster.values()) > 1:
        return "multi_worker"
    if len(gpus) > 1:
        return "mirrored"
    return "one_device" if gpus else "default"


_CREATED = {}


def create_strategy(name="auto"):
    """The strategy called `name` (one of `STRATEGIES`; see
    `resolve_strategy_name` for `auto`). `mirrored` without GPUs mirrors
    over the logical CPU devices (see `split_cpu`).

    Each strategy is created once per process: the collective ops of two
    strategies over the same devices share instance keys and collide.
    """
    name = resolve_strategy_name(name)
    if name not in _CREATED:
        _CREATED[name] = _create_strategy(name)
    return _CREATED[name]


def _create_strategy(name):
    gpus = tf.config.list_physical_devices("GPU")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.MirroredStrategy(
            [device.name for device in tf.config.list_logical_devices("CPU")]
        )
    if name == "multi_worker":
        if read_tf_config() is None:
            raise StrategyError("--strategy=multi_worker needs TF_CONFIG describing the cluster")
        # No collective timeout: TensorFlow keeps a sleeping thread per collective op for the
        # whole timeout (tensorflow/tensorflow#62466), thousands a minute, until the process
        # can start no more. The coordination service the strategy starts detects a dead or
        # stopped worker by its missing heartbeats and aborts the others' collectives.
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def global_batch_size(strategy, per_replica_batch_size=None, global_batch=None):
    """The global batch: `per_replica_batch_size × replicas`, or `global_batch`
    checked to split evenly over the replicas."""
    replicas = strategy.num_replicas_in_sync
    if global_batch is None:
        return per_replica_batch_size * replicas
    if global_batch % replicas:
        raise StrategyError(
            f"--global-batch-size={global_batch} does not divide over {replicas} replicas"
        )
    return global_batch


def scale_learning_rate(learning_rate, replicas, rule):
    """The learning rate for `replicas` replicas under `rule` (see
    `LEARNING_RATE_SCALING`)."""
    if rule not in LEARNING_RATE_SCALING:
        raise StrategyError(
            f"unknown learning-rate scaling {rule!r}; choose from "
            f"{', '.join(LEARNING_RATE_SCALING)}"
        )
    factor = {"none": 1.0, "linear": replicas, "sqrt": replicas**0.5}[rule]
    return learning_rate * factor


def is_chief(strategy):
    """Whether this process writes logs and checkpoints (worker 0)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker"
        and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )


def strategy_name(strategy):
    """The `--strategy` name of a strategy object (what `auto` resolved to)."""
    names = {
        tf.distribute.MultiWorkerMirroredStrategy: "multi_worker",
        tf.distribute.MirroredStrategy: "mirrored",
        tf.distribute.OneDeviceStrategy: "one_device",
        tf.distribute.TPUStrategy: "tpu",
    }
    for strategy_class, name in names.items():
        if isinstance(strategy, strategy_class):
            return name
    return "default"
