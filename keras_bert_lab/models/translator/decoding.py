"""Greedy and beam-search decoding for `Translator`, cached or not.

Both searches run as one compiled graph: a `tf.while_loop` over output
positions inside a `tf.function` (XLA-compiled by default), traced once per
translator and decoding setting (`method`, `beam_size`, `max_length`,
`length_penalty`, `use_cache`, `jit_compile`) and reused for any batch of
any source length (`generator` returns it). XLA still compiles the traced
graph once per distinct input shape: pad sources to a few lengths (as
`TranslationPipeline` and the bucketed `tf.data` pipelines do). The loop
stops as soon as every sentence of the batch is finished.

With `use_cache=True` each step runs the decoder on the newest token only,
reading the earlier positions' keys and values from the self-attention cache
and the encoder's keys and values from the cross-attention cache computed
once per sentence (`Translator.initial_cache`, `Translator.decode_step`).
With `use_cache=False` each step re-runs the whole decoder over the prefix,
kept in a fixed `[batch, max_length]` buffer whose unwritten positions are
padding (static shapes for XLA; causal masking makes position `t` depend on
positions `<= t` only), then keeps position `t`. The two give the same
tokens.

Output convention: `generate` returns int32 `[batch_size, length]`, the
generated tokens without `[START]`, with `[END]` included where the
sentence finished, then padding (0); `length <= max_length` is the longest
output in the batch. A sentence that reaches `max_length` without `[END]`
is cut there. A source with no token (all padding) translates to the empty
sentence `[END]`. Tokens that never occur in a target, the ids dropped from
text (`special_tokens.SKIPPED_IDS`: `[PAD]`, `[CLS]`, `[SEP]`, `[MASK]`,
`[START]`), are never generated.

References:
    - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), §6.1: beam
      size 4, length penalty α = 0.6.
    - [Wu et al., 2016](https://arxiv.org/abs/1609.08144), §7: length
      penalty `lp(Y) = ((5 + |Y|) / 6)^α`, score `log P(Y|X) / lp(Y)`.
"""

import weakref
from typing import NamedTuple

import tensorflow as tf

from keras_bert_lab.layers.masking import most_negative
from keras_bert_lab.text.special_tokens import END_ID, PAD_ID, SKIPPED_IDS, START_ID

# The score of a banned token or of an impossible hypothesis. Scores are float32 (the
# translator's logits are, whatever its dtype policy). A sum of two of them overflows to -inf,
# which is harmless: scores are only added to, divided by a positive penalty and compared.
_NEGATIVE = most_negative("float32")

# One compiled function per translator and setting (see `generator`).
_GENERATORS = weakref.WeakKeyDictionary()


def generate(translator, source_ids, **settings):
    """Translates a batch of token ids.

    Args:
        translator: a `Translator`.
        source_ids: int `[batch_size, source_length]`, 0 for padding;
            sources longer than `translator.sequence_length` are truncated
            to their first `sequence_length` tokens.
        **settings: the search's settings, those of `generator` (`method`, `beam_size`,
            `max_length`, `length_penalty`, `use_cache`, `jit_compile`).

    Returns:
        int32 `[batch_size, length]`, `length <= max_length`: the output
        tokens, `[END]` included, then padding (see the module docstring).
    """
    search = generator(translator, **settings)
    output_ids = search(tf.cast(tf.convert_to_tensor(source_ids), tf.int32))
    # Drop the columns where every sentence has already finished.
    length = tf.reduce_max(tf.reduce_sum(tf.cast(output_ids != PAD_ID, tf.int32), axis=1))
    return output_ids[:, :length]


def generator(
    translator,
    method="greedy",
    beam_size=4,
    max_length=None,
    length_penalty=0.6,
    use_cache=True,
    jit_compile=True,
):
    """The compiled search used by `generate`, made once per setting.

    Args:
        translator: a `Translator`.
        method: `"greedy"` or `"beam"`.
        beam_size: int, hypotheses kept per sentence (`"beam"` only).
        max_length: int, most tokens generated per sentence, `[END]`
            included; defaults to (and may not exceed)
            `translator.sequence_length`.
        length_penalty: float `α >= 0` of the GNMT length penalty
            (`"beam"` only); 0 ranks hypotheses by log-probability.
        use_cache: bool, incremental decoding with the key/value cache;
            False re-runs the decoder over the prefix at each step.
        jit_compile: bool, compile the search with XLA.

    Returns:
        A `tf.function` of int32 `[batch_size, source_length]` source ids (any batch size
        and length: one trace) to int32 `[batch_size, max_length]` output ids, padded to
        `max_length`.
    """
    max_length = translator.sequence_length if max_length is None else max_length
    if not 1 <= max_length <= translator.sequence_length:
        raise ValueError(
            f"max_length must be in [1, {translator.sequence_length}] (the "
            f"translator's sequence_length), got {max_length}"
        )
    if method == "greedy":
        # Beam settings do not change greedy search: share one function.
        beam_size, length_penalty = 1, 0.0
    elif method == "beam":
        if beam_size < 1:
            raise ValueError(f"beam_size must be positive, got {beam_size}")
        if 2 * beam_size > translator.target_vocabulary_size:
            raise ValueError(
                f"beam_size={beam_size} needs a target vocabulary of at least "
                f"{2 * beam_size} tokens"
            )
        if length_penalty < 0:
            raise ValueError(f"length_penalty must be >= 0, got {length_penalty}")
    else:
        raise ValueError(f"method must be 'greedy' or 'beam', got {method!r}")

    if not translator.built:
        translator.build()  # Variables cannot be created in the tf.function.
    key = (method, beam_size, max_length, float(length_penalty), use_cache, jit_compile)
    functions = _GENERATORS.setdefault(translator, {})
    if key not in functions:
        # A weak reference, so that the cached function does not keep the
        # translator (its key) alive.
        translator_ref = weakref.ref(translator)
        if method == "greedy":

            def search(source_ids):
                return greedy_search(translator_ref(), source_ids, max_length, use_cache)
        else:

            def search(source_ids):
                return beam_search(
                    translator_ref(), source_ids, beam_size, max_length, length_penalty, use_cache
                )

        functions[key] = tf.function(
            search,
            input_signature=[tf.TensorSpec([None, None], tf.int32)],
            jit_compile=jit_compile,
            autograph=False,  # The loop is an explicit tf.while_loop.
        )
    return functions[key]


class _NextTokenLogits:
    """Next-token logits for a batch of prefixes, with or without a cache.

    Built once per search from the source ids: runs the encoder (and, with
    a cache, the cross-attention projections) once per sentence and repeats
    the results for the `beam_size` hypotheses of each sentence. Calling it
    on int `[batch, max_length + 1]` buffers, whose positions `0 .. index`
    hold `[START] y1 .. y_index`, returns float32 logits `[batch,
    vocabulary]` for position `index + 1`, never-generated ids banned, and
    the updated cache (an empty dict without caching).
    """

    def __init__(self, translator, source_ids, max_length, use_cache, beam_size):
        self.translator = translator
        self.max_length = max_length
        self.use_cache = use_cache
        encoder_outputs, padding_mask = translator.encode(source_ids)
        self.padding_mask = _repeat(padding_mask, beam_size)
        if use_cache:
            self.initial_cache = _repeat(
                translator.initial_cache(encoder_outputs, max_length), beam_size
            )
        else:
            self.initial_cache = {}
            self.encoder_outputs = _repeat(encoder_outputs, beam_size)
        vocabulary = tf.range(translator.target_vocabulary_size)
        self.banned = tf.reduce_any(
            vocabulary[:, None] == tf.constant(sorted(SKIPPED_IDS))[None, :],
            axis=1,
        )

    def __call__(self, prefixes, index, cache):
        if self.use_cache:
            logits, cache = self.translator.decode_step(
                prefixes[:, index, None], index, cache, self.padding_mask
            )
            logits = logits[:, 0]
        else:
            hidden = self.translator.decode(
                prefixes[:, : self.max_length],
                self.encoder_outputs,
                self.padding_mask,
            )
            logits = self.translator.output_logits(hidden[:, index])
        return tf.where(self.banned, _NEGATIVE, logits), cache

    def reorder(self, cache, rows):
        """Keeps the self-attention cache rows of the surviving beams."""
        if not self.use_cache:
            return cache
        return {
            "self_attention": tuple(tf.gather(c, rows) for c in cache["self_attention"]),
            "cross_attention": cache["cross_attention"],
        }


def greedy_search(translator, source_ids, max_length, use_cache=True):
    """Picks the most probable token at each step (graph-mode friendly).

    Args:
        translator: a `Translator`.
        source_ids: int32 `[batch_size, source_length]`.
        max_length: int, most output tokens.
        use_cache: bool, see `generate`.

    Returns:
        int32 `[batch_size, max_length]`: tokens, `[END]`, then padding.
    """
    next_token_logits = _NextTokenLogits(translator, source_ids, max_length, use_cache, beam_size=1)
    batch_size = tf.shape(source_ids)[0]
    prefixes = _start_buffer([batch_size], max_length)
    finished = _is_empty(source_ids)

    def step(index, prefixes, finished, cache):
        logits, cache = next_token_logits(prefixes, index, cache)
        tokens = tf.argmax(logits, axis=-1, output_type=tf.int32)
        # Finished sentences emit padding.
        tokens = tf.where(finished, PAD_ID, tokens)
        prefixes = _write(prefixes, index + 1, tokens)
        finished = finished | (tokens == END_ID)
        return index + 1, prefixes, finished, cache

    _, prefixes, _, _ = tf.while_loop(
        lambda index, prefixes, finished, cache: (index < max_length) & ~tf.reduce_all(finished),
        step,
        (tf.constant(0), prefixes, finished, next_token_logits.initial_cache),
    )
    return _empty_sources_to_end(source_ids, prefixes[:, 1:])


def beam_search(
    translator,
    source_ids,
    beam_size=4,
    max_length=64,
    length_penalty=0.6,
    use_cache=True,
):
    """Beam search with the GNMT length penalty (graph-mode friendly).

    Each sentence keeps `beam_size` alive hypotheses, none ending in
    `[END]`, and its best finished hypothesis. At each step the
    `2 · beam_size` most probable one-token extensions of the alive
    hypotheses are taken: an extension ending in `[END]` that ranks among
    the first `beam_size` finishes, with score `log P / lp(length)`,
    `lp(length) = ((5 + length) / 6)^α` and `length` counting `[END]`; the
    `beam_size` most probable other extensions stay alive.

    A sentence stops as soon as no alive hypothesis can beat its best
    finished one: log-probabilities only decrease and, for `α >= 0`, the
    penalty grows with length, so an alive hypothesis can reach at most
    `log P(alive) / lp(max_length)` (tensor2tensor's bound). Its result is
    then frozen while the rest of the batch goes on. At `max_length` the
    alive hypotheses compete too, scored at length `max_length`.

    With `beam_size=1` and `length_penalty=0` this is exactly greedy search.
    With `α > 0` a longer hypothesis may still overtake the greedy one.

    Args:
        translator: a `Translator`.
        source_ids: int32 `[batch_size, source_length]`.
        beam_size: int `K`.
        max_length: int, most output tokens.
        length_penalty: float `α >= 0`.
        use_cache: bool, see `generate`.

    Returns:
        int32 `[batch_size, max_length]`: tokens, `[END]`, then padding.
    """
    search = _BeamSearch(translator, source_ids, beam_size, max_length, length_penalty, use_cache)
    (state,) = tf.while_loop(
        lambda state: (state.index < max_length) & ~tf.reduce_all(state.done),
        lambda state: (search.step(state),),
        (search.initial_state(),),
    )
    return _empty_sources_to_end(source_ids, search.best_outputs(state)[:, 1:])


class _BeamState(NamedTuple):
    """The loop variables of `beam_search`, with `K` beams per sentence."""

    index: tf.Tensor  # int32 scalar: hypotheses hold positions 0 .. index.
    alive: tf.Tensor  # int32 [batch_size, K, max_length + 1]: [START] y1 .. y_index.
    alive_log_probs: tf.Tensor  # float32 [batch_size, K], best first.
    finished: tf.Tensor  # int32 [batch_size, max_length + 1]: the best ending in [END].
    finished_scores: tf.Tensor  # float32 [batch_size]: its log P / lp(length).
    done: tf.Tensor  # bool [batch_size]: no alive hypothesis can beat it any more.
    cache: dict  # The decoding cache of the batch_size * K alive hypotheses.


class _BeamSearch:
    """The steps of `beam_search` on one batch of sources (arguments as there)."""

    def __init__(self, translator, source_ids, beam_size, max_length, length_penalty, use_cache):
        self.source_ids = source_ids
        self.k = beam_size
        self.max_length = max_length
        self.length_penalty = length_penalty
        self.batch_size = tf.shape(source_ids)[0]
        self.vocabulary_size = translator.target_vocabulary_size
        self.next_token_logits = _NextTokenLogits(
            translator, source_ids, max_length, use_cache, beam_size
        )
        # Row of beam j of sentence b in the flat [batch_size * K] batch.
        self.first_rows = tf.range(self.batch_size)[:, None] * beam_size

    def penalty(self, length):
        """`lp(length) = ((5 + length) / 6)^α`."""
        return ((5.0 + tf.cast(length, tf.float32)) / 6.0) ** self.length_penalty

    def initial_state(self):
        # All beams start as [START]; only the first may be extended at the
        # first step, or the beam would fill with copies of one hypothesis.
        alive = _start_buffer([self.batch_size, self.k], self.max_length)
        first_beam_only = tf.concat([[0.0], tf.fill([self.k - 1], _NEGATIVE)], 0)
        return _BeamState(
            index=tf.constant(0),
            alive=alive,
            alive_log_probs=tf.tile(first_beam_only[None], [self.batch_size, 1]),
            finished=alive[:, 0],
            finished_scores=tf.fill([self.batch_size], _NEGATIVE),
            done=_is_empty(self.source_ids),
            cache=self.next_token_logits.initial_cache,
        )

    def step(self, state):
        """Extends the alive hypotheses by one token: the `2K` most probable extensions update
        the finished hypothesis (`_finish`), the `K` best that do not end stay alive."""
        flat_alive = tf.reshape(state.alive, [self.batch_size * self.k, self.max_length + 1])
        logits, cache = self.next_token_logits(flat_alive, state.index, state.cache)
        log_probs = tf.reshape(
            tf.nn.log_softmax(logits), [self.batch_size, self.k, self.vocabulary_size]
        )
        candidate_log_probs, flat_indices = tf.math.top_k(
            tf.reshape(
                state.alive_log_probs[:, :, None] + log_probs,
                [self.batch_size, self.k * self.vocabulary_size],
            ),
            2 * self.k,
        )
        candidate_beams = flat_indices // self.vocabulary_size
        candidate_tokens = flat_indices % self.vocabulary_size
        candidates = tf.gather(state.alive, candidate_beams, batch_dims=1)
        candidates = _write(candidates, state.index + 1, candidate_tokens)
        ends = candidate_tokens == END_ID
        finished, finished_scores = self._finish(state, candidates, candidate_log_probs, ends)

        alive_log_probs, best = tf.math.top_k(
            tf.where(ends, _NEGATIVE, candidate_log_probs), self.k
        )
        beams = tf.gather(candidate_beams, best, batch_dims=1)
        cache = self.next_token_logits.reorder(cache, tf.reshape(self.first_rows + beams, [-1]))
        best_reachable = alive_log_probs[:, 0] / self.penalty(self.max_length)
        return _BeamState(
            index=state.index + 1,
            alive=tf.gather(candidates, best, batch_dims=1),
            alive_log_probs=alive_log_probs,
            finished=finished,
            finished_scores=finished_scores,
            done=state.done | (finished_scores >= best_reachable),
            cache=cache,
        )

    def _finish(self, state, candidates, candidate_log_probs, ends):
        """The best of the old finished hypothesis and the `[END]` extensions that rank among
        the `K` best, for sentences not done yet; and its score."""
        in_beam = tf.range(2 * self.k)[None, :] < self.k
        scores = tf.where(
            ends & in_beam, candidate_log_probs / self.penalty(state.index + 1), _NEGATIVE
        )
        best = tf.argmax(scores, axis=1, output_type=tf.int32)
        best_scores = tf.gather(scores, best, batch_dims=1)
        improved = (best_scores > state.finished_scores) & ~state.done
        finished = tf.where(
            improved[:, None], tf.gather(candidates, best, batch_dims=1), state.finished
        )
        return finished, tf.where(improved, best_scores, state.finished_scores)

    def best_outputs(self, state):
        """int32 `[batch_size, max_length + 1]`: each sentence's finished hypothesis, or, for a
        sentence cut at `max_length`, its best alive one where that scores higher."""
        cut_scores = tf.where(
            state.done, _NEGATIVE, state.alive_log_probs[:, 0] / self.penalty(self.max_length)
        )
        return tf.where(
            (cut_scores > state.finished_scores)[:, None], state.alive[:, 0], state.finished
        )


def _start_buffer(batch_shape, max_length):
    """int32 `batch_shape + [max_length + 1]`: `[START]` then padding."""
    row = tf.one_hot(0, max_length + 1, on_value=START_ID, off_value=PAD_ID, dtype=tf.int32)
    return tf.broadcast_to(row, tf.concat([batch_shape, [max_length + 1]], 0))


def _write(buffer, index, tokens):
    """Writes `tokens` (`buffer.shape[:-1]`) at position `index` of the last
    axis of `buffer`."""
    position = tf.range(tf.shape(buffer)[-1]) == index
    return tf.where(position, tokens[..., None], buffer)


def _repeat(structure, times):
    """Repeats each batch row `times` times: row `b` -> rows `b·times ..
    b·times + times - 1`."""
    if times == 1:
        return structure
    return tf.nest.map_structure(lambda x: tf.repeat(x, times, axis=0), structure)


def _is_empty(source_ids):
    """bool `[batch_size]`: the source has no token at all."""
    return ~tf.reduce_any(source_ids != PAD_ID, axis=1)


def _empty_sources_to_end(source_ids, output_ids):
    """The translation of an empty source is the empty sentence, `[END]`."""
    empty_output = tf.one_hot(
        0,
        tf.shape(output_ids)[1],
        on_value=END_ID,
        off_value=PAD_ID,
        dtype=tf.int32,
    )
    return tf.where(_is_empty(source_ids)[:, None], empty_output[None], output_ids)
