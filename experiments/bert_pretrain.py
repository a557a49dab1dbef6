"""Pre-train BERT (MLM + NSP) on IMDB unlabelled + train reviews."""

from keras_bert_lab.data.imdb import load_imdb
from keras_bert_lab.presets import BERT_PRETRAIN_PRESETS
from keras_bert_lab.training.experiment import Run, command_line, experiment_parser
from keras_bert_lab.training.pretraining import pretrain_bert

EXPERIMENT = "bert_pretrain"


def main(argv=None):
    parser = experiment_parser(__doc__, BERT_PRETRAIN_PRESETS)
    run = Run.start(EXPERIMENT, parser, BERT_PRETRAIN_PRESETS, argv)
    data = load_imdb(run.args.data_dir, seed=run.args.seed)
    metrics, history = pretrain_bert(run, data)
    run.log_hparams(metrics)
    return run.write_results(
        metrics, data.source,
        extra={"model": f"BERT-{run.config.config_name} MLM+NSP", "history": history},
    )


if __name__ == "__main__":
    command_line(main)
