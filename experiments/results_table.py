"""Regenerate the README's results from the files in `results/` (committed with the
README): the IMDB study's page (its short table and commands, from a copy of a
`compare_imdb` run's `comparison.json`, with its chart in `docs/images/`) and the table of
every run (from copies of runs' `results.json`). `--collect` first makes those copies from a
finished `compare_imdb` run."""

import argparse
import json
import re
from pathlib import Path

from keras_bert_lab.analysis.results import (
    absolute_paths,
    comparison_rows,
    load_results,
    markdown_table,
    portable,
    study_summary,
)
from keras_bert_lab.figures import accuracy_figure, render, save_png
from keras_bert_lab.tasks.flags import add_path_flag, add_verbose_flag, docstring_summary
from keras_bert_lab.utils import write_json_atomically

RESULTS = ("<!-- results:start -->", "<!-- results:end -->")
STUDY = ("<!-- study:start -->", "<!-- study:end -->")


def build_parser():
    parser = argparse.ArgumentParser(
        description=docstring_summary(__doc__),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--results-dir", default="results", help="the results files")
    parser.add_argument(
        "--study",
        default="results/compare_imdb-cpu.json",
        help="the study's rows (a copy of `compare_imdb`'s comparison.json)",
    )
    parser.add_argument(
        "--study-figure",
        default="docs/images/study_accuracy.png",
        help="where --write draws the study's chart",
    )
    add_path_flag(
        parser,
        "--collect",
        "a finished compare_imdb run folder (e.g. tb_logs/compare_imdb/cpu): copy its "
        "rows, its stage times and every stage's results.json into --results-dir first",
    )
    parser.add_argument("--readme", default="README.md", help="the README to update")
    parser.add_argument(
        "--write",
        action="store_true",
        help="replace the study's page and the table in the README, and draw the study's "
        "chart (else print them)",
    )
    add_verbose_flag(parser)
    return parser


def replace_section(parser, text, markers, content, readme):
    """`text` with what lies between `markers` replaced by `content`."""
    start, end = markers
    if start not in text or end not in text:
        parser.error(f"{readme} has no {start} ... {end} section")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    return pattern.sub(lambda _: f"{start}\n{content}\n{end}", text)


def collect(parser, study_dir, results_dir):
    """Copies the finished `compare_imdb` run in `study_dir` into `results_dir`:
    `comparison.json` as `compare_imdb-<run>.json`, `stages.json` as
    `compare_imdb-<run>-stages.json` and each stage's `results.json` as
    `<experiment>-<run name>.json`, made `portable`. A study not finished, or a file that
    would still name a path of this machine, is the parser's one-line error, and nothing is
    copied."""
    study_dir, results_dir = Path(study_dir), Path(results_dir)
    copies = {}
    for name, suffix in (("comparison.json", ""), ("stages.json", "-stages")):
        if not (study_dir / name).is_file():
            parser.error(f"--collect {study_dir}: no {name}, the study has not finished")
        copies[f"compare_imdb-{study_dir.name}{suffix}.json"] = json.loads(
            (study_dir / name).read_text()
        )
    for times in copies[f"compare_imdb-{study_dir.name}-stages.json"]["stages"].values():
        results = json.loads((Path(times["run_dir"]) / "results.json").read_text())
        copies[f"{results['experiment']}-{results['run_name']}.json"] = results
    for name, value in copies.items():
        copies[name] = portable(value)
        paths = absolute_paths(copies[name])
        if paths:
            parser.error(
                f"--collect {study_dir}: {name} names {paths[0]}, a path of this machine "
                "(run the study with relative --logdir and --data-dir)"
            )
    for name, value in copies.items():
        write_json_atomically(results_dir / name, value)
        print(f"results_table: {results_dir / name}")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.collect:
        collect(parser, args.collect, args.results_dir)
    table = markdown_table(comparison_rows(load_results(args.results_dir)))
    study = Path(args.study)
    rows = json.loads(study.read_text()) if study.is_file() else None
    summary = study_summary(rows) if rows else None
    if not args.write:
        print(*(part for part in (summary, table) if part), sep="\n\n")
        return table
    readme = Path(args.readme)
    text = replace_section(parser, readme.read_text(), RESULTS, table, readme)
    if summary:
        text = replace_section(parser, text, STUDY, summary, readme)
        save_png(render(accuracy_figure(rows)), Path(args.study_figure))
    readme.write_text(text)
    return table


if __name__ == "__main__":
    main()
