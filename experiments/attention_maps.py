"""Draw attention, one heatmap per layer and head for each sentence: a BERT encoder's
self-attention (with --head-summary TOKEN, also what every head attends to from that token), or
a translator's cross-attention, the French × English alignment of each decoder layer."""

from pathlib import Path

import tensorflow as tf

from keras_bert_lab.analysis import loading, probe
from keras_bert_lab.analysis.runs import AnalysisRun, add_bert_flags, analysis_parser
from keras_bert_lab.figures import (
    attention_heads_figure,
    head_summary,
    head_summary_figure,
    render,
    save_png,
)
from keras_bert_lab.presets import ATTENTION_MAPS_PRESETS
from keras_bert_lab.tasks.flags import add_path_flag, existing_path
from keras_bert_lab.text.packing import to_ragged_ids
from keras_bert_lab.text.special_tokens import CLS_TOKEN, SEP_TOKEN, bert_special_ids
from keras_bert_lab.utils import write_text_atomically

EXPERIMENT = "attention_maps"
DEFAULT_FRENCH = [
    "Je ne sais pas ce qu'il veut dire.",
    "Le chat dort sur le lit de ma sœur.",
    "Elle a acheté une nouvelle voiture hier.",
]


def build_parser():
    parser = analysis_parser(__doc__, ATTENTION_MAPS_PRESETS)
    add_bert_flags(
        parser,
        "BERT .keras file or run folder (bert_pretrain, bert_imdb; "
        "BertEncoder, BertClassifier or BertPretrainer), or a keras-hub "
        "BERT preset (name or folder)",
    )
    add_path_flag(
        parser,
        "--translator",
        "a translate_fr_en run folder or its translation_pipeline.keras: draws the decoder's "
        "cross-attention on French sentences",
        kind=existing_path,
    )
    parser.add_argument(
        "--sentence",
        action="append",
        default=[],
        help="a sentence to draw (repeat the flag for several; French with "
        "--translator); default: two pairs of probe sentences (plot, star), "
        "or three French sentences",
    )
    parser.add_argument(
        "--head-summary",
        default=None,
        metavar="TOKEN",
        help="also show, for this token (or word: its first piece), the "
        "tokens each head attends to most",
    )
    return parser


def default_sentences():
    """The first sentence of each sense of the first two probe words."""
    occurrences = probe.load_probe_set()
    words = list(dict.fromkeys(o.word for o in occurrences))[:2]
    firsts = {}
    for o in occurrences:
        if o.word in words:
            firsts.setdefault((o.word, o.sense), o.text)
    return list(firsts.values())


def find_token(tokens, query, lowercase):
    """Position of `query` among `tokens`: an exact token, else the first piece of the word
    whose `##` pieces join to it; None if absent."""
    query = query.lower() if lowercase else query
    if query in tokens:
        return tokens.index(query)
    for start, token in enumerate(tokens):
        word, end = token, start + 1
        while end < len(tokens) and tokens[end].startswith("##"):
            word, end = word + tokens[end][2:], end + 1
        if word == query and not token.startswith("##"):
            return start
    return None


def summary_markdown(sentence, tokens, position, rows):
    lines = [
        f"### {sentence}",
        "",
        f"Attention from `{tokens[position]}` (position {position}).",
        "",
        "| layer | head | attends most to |",
        "|---:|---:|---|",
    ]
    for row in rows:
        top = ", ".join(f"`{token}`@{index} {weight:.2f}" for token, index, weight in row["top"])
        lines.append(f"| {row['layer']} | {row['head']} | {top} |")
    return "\n".join(lines) + "\n"


def bert_maps(args, config, parser):
    """`(sentence, query tokens, key tokens, weights [layers, heads, T, T])` per sentence of
    `--sentence` (default: probe sentences), for BERT self-attention."""
    sentences = args.sentence or default_sentences()
    try:
        encoder, tokenizer = (
            loading.load_bert(args.bert, args.bert_vocabulary, lowercase=not args.bert_cased)
            if args.bert
            else loading.random_bert(
                sentences, config.random_vocabulary_size, config.random_bert_config
            )
        )
        token_ids = to_ragged_ids(tokenizer(tf.constant(sentences))).to_list()
        outputs = probe.bert_layer_outputs(
            encoder, token_ids, config.batch_size, bert_special_ids(tokenizer)
        )
    except (probe.ProbeError, loading.LoadError) as error:
        parser.error(str(error))
    maps = []
    for sentence, ids, output in zip(sentences, token_ids, outputs):
        tokens = [CLS_TOKEN] + [tokenizer.id_to_token(i) for i in ids] + [SEP_TOKEN]
        maps.append((sentence, tokens, tokens, output["attention_weights"]))
    return maps, tokenizer.lowercase


def translator_maps(args, parser):
    """The same per sentence of `--sentence` (default: `DEFAULT_FRENCH`) for the translator's
    cross-attention: English output tokens (greedy) × French source tokens, and the
    text of that greedy translation."""
    sentences = args.sentence or DEFAULT_FRENCH
    try:
        pipeline = loading.load_translator(args.translator)
    except loading.LoadError as error:
        parser.error(str(error))
    maps = []
    for sentence in sentences:
        attention = pipeline.cross_attention(sentence, jit_compile=False)
        maps.append(
            (
                sentence,
                attention.output_tokens,
                attention.source_tokens,
                attention.weights,
                attention.translation,
            )
        )
    return maps


def check_flags(args, config, parser):
    """One clear error line for flags that do not go together."""
    if args.translator and (args.bert or args.head_summary):
        parser.error("--translator draws cross-attention alone: drop --bert and --head-summary")
    if not (args.bert or args.translator or config.random_models):
        parser.error("give --bert or --translator (or --preset smoke for a tiny random BERT)")


def head_summary_positions(args, maps, lowercase, parser):
    """Per sentence, the position of the `--head-summary` token, or None."""
    positions = [
        find_token(tokens, args.head_summary, lowercase) if args.head_summary else None
        for _, tokens, *_ in maps
    ]
    if args.head_summary and all(position is None for position in positions):
        parser.error(f"--head-summary {args.head_summary!r} is in none of the sentences")
    return positions


def save_image(run, image, path, tag, description):
    """Writes a rendered figure as PNG under the run folder and logs it to TensorBoard (under
    the writer in use); returns its path relative to the run folder."""
    save_png(image, run.run_dir / path)
    tf.summary.image(tag, image[None], description=description)
    return str(path)


def draw_layers(run, number, sentence, tokens, key_tokens, weights, name, axis_labels):
    """One figure of every head per layer of a sentence; the files written."""
    files = []
    for layer, layer_weights in enumerate(weights, start=1):
        figure = attention_heads_figure(
            layer_weights,
            tokens,
            f"sentence {number}, layer {layer}: {sentence}",
            max_columns=run.config.max_columns,
            key_tokens=key_tokens,
            axis_labels=axis_labels,
        )
        path = Path(name, f"sentence_{number}", f"layer_{layer}.png")
        files.append(
            save_image(
                run, render(figure), path, f"{name}/sentence_{number}/layer_{layer}", sentence
            )
        )
    return files


def draw_head_summary(run, number, sentence, tokens, weights, position):
    """What each head attends to most from the chosen token: the record and its markdown."""
    rows = head_summary(weights, tokens, position, run.config.top_k)
    file = save_image(
        run,
        render(head_summary_figure(weights, tokens, position)),
        Path("head_summary", f"sentence_{number}.png"),
        f"head_summary/sentence_{number}",
        f"{run.args.head_summary}: {sentence}",
    )
    record = {"position": position, "heads": rows, "file": file}
    return record, summary_markdown(sentence, tokens, position, rows)


def main(argv=None):
    parser = build_parser()
    run = AnalysisRun.start(EXPERIMENT, parser, ATTENTION_MAPS_PRESETS, argv)
    args, config = run.args, run.config
    check_flags(args, config, parser)
    if args.translator:
        maps, lowercase = translator_maps(args, parser), False
        name, axis_labels = "cross_attention", ("French (source)", "English (output)")
    else:
        (maps, lowercase), name = bert_maps(args, config, parser), "attention"
        axis_labels = ("key", "query")
    positions = head_summary_positions(args, maps, lowercase, parser)

    writer = tf.summary.create_file_writer(str(run.run_dir))
    records, summaries = [], []
    with writer.as_default(step=0):
        for number, ((sentence, tokens, key_tokens, weights, *translation), position) in enumerate(
            zip(maps, positions), start=1
        ):
            files = draw_layers(
                run, number, sentence, tokens, key_tokens, weights, name, axis_labels
            )
            record = {"sentence": sentence, "tokens": tokens, "files": files}
            if translation:
                record |= {"translation": translation[0], "source_tokens": key_tokens}
            if position is not None:
                record["head_summary"], summary = draw_head_summary(
                    run, number, sentence, tokens, weights, position
                )
                summaries.append(summary)
            records.append(record)
    writer.flush()
    if summaries:
        write_text_atomically(run.run_dir / "head_summary.md", "\n".join(summaries))
        print("\n".join(summaries))
    layers, heads = maps[0][3].shape[:2]
    return run.write_results(
        {"sentences": len(maps), "layers": int(layers), "heads": int(heads)},
        extra={
            "sentences": records,
            "bert": args.bert,
            "translator": args.translator,
            "head_summary_token": args.head_summary,
        },
    )


if __name__ == "__main__":
    main()
