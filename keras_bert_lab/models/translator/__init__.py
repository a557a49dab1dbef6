"""The French-to-English Transformer: the model (`model`), greedy and beam decoding
(`decoding`)."""
