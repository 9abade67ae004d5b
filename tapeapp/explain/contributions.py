"""One row taken apart: how far each input column moved the model's answer for it from the average answer.

The numbers are Shapley values (``tapeapp.explain.shapley``) of the model's output against a background of rows: for a
yes/no target the probability of the second class (``classes_[1]``, the one ``probability_<class>`` columns and the
decision map show), for several classes the probability of the predicted class (or of a class asked for), for a
quantity the predicted value in the target's units. ``base`` is that output averaged over the background rows, and
``base`` plus every column's contribution is the row's own output. Columns are the raw input columns: a text
column's one-hot inputs and a date's inputs move together and count once.

The same code explains a Run and a saved ``model.keras`` (``tapeapp.keep.export.load_model``): both are seen as a
``RowModel``, raw rows in, outputs out, so the command line can explain rows with a run folder.

The background should be training rows: ``background_rows(run, frame)`` picks a seeded sample of them from the table
the run was started from (a Run keeps no raw training rows). Without one, a Run is explained against a seeded
sample of its validation rows (raw rows it does keep): a different, equally fair "average row", but say so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tapeapp._tf import tf
from tapeapp.data.dates import DateFormat, iso_strings, parse_dates
from tapeapp.errors import TapeError, quoted
from tapeapp.explain.shapley import EXACT_COLUMNS, ROW_BUDGET, Parts, Shapley, shapley_values
from tapeapp.features.preprocess import MISSING_TOKEN, numeric_values, require_columns, text_values
from tapeapp.train.run import prediction_frame
from tapeapp.train.views import ViewKey

BACKGROUND_ROWS = 100  # rows the "missing" columns are drawn from: enough for a steady average, cheap to pass
EXPLAIN_FLOPS = 2e10  # what one explanation may cost in floating-point operations: about 0.2 s here
MIN_BUDGET = 2_000  # rows through the model, whatever its size (a 6 x 1024 network: about 0.2 s here)


@dataclass(frozen=True, eq=False)
class RowModel:
    """A model as explanations see it: raw rows in (``encode``), outputs out (``forward``), columns and kinds.

    ``forward`` returns one row of outputs per row: the probability of ``classes[1]`` (binary), every class's
    probability (multiclass) or the predicted value (regression). ``owners`` says which input column each column
    of each encoded array belongs to. ``ranges`` and ``categories`` are what the training rows held, when known.
    """

    task: str
    target: str
    classes: tuple
    columns: tuple[str, ...]
    kinds: Mapping[str, str]  # column -> "number", "text" or "date"
    date_formats: Mapping[str, DateFormat]
    owners: tuple[np.ndarray, ...]
    encode: Callable[[pd.DataFrame], Parts]
    forward: Callable[[Parts], np.ndarray]
    flops_per_row: float
    ranges: Mapping[str, tuple] = field(default_factory=dict)
    categories: Mapping[str, tuple] = field(default_factory=dict)

    @property
    def budget(self) -> int:
        """Rows one explanation may pass through the model: ROW_BUDGET for small networks, fewer for big ones."""
        return int(min(ROW_BUDGET, max(MIN_BUDGET, EXPLAIN_FLOPS // max(self.flops_per_row, 1.0))))

    def outputs(self, frame: pd.DataFrame) -> np.ndarray:
        return self.forward(self.encode(frame))


def run_model(run) -> RowModel:
    """A Run as a RowModel: its fitted preprocessing once per rows, then the network as it is now."""
    pre = run.prepared.preprocessor
    slots = pre.slots()
    owners = np.zeros(pre.width, dtype=np.int64)
    for j, column in enumerate(pre.columns):
        owners[slots[column]] = j
    encoder = run.prepared.target_encoder

    def forward(parts: Parts) -> np.ndarray:
        raw = run.predict_proba_matrix(parts[0])
        return encoder.decode_regression(raw.reshape(-1))[:, None] if run.task == "regression" else raw

    kinds = {c: "number" for c in pre.numeric} | {c: "text" for c in pre.categorical} | {c: "date" for c in pre.dates}
    ranges = {c: (pd.Timestamp(lo), pd.Timestamp(hi)) if c in pre.dates else (_short(lo), _short(hi))
              for c, (lo, hi) in pre.range_.items()}
    return RowModel(
        task=run.task, target=run.target, classes=tuple(encoder.classes_), columns=tuple(pre.columns), kinds=kinds,
        date_formats=dict(pre.date_format_), owners=(owners,), encode=lambda frame: (pre.transform(frame),),
        forward=forward, flops_per_row=2.0 * sum(int(np.prod(v.shape)) for v in run.model.trainable_variables),
        ranges=ranges, categories={c: tuple(v for v in pre.categories_[c] if v != MISSING_TOKEN)
                                   for c in pre.categorical},
    )


def _short(value: float) -> float:
    """A number the preprocessing kept as float32, written as briefly as float32 allows (-2.365304, not
    -2.3653039932250977)."""
    return float(str(np.float32(value)))


def _numbers(values: pd.Series) -> np.ndarray:
    """The finite numbers of a raw column, in float64 (an editor shows them as the file wrote them)."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return numbers[np.isfinite(numbers)]


def file_model(model, meta: dict) -> RowModel:
    """A saved model that takes raw columns (``tapeapp.keep.export.load_model``) as a RowModel."""
    inputs = meta["inputs"]
    columns = tuple(i["column"] for i in inputs)
    kinds = {i["column"]: i["kind"] for i in inputs}
    formats = {i["column"]: DateFormat.from_dict(i["format"]) for i in inputs if i["kind"] == "date"}
    groups = [[k for k, i in enumerate(inputs) if i["kind"] == kind] for kind in ("number", "text", "date")]
    groups = [g for g in groups if g]

    def encode(frame: pd.DataFrame) -> Parts:
        require_columns(frame, columns)
        out = []
        for group in groups:
            kind = inputs[group[0]]["kind"]
            values = [numeric_values(frame[columns[k]]) if kind == "number" else text_values(frame[columns[k]])
                      if kind == "text" else iso_strings(frame[columns[k]], formats[columns[k]]) for k in group]
            out.append(np.column_stack(values).astype("float32" if kind == "number" else object))
        return tuple(out)

    specs = {i["input"]: tf.TensorSpec([None, 1], tf.float32 if i["kind"] == "number" else tf.string) for i in inputs}
    compiled = tf.function(lambda feed: model(feed, training=False), input_signature=[specs])  # traced once

    def forward(parts: Parts) -> np.ndarray:
        feed = {inputs[k]["input"]: tf.constant(array[:, i:i + 1]) for array, group in zip(parts, groups)
                for i, k in enumerate(group)}
        return compiled(feed).numpy()

    return RowModel(task=meta["task"], target=meta["target"], classes=tuple(meta["classes"]), columns=columns,
                    kinds=kinds, date_formats=formats, owners=tuple(np.array(g, dtype=np.int64) for g in groups),
                    encode=encode, forward=forward, flops_per_row=2.0 * float(model.count_params()))


@dataclass(frozen=True, eq=False)
class RowExplained:
    """One row's answer and each input column's share of it (its Shapley value), starting from the average answer.

    ``output`` is the number explained (``explained`` says which, in words): ``base + contributions.sum()``.
    ``contributions`` has the columns ``column``, ``value`` (the row's raw value) and ``contribution``, one row per
    input column, the largest effect (either way) first.
    """

    prediction: object
    probabilities: dict | None
    base: float
    output: float
    explained: str
    explained_class: object | None
    contributions: pd.DataFrame
    exact: bool
    background_rows: int


@dataclass(frozen=True, eq=False)
class Explainer:
    """A model and its background rows, transformed once: each explanation then costs the model's work alone."""

    model: RowModel
    background: pd.DataFrame
    encoded: Parts

    def explain(self, row, explain_class: object = None, seed: int = 0) -> RowExplained:
        """Take one row apart (a dict or a one-row DataFrame of raw values, edited ones included)."""
        model = self.model
        frame = as_row(model, row)
        encoded = model.encode(frame)
        shares = shapley_values(model.forward, encoded, self.encoded, model.owners, EXACT_COLUMNS, model.budget, seed)
        own = shares.output[None]  # the row alone through the model: what run.predict computes for it
        predicted = prediction_frame(model.task, model.target, model.classes, own, frame.index)
        prediction = _plain(predicted[f"predicted_{model.target}"].iloc[0])
        probabilities = None if model.task == "regression" else {
            c: float(predicted[f"probability_{c}"].iloc[0]) for c in model.classes}
        index, flip, chosen, words = _explained_output(model, prediction, explain_class)
        values, base, output = _picked(shares, own[0], index, flip)
        contributions = pd.DataFrame({"column": list(model.columns),
                                      "value": [_plain(v) for v in frame.iloc[0][list(model.columns)]],
                                      "contribution": values})
        order = np.argsort(-np.abs(values), kind="stable")
        return RowExplained(prediction=prediction, probabilities=probabilities, base=base, output=output,
                            explained=words, explained_class=chosen,
                            contributions=contributions.iloc[order].reset_index(drop=True), exact=shares.exact,
                            background_rows=shares.background_rows)


def _explained_output(model: RowModel, prediction: object, explain_class: object) -> tuple[int, bool, object, str]:
    """Which output is explained: (its index, whether it is 1 - the binary output, the class, in words)."""
    if model.task == "regression":
        return 0, False, None, f"predicted {model.target}"
    default = model.classes[1] if model.task == "binary" else prediction
    chosen = default if explain_class is None else _class(model, explain_class)
    position = model.classes.index(chosen)
    if model.task == "binary":
        return 0, position == 0, chosen, f"probability of {quoted(chosen)}"
    return position, False, chosen, f"probability of {quoted(chosen)}"


def _class(model: RowModel, asked: object) -> object:
    for c in model.classes:
        if c == asked or str(c) == str(asked):
            return c
    raise TapeError(f"{quoted(asked)} is not one of the classes of '{model.target}' "
                    f"({', '.join(map(str, model.classes))}).")


def _picked(shares: Shapley, own: np.ndarray, index: int, flip: bool) -> tuple[np.ndarray, float, float]:
    """One output's contributions, base and value (1 - p for the first of two classes)."""
    values, base, output = shares.values[:, index], float(shares.base[index]), float(own[index])
    if flip:
        return -values, 1.0 - base, 1.0 - output
    return values, base, output


def _plain(value: object) -> object:
    """A NumPy scalar as the Python value it holds, so tables and messages show 70 and not np.int64(70)."""
    return value.item() if isinstance(value, np.generic) and not isinstance(value, np.datetime64) else value


def as_row(source, row) -> pd.DataFrame:
    """One row of raw values as the model reads it: a dict, a Series or a one-row DataFrame, extra keys ignored.

    A date column may hold dates (``datetime.date``, ``pd.Timestamp``: what a date editor returns) whatever way the
    training file wrote them: every date format also reads ISO 8601, which is how dates are written as text.
    ``Run.predict`` on this frame gives the same answer as the explanation.
    """
    model = _model(source)
    if isinstance(row, pd.Series):
        row = row.to_dict()
    if isinstance(row, Mapping):
        frame = pd.DataFrame({c: [v] for c, v in row.items()})
    elif isinstance(row, pd.DataFrame):
        frame = row
    else:
        raise TypeError(f"a row is a dict or a one-row DataFrame, not {type(row).__name__}")
    if len(frame) != 1:
        raise TapeError(f"Choose exactly one row to explain (there are {len(frame):,}).")
    require_columns(frame, model.columns)
    return frame[list(model.columns)]


def _model(source) -> RowModel:
    if isinstance(source, RowModel):
        return source
    if isinstance(source, Explainer):
        return source.model
    return run_model(source)


def validation_background(run, rows: int = BACKGROUND_ROWS, seed: int = 0) -> pd.DataFrame:
    """A seeded sample of the run's raw validation rows (its input columns): the background when no training rows
    are at hand."""
    data = run.prepared
    n = len(data.raw_val)
    pick = np.sort(np.random.default_rng(seed).choice(n, min(rows, n), replace=False))
    return data.raw_val.iloc[pick][list(data.features)].reset_index(drop=True)


def background_rows(run, frame: pd.DataFrame, rows: int = BACKGROUND_ROWS, seed: int = 0) -> pd.DataFrame:
    """A seeded sample of up to ``rows`` raw training rows (input columns only), from ``frame``: the table the run
    was started from (``run.prepared.train_positions`` are positions in it). The best background for explanations,
    and what a run folder keeps as background.csv."""
    positions = run.prepared.train_positions
    if positions is None:
        raise ValueError("this run does not know its training rows' positions")
    if len(positions) and (positions.max() >= len(frame) or not set(run.prepared.features) <= set(frame.columns)):
        raise TapeError("This is not the table the model was trained on: its training rows are not in it.")
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(positions, min(rows, len(positions)), replace=False))
    return frame.iloc[pick][list(run.prepared.features)].reset_index(drop=True)


_BACKGROUND: ViewKey[tuple] = ViewKey("contributions: background")  # (the frame asked for, it transformed, encoded)


def explainer(run, background: pd.DataFrame | None = None) -> Explainer:
    """The Run's explainer over ``background`` (default: ``validation_background``). The background transformed
    is kept with the run while the same background object is passed, so the what-if page transforms it once and
    not at every edit (only arrays are kept: nothing in run.views refers back to the run)."""
    model = run_model(run)
    held = run.views.get(_BACKGROUND)
    if held is not None and held[0] is background:
        return Explainer(model=model, background=held[1], encoded=held[2])
    made = make_explainer(model, validation_background(run) if background is None else background)
    run.views.put(_BACKGROUND, (background, made.background, made.encoded))
    return made


def model_explainer(model, meta: dict, background: pd.DataFrame) -> Explainer:
    """The explainer of a saved model file (``load_model``'s model and metadata) over background rows."""
    return make_explainer(file_model(model, meta), background)


def make_explainer(model: RowModel, background: pd.DataFrame) -> Explainer:
    if len(background) == 0:
        raise TapeError("There are no background rows to compare the row with.")
    require_columns(background, model.columns)
    background = background[list(model.columns)].reset_index(drop=True)
    return Explainer(model=model, background=background, encoded=model.encode(background))


def explain_row(source, row, background: pd.DataFrame | None = None, explain_class: object = None) -> RowExplained:
    """Take one row apart, for a Run (over ``background``, see ``explainer``) or an Explainer (its own background).

    ``explain_class`` explains another class's probability than the default (the second of two classes, or the
    predicted one of several), e.g. to keep one class while editing a row.
    """
    held = source if isinstance(source, Explainer) else explainer(source, background)
    return held.explain(row, explain_class)


@dataclass(frozen=True)
class ColumnRange:
    """What a what-if editor needs for one input column: its kind, the values seen and a typical value.

    ``low``/``high``: the smallest and largest number (or date, as pd.Timestamp) seen; ``categories``: the text
    values seen, most common first; ``whole``: every number seen is a whole number (a step of 1 fits).
    """

    column: str
    kind: str
    low: object
    high: object
    categories: tuple
    whole: bool
    typical: object


def _reference(source, rows: pd.DataFrame | None) -> pd.DataFrame:
    if rows is not None:
        return rows
    if isinstance(source, Explainer):
        return source.background
    if isinstance(source, RowModel):
        raise ValueError("pass the rows to describe")
    return source.prepared.raw_val


def column_ranges(source, rows: pd.DataFrame | None = None) -> list[ColumnRange]:
    """Per input column, what an editor needs: from ``rows`` (default: a Run's validation rows, an Explainer's
    background), widened by the training rows' ranges and categories when the model knows them (a Run)."""
    model = _model(source)
    reference = _reference(source, rows)
    require_columns(reference, model.columns)
    out = []
    for column in model.columns:
        kind = model.kinds[column]
        values = reference[column]
        low = high = None
        categories: tuple = ()
        whole = False
        if kind == "number":
            numbers = _numbers(values)
            seen = [(float(numbers.min()), float(numbers.max()))] if numbers.size else []
            whole = bool(numbers.size) and bool(np.all(numbers == np.round(numbers)))
        elif kind == "date":
            moments = parse_dates(values, model.date_formats[column])
            moments = moments[~np.isnat(moments)]
            seen = [(pd.Timestamp(moments.min()), pd.Timestamp(moments.max()))] if moments.size else []
        else:
            counts = pd.Series(text_values(values)).value_counts()
            known = model.categories.get(column, ())
            categories = tuple(dict.fromkeys([*known, *(v for v in counts.index if v != MISSING_TOKEN)]))
            seen = []
        if column in model.ranges:
            seen.append(model.ranges[column])
        if seen:
            low, high = min(s[0] for s in seen), max(s[1] for s in seen)
            if kind == "number":
                low, high = float(low), float(high)
        out.append(ColumnRange(column, kind, low, high, categories, whole, _typical(model, column, values, whole)))
    return out


def typical_row(source, rows: pd.DataFrame | None = None) -> dict:
    """A starting row for a what-if editor: each number's median (whole if the column holds whole numbers), each
    text column's most common value, each date's median (pd.Timestamp), over ``rows`` (default: a Run's validation
    rows, an Explainer's background rows)."""
    return {r.column: r.typical for r in column_ranges(source, rows)}


def _typical(model: RowModel, column: str, values: pd.Series, whole: bool) -> object:
    kind = model.kinds[column]
    if kind == "number":
        numbers = _numbers(values)
        if not numbers.size:
            return None
        middle = float(np.median(numbers))
        return int(round(middle)) if whole else middle
    if kind == "date":
        moments = parse_dates(values, model.date_formats[column])
        moments = moments[~np.isnat(moments)]
        return pd.Timestamp(np.datetime64(int(np.median(moments.astype("int64"))), "s")) if moments.size else None
    text = pd.Series(text_values(values))
    text = text[text != MISSING_TOKEN]
    return text.value_counts().index[0] if len(text) else None
