"""Probe static and contextual word vectors on ambiguous words: word2vec, the LSTM's
embedding table and hidden states, and every layer of a BERT (and of a real checkpoint
beside it)."""

from keras_bert_lab.analysis import loading, probe, separation
from keras_bert_lab.analysis.runs import AnalysisRun, add_bert_flags, analysis_parser
from keras_bert_lab.figures import render, save_png
from keras_bert_lab.presets import EMBEDDING_PROBE_PRESETS
from keras_bert_lab.tasks.flags import add_path_flag, existing_path
from keras_bert_lab.utils import write_json_atomically, write_text_atomically

EXPERIMENT = "embedding_probe"


def build_parser():
    parser = analysis_parser(__doc__, EMBEDDING_PROBE_PRESETS)
    add_path_flag(parser, "--word2vec", "run folder of experiments.word2vec_imdb")
    add_path_flag(
        parser,
        "--lstm",
        "run folder of experiments.imdb_lstm, or its model.keras",
        kind=existing_path,
    )
    add_bert_flags(
        parser,
        "BERT .keras file or run folder (BertEncoder, BertClassifier, "
        "BertPretrainer or raw-text classifier), or a keras-hub preset folder",
    )
    parser.add_argument(
        "--real-bert",
        default=None,
        help="a BERT trained elsewhere, probed beside --bert: a keras-hub preset name or a "
        "preset folder in Keras or Hugging Face format (sources real_bert_*)",
    )
    add_path_flag(
        parser,
        "--probe-set",
        "probe sentences JSON",
        kind=existing_path,
        default=str(probe.PROBE_SENTENCES),
    )
    return parser


def collect_sources(run, occurrences):
    """Every source's `ProbeSource`s, from the given paths or, with a smoke preset, from
    tiny random models."""
    args, config = run.args, run.config
    texts = [o.text for o in occurrences]
    random = config.random_models
    sources = []
    if args.word2vec or random:
        vectors, tokenizer = (
            loading.load_word2vec(args.word2vec)
            if args.word2vec
            else loading.random_word2vec(
                texts, config.random_vocabulary_size, config.random_embedding_dim, seed=args.seed
            )
        )
        sources.append(probe.word2vec_source(vectors, tokenizer, occurrences))
    if args.lstm or random:
        classifier, tokenizer = (
            loading.load_lstm(args.lstm)
            if args.lstm
            else loading.random_lstm(
                texts,
                config.random_vocabulary_size,
                config.random_embedding_dim,
                config.random_lstm_layers,
            )
        )
        sources += probe.lstm_sources(classifier, tokenizer, occurrences)
    if args.bert or random:
        encoder, tokenizer = (
            loading.load_bert(args.bert, args.bert_vocabulary, lowercase=not args.bert_cased)
            if args.bert
            else loading.random_bert(
                texts, config.random_vocabulary_size, config.random_bert_config
            )
        )
        sources += probe.bert_sources(encoder, tokenizer, occurrences, config.batch_size)
    if args.real_bert:
        encoder, tokenizer = loading.load_bert(args.real_bert)
        sources += probe.bert_sources(
            encoder,
            tokenizer,
            occurrences,
            config.batch_size,
            name="real_bert",
            family="real checkpoint",
        )
    return sources


def main(argv=None):
    parser = build_parser()
    run = AnalysisRun.start(EXPERIMENT, parser, EMBEDDING_PROBE_PRESETS, argv)
    args = run.args
    if not (args.word2vec or args.lstm or args.bert or args.real_bert or run.config.random_models):
        parser.error(
            "give at least one of --word2vec, --lstm, --bert, --real-bert "
            "(or --preset smoke for tiny random models)"
        )
    try:
        occurrences = probe.load_probe_set(args.probe_set)
        sources = collect_sources(run, occurrences)
    except (probe.ProbeError, loading.LoadError) as error:
        parser.error(str(error))

    summaries, per_word = {}, {}
    for source in sources:
        similarities = separation.sense_similarities(source.vectors, occurrences)
        separation.check_static(source, similarities)
        summaries[source.name] = {
            "family": source.family,
            "static": source.static,
            "dim": int(source.vectors.shape[1]),
            "within": similarities["within"],
            "across": similarities["across"],
            "separation": similarities["separation"],
            "unknown_words": list(source.unknown_words),
        }
        per_word[source.name] = similarities["words"]

    table = separation.markdown_table(summaries)
    write_text_atomically(run.run_dir / "probe_results.md", table)
    save_png(render(separation.separation_figure(summaries)), run.run_dir / "separation.png")
    separation.write_projector(run.run_dir / "projector", sources, occurrences)
    write_json_atomically(run.run_dir / "per_word.json", per_word)
    print(table)
    return run.write_results(
        {name: row["separation"] for name, row in summaries.items()},
        extra={
            "sources": summaries,
            "probe_set": args.probe_set,
            "words": len(dict.fromkeys(o.word for o in occurrences)),
            "sentences": len(occurrences),
            "inputs": {
                "word2vec": args.word2vec,
                "lstm": args.lstm,
                "bert": args.bert,
                "real_bert": args.real_bert,
            },
        },
    )


if __name__ == "__main__":
    main()
