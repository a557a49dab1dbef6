"""Compare the IMDB models in one go, under one strategy: the LSTM baseline,
BERT from scratch, and BERT pre-trained here (MLM + NSP) then fine-tuned;
with `--with-word2vec`, also the LSTM started from word2vec vectors trained
here, fine-tuned and frozen.

Each model runs as its own `python -m experiments.<name>` process (so that
each creates its own `tf.distribute` strategy, and a cluster's `TF_CONFIG`
applies to each in turn); the comparison is written as markdown and JSON
under `<logdir>/compare_imdb/<run-name>/`.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from keras_bert_lab.analysis.results import comparison_rows, markdown_table
from keras_bert_lab.training.strategy import STRATEGIES
from keras_bert_lab.utils import write_json_atomically, write_text_atomically


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--preset", choices=("smoke", "cpu", "gpu"), default="cpu")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--logdir", default="tb_logs")
    parser.add_argument(
        "--run-name", default=None, help="default: the preset name (runs resume by name)"
    )
    parser.add_argument("--strategy", choices=STRATEGIES, default="auto")
    parser.add_argument("--cpu-devices", type=int, default=None)
    parser.add_argument(
        "--with-word2vec",
        action="store_true",
        help="also train word2vec and the LSTM started from it",
    )
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def planned_runs(args):
    """`(experiment, run name, extra flags)` for each model, in order."""
    name = args.run_name or args.preset
    pretrain_dir = Path(args.logdir) / "bert_pretrain" / name
    runs = [
        ("imdb_lstm", name, []),
        ("bert_imdb", f"{name}-scratch", ["--no-pretrain"]),
        ("bert_pretrain", name, []),
        ("bert_imdb", f"{name}-pretrained", ["--init-from", str(pretrain_dir)]),
    ]
    if args.with_word2vec:
        word2vec = ["--init-embeddings", str(Path(args.logdir) / "word2vec_imdb" / name)]
        runs += [
            ("word2vec_imdb", name, []),
            ("imdb_lstm", f"{name}-word2vec", word2vec),
            ("imdb_lstm", f"{name}-word2vec-frozen", [*word2vec, "--freeze-embeddings"]),
        ]
    return runs


def main(argv=None):
    args = parse_args(argv)
    shared = ["--preset", args.preset, "--logdir", args.logdir, "--strategy", args.strategy]
    for flag, value in (("--data-dir", args.data_dir), ("--cpu-devices", args.cpu_devices)):
        if value is not None:
            shared += [flag, str(value)]
    if args.quiet:
        shared.append("--quiet")
    results = []
    for experiment, run_name, extra in planned_runs(args):
        command = [
            sys.executable,
            "-m",
            f"experiments.{experiment}",
            *shared,
            "--run-name",
            run_name,
            *extra,
        ]
        print("$", " ".join(command[1:]), flush=True)
        if subprocess.run(command).returncode:
            sys.exit(
                f"compare_imdb: {experiment} ({run_name}) failed; "
                "run the same command again to resume it"
            )
        if experiment not in ("bert_pretrain", "word2vec_imdb"):  # steps towards a classifier
            results.append(
                json.loads((Path(args.logdir) / experiment / run_name / "results.json").read_text())
            )
    out_dir = Path(args.logdir) / "compare_imdb" / (args.run_name or args.preset)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = comparison_rows(results)
    table = markdown_table(rows)
    write_text_atomically(out_dir / "comparison.md", table + "\n")
    write_json_atomically(out_dir / "comparison.json", rows)
    print(table)
    return rows


if __name__ == "__main__":
    main()
