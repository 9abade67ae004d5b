"""Explaining rows with a run folder (the command line's ``explain``), and the background rows a folder keeps.

A folder written by ``python -m tapeapp train DATA --out DIR`` holds model.keras, which takes raw columns, but no
training rows; ``background_csv`` makes background.csv, a seeded sample of at most BACKGROUND_ROWS raw training rows
(input columns only), for the export to write beside it. ``explain_folder`` then takes every row of a file apart
against those rows, exactly as the page does against the run's own (``tapeapp.explain.contributions``).

The CSV has one line per (row, input column), in the rows' order and, within a row, the largest effect first:

    row, prediction, class, probability, base, column, value, contribution     (classification)
    row, prediction, base, column, value, contribution                         (regression)

``row`` is the row's position in the file (0 for the first data row, as in predictions.csv); ``prediction`` the
predicted class or value (what ``predict`` gives); ``class`` the class whose probability is explained (the second
of two classes, ``probability_<class>`` of predict's second column; else the predicted class) and ``probability``
that probability; ``base`` the average of the explained number over the background rows; ``value`` the row's raw
value in that column and ``contribution`` its Shapley value. For every row, ``base`` plus its contributions is
``probability`` (classification) or ``prediction`` (regression).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tapeapp.data.table import read_table
from tapeapp.errors import TapeError, quoted
from tapeapp.explain.contributions import BACKGROUND_ROWS, Explainer, background_rows, model_explainer
from tapeapp.features.preprocess import unexpected_columns
from tapeapp.keep.export import BACKGROUND_FILE, load_model
from tapeapp.keep.project import is_project_file, keras_model, open_project_file

MODEL_FILE = "model.keras"
MAX_ROWS = 1_000  # about a tenth of a second each: a bigger file is a job for a script, in pieces
MIN_OWN_BACKGROUND = 10  # without background.csv, the rows themselves serve as background if there are this many


def background_csv(run, frame: pd.DataFrame, rows: int = BACKGROUND_ROWS, seed: int = 0) -> bytes:
    """background.csv for a run folder: ``background_rows`` of the table the run was started from, as CSV."""
    return background_rows(run, frame, rows, seed).to_csv(index=False).encode()


def read_background(path: str | os.PathLike) -> pd.DataFrame:
    """background.csv as written: every value as its text (numbers are read as numbers by the model's inputs, and
    a category such as '007' keeps its zeros), empty cells missing."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


@dataclass(frozen=True)
class ExplainedFile:
    """The explanations as CSV text (the layout in this module's docstring), and plain notes for the user."""

    csv: str
    rows: int
    notes: tuple[str, ...]


def explanations_frame(explainer: Explainer, rows: pd.DataFrame) -> pd.DataFrame:
    """Every row of ``rows`` taken apart, one line per (row, input column), in the layout of this module."""
    model = explainer.model
    parts = []
    for position in range(len(rows)):
        explained = explainer.explain(rows.iloc[[position]])
        part = explained.contributions.assign(row=position, prediction=explained.prediction, base=explained.base)
        if model.task != "regression":
            part = part.assign(**{"class": explained.explained_class, "probability": explained.output})
        parts.append(part)
    columns = ["row", "prediction", *(["class", "probability"] if model.task != "regression" else []), "base",
               "column", "value", "contribution"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def _model_and_background(source: str | os.PathLike):
    """(model, metadata, background rows or None) from a run folder, a project .zip, or a model.keras (with
    background.csv beside it when there is one)."""
    path = Path(source)
    if path.is_dir():
        model = path / MODEL_FILE
        if not model.is_file():
            raise TapeError(f"There is no {MODEL_FILE} in {quoted(str(path))}: give the folder or the .zip that "
                            "'python -m tapeapp train DATA --out FOLDER_OR_ZIP' wrote.")
        path = model
    elif not path.is_file():
        raise TapeError(f"There is no run folder, project or model file at {quoted(str(path))}.")
    if is_project_file(path):
        project = open_project_file(path)
        model, meta = keras_model(project.model_keras)
        background = read_background(io.BytesIO(project.background_csv)) if project.background_csv else None
        return model, meta, background
    model, meta = load_model(path)
    beside = path.parent / BACKGROUND_FILE
    return model, meta, read_background(beside) if beside.is_file() else None


def explain_folder(source: str | os.PathLike, rows_path: str | os.PathLike,
                   max_rows: int = MAX_ROWS) -> ExplainedFile:
    """Take apart every row of a file with a run's model: a run folder, a project .zip, or a model.keras with
    background.csv beside it.

    Without background.csv (runs saved before it existed), a file of at least MIN_OWN_BACKGROUND rows is its own
    background (each row is compared with the average of the file's rows), and a note says so.
    """
    if not Path(rows_path).is_file():
        raise TapeError(f"There is no file at {quoted(str(rows_path))}.")
    model, meta, background = _model_and_background(source)
    rows = read_table(rows_path, sample=False).frame
    if len(rows) == 0:
        raise TapeError("The file of rows to explain has no rows.")
    if len(rows) > max_rows:
        raise TapeError(f"The file has {len(rows):,} rows; explaining takes about a tenth of a second a row, so at "
                        f"most {max_rows:,} are explained at once: split the file.")
    notes = []
    extra = unexpected_columns(rows, [*(i["column"] for i in meta["inputs"]), meta["target"]])
    if extra:
        notes.append(f"ignored columns the model does not use: {', '.join(map(str, extra))}")
    if background is None and len(rows) >= MIN_OWN_BACKGROUND:
        pick = np.sort(np.random.default_rng(0).choice(len(rows), min(len(rows), BACKGROUND_ROWS), replace=False))
        background = rows.iloc[pick]
        notes.append(f"There is no {BACKGROUND_FILE} with the model (it was saved by an older tapeapp), so each "
                     "row is compared with the average of the rows in this file instead of training rows.")
    elif background is None:
        raise TapeError(f"There is no {BACKGROUND_FILE} with the model, which explanations compare rows with "
                        f"(it was saved by an older tapeapp): train again with --out, or give at least "
                        f"{MIN_OWN_BACKGROUND} rows to compare with one another.")
    frame = explanations_frame(model_explainer(model, meta, background), rows)
    return ExplainedFile(csv=frame.to_csv(index=False), rows=len(rows), notes=tuple(notes))
