"""Pre-train BERT with MLM + NSP on IMDB's unlabelled and training reviews
(never the test reviews), and save the encoder with its vocabulary."""

import os
from pathlib import Path

import keras
import numpy as np

from keras_bert_lab.data.bert_pretraining import make_pretraining_examples
from keras_bert_lab.data.pipelines import pretraining_dataset
from keras_bert_lab.models.bert import BertEncoder, BertPretrainer, extend_positions
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_wordpiece_vocabulary
from keras_bert_lab.training import objectives
from keras_bert_lab.training.loop import DistributedTrainer
from keras_bert_lab.training.optimizers import bert_adamw
from keras_bert_lab.utils import save_keras_atomically, write_json_atomically, write_text_atomically

ENCODER_FILE = "encoder.keras"
VOCABULARY_FILE = "vocabulary.txt"


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
    # Per-process name: every worker of a cluster writes the same cache.
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    np.savez(partial, **examples)
    partial.replace(path)
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


def pretrain_bert(run, data, init_from=None):
    """Trains `BertPretrainer` as configured by `run.config` on `data`
    (an `ImdbData`); saves `encoder.keras` and `vocabulary.txt` in the run
    folder. Returns `(metrics, history)`.

    `init_from`: an earlier `bert_pretrain` run folder to go on from, with
    its vocabulary and its encoder, widened to `config.sequence_length`
    positions if it has fewer (`extend_positions`); BERT's second phase of
    pre-training on longer sequences. Its MLM and NSP heads start afresh
    (only the encoder is saved). The document split is the seed's, so use
    the earlier run's seed to keep its validation reviews held out.
    """
    config = run.config
    documents = list(data.unsup) + list(data.train.texts)
    if config.max_documents:
        documents = documents[: config.max_documents]
    train_documents, validation_documents = split_documents(
        documents, config.validation_fraction, run.args.seed
    )
    if init_from is None:
        vocabulary = train_wordpiece_vocabulary(
            train_documents,
            config.vocabulary_size,
            lowercase=True,
            cache_dir=run.run_dir / "vocabulary",
        )
    else:
        initial_encoder, vocabulary = load_pretrained_encoder(init_from)
    tokenizer = make_wordpiece_tokenizer(vocabulary, lowercase=True)
    examples = {
        split: cached_examples(
            run.run_dir / f"{split}_examples.npz",
            split_documents_,
            tokenizer,
            config.sequence_length,
            run.args.seed,
        )
        for split, split_documents_ in (
            ("train", train_documents),
            ("validation", validation_documents),
        )
    }

    def dataset(split, shuffle):
        return pretraining_dataset(
            examples[split],
            vocabulary_size=len(vocabulary),
            batch_size=run.global_batch_size,
            shuffle=shuffle,
            seed=run.args.seed,
            max_predictions=config.max_predictions,
        )

    steps_per_epoch = run.steps_per_epoch(len(examples["train"]["nsp_labels"]))
    with run.strategy.scope():
        if init_from is None:
            encoder = BertEncoder.from_config_name(
                config.config_name,
                len(vocabulary),
                max_sequence_length=config.sequence_length,
            )
        else:
            encoder = extend_positions(
                initial_encoder,
                max(config.sequence_length, initial_encoder.max_sequence_length),
            )
        pretrainer = BertPretrainer(encoder)
        optimizer = run.optimizer(
            bert_adamw(
                run.learning_rate,
                config.epochs * steps_per_epoch,
                config.warmup_fraction,
                config.weight_decay,
            )
        )
    trainer = DistributedTrainer(
        pretrainer,
        optimizer,
        objectives.bert_pretraining,
        strategy=run.strategy,
        run_dir=run.run_dir,
        jit_compile=run.args.jit_compile,
        verbose=not run.args.quiet,
        checkpoint_every_steps=run.args.checkpoint_every,
    )
    history = trainer.fit(
        dataset("train", shuffle=True),
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_dataset=dataset("validation", shuffle=False),
    )
    trainer.restore_best_weights()
    validation = trainer.evaluate(dataset("validation", shuffle=False))

    if run.chief:
        save_keras_atomically(encoder, run.run_dir / ENCODER_FILE)
        write_text_atomically(run.run_dir / VOCABULARY_FILE, "\n".join(vocabulary) + "\n")
        reloaded, reloaded_vocabulary = load_pretrained_encoder(run.run_dir)
        batch = {
            key: examples["validation"][key][:8]
            for key in ("token_ids", "segment_ids", "padding_mask")
        }
        expected = encoder(batch)["sequence_output"]
        if reloaded_vocabulary != vocabulary or not np.array_equal(
            reloaded(batch)["sequence_output"], expected
        ):
            raise RuntimeError(f"{run.run_dir / ENCODER_FILE}: reload differs")
        write_json_atomically(
            run.run_dir / "examples.json",
            {
                "train_examples": len(examples["train"]["nsp_labels"]),
                "validation_examples": len(examples["validation"]["nsp_labels"]),
                "train_documents": len(train_documents),
                "validation_documents": len(validation_documents),
            },
        )
    metrics = {f"validation_{name}": value for name, value in validation.items()}
    metrics |= {
        "parameters": int(pretrainer.count_params()),
        "train_examples": len(examples["train"]["nsp_labels"]),
        "optimizer_steps": int(trainer.step.numpy()),
        "train_examples_per_second": float(
            np.mean([epoch["train_examples_per_second"] for epoch in history])
        )
        if history
        else None,
    }
    return metrics, history
