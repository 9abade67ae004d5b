"""One training step under the tape, with the user's own numbers: the tutorial's lesson made visible.

It runs the project's own ``train_step`` (the function the compiled epoch calls for every batch), eagerly, once, on
a copy of the model and of the optimizer's state, so the trained model is not touched. The optimizer's
``apply_gradients`` is watched to see the gradients exactly as the step handed them over.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from tapeapp._tf import keras, tf
from tapeapp.train import loop
from tapeapp.train.model import dense_layers
from tapeapp.words import LOSSES as LOSS_NAMES
from tapeapp.words import OPTIMIZER_LABELS


@dataclass(frozen=True)
class StepExplained:
    """The numbers of one step: loss before and after, per-layer gradient and update sizes, one weight up close."""

    rows: int
    loss: float
    loss_after: float
    grad_norms: Mapping[str, float]
    update_norms: Mapping[str, float]
    learning_rate: float
    optimizer: str
    example: Mapping[str, object]
    source: str
    first_row: Mapping[str, object] = field(default_factory=dict)
    task: str = "binary"

    def story(self) -> list[tuple[str, str]]:
        """The step in plain words, in the order the code runs: (what happens, with this step's numbers)."""
        first, ex = self.first_row, self.example
        if self.task == "regression":
            forward = (f"For the first, it predicted {first['prediction']:,.4g} where the true answer is "
                       f"{first['target']:,.4g}.")
        else:
            forward = (f"For the first, it gave the true answer ('{first['target']}') a probability of "
                       f"{first['prediction']:.0%}.")
        sizes = ", ".join(f"{name.replace('_', ' ')} {value:.3g}" for name, value in self.grad_norms.items())
        change = (self.loss_after - self.loss) / self.loss if self.loss else 0.0
        return [
            ("Forward pass", f"The model read {self.rows} training rows and made a prediction for each. {forward}"),
            ("Loss", f"Over the {self.rows} rows the loss ({LOSS_NAMES[self.task]}) is {self.loss:.4f}: one number "
                     "for how wrong the model is."),
            ("tape.gradient", "Working backwards through what the tape recorded, every weight gets a gradient: which "
                              "way, and how strongly, to move it to lower the loss. Size of the gradients per layer: "
                              f"{sizes}. The weight from '{ex['input']}' to neuron {ex['neuron']} of "
                              f"{str(ex['layer']).replace('_', ' ')} has the largest: {ex['gradient']:+.4g}."),
            ("apply_gradients", f"{OPTIMIZER_LABELS.get(self.optimizer, self.optimizer)} with learning rate "
                                f"{self.learning_rate:g} moves every weight a little against its gradient: that "
                                f"weight went from {ex['value']:.5g} to {ex['new_value']:.5g}."),
            ("What changed", f"On the same {self.rows} rows the loss is now {self.loss_after:.4f} ({change:+.1%}). "
                             "One epoch repeats this for every batch of the training rows."),
        ]


def _optimizer_state(run) -> list:
    """The run's optimizer state (moments, step count) when it has trained, so the step shown is the one training
    would take next."""
    if run.runner is not None:
        return [keras.ops.convert_to_numpy(v) for v in run.runner.optimizer.variables]
    return run.optimizer_state


def _watch_gradients(optimizer: keras.optimizers.Optimizer) -> list:
    """Record the (gradient, variable) pairs the step hands to ``apply_gradients``, then apply them as usual."""
    seen: list = []
    apply = optimizer.apply_gradients

    def recording(grads_and_vars, *args, **kwargs):
        pairs = list(grads_and_vars)
        seen.extend(pairs)
        return apply(pairs, *args, **kwargs)

    optimizer.apply_gradients = recording
    return seen


def _input_names(run) -> list[str]:
    """A readable name for every input of the network: the column, and for a one-hot block the category."""
    pre = run.prepared.preprocessor
    names = [""] * pre.width
    for column, where in pre.slots().items():
        if where.stop - where.start == 1:
            names[where.start] = str(column)
            continue
        if column in pre.numeric:  # a skewed number and its "is zero" input
            names[where] = [str(column), f"{column}: is zero"]
        elif column in pre.dates:
            names[where] = [f"{column}: {part}" for part in pre.date_stats_[column].input_names]
        else:
            names[where] = [f"{column} = {level or '(missing)'}" for level in pre.categories_[column]] + \
                [f"{column} = other"]
    return names


def _first_row(run, output: np.ndarray, label: float | int) -> dict[str, object]:
    """The first row of the batch in the user's terms: its true answer, and what the model said about it."""
    encoder = run.prepared.target_encoder
    if run.task == "regression":
        return {"target": float(encoder.decode_regression(np.array([label]))[0]),
                "prediction": float(encoder.decode_regression(output.reshape(-1))[0])}
    probability = float(output[0]) if run.task == "binary" else float(output[int(label)])
    if run.task == "binary" and int(label) == 0:
        probability = 1.0 - probability
    return {"target": encoder.classes_[int(label)], "prediction": probability}


def explain_step(run, rows: int = 32, seed: int = 0) -> StepExplained:
    """One real step of ``train_step`` on ``rows`` training rows, on copies: the run's model stays as it is."""
    data = run.prepared
    n = len(data.y_train)
    picked = np.sort(np.random.default_rng(seed).choice(n, min(rows, n), replace=False))
    x = tf.constant(data.x_train[picked])
    y = tf.constant(data.y_train[picked])
    w = tf.constant(loop.sample_weights(data.y_train, run.task, run.config.class_weight)[picked])
    twin = loop.training_copy(run.model, run.config, run.task, _optimizer_state(run))
    model, optimizer, loss_fn = twin.model, twin.optimizer, twin.loss_fn
    layers = dense_layers(model)
    before = {layer.name: [v.numpy() for v in layer.trainable_variables] for layer in layers}
    handed = _watch_gradients(optimizer)
    loss, predictions, norms = loop.train_step(model, loss_fn, optimizer, x, y, w)
    after_predictions = model(x, training=True)
    loss_after = loss_fn(y, after_predictions, sample_weight=w) + (tf.add_n(model.losses) if model.losses else 0.0)
    updates = {layer.name: [v.numpy() - b for v, b in zip(layer.trainable_variables, before[layer.name])]
               for layer in layers}
    gradient = {id(v): np.asarray(g) for g, v in handed}
    first = layers[0]
    kernel_grad = gradient[id(first.kernel)]
    i, j = np.unravel_index(int(np.abs(kernel_grad).argmax()), kernel_grad.shape)
    value = float(before[first.name][0][i, j])
    example = {"layer": first.name, "input": _input_names(run)[i], "neuron": int(j) + 1, "value": value,
               "gradient": float(kernel_grad[i, j]), "new_value": float(first.kernel.numpy()[i, j])}
    first_row = _first_row(run, np.asarray(predictions)[0], np.asarray(y)[0].item())
    return StepExplained(
        rows=len(picked), loss=float(loss), loss_after=float(loss_after),
        grad_norms={layer.name: float(v) for layer, v in zip(layers, np.asarray(norms))},
        update_norms={name: float(np.sqrt(sum(float(np.square(u, dtype=np.float64).sum()) for u in parts)))
                      for name, parts in updates.items()},  # float64: a diverged run's updates overflow float32
        learning_rate=float(keras.ops.convert_to_numpy(optimizer.learning_rate)), optimizer=run.config.optimizer,
        example=example, source=inspect.getsource(loop.train_step), first_row=first_row, task=run.task,
    )
