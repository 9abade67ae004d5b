"""What the network learned, as plain data frames: its answer over two columns, its last hidden layer, which columns
matter. Each works on the weights the run's model holds now, so the page can call it between two epochs.

Every view looks at a fixed, seeded sample of the validation rows (never the training rows), small enough to
refresh live: the same rows from one epoch to the next, so the pictures change only because the network did.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.linalg import orthogonal_procrustes
from sklearn.decomposition import PCA
from sklearn.feature_selection import f_classif, f_regression
from sklearn.inspection import permutation_importance

from tapeapp._tf import keras, tf
from tapeapp.data.dates import parse_dates
from tapeapp.errors import TapeError
from tapeapp.explain.estimator import rows_estimator
from tapeapp.features.preprocess import MISSING_TOKEN
from tapeapp.train.metrics import probabilities
from tapeapp.train.views import ViewKey

MAP_ROWS = 100  # validation rows averaged at each grid point of the decision map
POINT_ROWS = 500  # validation rows drawn as dots
IMPORTANCE_ROWS = 2_000  # validation rows shuffled for importance
FORWARD_ROWS = 16_384  # rows per forward pass: 65,536 cost the 40 x 40 map ~100 MB more memory for no speed
VIEW_FLOPS = 5e9  # what one view may cost in floating-point operations: about a second here, whatever the network
MISSING_LABEL = "(missing)"
# What the views keep between two refreshes lives in ``run.views`` (freed with the run) under these keys, which only
# this module reads; what is built on a model (the hidden layer's sub-model) is kept with that model and built
# again when the run's model changes (training hands over to a copy of its own): Run never needs to know.
_MAP_ROWS: ViewKey[tuple] = ViewKey("insight: map rows")  # ((axes, resolution, rows), (estimator, x grid, y grid))
_HIDDEN_MODEL: ViewKey[tuple] = ViewKey("insight: hidden model")  # (the run's model, its last hidden layer's model)
_LAST_PICTURE: ViewKey[np.ndarray] = ViewKey("insight: last picture")  # the hidden map's last coordinates
TOLERANCE = 0.25  # a regression prediction counts as right within this share of the target's standard deviation

EXPLANATIONS = {
    "decision_map": "Each square is the model's answer when the two chosen columns take those values; every other "
                    "column keeps the values of {rows} validation rows, and the answers are averaged (a two-way "
                    "partial dependence). Dots are validation rows; crosses are rows the model gets wrong.",
    "hidden_map": "Each dot is a validation row as the last hidden layer sees it: its {width} neuron values drawn "
                  "flat in two dimensions (principal components, turned to match the previous picture). Rows the "
                  "network tells apart drift apart as it learns.",
    "importance": "How much the validation {score} worsens when one column's values are shuffled among {rows} "
                  "validation rows, breaking its link with the answer (permutation importance; the bar is the "
                  "average of {repeats} shuffles, the line their spread). Near zero: the model does not use it.",
}


def validation_positions(run, rows: int, seed: int = 0) -> np.ndarray:
    """Set positions (``Prepared``'s words) of up to ``rows`` validation rows: a seeded, fixed choice, so every
    refresh shows the same rows."""
    n = len(run.prepared.y_val)
    if n <= rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, rows, replace=False))


def affordable_rows(run, evaluations_per_row: int, wanted: int, floor: int = 1) -> int:
    """How many validation rows a view can use when each costs ``evaluations_per_row`` forward passes: ``wanted``,
    or fewer for a network so big that they would take more than about VIEW_FLOPS (6 x 1024 neurons: 10 million
    operations a row, so the 40 x 40 map's 60 rows a point alone would take a minute), never fewer than ``floor``."""
    per_row = 2 * sum(int(np.prod(v.shape)) for v in run.model.trainable_variables) * max(evaluations_per_row, 1)
    return int(max(floor, min(wanted, VIEW_FLOPS // per_row)))


def _check_column(run, column: str) -> None:
    if column not in run.prepared.features:
        raise TapeError(f"'{column}' is not one of the columns the model learned from "
                        f"({', '.join(map(str, run.prepared.features))}).")


def axis_kind(run, column: str) -> str:
    """How a map draws a column: 'number', 'text' (one line per category) or 'date'."""
    pre = run.prepared.preprocessor
    return "text" if column in pre.categorical else "date" if column in pre.dates else "number"


def grid_values(run, column: str, resolution: int) -> list:
    """The values a map's axis runs through: the training rows' range for a number or a date, each category for
    text."""
    pre = run.prepared.preprocessor
    kind = axis_kind(run, column)
    if kind == "text":
        return list(pre.categories_[column])
    low, high = pre.range_[column]
    if kind == "date":
        return list(pd.date_range(pd.Timestamp(low), pd.Timestamp(high), periods=resolution)) if high > low \
            else [pd.Timestamp(low)]
    return list(np.linspace(low, high, resolution)) if high > low else [low]


def _as_dates(run, rows: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Date columns read as dates (the preprocessing reads dates held as dates as they are), so grid dates can join
    them."""
    pre = run.prepared.preprocessor
    changes = {c: parse_dates(rows[c], pre.date_format_[c]) for c in columns if c in pre.dates}
    return rows.assign(**changes) if changes else rows


def _shown(value: object) -> object:
    return MISSING_LABEL if value == MISSING_TOKEN else value


def decision_map(run, x_column: str, y_column: str, resolution: int = 40, rows: int = MAP_ROWS) -> pd.DataFrame:
    """The model's answer over a grid of two raw columns, the other columns averaged over validation rows.

    This is scikit-learn's two-way partial dependence (``kind="average"``, brute force), computed in one forward
    pass per FORWARD_ROWS rows instead of one call per grid point (``tests/test_insight.py`` checks both agree).
    ``value`` is the probability of ``classes_[1]`` (binary), the predicted value (regression) or the predicted
    class (multiclass, with its averaged probability in ``confidence``).
    """
    for column in (x_column, y_column):
        _check_column(run, column)
    if x_column == y_column:
        raise TapeError("Choose two different columns for the decision map.")
    data = run.prepared
    estimator, gx, gy = _map_rows(run, x_column, y_column, resolution, rows)
    base = estimator.rows.iloc[:len(estimator.rows) - len(gx) - len(gy)]
    n, columns = len(base), list(estimator.columns)
    jx, jy = columns.index(x_column), columns.index(y_column)
    outputs = []
    points = [(i, j) for i in range(len(gx)) for j in range(len(gy))]
    per_pass = max(1, FORWARD_ROWS // n)
    for start in range(0, len(points), per_pass):
        chunk = points[start:start + per_pass]
        X = np.tile(estimator.identity(n), (len(chunk), 1))
        X[:, jx] = np.repeat([n + i for i, _ in chunk], n)
        X[:, jy] = np.repeat([n + len(gx) + j for _, j in chunk], n)
        outputs.append(estimator.raw_outputs(X).reshape(len(chunk), n, -1).mean(axis=1))
    average = np.concatenate(outputs)
    frame = pd.DataFrame({"x": [_shown(gx[i]) for i, _ in points], "y": [_shown(gy[j]) for _, j in points]})
    if run.task == "regression":
        frame["value"] = data.target_encoder.decode_regression(average.reshape(-1))
    elif run.task == "binary":
        frame["value"] = average.reshape(-1).astype("float64")
    else:
        classes = data.target_encoder.classes_
        frame["value"] = [classes[k] for k in np.nan_to_num(average).argmax(axis=1)]
        frame["confidence"] = average.max(axis=1).astype("float64")
    return frame


def _map_rows(run, x_column: str, y_column: str, resolution: int, rows: int) -> tuple:
    """The sampled rows and both axes' grid values, transformed once per run and axes: a live refresh then costs
    only the forward pass (one map per run is kept)."""
    key = (x_column, y_column, resolution, rows)
    cached = run.views.get(_MAP_ROWS)
    if cached is None or cached[0] != key:
        base = _as_dates(run, run.prepared.raw_val.iloc[validation_positions(run, rows)], (x_column, y_column))
        gx, gy = grid_values(run, x_column, resolution), grid_values(run, y_column, resolution)
        grid_rows = pd.concat([base.iloc[[0] * len(gx)].assign(**{x_column: gx}),
                               base.iloc[[0] * len(gy)].assign(**{y_column: gy})])
        estimator = rows_estimator(run, pd.concat([base, grid_rows]))
        cached = (key, (estimator, gx, gy))
        run.views.put(_MAP_ROWS, cached)
    return cached[1]


def map_points(run, x_column: str, y_column: str, rows: int = POINT_ROWS) -> pd.DataFrame:
    """Validation rows to draw on the decision map: their two values, the true answer and whether the model is right."""
    data = run.prepared
    positions = validation_positions(run, rows, seed=1)
    raw = _as_dates(run, data.raw_val.iloc[positions], (x_column, y_column))
    truth, right = _truth_and_right(run, positions)
    out = pd.DataFrame({"x": raw[x_column].to_numpy(), "y": raw[y_column].to_numpy(), "truth": truth,
                        "correct": right})
    for axis, column in (("x", x_column), ("y", y_column)):
        if axis_kind(run, column) == "text":
            out[axis] = out[axis].astype("object").where(out[axis].notna(), MISSING_LABEL).astype(str)
        elif axis_kind(run, column) == "number":
            out[axis] = pd.to_numeric(out[axis], errors="coerce")
    return out


def _truth_and_right(run, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The true answers of some validation rows (class names or numbers) and whether the model gets each right."""
    data = run.prepared
    raw = run.predict_proba_matrix(data.x_val[positions])
    y = data.y_val[positions]
    if run.task == "regression":
        decode = data.target_encoder.decode_regression
        truth, predicted = decode(y), decode(raw.reshape(-1))
        return truth, np.abs(predicted - truth) <= TOLERANCE * data.target_encoder.std_
    predicted = np.nan_to_num(probabilities(run.task, raw)).argmax(axis=1)
    return np.array([str(data.target_encoder.classes_[k]) for k in y], dtype=object), predicted == y


def last_hidden_width(run) -> int:
    return int(run.model.get_layer("output").input.shape[-1])


def hidden_values(run, positions: np.ndarray) -> np.ndarray:
    """The last hidden layer's values for some validation rows (the sub-model is kept with the run)."""
    held = run.views.get(_HIDDEN_MODEL)
    if held is None or held[0] is not run.model:
        held = (run.model, keras.Model(run.model.input, run.model.get_layer("output").input))
        run.views.put(_HIDDEN_MODEL, held)
    model = held[1]
    return np.asarray(model(tf.constant(run.prepared.x_val[positions]), training=False), "float64")


def hidden_map(run, rows: int = 500) -> pd.DataFrame:
    """The last hidden layer's values for up to ``rows`` validation rows, projected to 2-D by PCA.

    Each call is turned (rotated or mirrored, never stretched: orthogonal Procrustes) to match the previous call
    for the same run, so the picture moves smoothly from epoch to epoch instead of flipping its axes.
    """
    positions = validation_positions(run, rows, seed=2)
    coords = _project(hidden_values(run, positions))
    previous = run.views.get(_LAST_PICTURE)
    if previous is not None and previous.shape == coords.shape:
        rotation, _ = orthogonal_procrustes(coords, previous)
        coords = coords @ rotation
    run.views.put(_LAST_PICTURE, coords)
    truth, right = _truth_and_right(run, positions)
    return pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1], "label": truth, "correct": right})


def _project(activations: np.ndarray) -> np.ndarray:
    """Two principal components; fewer neurons or no variation give zeros for what is missing."""
    activations = np.nan_to_num(activations, posinf=0.0, neginf=0.0)
    out = np.zeros((len(activations), 2))
    centred = activations - activations.mean(axis=0)
    components = min(2, activations.shape[1], len(activations))
    if components and np.ptp(centred, axis=0).max() > 0:
        out[:, :components] = PCA(components, svd_solver="covariance_eigh").fit_transform(centred)
    return out


def importance(run, repeats: int = 5, rows: int = IMPORTANCE_ROWS, seed: int = 0) -> pd.DataFrame:
    """Permutation importance of each raw input column on validation rows, by scikit-learn, sorted.

    ``importance`` is the drop of the headline validation score (accuracy; for regression, the rise of RMSE in the
    target's units) when that column's values are shuffled among the rows; ``std`` is its spread over the repeats.
    A text column's one-hot inputs are shuffled together and reported once.
    """
    data = run.prepared
    positions = validation_positions(run, rows, seed=3)
    estimator = rows_estimator(run, data.raw_val.iloc[positions])
    if run.task == "regression":
        y, scoring = data.target_encoder.decode_regression(data.y_val[positions]), "neg_root_mean_squared_error"
    else:
        y, scoring = data.y_val[positions], "accuracy"
    result = permutation_importance(estimator, estimator.identity(), y, scoring=scoring, n_repeats=repeats,
                                    random_state=seed)
    frame = pd.DataFrame({"column": list(estimator.columns), "importance": result.importances_mean,
                          "std": result.importances_std})
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def useful_columns(run, rows: int = 2_000) -> list[str]:
    """Input columns by how strongly they alone go with the target in the training rows, best first.

    The F statistic of each input (ANOVA for classes, correlation for numbers; a text column counts by its best
    category): cheap enough for thousands of inputs, and only used to pick the decision map's default axes before
    any importance exists. Numbers come first, then dates, then text columns.
    """
    data = run.prepared
    pre = data.preprocessor
    n = len(data.y_train)
    picked = np.sort(np.random.default_rng(4).choice(n, min(n, rows), replace=False))
    score = f_regression if run.task == "regression" else f_classif
    x = data.x_train[picked]
    varies = np.ptp(x, axis=0) > 0  # a constant input (an unused category slot) scores 0; scikit-learn would warn,
    values = np.zeros(x.shape[1])   # and silencing warnings is not thread-safe (sessions train in threads)
    if varies.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            values[varies] = np.nan_to_num(score(x[:, varies], data.y_train[picked])[0], nan=0.0, posinf=0.0)
    slots = pre.slots()
    per_column = {c: float(values[slots[c]].max()) for c in pre.columns}
    return [c for group in (pre.numeric, pre.dates, pre.categorical)
            for c in sorted(group, key=lambda c: -per_column[c])]


def importance_measure(task: str) -> str:
    """What an importance bar measures, in words, for the chart's axis."""
    return "Rise in validation RMSE when shuffled" if task == "regression" else \
        "Drop in validation accuracy when shuffled"


def explanation(view: str, **facts: object) -> str:
    """The one plain sentence shown under a view, with its numbers filled in."""
    return EXPLANATIONS[view].format(**facts)


def is_finite_map(frame: pd.DataFrame) -> bool:
    """Whether a decision map can be drawn (a model whose numbers overflowed has no answers to show)."""
    values = frame["confidence"] if "confidence" in frame else frame["value"]
    return bool(len(frame)) and all(math.isfinite(v) for v in pd.to_numeric(values, errors="coerce"))
