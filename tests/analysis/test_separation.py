"""Sense separation: the statistics by hand, the honesty check of static sources and the
Projector files."""

import numpy as np
import pytest

from keras_bert_lab.analysis import probe, separation


def test_check_static_catches_context_dependent_vectors(occurrences):
    vectors = np.random.default_rng(1).normal(size=(len(occurrences), 4))
    source = probe.ProbeSource("fake_table", "word2vec", True, vectors)
    with pytest.raises(probe.ProbeError, match="fake_table is static but 3 words differ"):
        separation.check_static(source, separation.sense_similarities(vectors, occurrences))


def test_similarity_statistics_by_hand():
    occurrences = [probe.Occurrence("w", sense, "", 0, 0) for sense in "aabb"]
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    stats = separation.sense_similarities(vectors, occurrences)
    within = (1.0 + np.sqrt(0.5)) / 2  # (a, a) and (b, b)
    across = (0.0 + np.sqrt(0.5) + 0.0 + np.sqrt(0.5)) / 4
    assert stats["within"] == pytest.approx(within)
    assert stats["across"] == pytest.approx(across)
    assert stats["separation"] == pytest.approx(within - across)
    similarities = separation.cosine_matrix(np.random.default_rng(0).normal(size=(50, 768)))
    assert (np.diagonal(similarities) == 1.0).all()


def test_projector_files(tmp_path, occurrences):
    vectors = np.arange(len(occurrences) * 3, dtype=np.float32).reshape(-1, 3) + 1
    sources = [
        probe.ProbeSource("word2vec", "word2vec", True, vectors),
        probe.ProbeSource("bert_layer_1", "bert", False, vectors * 2),
    ]
    separation.write_projector(tmp_path, sources, occurrences)
    metadata = (tmp_path / "metadata.tsv").read_text().splitlines()
    assert metadata[0] == "word\tsense\tsentence"
    assert metadata[1].split("\t") == [
        occurrences[0].word,
        occurrences[0].sense,
        occurrences[0].text,
    ]
    assert len(metadata) == len(occurrences) + 1
    loaded = np.loadtxt(tmp_path / "vectors_bert_layer_1.tsv", delimiter="\t")
    np.testing.assert_allclose(loaded, vectors * 2, rtol=1e-5)
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'tensor_path: "vectors_word2vec.tsv"' in config
    assert config.count('metadata_path: "metadata.tsv"') == 2
