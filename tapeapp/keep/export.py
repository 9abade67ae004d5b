"""Take a run home: a .keras model that takes raw columns, history, config, predictions and a reproduce script."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from tapeapp._tf import keras, tf
from tapeapp.data.dates import DateFormat, iso_strings
from tapeapp.errors import TapeError
from tapeapp.explain.contributions import background_rows
from tapeapp.features.preprocess import numeric_values, require_columns, text_values
from tapeapp.keep.reproduce_script import render_reproduce
from tapeapp.train.run import Run, prediction_frame

METADATA = "tapeapp.json"
BACKGROUND_FILE = "background.csv"  # training rows that ``tapeapp explain`` compares each row with


def model_metadata(run: Run) -> dict:
    """What a loaded model needs to accept raw rows and name its outputs (stored inside the .keras zip).

    A date input (kind "date") also has the ``format`` the user's file writes dates in: the model itself reads
    ISO 8601 text, and ``predict_with_model`` converts the user's dates to that first.
    """
    pre = run.prepared.preprocessor
    return {
        "task": run.task, "target": run.target,
        "inputs": [_input(pre, c) for c in pre.columns],
        "classes": [_plain(c) for c in run.prepared.target_encoder.classes_],
    }


def _input(pre, column: str) -> dict:
    if column in pre.dates:
        return {"column": column, "input": pre.input_names_[column], "kind": "date",
                "format": pre.date_format_[column].to_dict()}
    return {"column": column, "input": pre.input_names_[column], "kind": "number" if column in pre.numeric else "text"}


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def raw_input_model(run: Run) -> keras.Model:
    """Preprocessing layers + the trained network in one model, outputs in the target's units or probabilities."""
    pre = run.prepared.preprocessor
    inputs = pre.raw_inputs()
    outputs = run.model(pre.apply(inputs))
    if run.task == "regression":
        enc = run.prepared.target_encoder
        outputs = outputs * enc.std_ + enc.mean_
    return keras.Model(inputs, outputs, name="tapeapp_model")


def model_bytes(run: Run) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        raw_input_model(run).save(path)
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(METADATA, json.dumps(model_metadata(run), indent=2))
        return path.read_bytes()


def config_record(run: Run) -> dict:
    data = run.prepared
    return {
        "config": run.config.to_dict(), "target": run.target, "task": run.task,
        "features": list(data.features), "ignored_rows_missing_target": data.dropped_rows,
        "data_sha256": run.source_sha256, "rows": {"train": int(len(data.y_train)), "validation": int(len(data.y_val))},
        "classes": [_plain(c) for c in data.target_encoder.classes_],
        "epochs_run": len(run.history), "stopped_because": run.stopped_because,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "pandas": pd.__version__,
                     "python": platform.python_version()},
        "summary": run.summary(),
        **({"baselines": run.baselines.record() if run.baselines else None}
           if run.baselines_future is not None else {}),
    }


def validation_predictions(run: Run) -> pd.DataFrame:
    data = run.prepared
    out = run.predict(data.raw_val)
    out.insert(0, data.target, data.raw_val[data.target].to_numpy())
    out.insert(0, "row", data.val_rows)
    return out.reset_index(drop=True)


def export_files(run: Run, source_name: str = "data.csv", read_options: dict | None = None,
                 frame: pd.DataFrame | None = None) -> dict[str, bytes]:
    """Every download, as bytes, so the page never writes a user's data to disk.

    With ``frame`` (the table the run was started from), also ``background.csv``: a seeded sample of training rows
    that ``tapeapp explain`` compares rows with (``tapeapp.keep.explain_files``)."""
    files = {
        "model.keras": model_bytes(run),
        "history.csv": run.history_frame().to_csv(index=False).encode(),
        "config.json": json.dumps(config_record(run), indent=2, default=str).encode(),
        "predictions.csv": validation_predictions(run).to_csv(index=False).encode(),
        "reproduce.py": render_reproduce(run, source_name, read_options or {}).encode(),
    }
    if frame is not None:
        files[BACKGROUND_FILE] = background_rows(run, frame).to_csv(index=False).encode()
    return files


def save_run(run: Run, directory: str | os.PathLike, **kwargs) -> list[Path]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in export_files(run, **kwargs).items():
        (out / name).write_bytes(content)
        written.append(out / name)
    return written


MODEL_MEMBERS = frozenset({"metadata.json", "config.json", "model.weights.h5", METADATA})
MODEL_MAX_UNPACKED = 1_000_000_000  # a 6 x 1024 network's weights are about 25 MB


def load_model(path: str | os.PathLike) -> tuple[keras.Model, dict]:
    """Safe mode only: a model file from anyone may not run code when loaded. Nothing is unpickled.

    Looked at before Keras reads it: a zip holding only the files tapeapp writes, of a size that fits, with
    metadata of the right shape. Anything Keras then refuses (safe mode turning down a function it names, a
    vocabulary file it points to) is a plain TapeError too. The model's own layers are Keras' plus
    ``tapeapp.features.date_layer.DateFeatures`` (registered when this module is imported, through
    ``tapeapp.features.preprocess``).
    """
    name = Path(path).name
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if ({m.filename for m in members} - MODEL_MEMBERS or len(members) > len(MODEL_MEMBERS)
                    or sum(m.file_size for m in members) > MODEL_MAX_UNPACKED):
                raise ValueError("unexpected contents")
            meta = check_metadata(json.loads(archive.read(METADATA)))
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
        names = {tensor.name.split(":")[0] for tensor in model.inputs} if isinstance(model, keras.Model) else set()
        outputs = int(model.output.shape[-1])
        if names != {spec["input"] for spec in meta["inputs"]} or outputs != (
                len(meta["classes"]) if meta["task"] == "multiclass" else 1) or (
                meta["task"] == "binary" and len(meta["classes"]) != 2):
            raise ValueError("the model and its metadata do not match")
    except Exception as exc:  # noqa: BLE001  (any refusal, by us or by Keras' safe mode, is the file's fault)
        raise TapeError(f"'{name}' is not a model saved by tapeapp, or it was changed after saving "
                        f"({type(exc).__name__}); it cannot be used.") from None
    return model, meta


def check_metadata(meta: object) -> dict:
    """tapeapp.json as ``model_metadata`` writes it, or ValueError: a hostile file may hold anything."""
    kinds = {"number", "text", "date"}
    ok = (isinstance(meta, dict) and meta.get("task") in ("binary", "multiclass", "regression")
          and isinstance(meta.get("target"), str) and isinstance(meta.get("classes"), list)
          and isinstance(meta.get("inputs"), list) and meta["inputs"]
          and all(isinstance(i, dict) and isinstance(i.get("column"), str) and isinstance(i.get("input"), str)
                  and i.get("kind") in kinds and (i["kind"] != "date" or isinstance(i.get("format"), dict))
                  for i in meta["inputs"]))
    if not ok:
        raise ValueError("metadata of the wrong shape")
    if any(i["kind"] == "date" for i in meta["inputs"]):
        for i in meta["inputs"]:
            if i["kind"] == "date":
                DateFormat.from_dict(i["format"])
    return meta


def predict_with_model(model: keras.Model, meta: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions from a loaded .keras file on raw rows, matching ``Run.predict`` column for column."""
    require_columns(frame, [i["column"] for i in meta["inputs"]])
    if len(frame) == 0:
        raise TapeError("The file for predictions has no rows.")
    feed = {i["input"]: tf.constant(_raw_values(i, frame[i["column"]]).reshape(-1, 1)) for i in meta["inputs"]}
    raw = np.asarray(model(feed, training=False))
    return prediction_frame(meta["task"], meta["target"], tuple(meta["classes"]), raw, frame.index)


def _raw_values(spec: dict, values: pd.Series) -> np.ndarray:
    """One column as the model's input takes it: numbers, text, or dates as ISO 8601 text."""
    if spec["kind"] == "date":
        return iso_strings(values, DateFormat.from_dict(spec["format"]))
    return (numeric_values if spec["kind"] == "number" else text_values)(values)
