"""Train skip-gram word2vec (negative sampling) on IMDB train + unlabelled reviews."""

from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.presets import WORD2VEC_IMDB_PRESETS
from keras_bert_lab.tasks.run import Run, command_line, experiment_parser
from keras_bert_lab.tasks.word2vec import train_word2vec

EXPERIMENT = "word2vec_imdb"


def main(argv=None):
    parser = experiment_parser(__doc__, WORD2VEC_IMDB_PRESETS)
    run = Run.start(EXPERIMENT, parser, WORD2VEC_IMDB_PRESETS, argv)
    data = load_imdb(run.args.data_dir, seed=run.args.seed)
    metrics, history, nearest = train_word2vec(run, data)
    run.log_hparams({k: v for k, v in metrics.items() if v is not None})
    return run.write_results(
        metrics,
        data.source,
        extra={
            "model": "word2vec skip-gram, negative sampling",
            "history": history,
            "nearest_words": nearest,
        },
    )


if __name__ == "__main__":
    command_line(main)
