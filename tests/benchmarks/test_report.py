"""`keras_bert_lab.benchmarks.report`: the markdown of the tiny run."""


def test_tiny_run_writes_the_markdown_report(tiny_run, tiny_results):
    _, folder = tiny_run
    markdown = tiny_results["markdown"]
    assert (folder / "b.md").read_text() == markdown
    assert markdown.index("## Ratios") < markdown.index("## Absolute figures on")
    assert "attention weights (jit): ours / `keras.layers.Dropout`" in markdown
    assert "## Where the time goes: BERT pretraining step, jit, float32" in markdown
    assert "trained alone" in markdown
