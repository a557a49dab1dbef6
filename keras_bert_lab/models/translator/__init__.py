"""The French-to-English Transformer: the model (`model`), greedy and beam decoding
(`decoding`), and the text-to-text wrapper with its tokenizers (`pipeline`)."""
