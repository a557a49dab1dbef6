"""How well a source's word vectors tell the senses of ambiguous words apart, and the report.

For each word of the probe set (`keras_bert_lab.analysis.probe`):

- `within`: mean cosine similarity over pairs of sentences with the same sense;
- `across`: mean cosine similarity over pairs of sentences with different senses;
- `separation = within - across`: how much the vectors tell the senses apart.

A source's numbers are the means over words. A static source (a word2vec table, an embedding
table) gives the same vector in every sentence, so `within = across = 1.0` exactly and
`separation = 0`: `check_static` asserts it, as a check that the vectors really are looked up
where the word is. Contextual vectors (LSTM states, BERT layers) are compared by separation
rather than by raw similarity, since their similarities share a large, layer-dependent
baseline (anisotropy; Ethayarajh, 2019).

The report: a markdown table (`markdown_table`), a bar chart (`separation_figure`) and
TensorBoard Projector files of every source's vectors (`write_projector`).

References:
    - Ethayarajh, 2019, "How Contextual are Contextualized Word Representations?"
      (https://arxiv.org/abs/1909.00512).
"""

from pathlib import Path

import numpy as np

from keras_bert_lab.analysis.probe import ProbeError
from keras_bert_lab.utils import write_text_atomically


def cosine_matrix(vectors):
    """Pairwise cosine similarities, float64 `[n, n]`, from `[n, dim]`.

    Written so that two identical vectors give exactly 1.0: `dot(a, a) / sqrt(dot(a, a)²)`,
    and `sqrt(x²) == x` in IEEE arithmetic.
    """
    vectors = np.asarray(vectors, np.float64)
    dots = np.sum(vectors[:, None, :] * vectors[None, :, :], axis=-1)
    squared_norms = np.diagonal(dots)
    if np.any(squared_norms == 0):
        raise ProbeError("a probe vector is all zeros; its cosine similarity is undefined")
    return dots / np.sqrt(squared_norms[:, None] * squared_norms[None, :])


def sense_similarities(vectors, occurrences):
    """Within-sense and across-sense similarity of each word, and their means over words.

    Args:
        vectors: float `[num_occurrences, dim]`.
        occurrences: the matching list of `Occurrence`.

    Returns:
        dict with `within`, `across`, `separation` (means over words) and `words`:
        `{word: {"within", "across", "separation"}}`.
    """
    words = {}
    for word in dict.fromkeys(o.word for o in occurrences):
        indices = [i for i, o in enumerate(occurrences) if o.word == word]
        senses = np.array([occurrences[i].sense for i in indices])
        similarities = cosine_matrix(np.asarray(vectors)[indices])
        upper = np.triu(np.ones_like(similarities, bool), k=1)
        same = senses[:, None] == senses[None, :]
        within = float(similarities[upper & same].mean())
        across = float(similarities[upper & ~same].mean())
        words[word] = {"within": within, "across": across, "separation": within - across}
    means = {
        key: float(np.mean([stats[key] for stats in words.values()]))
        for key in ("within", "across", "separation")
    }
    return means | {"words": words}


def check_static(source, similarities):
    """Raises unless a static source gives similarity exactly 1.0 within and across senses
    for every word (the honesty check of the probe)."""
    if not source.static:
        return
    wrong = {
        word: stats
        for word, stats in similarities["words"].items()
        if stats["within"] != 1.0 or stats["across"] != 1.0
    }
    if wrong:
        word, stats = next(iter(wrong.items()))
        raise ProbeError(
            f"{source.name} is static but {len(wrong)} words differ across contexts, e.g. "
            f"{word!r}: within={stats['within']!r} across={stats['across']!r}"
        )


def markdown_table(summaries):
    """A markdown table of `{name: {"family", "static", "within", "across", "separation"}}`."""
    lines = [
        "| source | kind | within sense | across senses | separation |",
        "|---|---|---:|---:|---:|",
    ]
    for name, row in summaries.items():
        kind = "static" if row["static"] else "contextual"
        lines.append(
            f"| {name} | {kind} | {row['within']:.3f} | {row['across']:.3f} "
            f"| {row['separation']:+.3f} |"
        )
    return "\n".join(lines) + "\n"


def separation_figure(summaries):
    """Bar chart of separation per source, in order, coloured by family: a
    `matplotlib.figure.Figure`."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    names = list(summaries)
    families = list(dict.fromkeys(row["family"] for row in summaries.values()))
    colours = {family: f"C{index}" for index, family in enumerate(families)}
    figure = Figure(figsize=(max(6, 0.6 * len(names) + 2), 4), layout="constrained")
    axes = figure.add_subplot()
    bars = axes.bar(
        range(len(names)),
        [summaries[n]["separation"] for n in names],
        color=[colours[summaries[n]["family"]] for n in names],
        hatch=["//" if summaries[n]["static"] else "" for n in names],
    )
    axes.bar_label(bars, fmt="%+.3f", fontsize=7)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.axhline(0, color="black", linewidth=0.8)
    axes.set_ylabel("within-sense − across-sense cosine")
    axes.set_title("Sense separation by source and layer (hatched: static tables)")
    axes.legend(handles=[Patch(color=colours[f], label=f) for f in families])
    return figure


def write_projector(directory, sources, occurrences):
    """TensorBoard Projector data: one embedding per source, labelled word/sense/sentence.

    Writes `vectors_<source>.tsv`, `metadata.tsv` and `projector_config.pbtxt` in
    `directory`; open with `tensorboard --logdir <directory or a parent>`, Projector tab.
    """
    from tensorboard.plugins import projector

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rows = ["word\tsense\tsentence"] + [
        "\t".join(" ".join(value.split()) for value in (o.word, o.sense, o.text))
        for o in occurrences
    ]
    write_text_atomically(directory / "metadata.tsv", "\n".join(rows) + "\n")
    config = projector.ProjectorConfig()
    for source in sources:
        file_name = f"vectors_{source.name}.tsv"
        write_text_atomically(
            directory / file_name,
            "".join("\t".join(f"{value:.6g}" for value in row) + "\n" for row in source.vectors),
        )
        embedding = config.embeddings.add()
        embedding.tensor_name = source.name
        embedding.tensor_path = file_name
        embedding.metadata_path = "metadata.tsv"
    projector.visualize_embeddings(str(directory), config)
