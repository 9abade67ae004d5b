"""The hand-written training loop: a GradientTape step, a whole epoch compiled once, and a per-epoch generator.

Three layers as in Keras' own trainer: ``train_step`` is one batch and knows nothing of epochs; ``EpochRunner``
compiles a whole epoch (shuffle, every batch including the last partial one, running sums) into one
``tf.function`` call; ``train`` is the plain epoch loop, a generator whose consumer plays the part of callbacks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Iterator, Mapping

import numpy as np

from tapeapp._tf import keras, tf
from tapeapp.config import TrainConfig
from tapeapp.metrics import epoch_metrics
from tapeapp.model import dense_layers, make_loss, make_optimizer

PREDICT_CHUNK = 65_536


@dataclass(frozen=True)
class EpochUpdate:
    """What one finished epoch did; ``stop_reason`` is set on the last update only."""

    epoch: int
    epochs: int
    train: Mapping[str, float]
    validation: Mapping[str, float]
    learning_rate: float
    seconds: float
    samples_per_second: float
    grad_norms: Mapping[str, float] = field(default_factory=dict)
    weight_norms: Mapping[str, float] = field(default_factory=dict)
    stop_reason: str | None = None
    message: str = ""

    def row(self) -> dict[str, float | int | str | None]:
        """One flat row for history.csv and the charts."""
        out: dict[str, float | int | str | None] = {"epoch": self.epoch}
        out.update({f"train_{k}": v for k, v in self.train.items()})
        out.update({f"val_{k}": v for k, v in self.validation.items()})
        out.update(learning_rate=self.learning_rate, seconds=self.seconds, samples_per_second=self.samples_per_second)
        out.update({f"grad_norm_{k}": v for k, v in self.grad_norms.items()})
        out.update({f"weight_norm_{k}": v for k, v in self.weight_norms.items()})
        return out


def train_step(model: keras.Model, loss_fn: keras.losses.Loss, optimizer: keras.optimizers.Optimizer,
               x: tf.Tensor, y: tf.Tensor, w: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One batch: forward under the tape, gradients, update. Returns loss, predictions, per-layer gradient norms."""
    with tf.GradientTape() as tape:
        predictions = model(x, training=True)
        loss = loss_fn(y, predictions, sample_weight=w)
        if model.losses:
            loss += tf.add_n(model.losses)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    by_var = dict(zip((id(v) for v in model.trainable_variables), grads))
    norms = tf.stack([tf.linalg.global_norm([by_var[id(v)] for v in layer.trainable_variables])
                      for layer in dense_layers(model)])
    return loss, predictions, norms


class EpochRunner:
    """Compiles one whole epoch into a single graph call: per-batch Python overhead is what makes naive loops slow."""

    def __init__(self, model: keras.Model, task: str, config: TrainConfig) -> None:
        self.model, self.task, self.config = model, task, config
        self.loss_fn = make_loss(task)
        self.optimizer = make_optimizer(config)
        self.optimizer.build(model.trainable_variables)
        self.n_layers = len(dense_layers(model))
        self._epoch = tf.function(self._epoch_graph, reduce_retracing=True)
        self._predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def _epoch_graph(self, x: tf.Tensor, y: tf.Tensor, w: tf.Tensor, seed: tf.Tensor):
        n = tf.shape(x)[0]
        batch = tf.constant(self.config.batch_size, tf.int32)
        steps = (n + batch - 1) // batch
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=seed)
        loss_sum = tf.constant(0.0)
        norm_sum = tf.zeros([self.n_layers])
        outputs = tf.TensorArray(tf.float32, size=steps, infer_shape=False)
        for step in tf.range(steps):
            rows = order[step * batch:tf.minimum((step + 1) * batch, n)]
            loss, predictions, norms = train_step(self.model, self.loss_fn, self.optimizer,
                                                  tf.gather(x, rows), tf.gather(y, rows), tf.gather(w, rows))
            loss_sum += loss
            norm_sum += norms
            outputs = outputs.write(step, predictions)
        steps_f = tf.cast(steps, tf.float32)
        return loss_sum / steps_f, order, outputs.concat(), norm_sum / steps_f

    def run_epoch(self, x: tf.Tensor, y: tf.Tensor, w: tf.Tensor, epoch: int):
        seed = tf.constant([self.config.seed, epoch], tf.int32)
        loss, order, predictions, norms = self._epoch(x, y, w, seed)
        return float(loss), order.numpy(), predictions.numpy(), norms.numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros((0, self.model.output.shape[-1]), "float32")
        return np.concatenate([self._predict(tf.constant(x[i:i + PREDICT_CHUNK])).numpy()
                               for i in range(0, len(x), PREDICT_CHUNK)])

    def loss(self, y: np.ndarray, predictions: np.ndarray) -> float:
        return float(self.loss_fn(tf.constant(y), tf.constant(predictions)))


def sample_weights(y: np.ndarray, task: str, class_weight: str) -> np.ndarray:
    """'balanced' gives each class the same total weight, as scikit-learn's class_weight='balanced' does."""
    if task == "regression" or class_weight == "none":
        return np.ones(len(y), "float32")
    classes, counts = np.unique(y, return_counts=True)
    per_class = len(y) / (len(classes) * counts)
    return per_class[np.searchsorted(classes, y)].astype("float32")


def weight_norms(model: keras.Model) -> dict[str, float]:
    return {layer.name: float(np.linalg.norm(layer.kernel.numpy())) for layer in dense_layers(model)}


def _finite(values: Mapping[str, float]) -> bool:
    return all(math.isfinite(v) for k, v in values.items() if k == "loss")


def train(model: keras.Model, data, config: TrainConfig, decode=None, strategy=None) -> Iterator[EpochUpdate]:
    """Yield one update per finished epoch; between yields the model holds that epoch's weights.

    ``data`` has ``x_train, y_train, x_val, y_val`` and ``task``; ``decode`` maps scaled regression outputs back to
    original units for the metrics. Stop early by ``break``/``close()``; the generator needs no clean-up. With a
    ``tf.distribute`` ``strategy`` (the model must have been built in its scope) each batch is split across replicas.
    """
    task = data.task
    if strategy is None:
        runner = EpochRunner(model, task, config)
    else:
        from tapeapp.distributed import DistributedEpochRunner

        runner = DistributedEpochRunner(model, task, config, strategy)
    x, y = tf.constant(data.x_train), tf.constant(data.y_train)
    w = tf.constant(sample_weights(data.y_train, task, config.class_weight))
    names = [layer.name for layer in dense_layers(model)]
    good_weights = model.get_weights()
    best = (math.inf, 0, good_weights)
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        train_loss, order, train_pred, norms = runner.run_epoch(x, y, w, epoch)
        val_pred = runner.predict(data.x_val)
        val_loss = runner.loss(data.y_val, val_pred) if len(val_pred) else float("nan")
        seconds = time.perf_counter() - started
        train_m = epoch_metrics(task, data.y_train[order], train_pred, train_loss, decode)
        val_m = epoch_metrics(task, data.y_val, val_pred, val_loss, decode)
        update = dict(epoch=epoch, epochs=config.epochs, train=train_m, validation=val_m,
                      learning_rate=float(keras.ops.convert_to_numpy(runner.optimizer.learning_rate)),
                      seconds=seconds, samples_per_second=len(data.y_train) / max(seconds, 1e-9),
                      grad_norms=dict(zip(names, map(float, norms))), weight_norms=weight_norms(model))
        weights = model.get_weights()
        if not (_finite(train_m) and all(np.isfinite(v).all() for v in weights)):
            model.set_weights(good_weights)
            yield EpochUpdate(**update, stop_reason="not_finite", message=(
                f"Training stopped in epoch {epoch}: the loss stopped being a finite number, usually because the "
                f"learning rate is too high. The model keeps the weights from epoch {epoch - 1}."))
            return
        good_weights = weights
        if config.patience > 0 and math.isfinite(val_loss):
            if val_loss < best[0]:
                best = (val_loss, epoch, weights)
            elif epoch - best[1] >= config.patience:
                model.set_weights(best[2])
                yield EpochUpdate(**update, stop_reason="early_stopping", message=(
                    f"Stopped early: the validation loss has not improved for {config.patience} epochs. "
                    f"The model keeps its best weights, from epoch {best[1]}."))
                return
        if epoch == config.epochs:
            message = f"Finished all {epoch} epochs."
            if config.patience > 0 and best[1] not in (0, epoch):
                model.set_weights(best[2])
                message += f" The model keeps its best weights, from epoch {best[1]}."
            yield EpochUpdate(**update, stop_reason="finished", message=message)
            return
        yield EpochUpdate(**update)
