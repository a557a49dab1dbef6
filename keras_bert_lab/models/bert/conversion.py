"""Pre-trained BERT weights from keras-hub: `keras_hub.models.BertBackbone`
converted to a `BertEncoder`."""

from keras_bert_lab.models.bert.encoder import BertEncoder


def convert_keras_hub_bert(backbone):
    """Converts a `keras_hub.models.BertBackbone` into a `BertEncoder`.

    The two networks compute the same function (keras-hub's BERT also uses
    the tanh GELU and epsilon 1e-12), so the weights map one to one:

    - `token_embedding`, `position_embedding`, `segment_embedding`,
      `embeddings_layer_norm` -> the same names under `embeddings`;
    - `transformer_layer_i`: `_self_attention_layer._{query,key,value,
      output}_dense` -> `self_attention_layer.{query,key,value,output}_dense`
      (the same `[hidden, heads, key_dim]` layout), `_self_attention_layer_norm`
      -> `self_attention_layer_norm`, `_feedforward_{intermediate,output}_dense`
      -> `feedforward.{intermediate,output}_dense`, `_feedforward_layer_norm`
      -> `feedforward_layer_norm`;
    - `pooled_dense` -> `pooled_dense`.

    Args:
        backbone: a built `keras_hub.models.BertBackbone`.

    Returns:
        a `BertEncoder` with the backbone's sizes, dropout and dtype policy,
        whose `sequence_output` and `pooled_output` equal the backbone's.
    """
    encoder = BertEncoder(
        vocabulary_size=backbone.vocabulary_size,
        num_layers=backbone.num_layers,
        num_heads=backbone.num_heads,
        hidden_dim=backbone.hidden_dim,
        intermediate_dim=backbone.intermediate_dim,
        dropout=backbone.dropout,
        max_sequence_length=backbone.max_sequence_length,
        num_segments=backbone.num_segments,
        dtype=backbone.dtype_policy,
    )
    embeddings = encoder.embeddings
    pairs = [
        (embeddings.token_embedding, backbone.token_embedding),
        (embeddings.position_embedding, backbone.position_embedding),
        (embeddings.segment_embedding, backbone.segment_embedding),
        (
            embeddings.embeddings_layer_norm,
            backbone.get_layer("embeddings_layer_norm"),
        ),
        (encoder.pooled_dense, backbone.get_layer("pooled_dense")),
    ]
    for i, block in enumerate(encoder.transformer_layers):
        theirs = backbone.get_layer(f"transformer_layer_{i}")
        attention = block.self_attention_layer
        their_attention = theirs._self_attention_layer
        pairs += [
            (attention.query_dense, their_attention._query_dense),
            (attention.key_dense, their_attention._key_dense),
            (attention.value_dense, their_attention._value_dense),
            (attention.output_dense, their_attention._output_dense),
            (block.self_attention_layer_norm, theirs._self_attention_layer_norm),
            (
                block.feedforward.intermediate_dense,
                theirs._feedforward_intermediate_dense,
            ),
            (block.feedforward.output_dense, theirs._feedforward_output_dense),
            (block.feedforward_layer_norm, theirs._feedforward_layer_norm),
        ]
    for ours, theirs in pairs:
        _copy_weights(ours, theirs)
    return encoder


def load_keras_hub_bert(preset):
    """Loads a pre-trained BERT with keras-hub and converts it.

    Args:
        preset: a keras-hub preset name (e.g. `"bert_tiny_en_uncased"`,
            downloaded), or a local preset folder in Keras or Hugging Face
            format (a Hugging Face folder needs the `safetensors` package).

    keras-hub builds every BERT with the tanh GELU; a Hugging Face
    checkpoint trained with the exact GELU (`"hidden_act": "gelu"`) is thus
    run with the approximation, by keras-hub and by the converted encoder
    alike.

    Returns:
        `(encoder, tokenizer)`: a `BertEncoder` and the checkpoint's own
        `keras_hub.models.BertTokenizer` (its vocabulary and casing; in
        Google's vocabularies `[CLS]` is 101 and `[SEP]` 102).

    Example:
    >>> encoder, tokenizer = load_keras_hub_bert("path/to/bert_folder")
    """
    import keras_hub

    backbone = keras_hub.models.BertBackbone.from_preset(preset)
    tokenizer = keras_hub.models.BertTokenizer.from_preset(preset)
    return convert_keras_hub_bert(backbone), tokenizer


def _copy_weights(target, source):
    """Copies `source`'s weights into `target`, checking names and shapes."""
    target_names = [w.name for w in target.weights]
    source_names = [w.name for w in source.weights]
    if target_names != source_names:
        raise ValueError(
            f"Cannot copy {source.path} {source_names} into {target.path} {target_names}"
        )
    for target_weight, source_weight in zip(target.weights, source.weights):
        if tuple(target_weight.shape) != tuple(source_weight.shape):
            raise ValueError(
                f"Shape mismatch: {source_weight.path} {source_weight.shape} "
                f"-> {target_weight.path} {target_weight.shape}"
            )
        target_weight.assign(source_weight)
