"""Train, evaluate, save and reload an IMDB classifier: the workflow shared
by the LSTM baseline and BERT fine-tuning."""

import keras
import numpy as np

from keras_bert_lab.data.pipelines import classification_dataset
from keras_bert_lab.export.raw_text import predict_texts, raw_text_classifier
from keras_bert_lab.export.saved_model import export_serving_signature
from keras_bert_lab.training import objectives
from keras_bert_lab.training.loop import DistributedTrainer
from keras_bert_lab.utils import atomic_directory, save_keras_atomically


def binary_metrics(labels, probabilities):
    """Accuracy and F1 of the positive class (label 1)."""
    predictions = np.argmax(probabilities, axis=-1)
    labels = np.asarray(labels)
    true_positives = np.sum((predictions == 1) & (labels == 1))
    precision = true_positives / max(np.sum(predictions == 1), 1)
    recall = true_positives / max(np.sum(labels == 1), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {
        "accuracy": float(np.mean(predictions == labels)),
        "f1": float(f1),
        "examples": int(labels.size),
    }


def train_text_classifier(run, data, *, classifier, optimizer, tokenizer, bert_inputs, bucket=True):
    """Trains `classifier` on `data.train`, keeps the weights with the lowest
    validation loss, evaluates on all of `data.test` from raw strings, saves
    and reloads the raw-string model, and checks the reloaded model gives
    identical test metrics.

    Args:
        run: the `experiment.Run` (strategy, config, run folder).
        data: `imdb.ImdbData`.
        classifier: a model mapping token-id features to logits, built under
            `run.strategy.scope()`.
        optimizer: built under the same scope.
        tokenizer: a `keras_hub.tokenizers.WordPieceTokenizer`, saved with the
            model.
        bert_inputs: `[CLS] text [SEP]` with segment ids and padding mask.

    Returns:
        `(metrics, history)`: metrics dict and the per-epoch history.
    """
    config = run.config
    train_texts, train_labels = data.train.texts, data.train.labels
    if config.max_train_examples:
        train_texts = train_texts[: config.max_train_examples]
        train_labels = train_labels[: config.max_train_examples]

    def dataset(texts, labels, shuffle):
        return classification_dataset(
            texts,
            labels,
            tokenizer,
            batch_size=run.global_batch_size,
            sequence_length=config.sequence_length,
            shuffle=shuffle,
            seed=run.args.seed,
            bucket=bucket,
            bert_inputs=bert_inputs,
            tail_length=config.tail_length,
        )

    trainer = DistributedTrainer(
        classifier,
        optimizer,
        objectives.classification,
        strategy=run.strategy,
        run_dir=run.run_dir,
        jit_compile=run.args.jit_compile,
        verbose=not run.args.quiet,
        checkpoint_every_steps=run.args.checkpoint_every,
    )
    history = trainer.fit(
        dataset(train_texts, train_labels, shuffle=True),
        epochs=config.epochs,
        steps_per_epoch=run.steps_per_epoch(len(train_texts)),
        validation_dataset=dataset(data.validation.texts, data.validation.labels, shuffle=False),
    )
    trainer.restore_best_weights()
    validation = trainer.evaluate(
        dataset(data.validation.texts, data.validation.labels, shuffle=False)
    )

    serving = raw_text_classifier(
        classifier,
        tokenizer,
        sequence_length=config.sequence_length,
        bert_inputs=bert_inputs,
        tail_length=config.tail_length,
    )
    test = binary_metrics(data.test.labels, predict_texts(serving, data.test.texts))
    model_path = run.run_dir / "model.keras"
    if run.chief:
        save_keras_atomically(serving, model_path)
        with atomic_directory(run.run_dir / "saved_model") as folder:
            export_serving_signature(serving, folder)
        reloaded = keras.saving.load_model(model_path)
        reloaded_test = binary_metrics(data.test.labels, predict_texts(reloaded, data.test.texts))
        if reloaded_test != test:
            raise RuntimeError(
                f"{model_path}: reloaded model gives {reloaded_test}, expected {test}"
            )
    metrics = {
        "test_accuracy": test["accuracy"],
        "test_f1": test["f1"],
        "test_examples": test["examples"],
        "validation_accuracy": validation["accuracy"],
        "validation_loss": validation["loss"],
        "parameters": int(classifier.count_params()),
        "train_examples_per_second": float(
            np.mean([epoch["train_examples_per_second"] for epoch in history])
        )
        if history
        else None,
        "optimizer_steps": int(trainer.step.numpy()),
        "epochs_trained_this_invocation": len(history),
    }
    return metrics, history
