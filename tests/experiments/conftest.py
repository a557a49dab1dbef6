"""Tiny datasets in the publishers' layouts, for end-to-end smoke runs."""

import random
import zipfile

import pytest

POSITIVE = ["great", "wonderful", "superb", "moving", "brilliant", "loved"]
NEGATIVE = ["awful", "boring", "terrible", "dull", "worst", "hated"]
NEUTRAL = ["the", "film", "plot", "actor", "scene", "was", "and", "a", "story"]


def _review(rng, sentiment_words):
    words = rng.choices(NEUTRAL, k=12) + rng.choices(sentiment_words, k=3)
    rng.shuffle(words)
    return " ".join(words).capitalize() + ". It <br /><br />" + rng.choice(
        sentiment_words
    ) + " it."


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
        (unsup / f"{index}_0.txt").write_text(
            " ".join(_review(rng, words) for _ in range(3))
        )
    return root


@pytest.fixture(scope="session")
def tiny_fra_eng_dir(tmp_path_factory):
    """`<dir>/fra-eng.zip` holding `fra.txt` with a few dozen pairs."""
    root = tmp_path_factory.mktemp("fra_eng_data")
    pairs = [
        ("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"),
        ("I see.", "Je vois."), ("I'm sure.", "J'en suis sûr."),
        ("Thank you.", "Merci."), ("I won.", "J'ai gagné."),
        ("It's me.", "C'est moi."), ("Come in.", "Entrez."),
        ("I'm cold.", "J'ai froid."), ("We lost.", "Nous avons perdu."),
        ("Be nice.", "Sois gentil."), ("He ran.", "Il a couru."),
        ("I know.", "Je sais."), ("Help me.", "Aide-moi."),
    ]
    lines = [f"{en}\t{fr}\tCC-BY 2.0 (France)" for en, fr in pairs * 4]
    with zipfile.ZipFile(root / "fra-eng.zip", "w") as archive:
        archive.writestr("fra.txt", "\n".join(lines) + "\n")
        archive.writestr("_about.txt", "tiny test corpus\n")
    return root
