"""keras-bert-lab: from static word vectors to contextual embeddings."""

__version__ = "0.1.0"
