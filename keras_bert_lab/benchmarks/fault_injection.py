"""Runs an experiment module that SIGKILLs itself at a chosen point of training: the child
process of the chaos run (`chaos`).

    python -m keras_bert_lab.benchmarks.fault_injection --kill-at PHASE:STEP \\
        -- experiments.imdb_lstm --preset smoke ...

The kill comes from inside, so that it lands at an exact point whatever the load of the
machine; it is a real SIGKILL all the same (no handler, no flush, no clean-up). `PHASE`:

- `step`: after optimizer step `STEP`, before anything saves it;
- `checkpoint`: while the checkpoint of step `STEP` is written: its files are on disk, the
  `checkpoint` state file does not list it yet;
- `validation`: during the validation that follows step `STEP` (an epoch's last step), after
  its first batch, before the epoch's checkpoint.

Each kill fires at most once per process; a line `fault injection: SIGKILL at PHASE:STEP` is
printed (flushed) just before it.
"""

import argparse
import os
import runpy
import signal
import sys

import tensorflow as tf

from keras_bert_lab.training import callbacks
from keras_bert_lab.training.loop import DistributedTrainer

PHASES = ("step", "checkpoint", "validation")
KILL_LINE = "fault injection: SIGKILL at "


def parse_kill(text):
    """`PHASE:STEP` -> `(phase, step)`."""
    phase, _, step = text.partition(":")
    if phase not in PHASES or not step.isdigit():
        raise argparse.ArgumentTypeError(f"expected PHASE:STEP with PHASE one of {PHASES}")
    return phase, int(step)


def _kill_self(phase, step):
    print(f"{KILL_LINE}{phase}:{step}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def install(phase, step):
    """Patches the training code of this process to SIGKILL it at `phase` of `step`."""
    if phase == "step":
        on_step_end = callbacks.Checkpoints.on_step_end

        def killing_on_step_end(self, reached, sums, examples):
            if reached == step:
                _kill_self(phase, step)
            on_step_end(self, reached, sums, examples)

        callbacks.Checkpoints.on_step_end = killing_on_step_end
    elif phase == "checkpoint":
        # `CheckpointManager` records a checkpoint in the state file through this function of
        # its module, once the checkpoint's own files are written.
        checkpoint_management = sys.modules[tf.train.CheckpointManager.__module__]
        update_state = checkpoint_management.update_checkpoint_state_internal

        def killing_update_state(save_dir, model_checkpoint_path, *args, **kwargs):
            if os.path.basename(model_checkpoint_path) == f"ckpt-{step}":
                _kill_self(phase, step)
            return update_state(save_dir, model_checkpoint_path, *args, **kwargs)

        checkpoint_management.update_checkpoint_state_internal = killing_update_state
    else:
        evaluate = DistributedTrainer.evaluate
        add = callbacks.MetricSums.add

        def killing_evaluate(self, dataset):
            if int(self.step.numpy()) == step:
                # `evaluate` adds up each batch's sums as it comes: the first addition is the
                # end of the first batch. The whole dataset is iterated as usual, so that on
                # a cluster every worker issues the same collectives until the kill.
                def killing_add(totals, sums, examples=0.0):
                    add(totals, sums, examples)
                    _kill_self(phase, step)

                callbacks.MetricSums.add = killing_add
            return evaluate(self, dataset)

        DistributedTrainer.evaluate = killing_evaluate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-at", type=parse_kill, default=None, metavar="PHASE:STEP")
    parser.add_argument("module", help="the module to run, e.g. experiments.imdb_lstm")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    args = parser.parse_args(argv)
    if args.kill_at is not None:
        install(*args.kill_at)
    sys.argv = [args.module, *args.args]
    runpy.run_module(args.module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
