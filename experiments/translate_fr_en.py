"""Train the Transformer translator, French to English (Tatoeba fra-eng)."""

from keras_bert_lab.data.fra_eng import load_fra_eng
from keras_bert_lab.presets import TRANSLATE_FR_EN_PRESETS
from keras_bert_lab.tasks.flags import experiment_parser
from keras_bert_lab.tasks.run import Run, command_line
from keras_bert_lab.tasks.translation import (
    build_translator,
    train_translator,
    transformer_optimizer,
    translation_vocabularies,
)

EXPERIMENT = "translate_fr_en"


def build_parser():
    return experiment_parser(__doc__, TRANSLATE_FR_EN_PRESETS)


def main(argv=None):
    run = Run.start(EXPERIMENT, build_parser(), TRANSLATE_FR_EN_PRESETS, argv)
    config = run.config
    data = run.load_data(
        load_fra_eng,
        validation_fraction=config.validation_fraction,
        test_fraction=config.test_fraction,
        split=config.split,
    )
    french, english = translation_vocabularies(run, data)
    train_steps = config.epochs * run.steps_per_epoch(len(data.train[: config.max_train_pairs]))
    with run.strategy.scope():
        translator = build_translator(config, len(french), len(english))
        optimizer = transformer_optimizer(run, train_steps)
    metrics, history, details = train_translator(
        run,
        data,
        translator=translator,
        optimizer=optimizer,
        source_vocabulary=french,
        target_vocabulary=english,
    )
    return run.finish(metrics, model="Transformer", history=history, **details)


if __name__ == "__main__":
    command_line(main)
