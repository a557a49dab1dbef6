"""The seven reserved tokens every vocabulary of the project starts with, so that an id means
the same thing for the LSTM, the translator and BERT:

    [PAD]=0  [UNK]=1  [CLS]=2  [SEP]=3  [MASK]=4  [START]=5  [END]=6
"""

import keras_hub

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
CLS_TOKEN = "[CLS]"
SEP_TOKEN = "[SEP]"
MASK_TOKEN = "[MASK]"
START_TOKEN = "[START]"
END_TOKEN = "[END]"
RESERVED_TOKENS = (PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN, MASK_TOKEN, START_TOKEN, END_TOKEN)
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID, START_ID, END_ID = range(len(RESERVED_TOKENS))

# Ids that never appear in detokenised text ([UNK] is written as it is; [END] stops decoding).
SKIPPED_IDS = frozenset({PAD_ID, CLS_ID, SEP_ID, MASK_ID, START_ID})


def bert_special_ids(tokenizer: keras_hub.tokenizers.WordPieceTokenizer) -> tuple[int, int]:
    """`([CLS] id, [SEP] id)` of a tokenizer's vocabulary: `(CLS_ID, SEP_ID)` for this project's
    vocabularies, `(101, 102)` for Google's BERT vocabularies (keras-hub presets)."""
    return tokenizer.token_to_id(CLS_TOKEN), tokenizer.token_to_id(SEP_TOKEN)
