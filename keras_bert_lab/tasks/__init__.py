"""One workflow per task, from a run folder to results: classification (`classification`),
BERT pre-training (`pretraining`), translation (`translation`), and the flags and run folder
every experiment shares (`run`)."""
