"""What every model with heads on a `BertEncoder` shares: the encoder, its
dtype policy, the inputs taken by name and a config that holds the encoder."""

import keras

from keras_bert_lab.models.bert.encoder import INPUT_NAMES, select_inputs


class BertTask(keras.Model):
    """The base of `BertPretrainer` and `BertClassifier`, as keras-hub's
    `Task` is that of its task models: heads on a `BertEncoder`.

    The model runs in the encoder's dtype policy, takes from a dict only its
    own inputs (`INPUT_NAMES`; extra keys such as labels are left out) and
    serialises the encoder within its config. Not a model to use alone: a
    subclass builds its heads, then passes its functional graph here.

    Args:
        encoder: a `BertEncoder`, kept as `encoder`.
        inputs: dict of the model's `keras.Input`s, keyed by `INPUT_NAMES`.
        outputs: the model's outputs, computed from `inputs`.
        **kwargs: `keras.Model` arguments such as `name`.
    """

    # The names of the model's inputs; a subclass with more inputs extends them.
    INPUT_NAMES = INPUT_NAMES

    def __init__(self, encoder, inputs, outputs, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.dtype_policy = encoder.dtype_policy
        self.encoder = encoder

    def call(self, inputs, training=None, mask=None):
        return super().call(
            select_inputs(inputs, self.INPUT_NAMES),
            training=training,
            mask=mask,
        )

    def get_config(self):
        """The subclasses add their own arguments to this config."""
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
        }

    @classmethod
    def from_config(cls, config):
        # Files saved before `prune_last_layer` existed ran the whole encoder.
        config = {"prune_last_layer": False} | config
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
