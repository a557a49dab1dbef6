"""The bidirectional LSTM sentiment classifier: the classic baseline."""

import keras

POOLINGS = ("last", "mean")


def build_lstm_classifier(
    vocabulary_size,
    embedding_dim=128,
    lstm_units=64,
    num_lstm_layers=1,
    embedding_dropout=0.0,
    dropout=0.3,
    pooling="last",
    num_classes=2,
    embeddings_initializer="uniform",
    trainable_embeddings=True,
    name="lstm_classifier",
):
    """Embedding with masking -> bidirectional LSTM layer(s) -> dense logits.

    The embedding table is a static embedding (one vector per word, whatever
    its context); the LSTM's hidden states are dynamic ones. Token id 0 is
    padding and is masked. The LSTMs keep Keras' defaults (tanh, sigmoid, no
    recurrent dropout) so that on a GPU they run the fused cuDNN kernel.

    Args:
        vocabulary_size: int, number of token ids (0 = padding).
        embedding_dim: int, size of the word vectors.
        lstm_units: int, units per direction of each LSTM layer.
        num_lstm_layers: int, stacked bidirectional layers.
        embedding_dropout: float, drops whole embedding channels
            (`SpatialDropout1D`), a regulariser for long texts.
        dropout: float, dropout before the output layer.
        pooling: `"last"`, the final states of both directions, or `"mean"`,
            the mean of the hidden states over the real (unmasked) tokens,
            which keeps early parts of long reviews in view.
        num_classes: int, number of classes.
        embeddings_initializer: initializer, or a `[vocabulary_size,
            embedding_dim]` matrix (e.g. word2vec) to start from.
        trainable_embeddings: bool, False to freeze the embedding table.
        name: str, model name.

    Returns:
        A `keras.Model` mapping `{"token_ids": int [batch_size,
        sequence_length]}` to `[batch_size, num_classes]` logits.

    References:
        - [Hochreiter & Schmidhuber, 1997](https://doi.org/10.1162/neco.1997.9.8.1735)
        - [Schuster & Paliwal, 1997](https://doi.org/10.1109/78.650093)
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(
        vocabulary_size,
        embedding_dim,
        mask_zero=True,
        embeddings_initializer=embeddings_initializer,
        trainable=trainable_embeddings,
        name="token_embedding",
    )(token_ids)
    if embedding_dropout:
        x = keras.layers.SpatialDropout1D(embedding_dropout, name="embedding_dropout")(x)
    for index in range(num_lstm_layers):
        keep_sequence = pooling == "mean" or index < num_lstm_layers - 1
        x = keras.layers.Bidirectional(
            keras.layers.LSTM(lstm_units, return_sequences=keep_sequence),
            name=f"bidirectional_lstm_{index}",
        )(x)
    if pooling == "mean":
        x = keras.layers.GlobalAveragePooling1D(name="mean_pooling")(x)
    x = keras.layers.Dropout(dropout, name="output_dropout")(x)
    logits = keras.layers.Dense(num_classes, name="logits", dtype="float32")(x)
    return keras.Model({"token_ids": token_ids}, logits, name=name)


PRESET_ARGUMENTS = (
    "vocabulary_size",
    "embedding_dim",
    "lstm_units",
    "num_lstm_layers",
    "embedding_dropout",
    "dropout",
    "pooling",
)
"""The arguments of `build_lstm_classifier` an `ImdbLstmPreset` has fields for."""


def lstm_classifier_from_preset(preset, **arguments):
    """`build_lstm_classifier` with the `PRESET_ARGUMENTS` of `preset` (an
    `ImdbLstmPreset`); `arguments` add to them or replace them."""
    return build_lstm_classifier(
        **{name: getattr(preset, name) for name in PRESET_ARGUMENTS} | arguments
    )
