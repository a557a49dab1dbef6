"""The reload check of a saved raw-text classifier."""

import keras
import pytest

from keras_bert_lab.export.raw_text import raw_text_classifier
from keras_bert_lab.models.lstm import build_lstm_classifier
from keras_bert_lab.tasks.classification import MODEL_FILE, check_reloaded_classifier
from keras_bert_lab.text.special_tokens import RESERVED_TOKENS
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer

WORDS = [*RESERVED_TOKENS, "a", "good", "bad", "film", "plot"]
TEXTS = [f"a {word} film" for word in ("good", "bad", "plot")] * 700


def tiny_classifier(seed):
    keras.utils.set_random_seed(seed)
    return raw_text_classifier(
        build_lstm_classifier(len(WORDS), 8, 4, pooling="mean"),
        make_wordpiece_tokenizer(WORDS, lowercase=True),
        sequence_length=8,
        bert_inputs=False,
    )


def test_the_saved_model_passes_and_another_one_fails(tmp_path):
    serving = tiny_classifier(0)
    serving.save(tmp_path / MODEL_FILE)
    check_reloaded_classifier(tmp_path, serving, TEXTS)  # 2,100 texts: a sample of 1,050.
    tiny_classifier(1).save(tmp_path / MODEL_FILE)  # Other weights at the saved path.
    with pytest.raises(RuntimeError, match=r"model.keras: the reloaded model's probabilities "):
        check_reloaded_classifier(tmp_path, serving, TEXTS)
