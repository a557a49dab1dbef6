"""BERT: the encoder, its pre-training heads and a sequence classifier.

Built only from `keras_bert_lab.layers`, following "BERT: Pre-training of Deep
Bidirectional Transformers for Language Understanding" (Devlin et al., 2019):

- `encoder.BertEncoder`: token + position + segment embeddings, a stack of
  post-LN Transformer encoder blocks and the `[CLS]` pooler. Weights are laid
  out so that a `keras_hub.models.BertBackbone` converts to it exactly
  (`conversion.convert_keras_hub_bert`, `conversion.load_keras_hub_bert`).
- `pretrainer.BertPretrainer`: the encoder with the masked-language-model head
  (`heads.MaskedLMHead`: tied to the token embeddings, evaluated only at the
  masked positions) and the next-sentence-prediction head. Its outputs are
  what `keras_bert_lab.training.objectives.bert_pretraining` expects.
- `classifier.BertClassifier`: dropout and a dense layer on the pooled output.
- `task.BertTask`: what the pre-trainer and the classifier share (the
  encoder, its dtype policy, inputs taken by name, the config).
- `positions.extend_positions`: a wider position table for BERT's second,
  long-sequence phase of pre-training.

Every model takes a dict of int32 `[batch_size, sequence_length]` tensors:
`token_ids`, `segment_ids` (0 for sentence A, 1 for sentence B) and
`padding_mask` (1 at real tokens, 0 at padding). Logits are returned in
float32 under a mixed precision policy.
"""

from keras_bert_lab.models.bert.classifier import BertClassifier
from keras_bert_lab.models.bert.conversion import convert_keras_hub_bert, load_keras_hub_bert
from keras_bert_lab.models.bert.encoder import INPUT_NAMES, BertEncoder
from keras_bert_lab.models.bert.heads import MaskedLMHead
from keras_bert_lab.models.bert.positions import extend_positions
from keras_bert_lab.models.bert.pretrainer import PRETRAINER_INPUT_NAMES, BertPretrainer

__all__ = [
    "INPUT_NAMES",
    "PRETRAINER_INPUT_NAMES",
    "BertClassifier",
    "BertEncoder",
    "BertPretrainer",
    "MaskedLMHead",
    "convert_keras_hub_bert",
    "extend_positions",
    "load_keras_hub_bert",
]
