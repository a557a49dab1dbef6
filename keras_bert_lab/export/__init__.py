"""Models that take raw strings (`raw_text`, saved as `.keras`) and their SavedModel signatures
(`saved_model`)."""
