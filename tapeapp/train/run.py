"""A training run you can keep: config, fitted preprocessing, model and history in one small object."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tapeapp._tf import keras, tf
from tapeapp.config import TrainConfig
from tapeapp.data.schema import Schema
from tapeapp.errors import TapeError
from tapeapp.features.prepare import Prepared, fold_rows, inner_rows, prepare
from tapeapp.features.preprocess import unexpected_columns
from tapeapp.train import stopping
from tapeapp.train.distributed import DistributedEpochRunner
from tapeapp.train.loop import Checkpoint, EpochRunner, EpochUpdate, FoldUpdate, train
from tapeapp.train.metrics import probabilities
from tapeapp.train.model import build_model, copy_model
from tapeapp.train.runners import POOL
from tapeapp.train.scores import Baselines
from tapeapp.train.views import Views

BaselinesStarter = Callable[[Prepared, pd.DataFrame, TrainConfig], Future]  # e.g. tapeapp.start_baselines

@dataclass(eq=False)
class Run:
    """State lives here, whole and visible; training itself is the generator from ``tapeapp.train.loop``.

    While it trains, a run borrows a compiled epoch (``runner``) from the pool, and ``model`` is the runner's; when
    training ends, the weights move to a plain model of the run's own (``network``) and the runner, with its traced
    graph (about 10 MB), goes back to the pool for the next run: a finished run holds only its small model.
    """

    config: TrainConfig
    prepared: Prepared
    network: keras.Model | None = None
    history: list[EpochUpdate] = field(default_factory=list)
    stopped_because: str = "not_started"
    message: str = ""
    source_sha256: str = ""
    strategy: tf.distribute.Strategy | None = None
    runner: EpochRunner | None = field(default=None, repr=False)
    optimizer_state: list[np.ndarray] = field(default_factory=list, repr=False)  # at the end of training
    baselines_future: Future | None = field(default=None, repr=False)  # simpler models fitting in the background
    views: Views = field(default_factory=Views, repr=False)  # what observers keep between calls, freed with the run
    folds: list[FoldUpdate] = field(default_factory=list)  # cross-validation's epochs, as they happen (small tables)
    chosen_epochs: int = 0  # the number of epochs cross-validation chose (0: it did not run)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _forward: tuple | None = field(default=None, repr=False)  # (model, its compiled forward pass)

    @property
    def model(self) -> keras.Model:
        """The network as it is now: the runner's while training, else the run's own (built untrained if needed)."""
        if self.runner is not None:
            return self.runner.model
        if self.network is None:
            self.network = build_model(*self._shape, self.task, self.config)
        return self.network

    @property
    def _shape(self) -> tuple[int, int]:
        return self.prepared.x_train.shape[1], self.prepared.target_encoder.n_outputs

    @property
    def task(self) -> str:
        return self.prepared.task

    @property
    def target(self) -> str:
        return self.prepared.target

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.prepared.warnings

    @property
    def baselines(self) -> Baselines | None:
        """The simpler models' scores once they are fitted; None before (or when the run was started without)."""
        future = self.baselines_future
        if future is None or not future.done() or future.cancelled():
            return None
        return future.result()

    def wait_baselines(self, timeout: float | None = None) -> Baselines | None:
        """Wait up to ``timeout`` seconds (None: as long as it takes) for the baselines; None if not there by then."""
        if self.baselines_future is not None:
            with contextlib.suppress(TimeoutError, CancelledError):
                self.baselines_future.exception(timeout)  # waits; fit_baselines records its own errors
        return self.baselines

    def request_stop(self) -> None:
        """Ask the training to stop soon, from any thread: within a compiled call (``loop.CHUNK_SECONDS``) of a long
        epoch, or at the end of a short one. The model keeps the last finished epoch's weights."""
        self._stop.set()

    @property
    def choice(self) -> str:
        """How the kept epoch is chosen: 'folds' (cross-validation on the training rows chooses how many), 'inner'
        (held-back training rows choose it), 'validation' (the validation rows do) or 'last' (no early stopping)."""
        config, n = self.config, len(self.prepared.y_train)
        if config.patience <= 0:
            return "last"
        if config.inner_fraction <= 0:
            return "validation"
        if n < config.cv_below and fold_rows(self.prepared.y_train, self.task, config.seed) is not None:
            return "folds"
        return "inner" if inner_rows(self.prepared.y_train, self.task, config.inner_fraction,
                                     config.seed) is not None else "last"

    @property
    def kept_epoch(self) -> int:
        """The epoch whose weights the model holds (or would keep if training ended now); 0 before any epoch."""
        if not self.history:
            return 0
        return self.history[-1].kept_epoch or len(self.history)

    def epochs(self, checkpoint: Checkpoint | None = None) -> Iterator[EpochUpdate]:
        """Train, yielding after every epoch; closing the generator early leaves the last finished epoch's weights.

        ``checkpoint`` is asked between the compiled calls of a long epoch (True stops there), besides
        ``request_stop``: the page uses it to give up the CPU to others in line mid-epoch. On a small table
        (``choice`` 'folds') the folds train first, appending to ``folds`` without yielding, then the run itself.
        """
        if self.stopped_because != "not_started":
            raise RuntimeError("a Run trains once; start a new one")
        self.stopped_because = "running"
        if self.config.epochs == 0:
            self.stopped_because, self.message = "finished", "Zero epochs asked for: the model is untrained."
            return
        done = 0

        def stop_now() -> bool:
            return self._stop.is_set() or (checkpoint is not None and checkpoint())

        try:
            runner, config, choice = self.make_runner(), self.config, self.choice
            fit = choose = None
            if choice == "folds":
                chosen = self._cross_validate(runner, stop_now)
                if chosen is None:
                    self.stopped_because, self.message = "stopped", stopping.stopped_choosing(len(self.folds))
                    return
                runner.reset(config)
                if chosen > 0:
                    self.chosen_epochs = chosen
                    config = config.replace(epochs=chosen, patience=0)
                else:  # the loss stopped being a number in a fold: train as on a larger table, and say so then
                    choice = "inner"
            if choice == "inner":
                fit, choose = inner_rows(self.prepared.y_train, self.task, config.inner_fraction, config.seed)
            for update in train(runner, self.prepared, config, stop_now, fit_rows=fit, choose_rows=choose):
                if update.stop_reason and self.chosen_epochs:
                    update = dataclasses.replace(update, message=stopping.chosen_by_folds(self.chosen_epochs))
                self.history.append(update)
                done = len(self.history)
                if update.stop_reason:
                    self.stopped_because, self.message = update.stop_reason, update.message
                yield update
        except Exception:  # an error inside training is not the user's Stop: say so, keep the epochs done
            self.stopped_because = "failed"
            self.message = stopping.failed(done, self.config.epochs)
            raise
        finally:
            if self.stopped_because == "running":
                self.stopped_because = "stopped"
                self.message = stopping.stopped_by_you(done, self.config.epochs)
            self._hand_back()

    def _cross_validate(self, runner: EpochRunner, stop_now: Checkpoint) -> int | None:
        """Each fold trains from the run's starting weights until its held-out loss stops improving (patience,
        ceiling); the epoch with the lowest mean held-out loss is the count. None when stopped on the way, 0 when
        the loss stopped being a number in a fold."""
        folds = fold_rows(self.prepared.y_train, self.task, self.config.seed)
        curves = []
        for k, (fit, held) in enumerate(folds, start=1):
            if k > 1:
                runner.reset(self.config)
            losses, ended = [], False
            for update in train(runner, self.prepared, self.config, stop_now, fit_rows=fit, choose_rows=held):
                loss = update.inner["loss"]
                losses.append(loss if math.isfinite(loss) else math.inf)
                self.folds.append(FoldUpdate(k, len(folds), update.epoch, self.config.epochs, loss, update.seconds))
                ended = update.stop_reason is not None
            if not ended:
                return None
            if update.stop_reason == "not_finite":
                return 0
            curves.append(losses)
        length = min(len(curve) for curve in curves)
        return int(np.argmin(np.mean([curve[:length] for curve in curves], axis=0))) + 1

    def make_runner(self) -> EpochRunner:
        """The compiled epoch for this run: borrowed from the pool on one device (reset to this run's seed), or
        built across the devices of the run's strategy around the model made in its scope."""
        if self.strategy is not None:
            self.runner = DistributedEpochRunner(self.model, self.task, self.config, self.strategy)
            return self.runner
        self.runner = POOL.lease(self.task, *self._shape, self.config)
        self.network = None  # an untrained model made before training starts from the same seed: not needed
        return self.runner

    def _hand_back(self) -> None:
        """Keep the trained weights (and the optimizer's state) in a plain model; return the runner to the pool."""
        runner = self.runner
        if runner is None or self.strategy is not None:
            return
        own = copy_model(runner.model)
        self.optimizer_state = [keras.ops.convert_to_numpy(v) for v in runner.optimizer.variables]
        self.network, self.runner = own, None  # views keyed by the model they were built on are rebuilt on this one
        POOL.release(runner)

    def fit(self) -> Run:
        """Train to the end without watching (the CLI and tests)."""
        for _ in self.epochs():
            pass
        return self

    def history_frame(self) -> pd.DataFrame:
        return history_frame(self.history)

    def final_metrics(self) -> tuple[dict[str, float], dict[str, float]]:
        """Train and validation scores of the kept epoch, whose weights the model holds (the CLI's JSON line)."""
        if not self.history:
            return {}, {}
        kept = self.history[min(self.kept_epoch, len(self.history)) - 1]
        return dict(kept.train), dict(kept.validation)

    def predict_proba_matrix(self, x: np.ndarray) -> np.ndarray:
        """The network's raw outputs for a preprocessed matrix, in chunks so a million rows fit in memory."""
        if len(x) == 0:
            return np.zeros((0, int(self.model.output.shape[-1])), "float32")
        forward = self._compiled_forward()
        return np.concatenate([forward(tf.constant(x[i:i + 65536])).numpy() for i in range(0, len(x), 65536)])

    def _compiled_forward(self):
        """The model's forward pass compiled once per model (kept with the run): the views call it dozens of times,
        and an eager Keras call costs about 3 ms where the compiled one costs 0.5."""
        model = self.model
        held = self._forward
        if held is None or held[0] is not model:
            spec = tf.TensorSpec([None, int(model.input.shape[-1])], tf.float32)  # one trace for any row count
            held = (model, tf.function(lambda x: model(x, training=False), input_signature=[spec]))
            self._forward = held
        return held[1]

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predictions for raw rows with the original columns; extra columns are ignored and listed."""
        pre = self.prepared.preprocessor
        if len(frame) == 0:
            raise TapeError("The file for predictions has no rows.")
        raw = self.predict_proba_matrix(pre.transform(frame))
        if self.task == "regression":
            raw = self.prepared.target_encoder.decode_regression(raw.reshape(-1))
        return prediction_frame(self.task, self.target, self.prepared.target_encoder.classes_, raw, frame.index)

    def unexpected_columns(self, frame: pd.DataFrame) -> list[str]:
        return unexpected_columns(frame, (*self.prepared.features, self.target))

    def prediction_notes(self, frame: pd.DataFrame) -> list[str]:
        """What ``predict`` does with values in these rows that the model cannot use as they are, in plain words.

        Unreadable numbers are filled in like missing ones and unknown categories count as 'other'; extra columns
        are listed by ``unexpected_columns`` and missing columns make ``predict`` refuse.
        """
        return self.prepared.preprocessor.check(frame)

    def summary(self) -> dict:
        """The CLI's JSON line: one object with the same shape for every task."""
        train_m, val_m = self.final_metrics()
        seconds = [u.seconds for u in self.history[1:]] or [u.seconds for u in self.history]
        clean = lambda d: {k: (None if isinstance(v, float) and not math.isfinite(v) else round(v, 6))  # noqa: E731
                           for k, v in d.items()}
        return {
            "task": self.task, "target": self.target, "epochs_run": len(self.history),
            "stopped_because": self.stopped_because,
            "seconds_per_epoch": round(float(np.median(seconds)), 6) if seconds else None,
            "rows": {"train": int(len(self.prepared.y_train)), "validation": int(len(self.prepared.y_val))},
            "train": clean(train_m), "validation": clean(val_m),
            **({"baselines": self.baselines.to_dict() if self.baselines else None}
               if self.baselines_future is not None else {}),
        }


def history_frame(updates: Iterable[EpochUpdate]) -> pd.DataFrame:
    """Epochs as a table, one row each (history.csv, the charts)."""
    return pd.DataFrame([u.row() for u in updates])


def prediction_frame(task: str, target: str, classes: tuple, raw: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Model outputs as a table: the predicted value, and for classification one probability column per class."""
    if task == "regression":
        return pd.DataFrame({f"predicted_{target}": np.asarray(raw, dtype="float64").reshape(-1)}, index=index)
    proba = probabilities(task, np.asarray(raw))
    columns = {f"predicted_{target}": [classes[i] for i in np.nan_to_num(proba).argmax(axis=1)]}
    columns.update({f"probability_{c}": proba[:, i] for i, c in enumerate(classes)})
    return pd.DataFrame(columns, index=index)  # built at once: hundreds of classes, one block, no fragmentation


def start_run(frame: pd.DataFrame, schema: Schema, config: TrainConfig, source_sha256: str = "",
              strategy: tf.distribute.Strategy | None = None, baselines: BaselinesStarter | None = None,
              max_rows: int | None = None) -> Run:
    """Split and fit preprocessing on the training rows: everything before epoch 1 (the model comes with training).

    Pass a ``tf.distribute`` strategy (e.g. ``tf.distribute.MirroredStrategy()``) to train across its devices.
    ``baselines=tapeapp.start_baselines`` starts fitting the simpler models in the background at once: the run
    attaches the Future it is handed (``run.baselines`` holds them when done) and cancels it if dropped first; the
    run itself knows nothing of how they are fitted. Off by default, so that scripts and benchmarks measure the
    network alone. ``max_rows`` trains on a seeded random sample of that many rows (see ``tapeapp.data.budget``).
    """
    prepared = prepare(frame, schema, config, max_rows=max_rows)
    run = Run(config=config, prepared=prepared, source_sha256=source_sha256 or prepared.data_sha256,
              strategy=strategy)
    if strategy is not None:
        with strategy.scope():
            run.network = build_model(*run._shape, prepared.task, config)
    if baselines is not None:
        run.baselines_future = baselines(prepared, frame, config)
        weakref.finalize(run, run.baselines_future.cancel)
    return run
