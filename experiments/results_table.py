"""Regenerate the README's results table from the results files in
`results/` (copies of runs' `results.json`, committed with the README)."""

import argparse
import re
from pathlib import Path

from keras_bert_lab.analysis.results import comparison_rows, load_results, markdown_table
from keras_bert_lab.tasks.flags import add_verbose_flag, docstring_summary

START, END = "<!-- results:start -->", "<!-- results:end -->"


def build_parser():
    parser = argparse.ArgumentParser(
        description=docstring_summary(__doc__),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--results-dir", default="results", help="the results files")
    parser.add_argument("--readme", default="README.md", help="the README to update")
    parser.add_argument(
        "--write", action="store_true", help="replace the table in the README (else print it)"
    )
    add_verbose_flag(parser)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    table = markdown_table(comparison_rows(load_results(args.results_dir)))
    if not args.write:
        print(table)
        return table
    readme = Path(args.readme)
    text = readme.read_text()
    if START not in text or END not in text:
        parser.error(f"{readme} has no {START} ... {END} section")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    readme.write_text(pattern.sub(lambda _: f"{START}\n{table}\n{END}", text))
    return table


if __name__ == "__main__":
    main()
