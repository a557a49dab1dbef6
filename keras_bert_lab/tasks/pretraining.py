"""Pre-train BERT with MLM + NSP on IMDB's unlabelled and training reviews
(never the test reviews), and save the encoder with its vocabulary."""

import functools
import hashlib
from pathlib import Path

import keras
import numpy as np

from keras_bert_lab.data.bert_pretraining import make_pretraining_examples
from keras_bert_lab.data.imdb import unlabelled_texts
from keras_bert_lab.data.pipelines import pretraining_dataset
from keras_bert_lab.models.bert import BertEncoder, BertPretrainer, extend_positions
from keras_bert_lab.tasks.workflow import run_task, task_trainer
from keras_bert_lab.text.vocabulary import (
    make_wordpiece_tokenizer,
    texts_digest,
    train_wordpiece_vocabulary,
)
from keras_bert_lab.training import objectives
from keras_bert_lab.utils import (
    atomic_path,
    save_keras_atomically,
    write_json_atomically,
    write_text_atomically,
)

ENCODER_FILE = "encoder.keras"
VOCABULARY_FILE = "vocabulary.txt"
SPLITS = ("train", "validation")
# Part of the examples' cache key: bump it when `make_pretraining_examples` changes its output.
EXAMPLES_VERSION = 1


def split_documents(documents, validation_fraction, seed):
    """Shuffles `documents` with `seed` and holds out a share for validation."""
    order = np.random.default_rng(seed).permutation(len(documents))
    held_out = max(2, int(len(documents) * validation_fraction))
    validation = [documents[i] for i in order[:held_out]]
    train = [documents[i] for i in order[held_out:]]
    return train, validation


def cached_examples(path, documents, tokenizer, sequence_length, seed):
    """`make_pretraining_examples`, cached as `.npz` (written atomically)
    so that a resumed run does not rebuild them."""
    path = Path(path)
    if path.exists():
        with np.load(path) as arrays:
            return {key: arrays[key] for key in arrays.files}
    examples = make_pretraining_examples(
        documents, tokenizer, sequence_length=sequence_length, seed=seed
    )
    # The temporary name is per process: every worker of a cluster writes the same cache.
    with atomic_path(path, suffix=".npz") as partial:
        np.savez(partial, **examples)
    return examples


def load_pretrained_encoder(run_dir):
    """The encoder and vocabulary a `bert_pretrain` run saved in `run_dir`."""
    run_dir = Path(run_dir)
    encoder_path = run_dir / ENCODER_FILE
    if not encoder_path.exists():
        raise FileNotFoundError(
            f"{encoder_path} not found: run `python -m experiments.bert_pretrain` "
            "first, or pass --no-pretrain"
        )
    vocabulary = (run_dir / VOCABULARY_FILE).read_text(encoding="utf-8").split("\n")
    return keras.saving.load_model(encoder_path), vocabulary[:-1]


def pretraining_documents(run, data):
    """`({"train": documents, "validation": documents}, removed)`: IMDB's unlabelled then
    training reviews less the held-out ones (`data.imdb.unlabelled_texts`; `removed` of
    them), at most `config.max_documents`, split with the run's seed."""
    config = run.config
    documents, removed = unlabelled_texts(data)
    if config.max_documents:
        documents = documents[: config.max_documents]
    splits = split_documents(documents, config.validation_fraction, run.args.seed)
    return dict(zip(SPLITS, splits)), removed


def examples_cache_path(cache_dir, split, documents, vocabulary, sequence_length, seed):
    """`<cache_dir>/<split>-<key>.npz`, the key a hash of everything the examples depend on:
    the documents, the vocabulary, the length, the seed and the version of the example
    builder, so that runs of one corpus and configuration share one file, and a change of
    any of them builds anew."""
    key = hashlib.sha256(
        repr(
            (
                texts_digest(documents),
                texts_digest(vocabulary),
                sequence_length,
                seed,
                EXAMPLES_VERSION,
            )
        ).encode("utf-8")
    ).hexdigest()[:16]
    return Path(cache_dir) / f"{split}-{key}.npz"


def pretraining_examples(run, documents, vocabulary):
    """`{split: examples}` of `pretraining_documents`, cached outside the run folder, under
    `<logdir>/cache/bert_pretraining/` (`examples_cache_path`): they are built once per corpus
    and configuration, not copied into every run."""
    tokenizer = make_wordpiece_tokenizer(vocabulary, lowercase=True)
    cache_dir = Path(run.args.logdir) / "cache" / "bert_pretraining"
    examples = {}
    for split in SPLITS:
        path = examples_cache_path(
            cache_dir,
            split,
            documents[split],
            vocabulary,
            run.config.sequence_length,
            run.args.seed,
        )
        examples[split] = cached_examples(
            path, documents[split], tokenizer, run.config.sequence_length, run.args.seed
        )
    return examples


def build_pretrainer(run, vocabulary, initial_encoder, total_steps):
    """`(pretrainer, optimizer)` under `run.strategy.scope()`: a new encoder of the preset's
    size, dropout and block layout, or `initial_encoder` with at least
    `config.sequence_length` positions; fresh MLM and NSP heads; AdamW with warm-up and
    the preset's decay over `total_steps`."""
    config = run.config
    with run.strategy.scope():
        if initial_encoder is None:
            encoder = BertEncoder.from_config_name(
                config.config_name,
                len(vocabulary),
                max_sequence_length=config.sequence_length,
                dropout=config.dropout,
                normalize_first=config.normalize_first,
            )
        else:
            encoder = extend_positions(
                initial_encoder,
                max(config.sequence_length, initial_encoder.max_sequence_length),
            )
        pretrainer = BertPretrainer(encoder)
        optimizer = run.bert_optimizer(total_steps)
    return pretrainer, optimizer


def save_encoder(run_dir, encoder, vocabulary):
    """`encoder.keras` and `vocabulary.txt` in `run_dir`, each written atomically."""
    save_keras_atomically(encoder, run_dir / ENCODER_FILE)
    write_text_atomically(run_dir / VOCABULARY_FILE, "\n".join(vocabulary) + "\n")


def check_reloaded_encoder(run_dir, encoder, vocabulary, examples):
    """Raises unless the saved encoder and vocabulary reload to the same vocabulary and the
    same `sequence_output` on the first validation examples."""
    reloaded, reloaded_vocabulary = load_pretrained_encoder(run_dir)
    batch = {key: examples[key][:8] for key in ("token_ids", "segment_ids", "padding_mask")}
    expected = encoder(batch)["sequence_output"]
    if reloaded_vocabulary != vocabulary or not np.array_equal(
        reloaded(batch)["sequence_output"], expected
    ):
        raise RuntimeError(f"{run_dir / ENCODER_FILE}: reload differs")


def pretrain_bert(run, data, init_from=None):
    """Trains `BertPretrainer` as configured by `run.config` on `data`
    (an `ImdbData`); saves `encoder.keras`, `vocabulary.txt` and the example
    counts (`examples.json`) in the run folder. Returns `(metrics, history)`.

    `init_from`: an earlier `bert_pretrain` run folder to go on from, with
    its vocabulary and its encoder, widened to `config.sequence_length`
    positions if it has fewer (`extend_positions`); BERT's second phase of
    pre-training on longer sequences. Its MLM and NSP heads start afresh
    (only the encoder is saved). The document split is the seed's, so use
    the earlier run's seed to keep its validation reviews held out.
    """
    config = run.config
    documents, removed = pretraining_documents(run, data)
    if init_from is None:
        initial_encoder = None
        vocabulary = train_wordpiece_vocabulary(
            documents["train"],
            config.vocabulary_size,
            lowercase=True,
            cache_dir=run.run_dir / "vocabulary",
        )
    else:
        initial_encoder, vocabulary = load_pretrained_encoder(init_from)
    examples = pretraining_examples(run, documents, vocabulary)
    counts = (
        {f"{split}_examples": len(examples[split]["nsp_labels"]) for split in SPLITS}
        | {f"{split}_documents": len(documents[split]) for split in SPLITS}
        | {"held_out_reviews_removed": removed}
    )

    def dataset(split, shuffle):
        return pretraining_dataset(
            examples[split],
            vocabulary_size=len(vocabulary),
            batch_size=run.global_batch_size,
            shuffle=shuffle,
            seed=run.args.seed,
            max_predictions=config.max_predictions,
        )

    steps_per_epoch = run.steps_per_epoch(counts["train_examples"])
    pretrainer, optimizer = build_pretrainer(
        run, vocabulary, initial_encoder, config.epochs * steps_per_epoch
    )

    def save(pretrainer):
        save_encoder(run.run_dir, pretrainer.encoder, vocabulary)
        write_json_atomically(run.run_dir / "examples.json", counts)

    def check_reloaded(pretrainer, _):
        check_reloaded_encoder(run.run_dir, pretrainer.encoder, vocabulary, examples["validation"])

    objective = functools.partial(objectives.bert_pretraining, nsp=config.nsp)
    outcome = run_task(
        run,
        task_trainer(run, pretrainer, optimizer, objective),
        dataset("train", shuffle=True),
        steps_per_epoch=steps_per_epoch,
        validation_dataset=dataset("validation", shuffle=False),
        save=save,
        check_reloaded=check_reloaded,
    )
    metrics = {f"validation_{name}": value for name, value in outcome.validation.items()}
    metrics |= outcome.training | {
        "train_examples": counts["train_examples"],
        "held_out_reviews_removed": removed,
    }
    return metrics, outcome.history
