"""English sentences with the punctuation the spacing rules handle, shared by the text tests."""

ENGLISH = [
    "I'm sure.",
    "Don't worry, Tom's here!",
    'He said "hello" to me.',
    "It's well-known: 3.5 apples (cheap) cost $2.",
    "Where are you going? I'll come too; wait for me.",
    "The team won 10,000 dollars.",
]
CORPUS = ENGLISH * 20
