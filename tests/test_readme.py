"""The README's "Using the saved models" blocks run as printed: each in a fresh `python`
process whose working directory holds tiny models at the paths the blocks name."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from keras_bert_lab.export.raw_text import raw_text_classifier
from keras_bert_lab.models.lstm import build_lstm_classifier
from keras_bert_lab.models.translator.model import Translator
from keras_bert_lab.models.translator.pipeline import TranslationPipeline
from keras_bert_lab.tasks.classification import save_raw_text_classifier
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary
from keras_bert_lab.utils import save_keras_atomically

ROOT = Path(__file__).resolve().parents[1]
SECTION = "### Using the saved models"


def section_blocks():
    """The Python blocks of the README section, as printed."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(SECTION, 1)[1]
    section = re.split(r"\n#{2,3} ", section, maxsplit=1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with a tiny LSTM classifier (`.keras` and SavedModel) and a tiny translator
    pipeline at `tb_logs/imdb_lstm/cpu/` and `tb_logs/translate_fr_en/cpu/`."""
    root = tmp_path_factory.mktemp("readme")
    texts = ["a wonderful moving film", "dull and far too long", "je ne sais pas le chat"]
    tokenizer = make_wordpiece_tokenizer(
        train_word_vocabulary(texts, 100, lowercase=True), lowercase=True
    )
    classifier = build_lstm_classifier(
        tokenizer.vocabulary_size(), embedding_dim=4, lstm_units=2, pooling="mean"
    )
    serving = raw_text_classifier(classifier, tokenizer, sequence_length=8, bert_inputs=False)
    save_raw_text_classifier(root / "tb_logs" / "imdb_lstm" / "cpu", serving)
    vocabulary_size = tokenizer.vocabulary_size()
    translator = Translator(
        vocabulary_size,
        vocabulary_size,
        sequence_length=8,
        num_layers=1,
        hidden_dim=8,
        num_heads=2,
        intermediate_dim=16,
    )
    translator.build()
    pipeline = TranslationPipeline(translator, tokenizer, tokenizer)
    save_keras_atomically(
        pipeline, root / "tb_logs" / "translate_fr_en" / "cpu" / "translation_pipeline.keras"
    )
    return root


def run_block(block, workdir):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    process = subprocess.run(
        [sys.executable, "-c", block],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    return process.stdout


def test_the_section_has_its_three_blocks():
    blocks = section_blocks()
    assert len(blocks) == 3
    assert blocks[0].startswith("import keras\nimport keras_bert_lab\n")
    assert blocks[1].startswith("import tensorflow_text")
    assert "translation_pipeline.keras" in blocks[2]


def test_the_classifier_block(workdir):
    lines = run_block(section_blocks()[0], workdir).splitlines()
    assert len(lines) == 2
    assert all(line.split()[0] in ("negative", "positive") for line in lines)


def test_the_saved_model_block(workdir):
    output = run_block(section_blocks()[1], workdir)
    assert re.fullmatch(r"\[\[ *[0-9.e-]+ +[0-9.e-]+ *\]\]\n", output), output


def test_the_translator_block(workdir):
    output = run_block(section_blocks()[2], workdir)
    assert output.startswith("[") and output.count("'") + output.count('"') >= 4, output
