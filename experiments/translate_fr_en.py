"""Train the Transformer translator, French to English (Tatoeba fra-eng)."""

from keras_bert_lab.data.fra_eng import load_fra_eng
from keras_bert_lab.presets import TRANSLATE_FR_EN_PRESETS
from keras_bert_lab.tasks.run import Run, command_line, experiment_parser
from keras_bert_lab.tasks.translation import (
    build_translator,
    train_translator,
    transformer_optimizer,
    translation_vocabularies,
)

EXPERIMENT = "translate_fr_en"


def main(argv=None):
    parser = experiment_parser(__doc__, TRANSLATE_FR_EN_PRESETS)
    run = Run.start(EXPERIMENT, parser, TRANSLATE_FR_EN_PRESETS, argv)
    config = run.config
    data = load_fra_eng(
        run.args.data_dir,
        validation_fraction=config.validation_fraction,
        test_fraction=config.test_fraction,
        seed=run.args.seed,
    )
    french, english = translation_vocabularies(run, data)
    with run.strategy.scope():
        translator = build_translator(config, len(french), len(english))
        optimizer = transformer_optimizer(run)
    metrics, history, details = train_translator(
        run,
        data,
        translator=translator,
        optimizer=optimizer,
        source_vocabulary=french,
        target_vocabulary=english,
    )
    run.log_hparams(
        {
            name: value
            for name, value in metrics.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }
    )
    return run.write_results(
        metrics,
        data.source,
        extra={"model": "Transformer", "history": history} | details,
    )


if __name__ == "__main__":
    command_line(main)
