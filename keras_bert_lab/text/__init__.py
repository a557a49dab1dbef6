"""Text and token ids: the reserved tokens (`special_tokens`), vocabularies and tokenizers
(`vocabulary`), ids back to text (`detokenize`) and ids into model inputs (`packing`). The one
home of every id and spacing rule."""
