"""Choose a trained translator's beam size and length penalty on its validation split: corpus
BLEU and chrF of greedy decoding and of every beam search setting of the grid, best first;
with --score-test, the test split is then decoded once, with the best setting.

The validation split is the translator run's own (its `results.json` gives the split, the
fractions and the seed), so the choice never sees a test sentence. The table goes to the
console, to `results.json` and `search.md` in the run folder.
"""

import dataclasses
import json
from pathlib import Path

from keras_bert_lab.analysis import loading
from keras_bert_lab.analysis.runs import AnalysisRun, analysis_parser
from keras_bert_lab.data.fra_eng import load_fra_eng
from keras_bert_lab.presets import TUNE_DECODING_PRESETS, TranslateFrEnPreset
from keras_bert_lab.tasks.flags import (
    add_data_dir_flag,
    add_path_flag,
    non_negative_float,
    positive_int,
)
from keras_bert_lab.tasks.run import RESULTS_FILE, command_line
from keras_bert_lab.tasks.translation_scores import (
    corpus_scores,
    search_decoding_settings,
    translate_texts,
)
from keras_bert_lab.utils import write_text_atomically

EXPERIMENT = "tune_decoding"


def build_parser():
    parser = analysis_parser(__doc__, TUNE_DECODING_PRESETS)
    add_path_flag(
        parser,
        "--translator",
        "a finished translate_fr_en run folder (its translation_pipeline.keras and results.json)",
        required=True,
    )
    add_data_dir_flag(parser, "fra-eng.zip or fra.txt")
    parser.add_argument(
        "--beam-sizes", type=positive_int, nargs="+", default=[2, 4, 8], help="beam sizes"
    )
    parser.add_argument(
        "--length-penalties",
        type=non_negative_float,
        nargs="+",
        default=[0.0, 0.3, 0.6, 1.0, 1.5],
        help="length penalties (GNMT's alpha: 0 ranks by total log-probability)",
    )
    parser.add_argument(
        "--score-test",
        action="store_true",
        help="then decode the test split with the best setting, and score it",
    )
    return parser


def translator_run(parser, folder):
    """`(pipeline, its TranslateFrEnPreset, its seed)` of a finished translate_fr_en run."""
    results_path = Path(folder) / RESULTS_FILE
    if not results_path.is_file():
        parser.error(f"{folder} holds no {RESULTS_FILE}: not a finished translate_fr_en run")
    results = json.loads(results_path.read_text())
    if results.get("experiment") != "translate_fr_en":
        parser.error(f"{results_path} is a {results.get('experiment')} run, not translate_fr_en")
    try:
        pipeline = loading.load_translator(folder)
    except loading.LoadError as error:
        parser.error(str(error))
    known = {field.name for field in dataclasses.fields(TranslateFrEnPreset)}
    recorded = {name: value for name, value in results["config"].items() if name in known}
    return pipeline, TranslateFrEnPreset(**recorded), results["arguments"]["seed"]


def setting_name(row):
    """`greedy`, or `beam 4, length penalty 0.6`."""
    if row["method"] == "greedy":
        return "greedy"
    return f"beam {row['beam_size']}, length penalty {row['length_penalty']:g}"


def search_table(rows):
    """The rows of `search_decoding_settings` as a markdown table."""
    lines = ["| Decoding | BLEU | chrF | Seconds |", "|---|---:|---:|---:|"]
    lines += [
        f"| {setting_name(row)} | {row['bleu']:.2f} | {row['chrf']:.2f} | {row['seconds']:.0f} |"
        for row in rows
    ]
    return "\n".join(lines)


def score_test(pipeline, data, translator_config, best):
    """Test BLEU and chrF of the `best` setting (a `search_decoding_settings` row), printed
    on one line."""
    chosen = translator_config
    if best["method"] == "beam":
        chosen = dataclasses.replace(
            translator_config, beam_size=best["beam_size"], length_penalty=best["length_penalty"]
        )
    references = data.test_references[: translator_config.max_test_sources]
    sources = [source for source, _ in references]
    scores = corpus_scores(
        translate_texts(pipeline, sources, chosen, best["method"]),
        [refs for _, refs in references],
    )
    print(
        f"{EXPERIMENT}: test with {setting_name(best)}: BLEU {scores['bleu']:.2f}, "
        f"chrF {scores['chrf']:.2f} ({len(sources):,} sources)",
        flush=True,
    )
    return {"test_sources": len(sources), "test_bleu": scores["bleu"], "test_chrf": scores["chrf"]}


def main(argv=None):
    parser = build_parser()
    run = AnalysisRun.start(EXPERIMENT, parser, TUNE_DECODING_PRESETS, argv)
    args, config = run.args, run.config
    pipeline, translator_config, seed = translator_run(parser, args.translator)
    translator_config = dataclasses.replace(
        translator_config, decode_batch_size=config.batch_size, xla_decoding=config.xla_decoding
    )
    data = load_fra_eng(
        args.data_dir,
        validation_fraction=translator_config.validation_fraction,
        test_fraction=translator_config.test_fraction,
        seed=seed,
        split=translator_config.split,
        max_per_split=translator_config.max_per_split,
    )
    validation = data.validation_references[: config.validation_sources]
    if not validation:
        parser.error(f"{args.translator}: its split has no validation sentences to tune on")
    print(
        f"{EXPERIMENT}: {len(validation):,} validation sources, "
        f"{1 + len(args.beam_sizes) * len(args.length_penalties)} settings",
        flush=True,
    )
    rows = search_decoding_settings(
        pipeline, validation, translator_config, args.beam_sizes, args.length_penalties
    )
    table = search_table(rows)
    print(table)
    write_text_atomically(run.run_dir / "search.md", table + "\n")
    best = rows[0]
    metrics = {
        "validation_sources": len(validation),
        "best_validation_bleu": best["bleu"],
        "best_validation_chrf": best["chrf"],
    }
    print(f"{EXPERIMENT}: best on validation: {setting_name(best)}", flush=True)
    if args.score_test:
        metrics |= score_test(pipeline, data, translator_config, best)
    return run.write_results(
        metrics,
        extra={"translator": args.translator, "best": best, "settings": rows},
    )


if __name__ == "__main__":
    command_line(main)
