"""The Transformer's building blocks, written from the papers.

One public layer per module. `transformer_block` holds what the encoder and
decoder blocks share; `kernels` the TensorFlow-specific computations (dropout's
random bits, the attention projections as matrix products), so that the layers
read like the papers.
"""

from keras_bert_lab.layers.dropout import Dropout
from keras_bert_lab.layers.feed_forward import FeedForward
from keras_bert_lab.layers.multi_head_attention import MultiHeadAttention
from keras_bert_lab.layers.position_embedding import PositionEmbedding
from keras_bert_lab.layers.sinusoidal_position_encoding import (
    SinusoidalPositionEncoding,
)
from keras_bert_lab.layers.token_and_position_embedding import (
    TokenAndPositionEmbedding,
)
from keras_bert_lab.layers.transformer_decoder_block import (
    TransformerDecoderBlock,
)
from keras_bert_lab.layers.transformer_encoder_block import (
    TransformerEncoderBlock,
)

__all__ = [
    "Dropout",
    "FeedForward",
    "MultiHeadAttention",
    "PositionEmbedding",
    "SinusoidalPositionEncoding",
    "TokenAndPositionEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
]
