"""The network for a task: hidden layers from the config, an output head, loss and optimizer to match."""

from __future__ import annotations

from tapeapp._tf import keras
from tapeapp.config import TrainConfig

HEADS = {"binary": "sigmoid", "multiclass": "softmax", "regression": None}


def _activation(name: str) -> keras.layers.Layer:
    """LeakyReLU is a layer with the slope Keras 2 used (0.3), as in the tutorial's ``activation='LeakyReLU'``."""
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=0.3)
    return keras.layers.Activation(name)


def build_model(n_inputs: int, n_outputs: int, task: str, config: TrainConfig) -> keras.Model:
    """Weights are seeded per layer, so two runs started at once in one process never share random state."""
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    inputs = keras.Input(shape=(n_inputs,), name="features")
    x = inputs
    for i, width in enumerate(config.hidden, start=1):
        x = keras.layers.Dense(width, name=f"hidden_{i}", kernel_regularizer=regularizer,
                               kernel_initializer=keras.initializers.GlorotUniform(seed=config.seed * 100 + i))(x)
        x = _activation(config.activation)(x)
        if config.dropout > 0:
            x = keras.layers.Dropout(config.dropout, seed=config.seed * 100 + 50 + i)(x)
    outputs = keras.layers.Dense(n_outputs, activation=HEADS[task], name="output",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=config.seed * 100 + 99))(x)
    return keras.Model(inputs, outputs, name="mlp")


def make_loss(task: str) -> keras.losses.Loss:
    if task == "binary":
        return keras.losses.BinaryCrossentropy()
    if task == "multiclass":
        return keras.losses.SparseCategoricalCrossentropy()
    return keras.losses.MeanSquaredError()


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    lr = config.learning_rate
    if config.optimizer == "adam":
        return keras.optimizers.Adam(lr)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(lr)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=config.momentum)
    return keras.optimizers.RMSprop(lr)


def dense_layers(model: keras.Model) -> list[keras.layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
