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
from tapeapp.errors import TapeError
from tapeapp.reproduce_script import render_reproduce
from tapeapp.preprocess import numeric_values, require_columns, text_values
from tapeapp.run import Run, prediction_frame

METADATA = "tapeapp.json"


def model_metadata(run: Run) -> dict:
    """What a loaded model needs to accept raw rows and name its outputs (stored inside the .keras zip)."""
    pre = run.prepared.preprocessor
    return {
        "task": run.task, "target": run.target,
        "inputs": [{"column": c, "input": pre.input_names_[c], "kind": "number" if c in pre.numeric else "text"}
                   for c in pre.columns],
        "classes": [_plain(c) for c in run.prepared.target_encoder.classes_],
    }


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


def export_files(run: Run, source_name: str = "data.csv", read_options: dict | None = None) -> dict[str, bytes]:
    """Every download, as bytes, so the page never writes a user's data to disk."""
    return {
        "model.keras": model_bytes(run),
        "history.csv": run.history_frame().to_csv(index=False).encode(),
        "config.json": json.dumps(config_record(run), indent=2, default=str).encode(),
        "predictions.csv": validation_predictions(run).to_csv(index=False).encode(),
        "reproduce.py": render_reproduce(run, source_name, read_options or {}).encode(),
    }


def save_run(run: Run, directory: str | os.PathLike, **kwargs) -> list[Path]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in export_files(run, **kwargs).items():
        (out / name).write_bytes(content)
        written.append(out / name)
    return written


def load_model(path: str | os.PathLike) -> tuple[keras.Model, dict]:
    """Safe mode only: a model file from anyone may not run code when loaded. Nothing is unpickled."""
    try:
        with zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read(METADATA))
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise TapeError(f"'{Path(path).name}' is not a model saved by tapeapp ({type(exc).__name__}).") from None
    return model, meta


def predict_with_model(model: keras.Model, meta: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions from a loaded .keras file on raw rows, matching ``Run.predict`` column for column."""
    require_columns(frame, [i["column"] for i in meta["inputs"]])
    if len(frame) == 0:
        raise TapeError("The file for predictions has no rows.")
    feed = {i["input"]: tf.constant((numeric_values if i["kind"] == "number" else text_values)(frame[i["column"]])
                                    .reshape(-1, 1)) for i in meta["inputs"]}
    raw = np.asarray(model(feed, training=False))
    return prediction_frame(meta["task"], meta["target"], tuple(meta["classes"]), raw, frame.index)
