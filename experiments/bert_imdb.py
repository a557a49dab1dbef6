"""Fine-tune BERT on IMDB sentiment: from a `bert_pretrain` run, from a
keras-hub BERT preset (a name, or a folder in Keras or Hugging Face format),
or from scratch (`--no-pretrain`)."""

from pathlib import Path

from keras_bert_lab.analysis.loading import LoadError, load_bert
from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.models.bert import BertClassifier, BertEncoder
from keras_bert_lab.presets import BERT_IMDB_PRESETS
from keras_bert_lab.tasks.classification import train_text_classifier
from keras_bert_lab.tasks.pretraining import ENCODER_FILE
from keras_bert_lab.tasks.run import Run, command_line, experiment_parser
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_wordpiece_vocabulary
from keras_bert_lab.training.optimizers import bert_adamw

EXPERIMENT = "bert_imdb"


def main(argv=None):
    parser = experiment_parser(__doc__, BERT_IMDB_PRESETS)
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--init-from",
        default=None,
        metavar="RUN_DIR_OR_PRESET",
        help="a bert_pretrain run folder (default: "
        "<logdir>/bert_pretrain/<preset>), or a keras-hub BERT preset: "
        "a name such as bert_tiny_en_uncased (downloaded) or a folder in "
        "Keras or Hugging Face format; its own vocabulary is used",
    )
    start.add_argument("--no-pretrain", action="store_true", help="train the encoder from scratch")
    run = Run.start(EXPERIMENT, parser, BERT_IMDB_PRESETS, argv)
    config, args = run.config, run.args
    data = load_imdb(args.data_dir, seed=args.seed)
    num_train = len(data.train.texts[: config.max_train_examples or None])
    total_steps = config.epochs * run.steps_per_epoch(num_train)

    with run.strategy.scope():
        if args.no_pretrain:
            vocabulary = train_wordpiece_vocabulary(
                data.train.texts,
                config.vocabulary_size,
                lowercase=True,
                cache_dir=run.run_dir / "vocabulary",
            )
            tokenizer = make_wordpiece_tokenizer(vocabulary, lowercase=True)
            encoder = BertEncoder.from_config_name(
                config.config_name,
                len(vocabulary),
                max_sequence_length=config.sequence_length,
            )
            start_point = "scratch"
        else:
            start_point = args.init_from or str(Path(args.logdir) / "bert_pretrain" / args.preset)
            if args.init_from is None and not (Path(start_point) / ENCODER_FILE).exists():
                parser.error(
                    f"{Path(start_point) / ENCODER_FILE} not found: run `python -m "
                    "experiments.bert_pretrain` first, or pass --init-from or --no-pretrain"
                )
            try:
                encoder, tokenizer = load_bert(start_point)
            except LoadError as error:
                parser.error(f"--init-from: {error}")
            if encoder.max_sequence_length < config.sequence_length:
                parser.error(
                    f"--init-from: {start_point} takes at most "
                    f"{encoder.max_sequence_length} tokens; lower --set "
                    f"sequence_length (now {config.sequence_length})"
                )
        classifier = BertClassifier(encoder, dropout=config.dropout)
        optimizer = run.optimizer(
            bert_adamw(
                run.learning_rate,
                total_steps,
                config.warmup_fraction,
                config.weight_decay,
            )
        )
    metrics, history = train_text_classifier(
        run,
        data,
        classifier=classifier,
        optimizer=optimizer,
        tokenizer=tokenizer,
        bert_inputs=True,
    )
    run.log_hparams(metrics)
    name = f"BERT-{encoder.num_layers}L/{encoder.hidden_dim}H"
    return run.write_results(
        metrics,
        data.source,
        extra={
            "model": name + (" from scratch" if args.no_pretrain else " pre-trained"),
            "start_point": start_point,
            "history": history,
        },
    )


if __name__ == "__main__":
    command_line(main)
