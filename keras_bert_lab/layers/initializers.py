"""Giving each sub-layer its own initializer."""

import keras


def clone_initializer(initializer):
    """A fresh copy of `initializer`.

    A Keras 3 initializer instance returns the same values every time it is
    called with the same shape, so sharing one between the query, key and
    value projections would start them identical. Each sub-layer gets its
    own copy instead (an unseeded copy draws its own seed).
    """
    if not isinstance(initializer, keras.initializers.Initializer):
        return initializer
    return initializer.__class__.from_config(initializer.get_config())
