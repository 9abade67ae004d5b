"""The same GradientTape step under a ``tf.distribute`` strategy (MirroredStrategy, MultiWorkerMirroredStrategy, ...).

TensorFlow's own machinery does the work, as in Keras' own trainer (``_make_function``): the strategy splits each
batch across replicas, ``strategy.run`` runs ``loop.train_step`` on each, and the Keras optimizer all-reduces
(sums) the gradients. Keras' loss divides each replica's mean by the number of replicas, so the summed gradient is
the gradient of the global mean loss.
"""

from __future__ import annotations

from tapeapp._tf import keras, tf
from tapeapp.train.loop import EpochRunner, train_step


class DistributedEpochRunner(EpochRunner):
    """Whole epoch in one ``tf.function`` as in the single-device runner, iterating a distributed dataset."""

    def __init__(self, model: keras.Model, task: str, config, strategy: tf.distribute.Strategy) -> None:
        self.strategy = strategy
        super().__init__(model, task, config)
        self._epoch = tf.function(self._distributed_epoch_graph, reduce_retracing=True)
        self._evaluate = tf.function(self._evaluate_graph, reduce_retracing=True)

    def _make_optimizer(self) -> keras.optimizers.Optimizer:
        """Optimizer slots must be mirrored like the weights; metrics stay outside the scope, updated in one place."""
        with self.strategy.scope():
            return super()._make_optimizer()

    def _make_backup(self) -> list[tf.Variable]:
        with self.strategy.scope():
            return super()._make_backup()

    def _replica_step(self, x: tf.Tensor, y: tf.Tensor, w: tf.Tensor):
        loss, _, norms = train_step(self.model, self.loss_fn, self.optimizer, x, y, w)
        return loss, norms

    def _distributed_epoch_graph(self, batches):
        self._keep_last_good()
        loss_sum, norm_sum, steps = tf.constant(0.0), tf.zeros([self.n_layers]), tf.constant(0.0)
        for x, y, w in batches:
            loss, norms = self.strategy.run(self._replica_step, args=(x, y, w))
            loss_sum += self.strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
            norm_sum += self.strategy.reduce(tf.distribute.ReduceOp.MEAN, norms, axis=None)
            steps += 1.0
        return loss_sum / steps, norm_sum / steps

    def _evaluate_graph(self, x: tf.Tensor, y: tf.Tensor, x_val: tf.Tensor, y_val: tf.Tensor) -> dict:
        return {"train": self._scores(self.train_metrics, x, y),
                "validation": self._scores(self.val_metrics, x_val, y_val), "weight_norms": self._weight_norms()}

    def run_epoch(self, x: tf.Tensor, y: tf.Tensor, w: tf.Tensor, x_val: tf.Tensor, y_val: tf.Tensor,
                  epoch: int, *, rows: tf.Tensor | None = None, checkpoint=None) -> dict:
        """Training metrics come from a pass after the epoch: per-replica predictions are not gathered in order.

        One call per epoch across the devices: ``checkpoint`` is not asked mid-epoch here (stop between epochs)."""
        rows = tf.range(tf.shape(x)[0]) if rows is None else rows
        order = tf.gather(rows, tf.random.experimental.stateless_shuffle(tf.range(tf.shape(rows)[0]),
                                                                         seed=tf.constant([self.config.seed, epoch])))
        dataset = tf.data.Dataset.from_tensor_slices((tf.gather(x, order), tf.gather(y, order), tf.gather(w, order)))
        batches = self.strategy.experimental_distribute_dataset(dataset.batch(self.config.batch_size))
        loss, norms = self._epoch(batches)
        out = tf.nest.map_structure(lambda t: t.numpy(), self._evaluate(tf.gather(x, rows), tf.gather(y, rows),
                                                                        x_val, y_val))
        out["train"]["loss"] = loss.numpy()
        out["grad_norms"] = norms.numpy()
        return out
