"""`keras_bert_lab.benchmarks.flops`: the FLOP formula against arithmetic
done by hand and against the model's own kernels."""

import math

from keras_bert_lab.benchmarks.flops import (
    bert_training_flops,
    encoder_forward_flops,
    head_forward_flops,
)
from keras_bert_lab.models.bert import BertEncoder
from keras_bert_lab.presets import BenchmarkConfig


def test_flops_of_a_tiny_bert_match_the_hand_count():
    # L=1 layer, H=4 hidden, I=8 intermediate, T=3 tokens, batch 2,
    # V=10 tokens, P=1 masked position, C=3 classes.
    config = BenchmarkConfig(
        num_layers=1,
        hidden_dim=4,
        num_heads=2,
        intermediate_dim=8,
        sequence_length=3,
        batch_size=2,
        vocabulary_size=10,
        max_predictions=1,
        num_classes=3,
    )
    # One layer, per sequence (a multiply-add counts 2):
    #   Q, K, V projections  3 x 2·T·H·H = 3 x 2·3·4·4 =  288
    #   scores Q Kᵀ              2·T·T·H =     2·3·3·4 =   72
    #   weights x V              2·T·T·H =     2·3·3·4 =   72
    #   output projection        2·T·H·H =     2·3·4·4 =   96
    #   feed-forward         2 x 2·T·H·I = 2 x 2·3·4·8 =  384
    #                                                     ---
    #                                                     912
    # pooler on [CLS]:           2·H·H   =       2·4·4 =   32  -> encoder 944
    assert encoder_forward_flops(1, 4, 8, 3) == 944
    # MLM at P=1 position: dense 2·H·H = 32, tied output 2·H·V = 80;
    # NSP 2·H·2 = 16: head 128.
    assert head_forward_flops("pretraining", 4, 10, 1) == 128
    # Classifier 2·H·C = 2·4·3 = 24.
    assert head_forward_flops("classification", 4, 10, 1, 3) == 24
    # Training = 3 x batch x forward: 3·2·(944 + 128) = 6432 and
    # 3·2·(944 + 24) = 5808.
    assert bert_training_flops(config, "pretraining") == 6432
    assert bert_training_flops(config, "classification") == 5808
    # Last layer only at q = 1 + P = 2 query positions ([CLS], the masked
    # one); keys and values still at all T = 3:
    #   K, V projections     2 x 2·T·H·H = 2 x 2·3·4·4 =  192
    #   Q, O projections     2 x 2·q·H·H = 2 x 2·2·4·4 =  128
    #   scores, weights x V  2 x 2·q·T·H = 2 x 2·2·3·4 =   96
    #   feed-forward         2 x 2·q·H·I = 2 x 2·2·4·8 =  256  -> 672
    # 3·2·(672 + 32 + 128) = 4992; classification at q = 1:
    # 192 + 64 + 48 + 128 = 432, 3·2·(432 + 32 + 24) = 2928.
    assert encoder_forward_flops(1, 4, 8, 3, last_layer_positions=3) == 944
    assert bert_training_flops(config, "pretraining", prune_last_layer=True) == 4992
    assert bert_training_flops(config, "classification", prune_last_layer=True) == 2928


def test_flops_agree_with_the_kernels_of_a_built_encoder():
    # Every kernel of a block multiplies each of the T positions
    # (2 FLOPs per weight and position), attention adds 4·T²·H per layer,
    # and the pooler kernel acts on [CLS] only.
    layers, hidden, heads, intermediate, length = 2, 8, 2, 16, 5
    encoder = BertEncoder(50, layers, heads, hidden, intermediate, max_sequence_length=length)
    block_kernels = sum(
        math.prod(weight.shape)
        for block in encoder.transformer_layers
        for weight in block.weights
        if weight.path.endswith("kernel")
    )
    pooler_kernel = math.prod(encoder.pooled_dense.kernel.shape)
    expected = (
        2 * length * block_kernels + layers * 4 * length * length * hidden + 2 * pooler_kernel
    )
    assert encoder_forward_flops(layers, hidden, intermediate, length) == expected
