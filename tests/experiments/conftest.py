"""Tiny datasets in the publishers' layouts, for end-to-end smoke runs."""

import json
import random
import zipfile

import pytest

POSITIVE = ["great", "wonderful", "superb", "moving", "brilliant", "loved"]
NEGATIVE = ["awful", "boring", "terrible", "dull", "worst", "hated"]
NEUTRAL = ["the", "film", "plot", "actor", "scene", "was", "and", "a", "story"]


def _review(rng, sentiment_words):
    words = rng.choices(NEUTRAL, k=12) + rng.choices(sentiment_words, k=3)
    rng.shuffle(words)
    return " ".join(words).capitalize() + ". It <br /><br />" + rng.choice(sentiment_words) + " it."


@pytest.fixture(scope="session")
def tiny_imdb_dir(tmp_path_factory):
    """`<dir>/aclImdb/{train,test}/{pos,neg}` + `train/unsup`, 40 reviews per
    labelled folder and 40 unlabelled ones."""
    root = tmp_path_factory.mktemp("imdb_data")
    rng = random.Random(0)
    for split in ("train", "test"):
        for label, words, ratings in (("pos", POSITIVE, (7, 10)), ("neg", NEGATIVE, (1, 4))):
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for index in range(40):
                rating = rng.randint(*ratings)
                (folder / f"{index}_{rating}.txt").write_text(_review(rng, words))
    unsup = root / "aclImdb" / "train" / "unsup"
    unsup.mkdir()
    for index in range(40):
        words = POSITIVE if index % 2 else NEGATIVE
        (unsup / f"{index}_0.txt").write_text(" ".join(_review(rng, words) for _ in range(3)))
    return root


@pytest.fixture(scope="session")
def tiny_fra_eng_dir(tmp_path_factory):
    """`<dir>/fra-eng.zip` holding `fra.txt` with a few dozen pairs."""
    root = tmp_path_factory.mktemp("fra_eng_data")
    pairs = [
        ("Go.", "Va !"),
        ("Hi.", "Salut !"),
        ("Run!", "Cours !"),
        ("I see.", "Je vois."),
        ("I'm sure.", "J'en suis sûr."),
        ("Thank you.", "Merci."),
        ("I won.", "J'ai gagné."),
        ("It's me.", "C'est moi."),
        ("Come in.", "Entrez."),
        ("I'm cold.", "J'ai froid."),
        ("We lost.", "Nous avons perdu."),
        ("Be nice.", "Sois gentil."),
        ("He ran.", "Il a couru."),
        ("I know.", "Je sais."),
        ("Help me.", "Aide-moi."),
    ]
    lines = [f"{en}\t{fr}\tCC-BY 2.0 (France)" for en, fr in pairs * 4]
    with zipfile.ZipFile(root / "fra-eng.zip", "w") as archive:
        archive.writestr("fra.txt", "\n".join(lines) + "\n")
        archive.writestr("_about.txt", "tiny test corpus\n")
    return root


@pytest.fixture(scope="session")
def hugging_face_bert_dir(tmp_path_factory):
    """A random 2-layer uncased BERT in Hugging Face's layout (`config.json`,
    `tokenizer_config.json`, `vocab.txt`, `model.safetensors`), with Google's
    vocabulary order: `[CLS]` and `[SEP]` are 4 and 5, not this project's 2 and 3."""
    import numpy as np
    from safetensors.numpy import save_file

    root = tmp_path_factory.mktemp("hf_bert")
    words = sorted(set(POSITIVE + NEGATIVE + NEUTRAL + ["it", "."]))
    vocabulary = [
        "[PAD]",
        "[unused0]",
        "[unused1]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *words,
        *"<>/",
        "br",
    ]
    hidden, intermediate, layers, positions = 16, 32, 2, 64
    (root / "vocab.txt").write_text("\n".join(vocabulary) + "\n")
    (root / "tokenizer_config.json").write_text('{"do_lower_case": true}')
    (root / "config.json").write_text(
        json.dumps(
            {
                "model_type": "bert",
                "vocab_size": len(vocabulary),
                "hidden_size": hidden,
                "num_hidden_layers": layers,
                "num_attention_heads": 2,
                "intermediate_size": intermediate,
                "max_position_embeddings": positions,
                "type_vocab_size": 2,
                "hidden_act": "gelu",
            }
        )
    )
    rng = np.random.default_rng(0)

    def random(*shape):
        return (0.2 * rng.standard_normal(shape)).astype(np.float32)

    # Linear weights are `[out, in]`, as torch stores them.
    shapes = {
        "embeddings.word_embeddings.weight": (len(vocabulary), hidden),
        "embeddings.position_embeddings.weight": (positions, hidden),
        "embeddings.token_type_embeddings.weight": (2, hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
        "pooler.dense.weight": (hidden, hidden),
        "pooler.dense.bias": (hidden,),
    }
    for i in range(layers):
        prefix = f"encoder.layer.{i}."
        for name in (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ):
            shapes[prefix + name + ".weight"] = (hidden, hidden)
            shapes[prefix + name + ".bias"] = (hidden,)
        shapes[prefix + "intermediate.dense.weight"] = (intermediate, hidden)
        shapes[prefix + "intermediate.dense.bias"] = (intermediate,)
        shapes[prefix + "output.dense.weight"] = (hidden, intermediate)
        shapes[prefix + "output.dense.bias"] = (hidden,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[prefix + norm + ".weight"] = (hidden,)
            shapes[prefix + norm + ".bias"] = (hidden,)
    tensors = {"bert." + name: random(*shape) for name, shape in shapes.items()}
    save_file(tensors, str(root / "model.safetensors"))
    return root
