"""Train, evaluate, save and reload an IMDB classifier: the workflow shared by the
bag-of-n-grams baseline (`train_ngram_classifier`), the LSTM baseline (`train_lstm_classifier`)
and BERT fine-tuning (`fine_tune_bert`)."""

import keras
import numpy as np

from keras_bert_lab.data.pipelines import classification_dataset, string_classification_dataset
from keras_bert_lab.export.raw_text import predict_texts, raw_text_classifier
from keras_bert_lab.export.saved_model import export_serving_signature
from keras_bert_lab.models.bert import BertClassifier
from keras_bert_lab.models.lstm import lstm_classifier_from_preset
from keras_bert_lab.models.ngrams import build_ngram_classifier
from keras_bert_lab.tasks.workflow import run_task, task_trainer
from keras_bert_lab.text.vocabulary import make_wordpiece_tokenizer, train_word_vocabulary
from keras_bert_lab.training import objectives
from keras_bert_lab.utils import atomic_directory, save_keras_atomically

MODEL_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"


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


def train_text_classifier(run, data, *, classifier, optimizer, dataset, serving_model):
    """Trains `classifier` on `data.train`, keeps the weights with the lowest
    validation loss, evaluates on all of `data.test` from raw strings, saves
    and reloads the raw-string model, and checks the reloaded model gives the
    same probabilities on a sample of the test reviews (`check_reloaded_classifier`,
    `workflow.run_task`).

    Args:
        run: the `tasks.run.Run` (strategy, config, run folder).
        data: `imdb.ImdbData`.
        classifier: a model mapping the batches' features to logits, built under
            `run.strategy.scope()`.
        optimizer: built under the same scope.
        dataset: `dataset(texts, labels, shuffle)` -> `tf.data` batches `(features, labels)`
            of the global batch size (`token_id_batches`, or raw strings).
        serving_model: `serving_model()` -> the `RawTextClassifier` saved and tested.

    Returns:
        `(metrics, history)`: metrics dict and the per-epoch history. The test
        metrics are the chief's (other workers do not test).
    """
    config = run.config
    train_texts, train_labels = data.train.texts, data.train.labels
    if config.max_train_examples:
        train_texts = train_texts[: config.max_train_examples]
        train_labels = train_labels[: config.max_train_examples]

    def test(serving):
        probabilities = predict_texts(serving, data.test.texts, label="test scoring")
        return binary_metrics(data.test.labels, probabilities)

    outcome = run_task(
        run,
        task_trainer(run, classifier, optimizer, objectives.classification),
        dataset(train_texts, train_labels, shuffle=True),
        steps_per_epoch=run.steps_per_epoch(len(train_texts)),
        validation_dataset=dataset(data.validation.texts, data.validation.labels, shuffle=False),
        serving_model=serving_model,
        test=test,
        save=lambda serving: save_raw_text_classifier(run.run_dir, serving),
        check_reloaded=lambda serving, _: check_reloaded_classifier(
            run.run_dir, serving, data.test.texts
        ),
    )
    metrics = {f"test_{name}": value for name, value in outcome.test.items()}
    metrics |= {
        "validation_accuracy": outcome.validation["accuracy"],
        "validation_loss": outcome.validation["loss"],
    }
    return metrics | outcome.training, outcome.history


def train_token_id_classifier(run, data, *, classifier, optimizer, tokenizer, bert_inputs):
    """`train_text_classifier` for a classifier of token ids: batches of similar length from
    `tokenizer` (`pipelines.classification_dataset`), served with the same tokenizer.

    Args:
        tokenizer: a `keras_hub.tokenizers.WordPieceTokenizer`, saved with the model.
        bert_inputs: `[CLS] text [SEP]` with segment ids and padding mask.
    """
    config = run.config

    def dataset(texts, labels, shuffle):
        return classification_dataset(
            texts,
            labels,
            tokenizer,
            batch_size=run.global_batch_size,
            sequence_length=config.sequence_length,
            shuffle=shuffle,
            seed=run.args.seed,
            bert_inputs=bert_inputs,
            tail_length=config.tail_length,
        )

    def serving_model():
        return raw_text_classifier(
            classifier,
            tokenizer,
            sequence_length=config.sequence_length,
            bert_inputs=bert_inputs,
            tail_length=config.tail_length,
        )

    return train_text_classifier(
        run,
        data,
        classifier=classifier,
        optimizer=optimizer,
        dataset=dataset,
        serving_model=serving_model,
    )


def train_ngram_classifier(run, data):
    """Builds the bag-of-n-grams classifier of `run.config` (`models.ngrams`; its n-gram
    vocabulary and scales from the training reviews) and trains it on raw-string batches
    (`train_text_classifier`).

    Returns:
        `(metrics, history)`.
    """
    config = run.config
    train_texts = data.train.texts[: config.max_train_examples or None]
    with run.strategy.scope():
        classifier = build_ngram_classifier(
            train_texts,
            data.train.labels[: len(train_texts)],
            max_tokens=config.max_tokens,
            ngrams=config.ngrams,
            weighting=config.weighting,
            dropout=config.dropout,
        )
        optimizer = run.optimizer(keras.optimizers.Adam(run.learning_rate))

    def dataset(texts, labels, shuffle):
        return string_classification_dataset(
            texts, labels, batch_size=run.global_batch_size, shuffle=shuffle, seed=run.args.seed
        )

    return train_text_classifier(
        run,
        data,
        classifier=classifier,
        optimizer=optimizer,
        dataset=dataset,
        serving_model=lambda: raw_text_classifier(classifier, None, bert_inputs=False),
    )


def save_raw_text_classifier(run_dir, serving):
    """The raw-string classifier as `model.keras` and as a SavedModel (`saved_model/`), both
    written atomically."""
    save_keras_atomically(serving, run_dir / MODEL_FILE)
    with atomic_directory(run_dir / SAVED_MODEL_DIR) as folder:
        export_serving_signature(serving, folder)


RELOAD_CHECK_TEXTS = 1024
"""How many texts, evenly spaced over the test set, the reload check scores: a sample, since
scoring every test review again would take as long as testing."""


def check_reloaded_classifier(run_dir, serving, texts):
    """Raises unless the saved `model.keras`, reloaded, gives `serving`'s probabilities (to
    1e-6) on `RELOAD_CHECK_TEXTS` of `texts`, evenly spaced."""
    model_path = run_dir / MODEL_FILE
    sample = list(texts[:: max(1, len(texts) // RELOAD_CHECK_TEXTS)])
    expected = predict_texts(serving, sample, label="reload check")
    reloaded = predict_texts(keras.saving.load_model(model_path), sample, label="reload check")
    difference = float(np.max(np.abs(reloaded - expected)))
    if difference > 1e-6:
        raise RuntimeError(
            f"{model_path}: the reloaded model's probabilities differ from the trained one's "
            f"by up to {difference:.3g} on {len(sample)} test reviews"
        )


def train_lstm_classifier(run, data, word2vec=None, freeze_embeddings=False):
    """Builds and trains the bidirectional LSTM classifier of `run.config`
    (`train_text_classifier`).

    Args:
        run: the `tasks.run.Run`.
        data: `imdb.ImdbData`.
        word2vec: None for an embedding table learned from scratch over a word vocabulary of
            `data.train.texts` (cached in the run folder); else `(vectors, tokenizer)` of a
            word2vec run (`starting_points.load_word2vec`): the table starts from `vectors`
            `[vocabulary_size, dim]`, whose size replaces the preset's.
        freeze_embeddings: keep the embedding table fixed.

    Returns:
        `(metrics, history)`.
    """
    config = run.config
    if word2vec is None:
        vocabulary = train_word_vocabulary(
            data.train.texts,
            config.vocabulary_size,
            lowercase=True,
            cache_dir=run.run_dir / "vocabulary",
        )
        tokenizer = make_wordpiece_tokenizer(vocabulary, lowercase=True)
        vocabulary_size, embedding_dim = tokenizer.vocabulary_size(), config.embedding_dim
        initializer = "uniform"
    else:
        vectors, tokenizer = word2vec
        vocabulary_size, embedding_dim = vectors.shape
        initializer = keras.initializers.Constant(vectors)
    with run.strategy.scope():
        classifier = lstm_classifier_from_preset(
            config,
            vocabulary_size=vocabulary_size,
            embedding_dim=embedding_dim,
            embeddings_initializer=initializer,
            trainable_embeddings=not freeze_embeddings,
        )
        optimizer = run.optimizer(keras.optimizers.Adam(run.learning_rate))
    return train_token_id_classifier(
        run,
        data,
        classifier=classifier,
        optimizer=optimizer,
        tokenizer=tokenizer,
        bert_inputs=False,
    )


def fine_tune_bert(run, data, encoder, tokenizer):
    """Trains a `BertClassifier` on `encoder` (`starting_points.fine_tuning_encoder`) with
    AdamW, warm-up and the preset's decay (`train_text_classifier`).

    Returns:
        `(metrics, history)`.
    """
    config = run.config
    num_train = len(data.train.texts[: config.max_train_examples or None])
    total_steps = config.epochs * run.steps_per_epoch(num_train)
    with run.strategy.scope():
        classifier = BertClassifier(encoder, dropout=config.dropout)
        optimizer = run.bert_optimizer(total_steps)
    return train_token_id_classifier(
        run, data, classifier=classifier, optimizer=optimizer, tokenizer=tokenizer, bert_inputs=True
    )
