"""`TranslationPipeline`: a `Translator` with its two tokenizers, French strings in, English
strings out."""

from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from keras_bert_lab.models.translator import decoding
from keras_bert_lab.text.detokenize import detokenize_to_text
from keras_bert_lab.text.packing import pad_to_power_of_two, to_ragged_ids
from keras_bert_lab.text.special_tokens import PAD_ID


class CrossAttention(NamedTuple):
    """Where the decoder looked in a source sentence while translating it (greedy search).

    Attributes:
        weights: float32 `[num_layers, num_heads, len(output_tokens), len(source_tokens)]`,
            row `t` the attention of output token `t` over the source tokens.
        source_tokens: the source's tokens, padding removed.
        output_tokens: the generated tokens, `[END]` included where the sentence finished.
        translation: the text of the output.
    """

    weights: np.ndarray
    source_tokens: list[str]
    output_tokens: list[str]
    translation: str


@keras.saving.register_keras_serializable(package="keras_bert_lab")
class TranslationPipeline(keras.Model):
    """A `Translator` with its source and target tokenizers: text to text.

    `translate` tokenizes the source strings, truncates them to the
    translator's `sequence_length` tokens and pads them with 0 to a power of
    two (so that XLA compiles the search for a few source lengths only),
    decodes with `keras_bert_lab.models.translator.decoding.generate`, and turns the
    output ids into text with `text.detokenize.detokenize_to_text` (which stops
    at `[END]`). An empty source gives an empty translation. Calling the
    pipeline on a list of strings is `translate` with its defaults (beam
    search); calling it on token ids is calling the translator (teacher
    forcing).

    Saved as one `.keras` file: the translator's weights and both
    tokenizers' vocabularies (as assets) travel together.

    Args:
        translator: a `Translator`.
        source_tokenizer: tokenizer of the source language, e.g. from
            `vocabulary.make_wordpiece_tokenizer(..., sequence_length=None)`.
        target_tokenizer: tokenizer of the target language.
        **kwargs: base model arguments such as `name`.

    Example (with a trained `translator` and the tokenizers of its
    vocabularies):

        pipeline = TranslationPipeline(translator, french_tokenizer,
                                       english_tokenizer)
        pipeline(["Je suis là."])  # ["I'm here."], the same as pipeline.translate(...)
        pipeline.save("run_dir/translation_pipeline.keras")
    """

    def __init__(self, translator, source_tokenizer, target_tokenizer, **kwargs):
        super().__init__(**kwargs)
        self.translator = translator
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.build()

    def build(self, inputs_shape=None):
        if not self.translator.built:
            self.translator.build(inputs_shape)
        self.built = True

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, list | tuple) and all(isinstance(text, str) for text in inputs):
            return self.translate(inputs, *args, **kwargs)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, training=None):
        return self.translator(inputs, training=training)

    def tokenize_sources(self, texts):
        """`list[str]`, or a string tensor `[batch]` in the graph -> int32 `[batch, length]`,
        0-padded, `length` a power of two (at least 1) or `sequence_length`
        (`packing.pad_to_power_of_two`)."""
        if not isinstance(texts, tf.Tensor):
            texts = tf.constant(list(texts), tf.string)
        token_ids = to_ragged_ids(self.source_tokenizer(texts))
        return pad_to_power_of_two(token_ids, self.translator.sequence_length)

    def translate(
        self,
        texts,
        method="beam",
        beam_size=4,
        max_length=None,
        length_penalty=0.6,
        batch_size=64,
        jit_compile=True,
    ):
        """Translates `list[str]` to `list[str]`, `batch_size` texts at a
        time. Other arguments as in `decoding.generate`."""
        texts = list(texts)
        translations = []
        for start in range(0, len(texts), batch_size):
            source_ids = self.tokenize_sources(texts[start : start + batch_size])
            output_ids = decoding.generate(
                self.translator,
                source_ids,
                method=method,
                beam_size=beam_size,
                max_length=max_length,
                length_penalty=length_penalty,
                jit_compile=jit_compile,
            )
            translations += [
                detokenize_to_text(self.target_tokenizer, row) for row in np.asarray(output_ids)
            ]
        return translations

    def cross_attention(self, text, jit_compile=True):
        """Translates one string greedily and returns the `CrossAttention` of every decoder
        block while doing so (`Translator.attention_weights`)."""
        source_ids = self.tokenize_sources([text])
        output_ids = decoding.generate(self.translator, source_ids, jit_compile=jit_compile)
        weights = self.translator.attention_weights(source_ids, output_ids)["cross_attention"]
        source = [int(i) for i in np.asarray(source_ids)[0] if i != PAD_ID]
        output = [int(i) for i in np.asarray(output_ids)[0] if i != PAD_ID]
        return CrossAttention(
            weights=np.asarray(weights)[0, :, :, : len(output), : len(source)],
            source_tokens=[self.source_tokenizer.id_to_token(i) for i in source],
            output_tokens=[self.target_tokenizer.id_to_token(i) for i in output],
            translation=detokenize_to_text(self.target_tokenizer, output),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                name: keras.saving.serialize_keras_object(getattr(self, name))
                for name in ("translator", "source_tokenizer", "target_tokenizer")
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("translator", "source_tokenizer", "target_tokenizer"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)
