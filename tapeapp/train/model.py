"""The network for a task: hidden layers from the config, an output head, loss and optimizer to match."""

from __future__ import annotations

from tapeapp._tf import keras, tf
from tapeapp.config import TrainConfig

HEADS = {"binary": "sigmoid", "multiclass": "softmax", "regression": None}


def _activation(name: str) -> keras.layers.Layer:
    """LeakyReLU is a layer with the slope Keras 2 used (0.3), as in the tutorial's ``activation='LeakyReLU'``."""
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=0.3)
    return keras.layers.Activation(name)


def _seeds(config: TrainConfig) -> dict[str, int]:
    """The seed of every layer's starting weights (and of every dropout's random draws), from the run's seed."""
    seeds = {f"hidden_{i}": config.seed * 100 + i for i in range(1, len(config.hidden) + 1)}
    seeds.update({f"dropout_{i}": config.seed * 100 + 50 + i for i in range(1, len(config.hidden) + 1)})
    seeds["output"] = config.seed * 100 + 99
    return seeds


def build_model(n_inputs: int, n_outputs: int, task: str, config: TrainConfig) -> keras.Model:
    """Weights are seeded per layer, so two runs started at once in one process never share random state."""
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    seeds = _seeds(config)
    inputs = keras.Input(shape=(n_inputs,), name="features")
    x = inputs
    for i, width in enumerate(config.hidden, start=1):
        x = keras.layers.Dense(width, name=f"hidden_{i}", kernel_regularizer=regularizer,
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seeds[f"hidden_{i}"]))(x)
        x = _activation(config.activation)(x)
        if config.dropout > 0:
            x = keras.layers.Dropout(config.dropout, seed=seeds[f"dropout_{i}"], name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(n_outputs, activation=HEADS[task], name="output",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=seeds["output"]))(x)
    return keras.Model(inputs, outputs, name="mlp")


def initialize(model: keras.Model, config: TrainConfig) -> None:
    """Give a model built by ``build_model`` exactly the starting state ``build_model(..., config)`` would: its
    weights from the config's seed, and each dropout's random draws from the start (to reuse a compiled model)."""
    seeds = _seeds(config)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            layer.kernel.assign(keras.initializers.GlorotUniform(seed=seeds[layer.name])(layer.kernel.shape))
            layer.bias.assign(keras.ops.zeros(layer.bias.shape))
        elif isinstance(layer, keras.layers.Dropout):
            layer.seed_generator.state.assign(keras.ops.convert_to_tensor([seeds[layer.name], 0], "uint32"))


def make_loss(task: str) -> keras.losses.Loss:
    if task == "binary":
        return keras.losses.BinaryCrossentropy()
    if task == "multiclass":
        return keras.losses.SparseCategoricalCrossentropy()
    return keras.losses.MeanSquaredError()


class _OneDevice:
    """Skips the cross-device gradient sum when no ``tf.distribute`` strategy is in use.

    There is nothing to sum on one device, and TensorFlow's all-reduce registers a custom gradient in a global
    registry at every trace, never freed: it kept each run's whole epoch graph alive (~5 MB per run) in the
    long-lived server process that hosts every page session.
    """

    def _all_reduce_sum_gradients(self, grads_and_vars):
        if tf.distribute.has_strategy():
            return super()._all_reduce_sum_gradients(grads_and_vars)
        return list(grads_and_vars)


_CLASSES = {cls.__name__.lower(): type(cls.__name__, (_OneDevice, cls), {})
            for cls in (keras.optimizers.Adam, keras.optimizers.AdamW, keras.optimizers.SGD, keras.optimizers.RMSprop)}


def copy_model(model: keras.Model) -> keras.Model:
    """The same network with its own copy of the weights: for one-off steps that must leave the run's model as is."""
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    optimizer = _CLASSES[config.optimizer]
    if config.optimizer == "sgd":
        return optimizer(config.learning_rate, momentum=config.momentum)
    return optimizer(config.learning_rate)


def dense_layers(model: keras.Model) -> list[keras.layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
