"""`TranslationSummaries`: what the translator makes of fixed sentences at each epoch end,
in TensorBoard."""

from pathlib import Path

import tensorflow as tf

from keras_bert_lab.figures import alignment_figure, render
from keras_bert_lab.tasks.translation_scores import translate_texts


class TranslationSummaries:
    """`on_epoch_end` callback: example translations and cross-attention
    heatmaps of fixed sentences, at the trainer's step, in TensorBoard
    (`<run_dir>/examples`: text `translations`, images
    `cross_attention/<i>`). Writes on the chief only.

    Args:
        trainer: the `DistributedTrainer` (its model and step).
        pipeline: a `TranslationPipeline` around a serving copy of the
            trained translator; its weights are refreshed each epoch.
        pairs: `(french, english)` example pairs.
        config: the preset (decoding settings).
        num_heatmaps: how many of the pairs get a heatmap.
    """

    def __init__(self, trainer, pipeline, pairs, config, num_heatmaps=3):
        self.trainer = trainer
        self.pipeline = pipeline
        self.pairs = list(pairs)
        self.config = config
        self.num_heatmaps = min(num_heatmaps, len(self.pairs))
        self.writer = None
        if trainer.chief and self.pairs:
            self.writer = tf.summary.create_file_writer(str(Path(trainer.run_dir) / "examples"))

    def __call__(self, epoch, logs):
        if self.writer is None:
            return
        self.pipeline.translator.set_weights(self.trainer.model.get_weights())
        sources = [french for french, _ in self.pairs]
        table = self.translations_table(sources)
        with self.writer.as_default(step=int(self.trainer.step.numpy())):
            tf.summary.text("translations", table)
            for index, source in enumerate(sources[: self.num_heatmaps]):
                tf.summary.image(
                    f"cross_attention/{index}",
                    self.heatmap(source),
                    description=f"Last decoder block, mean over heads: {source}",
                )
        self.writer.flush()

    def translations_table(self, sources):
        """Markdown: each source, its reference and its greedy translation."""
        translations = translate_texts(self.pipeline, sources, self.config)
        rows = ["| French | reference | greedy translation |", "|---|---|---|"]
        rows += [
            "| " + " | ".join(text.replace("|", "\\|") for text in row) + " |"
            for row in zip(sources, (english for _, english in self.pairs), translations)
        ]
        return "\n".join(rows)

    def heatmap(self, source):
        """uint8 RGBA `[1, height, width, 4]`: the last decoder block's cross-attention,
        averaged over heads, while translating `source` greedily."""
        attention = self.pipeline.cross_attention(source, jit_compile=self.config.xla_decoding)
        figure = alignment_figure(
            attention.weights[-1].mean(axis=0), attention.source_tokens, attention.output_tokens
        )
        return render(figure)[None]
