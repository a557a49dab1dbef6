"""Speed, hardware utilisation and memory of the models and input pipelines.

The measuring code behind `python -m experiments.benchmark` (`run`, then
`report`) and `python -m experiments.strategy_benchmark` (`strategies`).
Every section compares *contenders* that do the same work; their timed runs
alternate within one process after a warm-up, round after round, and each
figure is the median over the rounds (`harness`).

Sections, one module each:

- `bert`: one training step of MLM+NSP pre-training and of classification
  fine-tuning, our BERT models against `keras_hub.models.BertBackbone`
  with the same heads, with and without XLA; their analytic FLOPs (`flops`)
  over the measured fp32 matmul throughput give the hardware utilisation;
  our `Dropout` against `keras.layers.Dropout`.
- `precision`: the pre-training step in `mixed_bfloat16` against float32,
  ours and keras-hub's, with and without XLA; utilisation against the
  measured matmul throughput of each step's own dtype.
- `decoding`: greedy and beam search of `Translator`, cached and uncached,
  against the same encoder-decoder from `keras_hub.layers` decoded with
  `keras_hub.samplers.GreedySampler`.
- `pipelines`: examples/s of the `tf.data` pipelines on synthetic text
  (`synthetic`), against the examples/s the BERT step consumes, and the
  padded-token fraction with and without bucketing.
- `lstm`: `build_lstm_classifier` against the same network from stock
  Keras layers, and in `mixed_bfloat16`.

`memory` measures the peak memory of each section and of each BERT
configuration trained alone in a fresh process; `profile` traces the BERT
steps and tabulates the op types that take the time.

Robustness and sizing, each behind its own experiment module:

- `soak` (`python -m experiments.soak`): a long training on a cluster of
  worker processes, their threads and memory sampled (`processes`);
- `chaos` (`python -m experiments.soak --chaos`): a training SIGKILLed at
  chosen points (`fault_injection`) and restarted, against the same training
  uninterrupted;
- `gpu_presets` (`python -m experiments.check_gpu_presets`): every `gpu`
  preset built at full size and stepped on the CPU, with a per-device
  memory estimate.
"""
