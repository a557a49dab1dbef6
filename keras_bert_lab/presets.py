"""Every experiment's presets, in one place.

`smoke` runs in seconds on tiny data (tests); `cpu` is a real run sized for
a 2-core machine; `gpu` is the full recipe for a machine with an accelerator.
Experiments select a preset with `--preset` and override single fields with
`--epochs`, `--batch-size`, ... or `--set FIELD=VALUE`.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class ImdbLstmPreset:
    """The bidirectional LSTM baseline on IMDB (word-level vocabulary)."""

    vocabulary_size: int = 20000
    sequence_length: int = 400
    embedding_dim: int = 128
    lstm_units: int = 64
    num_lstm_layers: int = 1
    dropout: float = 0.4
    batch_size: int = 32
    epochs: int = 3
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-3
    max_train_examples: int | None = None


IMDB_LSTM_PRESETS = {
    "smoke": ImdbLstmPreset(
        vocabulary_size=200, sequence_length=32, embedding_dim=8, lstm_units=4,
        batch_size=8, epochs=2,
    ),
    "cpu": ImdbLstmPreset(),
    "gpu": ImdbLstmPreset(
        vocabulary_size=30000, sequence_length=512, embedding_dim=256,
        lstm_units=128, num_lstm_layers=2, batch_size=64, epochs=4,
    ),
}
