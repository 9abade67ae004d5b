"""The rows behind the numbers: which validation rows the model gets wrong, which fill a cell of the confusion
matrix or a corner of the predicted-against-actual chart, and in which groups of rows it is weakest.

Every function looks at the validation rows with the weights the run's model holds now, computed the
way ``tapeapp.judge.evaluation.evaluate`` computes its scores, so the rows listed are exactly the rows counted
there. Row tables have the columns ``row`` (the row's label in the table, as in predictions.csv), the input columns
and the target (raw values), ``predicted_<target>``, and then ``probability`` (the probability the model gave the
class it predicted) or ``error`` (predicted minus actual, in the target's units); an added column whose name an input
column already has gets a trailing '_'.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tapeapp.data.dates import parse_dates
from tapeapp.errors import TapeError, quoted
from tapeapp.features.preprocess import MISSING_TOKEN, text_values
from tapeapp.judge.evaluation import predicted_labels
from tapeapp.train.metrics import MAIN_METRIC, probabilities

MIN_ROWS = 20  # a group with fewer validation rows is listed but marked too small to judge
MAX_GROUPS = 20  # a text column's most common values each get a group; the rest share one
FEW_VALUES = 6  # a number column with at most this many different values is grouped by value, not by range
MISSING_GROUP = "(missing)"
OTHER_GROUP = "(other values)"


def _validation(run, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(actual, predicted, probability of the predicted class) for every validation row, as ``evaluate`` sees them:
    class indices for classification, the target's units for regression (probability None)."""
    data = run.prepared
    raw = run.predict_proba_matrix(data.x_val)
    if run.task == "regression":
        decode = data.target_encoder.decode_regression
        return decode(data.y_val), decode(raw.reshape(-1)), None
    proba = probabilities(run.task, raw)
    predicted = predicted_labels(run.task, proba, threshold)
    return data.y_val, predicted, proba[np.arange(len(predicted)), predicted].astype("float64")


def _free(name: str, taken: set) -> str:
    """``name``, or ``name_`` (and so on) when the table already has a column of that name."""
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _rows(run, positions: np.ndarray, predicted: np.ndarray, last: str, values: np.ndarray) -> pd.DataFrame:
    """Validation rows by position: label, raw inputs and target, the prediction and one more column (the added
    columns get a trailing '_' when an input column has their name)."""
    data = run.prepared
    raw = data.raw_val.iloc[positions]
    taken = {*data.features, data.target}
    columns = {_free("row", taken): data.val_rows[positions]}
    columns.update({column: raw[column].to_numpy() for column in (*data.features, data.target)})
    if run.task == "regression":
        columns[_free(f"predicted_{data.target}", taken)] = predicted[positions]
    else:
        classes = data.target_encoder.classes_
        columns[_free(f"predicted_{data.target}", taken)] = [classes[k] for k in predicted[positions]]
    columns[_free(last, taken)] = values[positions]
    return pd.DataFrame(columns)


def mistakes(run, n: int = 20, threshold: float = 0.5) -> pd.DataFrame:
    """The ``n`` validation rows the model gets most confidently wrong, worst first.

    Classification: rows whose predicted class (at ``threshold`` for yes/no) is not the true one, by the
    probability the model gave that wrong class; regression: rows by the size of the error.
    """
    actual, predicted, confidence = _validation(run, threshold)
    if confidence is None:
        error = predicted - actual
        order = np.argsort(-np.nan_to_num(np.abs(error), nan=np.inf), kind="stable")
        return _rows(run, order[:n], predicted, "error", error)
    wrong = np.flatnonzero(predicted != actual)
    order = wrong[np.argsort(-np.nan_to_num(confidence[wrong], nan=-1.0), kind="stable")]
    return _rows(run, order[:n], predicted, "probability", confidence)


def _class_index(run, label: object) -> int:
    """A class given as itself or as the text the confusion matrix shows for it."""
    classes = run.prepared.target_encoder.classes_
    for i, c in enumerate(classes):
        if c == label or str(c) == str(label):
            return i
    raise TapeError(f"{quoted(label)} is not one of the classes of '{run.target}' "
                    f"({', '.join(map(str, classes))}).")


def confusion_rows(run, actual: object, predicted: object, threshold: float = 0.5) -> pd.DataFrame:
    """The validation rows in one cell of ``evaluate(run, threshold).confusion`` (true class ``actual``, predicted
    ``predicted``; classes as themselves or as the matrix writes them), most confident first."""
    if run.task == "regression":
        raise TapeError("A model that predicts a quantity has no confusion matrix; choose a part of the "
                        "predicted-against-actual chart instead.")
    i, j = _class_index(run, actual), _class_index(run, predicted)
    truth, guess, confidence = _validation(run, threshold)
    cell = np.flatnonzero((truth == i) & (guess == j))
    order = cell[np.argsort(-np.nan_to_num(confidence[cell], nan=-1.0), kind="stable")]
    return _rows(run, order, guess, "probability", confidence)


def region_rows(run, predicted: tuple[float | None, float | None] = (None, None),
                actual: tuple[float | None, float | None] = (None, None)) -> pd.DataFrame:
    """Regression: the validation rows whose predicted and actual values both fall in a rectangle of the
    predicted-against-actual chart (ends included; None leaves an end open), largest errors first."""
    if run.task != "regression":
        raise TapeError("Only a model that predicts a quantity has a predicted-against-actual chart; for classes, "
                        "choose a cell of the confusion matrix instead.")
    truth, guess, _ = _validation(run, 0.5)
    inside = _between(guess, predicted) & _between(truth, actual)
    error = guess - truth
    cell = np.flatnonzero(inside)
    order = cell[np.argsort(-np.abs(error[cell]), kind="stable")]
    return _rows(run, order, guess, "error", error)


def _between(values: np.ndarray, bounds: tuple[float | None, float | None]) -> np.ndarray:
    low, high = bounds
    if low is not None and high is not None and low > high:  # a selection dragged right to left
        low, high = high, low
    keep = np.isfinite(values)
    if low is not None:
        keep &= values >= low
    if high is not None:
        keep &= values <= high
    return keep


def score_name(task: str) -> str:
    """What ``slices`` scores: the main metric (accuracy; RMSE in the target's units for a quantity)."""
    return MAIN_METRIC[task]


def _check_column(run, column: str) -> None:
    if column not in run.prepared.features:
        raise TapeError(f"'{column}' is not one of the columns the model learned from "
                        f"({', '.join(map(str, run.prepared.features))}).")


def groups(run, column: str, bins: int = 4, edges_from: pd.DataFrame | None = None) -> pd.Series:
    """Each validation row's group for a column, as text: a text column's value, a number's range (quantiles of
    ``edges_from``'s values, e.g. training rows, else of the validation rows; each value when there are few), a
    date's year (or a range of dates when the rows span one year or many). Missing values are a group of their own.
    """
    _check_column(run, column)
    pre = run.prepared.preprocessor
    values = run.prepared.raw_val[column]
    reference = values if edges_from is None else edges_from[column]
    if column in pre.categorical:
        return _text_groups(values)
    if column in pre.dates:
        fmt = pre.date_format_[column]
        return _date_groups(parse_dates(values, fmt), parse_dates(reference, fmt), bins, values.index)
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return _number_groups(numbers, pd.to_numeric(reference, errors="coerce").astype("float64"), bins)


def _text_groups(values: pd.Series) -> pd.Series:
    text = pd.Series(text_values(values), index=values.index)
    counts = text.value_counts()
    kept = set(counts.index[:MAX_GROUPS]) | {MISSING_TOKEN}
    text = text.where(text.isin(kept), OTHER_GROUP)
    return text.where(text != MISSING_TOKEN, MISSING_GROUP)


def _number_groups(values: pd.Series, reference: pd.Series, bins: int) -> pd.Series:
    finite = values.where(np.isfinite(values))
    distinct = np.unique(finite.dropna())
    if len(distinct) <= FEW_VALUES:
        labels = finite.map(lambda v: f"{v:,.6g}", na_action="ignore")
    else:
        known = reference[np.isfinite(reference)]
        edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1])) if len(known) else np.array([])
        labels = pd.Series(_range_labels(finite.to_numpy(), edges, lambda v: f"{v:,.4g}"), index=values.index)
    return labels.where(finite.notna(), MISSING_GROUP)


def _range_labels(values: np.ndarray, edges: np.ndarray, show) -> np.ndarray:
    """'up to a', 'a to b' (above a, up to b), ..., 'above z' for values cut at ``edges``."""
    names = ([f"up to {show(edges[0])}"] + [f"{show(a)} to {show(b)}" for a, b in zip(edges[:-1], edges[1:])]
             + [f"above {show(edges[-1])}"]) if len(edges) else ["all"]
    where = np.searchsorted(edges, values, side="left") if len(edges) else np.zeros(len(values), int)
    return np.array(names, dtype=object)[where]


def _date_groups(moments: np.ndarray, reference: np.ndarray, bins: int, index: pd.Index) -> pd.Series:
    present = ~np.isnat(moments)
    years = moments.astype("datetime64[Y]").astype("int64") + 1970
    labels = np.full(len(moments), MISSING_GROUP, dtype=object)
    spanned = np.unique(years[present])
    if 2 <= len(spanned) <= 12:
        labels[present] = [str(y) for y in years[present]]
    else:
        known = reference[~np.isnat(reference)].astype("int64")
        edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1]).round()) if len(known) else []
        edges = np.asarray(edges, dtype="int64")
        labels[present] = _range_labels(moments[present].astype("int64"), edges, _day)
    return pd.Series(labels, index=index)


def _day(seconds: float) -> str:
    return str(np.datetime64(int(seconds), "s").astype("datetime64[D]"))


def slices(run, column: str, bins: int = 4, threshold: float = 0.5, min_rows: int = MIN_ROWS,
           edges_from: pd.DataFrame | None = None) -> pd.DataFrame:
    """The validation score per group of one column (``groups``), weakest first.

    Columns: ``group``, ``rows``, ``score`` (accuracy at ``threshold``, or RMSE for a quantity: ``score_name``),
    ``too_few`` (fewer than ``min_rows`` rows: listed after the groups large enough to judge, still weakest first).
    The rows add up to the validation rows.
    """
    return _slices(run, column, bins, min_rows, edges_from, _validation(run, threshold))


def _slices(run, column: str, bins: int, min_rows: int, edges_from: pd.DataFrame | None,
            validation: tuple) -> pd.DataFrame:
    labels = groups(run, column, bins, edges_from).to_numpy(dtype=object)
    actual, predicted, _ = validation
    per_row = (predicted - actual) ** 2 if run.task == "regression" else (predicted == actual).astype("float64")
    codes, names = pd.factorize(labels, sort=True)
    rows = np.bincount(codes, minlength=len(names))
    score = np.bincount(codes, weights=per_row, minlength=len(names)) / np.maximum(rows, 1)
    out = pd.DataFrame({"group": [str(n) for n in names], "rows": rows,
                        "score": np.sqrt(score) if run.task == "regression" else score})
    out["too_few"] = out["rows"] < min_rows
    return _weakest_first(out, run.task)


def _weakest_first(table: pd.DataFrame, task: str) -> pd.DataFrame:
    """Groups large enough to judge first, each part from the lowest accuracy (or the highest RMSE) up."""
    weakness = table["score"].to_numpy() if task == "regression" else -table["score"].to_numpy()
    order = np.lexsort((-np.nan_to_num(weakness, nan=-np.inf), table["too_few"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def weakest_slices(run, bins: int = 4, threshold: float = 0.5, min_rows: int = MIN_ROWS, top: int | None = 10,
                   edges_from: pd.DataFrame | None = None) -> pd.DataFrame:
    """``slices`` of every input column in one table (a ``column`` column first), weakest groups first; a column
    with a single group says nothing and is left out. ``top`` keeps the first rows (None: all)."""
    parts = []
    validation = _validation(run, threshold)  # one forward pass for every column
    for column in run.prepared.features:
        part = _slices(run, column, bins, min_rows, edges_from, validation)
        if len(part) > 1:
            parts.append(part.assign(column=column))
    if not parts:
        return pd.DataFrame(columns=["column", "group", "rows", "score", "too_few"])
    out = _weakest_first(pd.concat(parts, ignore_index=True)[["column", "group", "rows", "score", "too_few"]],
                         run.task)
    return out if top is None else out.head(top)


def overall_score(run, threshold: float = 0.5) -> float:
    """The validation score ``slices`` compares groups with (the same metric over every validation row)."""
    actual, predicted, _ = _validation(run, threshold)
    if run.task == "regression":
        return float(math.sqrt(np.mean((predicted - actual) ** 2))) if len(actual) else math.nan
    return float(np.mean(predicted == actual)) if len(actual) else math.nan
