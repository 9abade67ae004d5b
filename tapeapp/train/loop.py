"""The hand-written training loop: a GradientTape step, a whole epoch compiled once, and a per-epoch generator.

Three layers as in Keras' own trainer: ``train_step`` is one batch and knows nothing of epochs; ``EpochRunner``
compiles a whole epoch (shuffle, every batch including the last partial one, running sums) into one
``tf.function`` call; ``train`` is the plain epoch loop, a generator whose consumer plays the part of callbacks.

An epoch that takes long (a wide network, small batches, many rows) is run as several compiled calls of a fraction
of a second each instead, the mirror of Keras' ``steps_per_execution``, so that a stop asked for mid-epoch is
heard within about ``CHUNK_SECONDS`` (``checkpoint``); the numbers are the same either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from tapeapp._tf import keras, tf
from tapeapp.config import TrainConfig
from tapeapp.train import stopping
from tapeapp.train.model import copy_model, dense_layers, initialize, make_loss, make_optimizer
from tapeapp.train.stopping import EarlyStopping, Stop, is_finite, not_finite

SCORE_ROWS = 32_768  # rows per forward pass when scoring a whole set
CHUNK_SECONDS = 0.25  # a compiled call of a long epoch takes about this long, so a stop waits no longer
ASSUMED_FLOPS = 1e9  # how fast a step is guessed to run before one has been timed (slow on purpose: a CPU, shared)
Checkpoint = Callable[[], bool]  # asked between compiled calls: True stops the run (the epoch's start is restored)


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
    inner: Mapping[str, float] = field(default_factory=dict)  # scores on the held-back training rows that choose
    kept_epoch: int = 0  # the epoch whose weights the run keeps if it ends here (0: not said, as in old records)

    def row(self) -> dict[str, float | int | str | None]:
        """One flat row for history.csv and the charts."""
        out: dict[str, float | int | str | None] = {"epoch": self.epoch}
        out.update({f"train_{k}": v for k, v in self.train.items()})
        out.update({f"val_{k}": v for k, v in self.validation.items()})
        out.update({f"inner_{k}": v for k, v in self.inner.items()})
        if self.kept_epoch:
            out["kept_epoch"] = self.kept_epoch
        out.update(learning_rate=self.learning_rate, seconds=self.seconds, samples_per_second=self.samples_per_second)
        out.update({f"grad_norm_{k}": v for k, v in self.grad_norms.items()})
        out.update({f"weight_norm_{k}": v for k, v in self.weight_norms.items()})
        return out


@dataclass(frozen=True)
class FoldUpdate:
    """One epoch of a cross-validation fold that chooses how many epochs a small table trains: the held-out loss."""

    fold: int
    folds: int
    epoch: int
    epochs: int
    loss: float
    seconds: float


def train_step(model: keras.Model, loss_fn: keras.losses.Loss, optimizer: keras.optimizers.Optimizer,
               x: tf.Tensor, y: tf.Tensor, w: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One batch: forward under the tape, gradients, update. Returns loss, predictions, per-layer gradient norms."""
    with tf.GradientTape() as tape:
        predictions = model(x, training=True)
        loss = loss_fn(y, predictions, sample_weight=w)  # under tf.distribute, Keras divides it by the replicas
        if model.losses:  # the weights' L2 penalty, divided the same way: each replica adds its share
            loss += tf.add_n(model.losses) / tf.distribute.get_strategy().num_replicas_in_sync
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    by_var = dict(zip((id(v) for v in model.trainable_variables), grads))
    norms = tf.stack([tf.linalg.global_norm([by_var[id(v)] for v in layer.trainable_variables])
                      for layer in dense_layers(model)])
    return loss, predictions, norms


@dataclass(frozen=True, eq=False)
class TrainingCopy:
    """A copy of a model with an optimizer of the run's kind and its loss: for one-off steps (the learning-rate
    finder's range test, one step shown under the tape) that must leave the run's own model as it is."""

    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    loss_fn: keras.losses.Loss

    def step(self, x: tf.Tensor, y: tf.Tensor, w: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """``train_step`` on the copy."""
        return train_step(self.model, self.loss_fn, self.optimizer, x, y, w)


def training_copy(model: keras.Model, config: TrainConfig, task: str,
                  optimizer_state: list | None = None) -> TrainingCopy:
    """The model copied, a fresh optimizer of ``config``'s kind built on it (carrying ``optimizer_state`` when it
    fits: the moments and step count of a run that has trained), and the task's loss."""
    twin = copy_model(model)
    optimizer = make_optimizer(config)
    optimizer.build(twin.trainable_variables)
    if optimizer_state and [tuple(v.shape) for v in optimizer_state] == [tuple(v.shape) for v in
                                                                          optimizer.variables]:
        for value, target in zip(optimizer_state, optimizer.variables):
            target.assign(value)
    return TrainingCopy(twin, optimizer, make_loss(task))


def make_metrics(task: str, n_outputs: int) -> dict[str, keras.metrics.Metric]:
    """Keras' streaming metrics, updated inside the compiled epoch as the tutorial updated its BinaryAccuracy.

    AUC here is Keras' 200-threshold approximation, good for a live curve; ``evaluate`` reports the exact one.
    """
    if task == "binary":
        return {"accuracy": keras.metrics.BinaryAccuracy(), "auc": keras.metrics.AUC()}
    if task == "multiclass":
        return {"accuracy": keras.metrics.SparseCategoricalAccuracy(),
                "auc": keras.metrics.AUC(multi_label=True, num_labels=n_outputs)}
    return {"mae": keras.metrics.MeanAbsoluteError(), "rmse": keras.metrics.RootMeanSquaredError(),
            "r2": keras.metrics.R2Score()}


class EpochRunner:
    """Compiles one whole epoch into a single graph call: per-batch Python overhead is what makes naive loops slow.

    One call shuffles, runs every batch (the last partial one included), updates the training metrics, then scores
    the validation rows, and returns a handful of numbers: nothing per batch crosses back into Python.
    """

    def __init__(self, model: keras.Model, task: str, config: TrainConfig) -> None:
        self.model, self.task, self.config = model, task, config
        self.n_outputs = int(model.output.shape[-1])
        self.loss_fn = make_loss(task)
        self.train_metrics = make_metrics(task, self.n_outputs)
        self.val_metrics = make_metrics(task, self.n_outputs)
        self.inner_metrics = make_metrics(task, self.n_outputs)
        self.optimizer = self._make_optimizer()
        self.n_layers = len(dense_layers(model))
        self._last_good = self._make_backup()
        # Shapes with the rows left open: each graph is traced once, whatever the number of rows (the folds of a
        # small table, a runner lent again for a table of another length), not once more per new length.
        x, y, w, rows, scalar, total, norms, seen = self._specs()
        self._epoch = tf.function(self._epoch_graph, input_signature=[x, y, w, x, y, tf.TensorSpec([2], tf.int32),
                                                                     rows])
        self._steps = tf.function(self._steps_graph, input_signature=[x, y, w, rows, scalar, scalar, total, norms])
        self._train_scores = tf.function(self._train_scores_graph, input_signature=[y, rows, seen, total, scalar])
        self._score_rows = tf.function(self._score_rows_graph, input_signature=[x, y, scalar, scalar, total])
        self._score_at = tf.function(self._score_at_graph, input_signature=[x, y, rows])
        self._per_step: float | None = None  # seconds a training step takes, once timed (a whole epoch counts too)
        self._per_row: float | None = None  # seconds scoring a validation row takes
        self._timed: set[str] = set()  # compiled calls made once already (the first includes the tracing)

    def _specs(self) -> tuple[tf.TensorSpec, ...]:
        """The compiled calls' arguments: inputs, targets (class codes or standardised numbers), row weights, row
        positions, a step or row number, a running loss, per-layer norms, predictions; any number of rows."""
        return (tf.TensorSpec([None, int(self.model.input.shape[-1])], tf.float32),
                tf.TensorSpec([None], tf.float32 if self.task == "regression" else tf.int32),
                tf.TensorSpec([None], tf.float32), tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32),
                tf.TensorSpec([], tf.float32), tf.TensorSpec([self.n_layers], tf.float32),
                tf.TensorSpec([None, self.n_outputs], tf.float32))

    def reset(self, config: TrainConfig) -> None:
        """Start over for a new run whose graph is the same (``graph_key``): the seed's starting weights, a fresh
        optimizer state at the new learning rate. The traced epoch is kept: that is the point."""
        self.config = config
        initialize(self.model, config)
        for variable in self.optimizer.variables:
            variable.assign(keras.ops.zeros(variable.shape, variable.dtype))
        self.optimizer.learning_rate = config.learning_rate

    def _make_backup(self) -> list[tf.Variable]:
        """Copies of the weights taken inside the compiled epoch: cheaper than a ``get_weights()`` per epoch."""
        return [tf.Variable(v, trainable=False) for v in self.model.weights]

    def _keep_last_good(self) -> None:
        """Called at the start of each epoch, whose starting weights the previous epoch proved finite."""
        for backup, variable in zip(self._last_good, self.model.weights):
            backup.assign(variable)

    def restore_last_good(self) -> None:
        """Put back the weights the current epoch started from (the NaN guard's way back)."""
        for backup, variable in zip(self._last_good, self.model.weights):
            variable.assign(backup)

    def _make_optimizer(self) -> keras.optimizers.Optimizer:
        optimizer = make_optimizer(self.config)
        optimizer.build(self.model.trainable_variables)
        return optimizer

    def _update(self, metrics: dict[str, keras.metrics.Metric], y: tf.Tensor, predictions: tf.Tensor) -> None:
        if self.task == "regression":
            y = tf.reshape(y, (-1, 1))
        for name, metric in metrics.items():
            if self.task == "multiclass" and name == "auc":
                metric.update_state(tf.one_hot(y, self.n_outputs), predictions)
            else:
                metric.update_state(y, predictions)

    def _scores(self, metrics: dict[str, keras.metrics.Metric], x: tf.Tensor, y: tf.Tensor) -> dict[str, tf.Tensor]:
        """Loss and metrics of the current weights on a whole set of rows, a large slice at a time: one forward
        pass for small tables, and no activations for 200,000 rows at once on big ones."""
        for metric in metrics.values():
            metric.reset_state()
        n = tf.shape(x)[0]
        loss_sum = tf.constant(0.0)
        for start in tf.range(0, n, SCORE_ROWS):
            rows_x, rows_y = x[start:start + SCORE_ROWS], y[start:start + SCORE_ROWS]
            predictions = self.model(rows_x, training=False)
            self._update(metrics, rows_y, predictions)
            loss_sum += self.loss_fn(rows_y, predictions) * tf.cast(tf.shape(rows_x)[0], tf.float32)
        return {"loss": loss_sum / tf.cast(n, tf.float32), **{k: m.result() for k, m in metrics.items()}}

    def _score_at_graph(self, x: tf.Tensor, y: tf.Tensor, rows: tf.Tensor) -> dict[str, tf.Tensor]:
        """Loss and metrics on the rows at ``rows`` of a set, gathered a slice at a time (no copy of the set)."""
        for metric in self.inner_metrics.values():
            metric.reset_state()
        n = tf.shape(rows)[0]
        loss_sum = tf.constant(0.0)
        for start in tf.range(0, n, SCORE_ROWS):
            picked = rows[start:start + SCORE_ROWS]
            rows_y = tf.gather(y, picked)
            predictions = self.model(tf.gather(x, picked), training=False)
            self._update(self.inner_metrics, rows_y, predictions)
            loss_sum += self.loss_fn(rows_y, predictions) * tf.cast(tf.shape(picked)[0], tf.float32)
        return {"loss": loss_sum / tf.cast(n, tf.float32), **{k: m.result() for k, m in self.inner_metrics.items()}}

    def score_rows(self, x: tf.Tensor, y: tf.Tensor, rows: tf.Tensor) -> dict[str, float]:
        """The current weights' loss and metrics on some rows of a set: the held-back rows that choose the epoch."""
        return {k: float(v) for k, v in self._score_at(x, y, rows).items()}

    def _weight_norms(self) -> tf.Tensor:
        return tf.stack([tf.norm(layer.kernel) for layer in dense_layers(self.model)])

    def _epoch_graph(self, x: tf.Tensor, y: tf.Tensor, w: tf.Tensor, x_val: tf.Tensor, y_val: tf.Tensor,
                     seed: tf.Tensor, rows: tf.Tensor) -> dict[str, tf.Tensor]:
        self._keep_last_good()
        for metric in self.train_metrics.values():
            metric.reset_state()
        n = tf.shape(rows)[0]
        batch = tf.constant(self.config.batch_size, tf.int32)
        steps = (n + batch - 1) // batch
        order = tf.gather(rows, tf.random.experimental.stateless_shuffle(tf.range(n), seed=seed))
        loss_sum = tf.constant(0.0)
        norm_sum = tf.zeros([self.n_layers])
        seen = tf.TensorArray(tf.float32, size=steps, infer_shape=False, element_shape=[None, self.n_outputs])
        for step in tf.range(steps):
            picked = order[step * batch:tf.minimum((step + 1) * batch, n)]
            loss, predictions, norms = train_step(self.model, self.loss_fn, self.optimizer,
                                                  tf.gather(x, picked), tf.gather(y, picked), tf.gather(w, picked))
            seen = seen.write(step, predictions)
            loss_sum += loss
            norm_sum += norms
        # One metric update over the epoch's predictions, in batch order: the same sums as one update per batch,
        # without paying AUC's 200-threshold bookkeeping once per batch.
        self._update(self.train_metrics, tf.gather(y, order), seen.concat())
        steps_f = tf.cast(steps, tf.float32)
        train = {"loss": loss_sum / steps_f, **{k: m.result() for k, m in self.train_metrics.items()}}
        return {"train": train, "validation": self._scores(self.val_metrics, x_val, y_val),
                "grad_norms": norm_sum / steps_f, "weight_norms": self._weight_norms()}

    def run_epoch(self, x: tf.Tensor, y: tf.Tensor, w: tf.Tensor, x_val: tf.Tensor, y_val: tf.Tensor,
                  epoch: int, *, rows: tf.Tensor | None = None, checkpoint: Checkpoint | None = None) -> dict | None:
        """One epoch on the set's rows at ``rows`` (all by default); returns plain floats and arrays (train/validation
        score dicts, gradient and weight norms).

        A long epoch runs in chunks and asks ``checkpoint`` between them; when it says stop, the weights the epoch
        started from are put back and None is returned.
        """
        seed = tf.constant([self.config.seed, epoch], tf.int32)
        rows = tf.range(tf.shape(x)[0]) if rows is None else rows
        steps = -(-int(rows.shape[0]) // self.config.batch_size)
        if checkpoint is not None and self.expected_epoch_seconds(steps, int(x_val.shape[0])) > 2 * CHUNK_SECONDS:
            out = self._chunked_epoch(x, y, w, x_val, y_val, seed, checkpoint, rows)
            return None if out is None else tf.nest.map_structure(lambda t: t.numpy(), out)
        out = self._timed_call("epoch", steps, self._epoch, x, y, w, x_val, y_val, seed, rows)
        return tf.nest.map_structure(lambda t: t.numpy(), out)

    def expected_epoch_seconds(self, steps: int, val_rows: int) -> float:
        """How long an epoch of ``steps`` steps should take, from steps timed before (in this run or an earlier one
        with the same graph), or guessed from the network's size until one has been."""
        return steps * self._step_guess() + val_rows * self._row_guess()

    def _weights_count(self) -> int:
        return sum(int(np.prod(v.shape)) for v in self.model.trainable_variables)

    def _step_guess(self) -> float:
        """Seconds per step: measured, or a forward and backward pass (6 flops a weight a row) at ASSUMED_FLOPS."""
        if self._per_step is not None:
            return self._per_step
        return 6 * self.config.batch_size * self._weights_count() / ASSUMED_FLOPS + 1e-4

    def _row_guess(self) -> float:
        if self._per_row is not None:
            return self._per_row
        return 2 * self._weights_count() / ASSUMED_FLOPS

    def _timed_call(self, name: str, units: int, call: Callable, *args) -> tuple:
        """Run one compiled chunk and learn how long a unit (a step, a row) takes; the first call also traces."""
        started = time.perf_counter()
        out = call(*args)
        seconds = (time.perf_counter() - started) / max(units, 1)
        if name in self._timed:
            if name == "rows":
                self._per_row = seconds
            else:  # a whole epoch's time per step includes its validation: an overestimate, on the safe side
                self._per_step = seconds
        self._timed.add(name)
        return out

    def _chunked_epoch(self, x: tf.Tensor, y: tf.Tensor, w: tf.Tensor, x_val: tf.Tensor, y_val: tf.Tensor,
                       seed: tf.Tensor, checkpoint: Checkpoint, rows: tf.Tensor) -> dict | None:
        """The same epoch as ``_epoch_graph``, in calls of about CHUNK_SECONDS with ``checkpoint`` asked between.

        The running sums are handed from call to call and the training metrics are updated once, over every
        prediction in batch order, so the numbers are those of the single call.
        """
        self._keep_last_good()
        for metric in self.train_metrics.values():
            metric.reset_state()
        n = int(rows.shape[0])
        steps = -(-n // self.config.batch_size)
        order = tf.gather(rows, tf.random.experimental.stateless_shuffle(tf.range(n), seed=seed))
        loss_sum, norm_sum = tf.constant(0.0), tf.zeros([self.n_layers])
        seen: list[tf.Tensor] = []
        done = 0
        while done < steps:
            if checkpoint():
                self.restore_last_good()
                return None
            stop = min(steps, done + max(1, int(CHUNK_SECONDS / self._step_guess())))
            loss_sum, norm_sum, predictions = self._timed_call(
                "steps", stop - done, self._steps, x, y, w, order, tf.constant(done), tf.constant(stop), loss_sum,
                norm_sum)
            seen.append(predictions)
            done = stop
        train = self._train_scores(y, order, tf.concat(seen, axis=0), loss_sum, tf.constant(steps))
        validation = self._chunked_scores(x_val, y_val, checkpoint)
        if validation is None:
            self.restore_last_good()
            return None
        return {"train": train, "validation": validation, "grad_norms": norm_sum / float(steps),
                "weight_norms": self._weight_norms()}

    def _chunked_scores(self, x_val: tf.Tensor, y_val: tf.Tensor, checkpoint: Checkpoint) -> dict | None:
        for metric in self.val_metrics.values():
            metric.reset_state()
        n = int(x_val.shape[0])
        loss_sum, done = tf.constant(0.0), 0
        while done < n:
            if checkpoint():
                return None
            stop = min(n, done + max(1, min(SCORE_ROWS, int(CHUNK_SECONDS / self._row_guess()))))
            loss_sum = self._timed_call("rows", stop - done, self._score_rows, x_val, y_val, tf.constant(done),
                                        tf.constant(stop), loss_sum)
            done = stop
        return {"loss": loss_sum / float(max(n, 1)), **{k: m.result() for k, m in self.val_metrics.items()}}

    def _steps_graph(self, x: tf.Tensor, y: tf.Tensor, w: tf.Tensor, order: tf.Tensor, first: tf.Tensor,
                     last: tf.Tensor, loss_sum: tf.Tensor, norm_sum: tf.Tensor) -> tuple:
        """Training steps ``first`` to ``last`` of an epoch (one chunk), continuing the running sums."""
        n = tf.shape(order)[0]
        batch = tf.constant(self.config.batch_size, tf.int32)
        seen = tf.TensorArray(tf.float32, size=last - first, infer_shape=False,
                              element_shape=[None, self.n_outputs])
        for step in tf.range(first, last):
            picked = order[step * batch:tf.minimum((step + 1) * batch, n)]
            loss, predictions, norms = train_step(self.model, self.loss_fn, self.optimizer,
                                                  tf.gather(x, picked), tf.gather(y, picked), tf.gather(w, picked))
            seen = seen.write(step - first, predictions)
            loss_sum += loss
            norm_sum += norms
        return loss_sum, norm_sum, seen.concat()

    def _train_scores_graph(self, y: tf.Tensor, order: tf.Tensor, predictions: tf.Tensor, loss_sum: tf.Tensor,
                            steps: tf.Tensor) -> dict:
        self._update(self.train_metrics, tf.gather(y, order), predictions)
        return {"loss": loss_sum / tf.cast(steps, tf.float32), **{k: m.result() for k, m in self.train_metrics.items()}}

    def _score_rows_graph(self, x: tf.Tensor, y: tf.Tensor, first: tf.Tensor, last: tf.Tensor,
                          loss_sum: tf.Tensor) -> tf.Tensor:
        rows_x, rows_y = x[first:last], y[first:last]
        predictions = self.model(rows_x, training=False)
        self._update(self.val_metrics, rows_y, predictions)
        return loss_sum + self.loss_fn(rows_y, predictions) * tf.cast(last - first, tf.float32)


def graph_key(task: str, n_inputs: int, n_outputs: int, config: TrainConfig) -> tuple:
    """What a traced epoch depends on: runs that agree on all of it can share one (seed and learning rate excepted:
    the seed reaches the graph as an input, the learning rate as a variable)."""
    return (task, n_inputs, n_outputs, config.hidden, config.activation, config.dropout, config.l2, config.optimizer,
            config.momentum if config.optimizer == "sgd" else None, config.batch_size)


def sample_weights(y: np.ndarray, task: str, class_weight: str) -> np.ndarray:
    """'balanced' gives each class the same total weight, as scikit-learn's class_weight='balanced' does."""
    if task == "regression" or class_weight == "none":
        return np.ones(len(y), "float32")
    classes, counts = np.unique(y, return_counts=True)
    per_class = len(y) / (len(classes) * counts)
    return per_class[np.searchsorted(classes, y)].astype("float32")


def as_tensor(array: np.ndarray) -> tf.Tensor:
    """The array as a tensor, sharing its memory when TensorFlow safely can (128-byte aligned, contiguous): no copy
    of a big training matrix. Otherwise one copy: ``tf.constant`` kept two alive for a large array (TF 2.21 CPU).

    TensorFlow aborts the whole process on a misaligned buffer, hence the strict check."""
    if array.size and array.flags.c_contiguous and array.flags.writeable and array.ctypes.data % 128 == 0:
        return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
    return tf.identity(array)


def _in_target_units(scores: dict, scale: float) -> dict[str, float]:
    """Regression is trained on a standardised target; MAE and RMSE are reported in the target's own units."""
    return {k: float(v) * (scale if k in ("mae", "rmse") else 1.0) for k, v in scores.items()}


def train(runner: EpochRunner, data, config: TrainConfig, checkpoint: Checkpoint | None = None,
          fit_rows: np.ndarray | None = None, choose_rows: np.ndarray | None = None) -> Iterator[EpochUpdate]:
    """Yield one update per finished epoch; between yields the runner's model holds that epoch's weights.

    ``data`` is a ``Prepared`` (x/y for training and validation, the task, the target's scale). The caller chooses
    the runner (``EpochRunner``, or ``DistributedEpochRunner`` for a ``tf.distribute`` strategy). Stop early by
    ``break``/``close()`` between epochs, or mid-epoch by ``checkpoint`` returning True (asked between the compiled
    calls of a long epoch): either way the model holds the last finished epoch's weights.

    ``fit_rows`` (positions in the training set; all by default) are the rows the weights learn from. With
    ``choose_rows`` (training rows left out of ``fit_rows``), early stopping watches their loss, so the validation
    rows are only scored, never used to choose the epoch; without, it watches the validation loss. At the end of a
    run with early stopping the best epoch's weights are put back, as Keras' ``restore_best_weights``.
    """
    model, task = runner.model, data.task
    scale = data.target_encoder.std_ if task == "regression" else 1.0
    x, y, x_val, y_val = (as_tensor(a) for a in (data.x_train, data.y_train, data.x_val, data.y_val))
    w = as_tensor(sample_weights(data.y_train, task, config.class_weight))
    rows = None if fit_rows is None else tf.constant(np.asarray(fit_rows, "int32"))
    choose = None if choose_rows is None else tf.constant(np.asarray(choose_rows, "int32"))
    fitted = len(data.y_train) if fit_rows is None else len(fit_rows)
    names = [layer.name for layer in dense_layers(model)]
    learning_rate = float(keras.ops.convert_to_numpy(runner.optimizer.learning_rate))  # constant: no schedules
    early = EarlyStopping(config.patience, watched="inner" if choose is not None else "validation")
    for epoch in range(1, config.epochs + 1):
        if epoch > 1 and checkpoint is not None and checkpoint():
            return
        started = time.perf_counter()
        finished = False
        try:
            out = runner.run_epoch(x, y, w, x_val, y_val, epoch, rows=rows, checkpoint=checkpoint)
            finished = out is not None
        finally:
            if not finished:  # stopped or broken off mid-epoch: back to the weights the epoch started from
                runner.restore_last_good()
        if out is None:
            return
        inner = _in_target_units(runner.score_rows(x, y, choose), scale) if choose is not None else {}
        seconds = time.perf_counter() - started
        train_m, val_m = _in_target_units(out["train"], scale), _in_target_units(out["validation"], scale)
        update = dict(epoch=epoch, epochs=config.epochs, train=train_m, validation=val_m,
                      learning_rate=learning_rate,
                      seconds=seconds, samples_per_second=fitted / max(seconds, 1e-9),
                      grad_norms=dict(zip(names, map(float, out["grad_norms"]))),
                      weight_norms=dict(zip(names, map(float, out["weight_norms"]))), inner=inner)
        ending: Stop | None = None
        if not is_finite(train_m["loss"], out["weight_norms"]):
            runner.restore_last_good()
            ending = not_finite(epoch)
            kept = epoch - 1
        else:
            if early.improved(epoch, (inner or val_m)["loss"]):
                early.best_weights = model.get_weights()
            ending = early.should_stop(epoch)
            if ending is None and epoch == config.epochs:
                ending = stopping.finished(epoch, early.kept_at_the_end(epoch))
            if ending is not None and early.kept_at_the_end(epoch):
                model.set_weights(early.best_weights)
            kept = early.best_epoch if early.watching and early.best_epoch else epoch
        if ending is not None:
            yield EpochUpdate(**update, stop_reason=ending.reason, message=ending.message, kept_epoch=kept)
            return
        yield EpochUpdate(**update, kept_epoch=kept)
