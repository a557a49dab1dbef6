"""One workflow per task, from a run folder to results, on one shared skeleton (`workflow`:
train, restore the best weights, evaluate, save, reload-check): classification
(`classification`), BERT pre-training (`pretraining`), word2vec (`word2vec`), translation
(`translation`); what a run starts from (`starting_points`: word2vec tables, BERT encoders);
and the flags and run folder every experiment shares (`run`)."""
