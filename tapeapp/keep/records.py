"""A run as data that outlives the process: its record, how to write and read it back, and the run made from it again.

A ``RunRecord`` is what it takes to bring a run back without training it again: the settings, the schema choices
and the rows used (so ``prepare`` gives back the same split and preprocessing), the history, the network's weights
and the optimizer's state, why it ended and the baselines' scores. ``restore_run`` starts the run again on the same
table and puts the weights and history in. The run store (``tapeapp.keep.store``) and the project file
(``tapeapp.keep.project``) both keep records in this form: ``run.json`` (strict JSON: non-finite numbers are written as
the text "nan", "inf", "-inf") and ``weights.npz`` (plain arrays, read with ``allow_pickle=False``).
"""

from __future__ import annotations

import hashlib
import io
import math
import time
import zipfile
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tapeapp._tf import keras
from tapeapp.config import TrainConfig
from tapeapp.data.samples import SAMPLES, load_sample
from tapeapp.data.schema import TASKS, Schema, inspect_frame
from tapeapp.data.table import Table, TableInfo, read_table
from tapeapp.errors import TapeError, quoted
from tapeapp.train.loop import EpochUpdate, FoldUpdate
from tapeapp.train.run import BaselinesStarter, Run, start_run
from tapeapp.train.scores import Baselines, BaselineScore

FORMAT = 1  # the layout of run.json; a newer one is refused rather than half read
MAX_ARRAYS = 200  # a 6-layer network has 14 weight arrays and its optimizer about 30
MAX_ARRAY_BYTES = 1_000_000_000  # the biggest network (6 x 1024 inputs wide) holds about 25 MB


class Damaged(ValueError):
    """A saved record, table or weights file that cannot be read back: the caller words it for the user."""


@dataclass(frozen=True, eq=False)
class TableSource:
    """A table as the user gave it, to read again the same way: a file's bytes, name and the share of its rows read
    (``TableInfo.fraction``), or a built-in sample's key. ``data`` is empty when a project left the table out."""

    name: str
    data: bytes = b""
    fraction: float = 1.0
    sample: str = ""
    sha256: str = ""  # of ``data`` (the file as uploaded); kept when the data is left out, to recognise it again

    def __post_init__(self) -> None:
        if self.data and not self.sha256:
            object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())

    @classmethod
    def upload(cls, data: bytes, info: TableInfo) -> TableSource:
        """An uploaded file and how much of it was read (``Table.info``)."""
        return cls(name=info.name, data=bytes(data), fraction=float(info.fraction))

    @classmethod
    def builtin(cls, key: str) -> TableSource:
        if key not in SAMPLES:
            raise TapeError(f"Unknown sample {quoted(key)}; choose one of {', '.join(SAMPLES)}.")
        return cls(name=SAMPLES[key].title, sample=key)

    @property
    def available(self) -> bool:
        """Whether the table can be read again from this alone (a project may have left the file out)."""
        return bool(self.sample or self.data)

    def read(self) -> Table:
        """The same rows as when the user first opened it (the same seeded sample of a big file)."""
        if self.sample:
            return load_sample(self.sample)
        if not self.data:
            raise TapeError(f"The table {quoted(self.name)} was left out of this project; upload that file again "
                            "to open the project with it.")
        return read_table(self.data, self.name, fraction=self.fraction)

    def described(self) -> dict:
        """The table's description for JSON (the bytes are kept beside it, in a file of their own)."""
        return {"name": self.name, "fraction": self.fraction, "sample": self.sample, "sha256": self.sha256}

    @classmethod
    def from_description(cls, meta: object, data: bytes = b"") -> TableSource:
        if not (isinstance(meta, dict) and isinstance(meta.get("name"), str) and isinstance(meta.get("sample"), str)
                and isinstance(meta.get("sha256"), str) and _number(meta.get("fraction"))):
            raise Damaged("table description")
        fraction = float(meta["fraction"])
        if not 0 < fraction <= 1 or (meta["sample"] and meta["sample"] not in SAMPLES):
            raise Damaged("table description")
        if data and meta["sha256"] and hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise Damaged("table bytes")
        return cls(name=meta["name"], data=data, fraction=fraction, sample=meta["sample"], sha256=meta["sha256"])


@dataclass(frozen=True, eq=False)
class RunRecord:
    """Everything needed to bring a run back without training it again (see the module's docstring)."""

    number: int
    config: TrainConfig
    target: str
    task: str  # the task the user chose, "" when it was guessed (as ``Schema.chosen_task``)
    roles: tuple[tuple[str, str], ...]  # the roles the user chose (as ``Schema.chosen``)
    rows_used: int  # training + validation rows: passed as ``max_rows``, it gives back the same sample, or all rows
    source_sha256: str
    data_sha256: str  # ``Prepared.data_sha256``: the rows the run used, checked when it is brought back
    history: tuple[EpochUpdate, ...]
    weights: tuple[np.ndarray, ...] = field(repr=False)
    optimizer_state: tuple[np.ndarray, ...] = field(default=(), repr=False)
    stopped_because: str = "finished"
    message: str = ""
    running: bool = False  # saved while it was still training (a checkpoint)
    baselines: dict | None = None  # ``baselines_to_json``
    extra: dict = field(default_factory=dict)  # what the page keeps with a run (its table name, a failure's words)
    saved: float = 0.0  # seconds since the epoch
    folds: tuple[FoldUpdate, ...] = ()  # cross-validation's epochs on a small table (``Run.folds``)
    chosen_epochs: int = 0  # the number of epochs they chose (``Run.chosen_epochs``)
    plain: tuple[str, ...] = ()  # number columns kept as they are (``Schema.plain``)

    @property
    def epochs_done(self) -> int:
        return len(self.history)


# ------------------------------------------------------------------------------------------------ from a live run

def schema_choices(schema: Schema) -> dict:
    """What the user chose in a schema (the rest is read from the table again): target, task, roles and the number
    columns kept as they are."""
    return {"target": schema.target, "task": schema.chosen_task, "roles": [list(pair) for pair in schema.chosen],
            "plain": list(schema.plain)}


def rebuild_schema(frame: pd.DataFrame, record: RunRecord) -> Schema:
    """The schema the run was started with, from its table and the choices kept in its record."""
    try:
        schema = inspect_frame(frame, target=record.target, task=record.task or None)
        schema = schema.with_roles(dict(record.roles)) if record.roles else schema
        return schema.with_plain(record.plain) if record.plain else schema
    except TapeError as error:
        raise TapeError(f"Run {record.number} cannot be brought back on this table: {error}") from None


def capture(run: Run, schema: Schema, number: int, extra: Mapping | None = None) -> RunRecord:
    """The run as it is now; while it trains, call this from its own thread between epochs (the weights then match
    the history: mid-epoch they would be half way to the next one)."""
    running = run.stopped_because == "running"
    history = tuple(run.history)
    weights = tuple(np.array(w) for w in run.model.get_weights())
    if running and run.runner is not None:
        optimizer = getattr(run.runner, "optimizer", None)
        state = tuple(keras.ops.convert_to_numpy(v) for v in optimizer.variables) if optimizer is not None else ()
    else:
        state = tuple(np.asarray(v) for v in run.optimizer_state)
    baselines = run.baselines
    prepared = run.prepared
    return RunRecord(
        number=int(number), config=run.config, target=schema.target, task=schema.chosen_task,
        roles=tuple(schema.chosen), rows_used=int(len(prepared.y_train) + len(prepared.y_val)),
        source_sha256=run.source_sha256, data_sha256=prepared.data_sha256, history=history, weights=weights,
        optimizer_state=state, stopped_because=run.stopped_because, message=run.message, running=running,
        baselines=baselines_to_json(baselines) if baselines is not None else None, extra=dict(extra or {}),
        saved=time.time(), folds=tuple(run.folds), chosen_epochs=run.chosen_epochs, plain=tuple(schema.plain))


# --------------------------------------------------------------------------------------------- back to a live run

def interrupted_message(epochs_done: int, epochs: int) -> str:
    """What a run that was training when the server went away says when it comes back."""
    if epochs_done == 0:
        return ("This run was training when the server stopped, before its first epoch was saved: it is back "
                "untrained. Train again to continue.")
    return (f"This run was training when the server stopped: it is back as it was at epoch {epochs_done} of "
            f"{epochs}, its last saved epoch.")


def restore_run(record: RunRecord, frame: pd.DataFrame, schema: Schema | None = None,
                baselines: BaselinesStarter | None = None) -> Run:
    """The run again, without training: the same split and preprocessing, its weights, history and ending.

    ``frame`` is the table read again (``TableSource.read``); ``schema`` defaults to the one rebuilt from the
    record's choices. The baselines come back finished when the record has them; otherwise ``baselines`` (e.g.
    ``tapeapp.start_baselines``) fits them again in the background. A run saved while training comes back
    ``stopped`` at its last saved epoch, and its message says so.
    """
    schema = schema if schema is not None else rebuild_schema(frame, record)
    run = start_run(frame, schema, record.config, source_sha256=record.source_sha256, max_rows=record.rows_used)
    if run.prepared.data_sha256 != record.data_sha256:
        raise TapeError(f"This table is not the one run {record.number} was trained on (its rows differ), so the run "
                        "cannot be brought back; open the same file again.")
    network = run.model
    if [tuple(w.shape) for w in network.get_weights()] != [tuple(w.shape) for w in record.weights]:
        raise TapeError(f"Run {record.number} could not be brought back (its saved model does not fit its table).")
    network.set_weights(list(record.weights))
    run.history = list(record.history)
    run.folds, run.chosen_epochs = list(record.folds), record.chosen_epochs
    run.optimizer_state = list(record.optimizer_state)
    if record.running:
        run.stopped_because = "stopped"
        run.message = interrupted_message(record.epochs_done, record.config.epochs)
    else:
        run.stopped_because, run.message = record.stopped_because, record.message
    if record.baselines is not None:
        future: Future = Future()
        future.set_result(baselines_from_json(record.baselines))
        run.baselines_future = future
    elif baselines is not None:
        run.baselines_future = baselines(run.prepared, frame, record.config)
    return run


# ------------------------------------------------------------------------------------------------------- JSON

def plain(value: object) -> object:
    """Strict JSON: non-finite numbers as the text "nan", "inf" or "-inf"; NumPy values as Python's."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _number(value: object) -> bool:
    """A number as ``plain`` writes it (finite, or one of the three texts)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) or value in ("nan", "inf", "-inf")


def _floats(values: object) -> dict[str, float]:
    if not isinstance(values, dict) or not all(isinstance(k, str) and _number(v) for k, v in values.items()):
        raise Damaged("scores")
    return {k: float(v) for k, v in values.items()}


def update_to_json(update: EpochUpdate) -> dict:
    return plain({"epoch": update.epoch, "epochs": update.epochs, "train": dict(update.train),
                  "validation": dict(update.validation), "learning_rate": update.learning_rate,
                  "seconds": update.seconds, "samples_per_second": update.samples_per_second,
                  "grad_norms": dict(update.grad_norms), "weight_norms": dict(update.weight_norms),
                  "stop_reason": update.stop_reason, "message": update.message, "inner": dict(update.inner),
                  "kept_epoch": update.kept_epoch})


def update_from_json(data: object) -> EpochUpdate:
    if not isinstance(data, dict) or not isinstance(data.get("epoch"), int) or not isinstance(data.get("epochs"), int):
        raise Damaged("history")
    if not all(_number(data.get(k)) for k in ("learning_rate", "seconds", "samples_per_second")):
        raise Damaged("history")
    reason, message, kept = data.get("stop_reason"), data.get("message", ""), data.get("kept_epoch", 0)
    if not (reason is None or isinstance(reason, str)) or not isinstance(message, str) or not isinstance(kept, int):
        raise Damaged("history")
    return EpochUpdate(epoch=data["epoch"], epochs=data["epochs"], train=_floats(data.get("train")),
                       validation=_floats(data.get("validation")), learning_rate=float(data["learning_rate"]),
                       seconds=float(data["seconds"]), samples_per_second=float(data["samples_per_second"]),
                       grad_norms=_floats(data.get("grad_norms", {})),
                       weight_norms=_floats(data.get("weight_norms", {})), stop_reason=reason, message=message,
                       inner=_floats(data.get("inner", {})), kept_epoch=kept)


def baselines_to_json(baselines: Baselines) -> dict:
    """Every field of ``Baselines``, unrounded (``Baselines.record`` rounds and drops the standard errors)."""
    return plain({
        "task": baselines.task, "train_rows": baselines.train_rows, "train_hash": baselines.train_hash,
        "val_rows": baselines.val_rows, "val_hash": baselines.val_hash, "sampled_from": baselines.sampled_from,
        "seconds": baselines.seconds,
        "scores": {name: {"validation": dict(s.validation), "standard_error": s.standard_error,
                          "seconds": s.seconds, "error": s.error} for name, s in baselines.scores.items()},
    })


def baselines_from_json(data: object) -> Baselines:
    """The ``Baselines`` that ``baselines_to_json`` wrote."""
    try:
        scores = {name: BaselineScore(name=name, validation=_floats(s["validation"]),
                                      standard_error=float(s["standard_error"]), seconds=float(s["seconds"]),
                                      error=str(s["error"]))
                  for name, s in data["scores"].items()}
        return Baselines(task=str(data["task"]), scores=scores, train_rows=int(data["train_rows"]),
                         train_hash=str(data["train_hash"]), val_rows=int(data["val_rows"]),
                         val_hash=str(data["val_hash"]), sampled_from=int(data["sampled_from"]),
                         seconds=float(data["seconds"]))
    except (TypeError, KeyError, ValueError, AttributeError):
        raise Damaged("baselines") from None


def record_to_json(record: RunRecord) -> dict:
    """run.json (without the arrays, which go to weights.npz)."""
    return plain({
        "format": FORMAT, "number": record.number, "config": record.config.to_dict(),
        "schema": {"target": record.target, "task": record.task, "roles": [list(p) for p in record.roles],
                   "plain": list(record.plain)},
        "rows_used": record.rows_used, "source_sha256": record.source_sha256, "data_sha256": record.data_sha256,
        "stopped_because": record.stopped_because, "message": record.message, "running": record.running,
        "history": [update_to_json(u) for u in record.history], "baselines": record.baselines,
        "extra": record.extra, "saved": record.saved,
        "folds": [[f.fold, f.folds, f.epoch, f.epochs, f.loss, f.seconds] for f in record.folds],
        "chosen_epochs": record.chosen_epochs,
    })


def _folds(data: object) -> tuple[FoldUpdate, ...]:
    """Cross-validation's epochs as ``record_to_json`` wrote them (none in records older than them)."""
    if not isinstance(data, list) or not all(isinstance(f, list) and len(f) == 6 for f in data):
        raise Damaged("folds")
    return tuple(FoldUpdate(int(f[0]), int(f[1]), int(f[2]), int(f[3]), float(f[4]), float(f[5])) for f in data)


def record_from_json(data: object, weights: tuple[np.ndarray, ...],
                     optimizer_state: tuple[np.ndarray, ...] = ()) -> RunRecord:
    """The record ``record_to_json`` wrote, with its arrays; ``Damaged`` for anything of the wrong shape."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise Damaged("record")
    schema = data.get("schema")
    try:
        config = TrainConfig.from_dict(data["config"])
        roles = tuple((str(name), str(role)) for name, role in schema["roles"])
        record = RunRecord(
            number=int(data["number"]), config=config, target=str(schema["target"]), task=str(schema["task"]),
            roles=roles, rows_used=int(data["rows_used"]), source_sha256=str(data["source_sha256"]),
            data_sha256=str(data["data_sha256"]),
            history=tuple(update_from_json(u) for u in data["history"]), weights=tuple(weights),
            optimizer_state=tuple(optimizer_state), stopped_because=str(data["stopped_because"]),
            message=str(data["message"]), running=bool(data["running"]), baselines=data.get("baselines"),
            extra=dict(data.get("extra") or {}), saved=float(data.get("saved", 0.0)),
            folds=_folds(data.get("folds", [])), chosen_epochs=int(data.get("chosen_epochs", 0)),
            plain=tuple(str(name) for name in schema.get("plain", [])))
    except (TapeError, TypeError, KeyError, ValueError, AttributeError):
        raise Damaged("record") from None
    if record.task not in ("", *TASKS) or record.number < 1 or record.rows_used < 4:
        raise Damaged("record")
    if record.baselines is not None:
        baselines_from_json(record.baselines)  # refuse a record whose baselines would not come back
    return record


# ------------------------------------------------------------------------------------------------------ arrays

def arrays_bytes(weights: tuple[np.ndarray, ...], optimizer_state: tuple[np.ndarray, ...] = ()) -> bytes:
    """weights.npz: the network's arrays (``w000``...) and the optimizer's (``o000``...), uncompressed (random
    floats do not compress, and a checkpoint every few seconds should cost little)."""
    buffer = io.BytesIO()
    arrays = {f"w{i:03d}": np.asarray(w) for i, w in enumerate(weights)}
    arrays.update({f"o{i:03d}": np.asarray(v) for i, v in enumerate(optimizer_state)})
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def arrays_from_bytes(data: bytes) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """The arrays ``arrays_bytes`` wrote; ``Damaged`` for a truncated, foreign or pickle-bearing file."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARRAYS or sum(m.file_size for m in members) > MAX_ARRAY_BYTES:
                raise Damaged("weights")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            names = sorted(npz.files)
            weights = tuple(npz[n] for n in names if n.startswith("w"))
            state = tuple(npz[n] for n in names if n.startswith("o"))
            expected = [f"w{i:03d}" for i in range(len(weights))] + [f"o{i:03d}" for i in range(len(state))]
            if sorted(expected) != names:
                raise Damaged("weights")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError):  # ValueError: pickled object arrays too
        raise Damaged("weights") from None
    if not weights or any(a.dtype.kind not in "fiub" for a in (*weights, *state)):
        raise Damaged("weights")
    return weights, state
