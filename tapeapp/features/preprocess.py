"""Preprocessing fitted on training rows only, applied by Keras layers so the exported model takes raw values.

Like a scikit-learn transformer: ``fit`` learns statistics from the training rows (attributes ending in ``_``),
``transform`` applies them. The same Keras layers (``apply``) transform the training data, run eagerly, and sit
inside the exported ``.keras`` file, so what the app trained on and what the file computes cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tapeapp._tf import keras, tf
from tapeapp.data.dates import DateFormat, detect_format, iso_strings, parse_dates, seconds, stored_format, unreadable
from tapeapp.errors import TapeError
from tapeapp.features.date_layer import DateFeatures, DateStats
from tapeapp.features.number_layer import SignedLog, Skew, find_skew

MISSING_TOKEN = ""
MAX_LEVELS = 250  # categories kept per column at most: one-hot into the first layer is already an embedding
MIN_LEVEL_ROWS = 5  # a category with fewer training rows counts as 'other' (bench/defaults_findings.md §3)
CLIP = 10.0
FLOAT32_MAX = float(np.finfo(np.float32).max)
MAX_SPREAD = 1e18  # the Normalization layer squares the spread in float32: larger ones would overflow
_CHUNK = 65_536


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def numeric_values(series: pd.Series) -> np.ndarray:
    """Numbers as float32; inf, numbers too large for float32 and non-numbers become NaN (imputed, never trained on)."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.abs(values) <= FLOAT32_MAX, values, np.nan).astype("float32")


def unusable_numbers(series: pd.Series) -> tuple[int, str]:
    """How many present values ``numeric_values`` turns into NaN, and the first of them, for a plain note."""
    present = series.notna().to_numpy()
    lost = present & np.isnan(numeric_values(series))
    return int(lost.sum()), (str(series[lost].iloc[0]) if lost.any() else "")


def text_values(series: pd.Series) -> np.ndarray:
    """Category labels as strings, missing as the empty string (a category of its own).

    NUL characters are dropped: NumPy's string arrays (which Keras' StringLookup uses) cut them off, so 'a' and
    'a\x00' would become one repeated category.
    """
    as_text = series.astype("object").where(series.notna(), MISSING_TOKEN)
    return np.array([str(v).replace("\x00", "") for v in as_text], dtype=object)


def aligned_empty(shape: tuple[int, int], align: int = 128) -> np.ndarray:
    """A float32 matrix whose memory TensorFlow can use in place (it needs 64-byte alignment at most; 128 leaves
    room), so training needs no second copy of a big table."""
    size = shape[0] * shape[1] * 4
    buffer = np.empty(size + align, np.uint8)
    start = -buffer.ctypes.data % align
    return buffer[start:start + size].view(np.float32).reshape(shape)


def require_columns(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    """Refuse rows that lack a column the model learned from, in the same words wherever rows come in."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TapeError("These columns are missing: " + ", ".join(f"'{c}'" for c in missing)
                        + "; add them, the model needs every column it learned from.")


def unexpected_columns(frame: pd.DataFrame, used: Iterable[str]) -> list[str]:
    """Columns of new rows that the model does not use (predictions ignore them; the user is told)."""
    known = set(used)
    return [c for c in frame.columns if c not in known]


def input_name(column: str, taken: set[str]) -> str:
    """Keras input names allow only [A-Za-z0-9_-] and must be unique."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", str(column)).strip("_") or "column"
    if base[0].isdigit():
        base = "c_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def fit_dates(moments: np.ndarray) -> DateStats | None:
    """What a date column learns from its training rows' dates (``parse_dates``); None when none is readable."""
    present = moments[~np.isnat(moments)]
    if present.size == 0:
        return None
    days, second = seconds(present)
    origin = int(days.min())
    since = (days - origin).astype("float64") + second / 86_400.0
    years = (present.astype("datetime64[Y]").astype("int64") + 1970).astype("float64")
    fill = np.datetime64(int(np.floor(np.median(present.astype("int64")))), "s")
    stats = DateStats(origin=origin, fill=str(np.datetime_as_string(fill, unit="s")),
                      mean=(float(since.mean()), float(years.mean())),
                      std=tuple(float(v.std()) if v.std() > 0 else 1.0 for v in (since, years)),
                      hours=bool((second != 0).any()))
    return stats


@dataclass(eq=False)
class Preprocessor:
    """Turns raw feature columns into a float matrix; ``mode`` is 'standard' or 'tutorial'.

    ``dates`` are date columns, read with ``date_formats`` (detected from the training rows when not given): each
    becomes the time since the first training date and the year (scaled), and month, day of week and, when the
    training rows hold times, hour of day on a circle. They are treated the same way in both modes.
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    mode: str = "standard"
    dates: tuple[str, ...] = ()
    date_formats: dict[str, DateFormat] = field(default_factory=dict)
    plain: tuple[str, ...] = ()  # number columns the user keeps as they are, skewed or not
    input_names_: dict[str, str] = field(default_factory=dict)
    fill_: dict[str, float] = field(default_factory=dict)
    mean_: dict[str, float] = field(default_factory=dict)
    std_: dict[str, float] = field(default_factory=dict)
    categories_: dict[str, list[str]] = field(default_factory=dict)
    range_: dict[str, tuple[float, float]] = field(default_factory=dict)
    layers_: dict = field(default_factory=dict, repr=False, compare=False)
    date_format_: dict[str, DateFormat] = field(default_factory=dict)
    date_stats_: dict[str, DateStats] = field(default_factory=dict)
    skew_: dict[str, Skew] = field(default_factory=dict)  # skewed number columns and how they are transformed
    pooled_: dict[str, int] = field(default_factory=dict)  # categories counted as 'other' (rare, or past the cap)
    warnings_: list[str] = field(default_factory=list)
    fitted_: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column: numbers, then categories, then dates (the order of the matrix's columns too)."""
        return self.numeric + self.categorical + self.dates

    def fit(self, train: pd.DataFrame) -> Preprocessor:
        taken: set[str] = set()
        self.input_names_ = {c: input_name(c, taken) for c in self.columns}
        for col in self.numeric:
            values = numeric_values(train[col]).astype("float64")
            finite = values[~np.isnan(values)]
            if finite.size == 0:
                raise TapeError(f"The column '{col}' has no numbers in the training rows; mark it as ignored.")
            lost, example = unusable_numbers(train[col])
            if lost:
                self.warnings_.append(
                    f"'{col}' has {lost:,} {'value that is' if lost == 1 else 'values that are'} infinite or too "
                    f"large to compute with (such as {example}); {'it is' if lost == 1 else 'they are'} treated as "
                    "missing."
                )
            self.fill_[col] = float(np.median(finite) if self.mode == "standard" else finite.mean())
            self.range_[col] = (float(finite.min()), float(finite.max()))
            skew = find_skew(finite) if self.mode == "standard" and col not in self.plain else None
            if skew is not None:  # scaled after the transform, on the transformed training values
                self.skew_[col] = skew
                finite = np.sign(finite) * np.log1p(np.abs(finite) / skew.scale)
            if self.mode == "tutorial":
                mean, std = finite.mean(), finite.std(ddof=1) if finite.size > 1 else 0.0
            else:
                mean, std = finite.mean(), finite.std()
            if std > MAX_SPREAD:
                mean, std = float(np.median(finite)), float(np.subtract(*np.percentile(finite, [75, 25])))
                self.warnings_.append(f"'{col}' has huge values; it was scaled by its median and spread instead.")
            self.mean_[col] = float(mean)
            self.std_[col] = min(float(std), MAX_SPREAD) if std > 0 else 1.0
        for col in self.categorical:
            counts = pd.Series(text_values(train[col])).value_counts(sort=True)
            if self.mode == "tutorial":
                levels = sorted(counts.index)
            else:
                levels = list(counts.index[counts.to_numpy() >= MIN_LEVEL_ROWS][:MAX_LEVELS])
                if not levels and len(counts):  # a tiny table: no value has 5 rows; keep the most common one, so the
                    levels = [counts.index[0]]  # column still says something (a lookup needs one value at least)
                self.pooled_[col] = len(counts) - len(levels)
                if len(counts) > MAX_LEVELS:
                    self.warnings_.append(
                        f"'{col}' has {len(counts):,} different values; the {len(levels):,} with at least "
                        f"{MIN_LEVEL_ROWS} training rows are used (at most {MAX_LEVELS}) and the rest count as "
                        "'other'."
                    )
            self.categories_[col] = levels
            if self.mode == "tutorial":
                codes = np.array([levels.index(v) for v in text_values(train[col])], dtype="float64")
                std = codes.std(ddof=1) if codes.size > 1 else 0.0
                self.mean_[col], self.std_[col] = float(codes.mean()), float(std) if std > 0 else 1.0
        for col in self.dates:
            self._fit_date(col, train[col])
        self.fitted_ = True
        return self

    def _fit_date(self, col: str, values: pd.Series) -> None:
        fmt = self.date_formats.get(col) or _detect(values)
        moments = parse_dates(values, fmt)
        stats = fit_dates(moments)
        if stats is None:
            raise TapeError(f"The column '{col}' has no dates in the training rows; mark it as ignored.")
        lost, example = unreadable(values, fmt, moments)
        if lost:
            self.warnings_.append(
                f"'{col}' has {lost:,} {'value that is' if lost == 1 else 'values that are'} not a date written like "
                f"{fmt.example} (such as '{example}'); {'it is' if lost == 1 else 'they are'} treated as missing."
            )
        self.date_format_[col], self.date_stats_[col] = fmt, stats
        present = moments[~np.isnat(moments)]
        self.range_[col] = (present.min(), present.max())

    def raw_inputs(self) -> dict[str, keras.KerasTensor]:
        return {
            self.input_names_[c]: keras.Input(shape=(1,), name=self.input_names_[c],
                                              dtype="float32" if c in self.numeric else "string")
            for c in self.columns  # a date comes in as ISO 8601 text, read inside the model
        }

    def apply(self, inputs: dict[str, keras.KerasTensor]) -> keras.KerasTensor:
        """The fitted transform as Keras layers on symbolic inputs (used for training and for export).

        The layers are made once and reused: making a lookup layer for every call (the page transforms rows many
        times) cost milliseconds each and left a few MB of lookup tables behind per call.
        """
        layers = self._keras_layers()
        parts = []
        if self.numeric:  # one block for all numbers: a few layers whether the table has 3 columns or 5,000
            x = [inputs[self.input_names_[col]] for col in self.numeric]
            x = x[0] if len(x) == 1 else keras.ops.concatenate(x, axis=-1)
            fill = np.array([self.fill_[col] for col in self.numeric], dtype="float32")
            x = keras.ops.where(keras.ops.isnan(x), fill, x)
            if "skewed" in layers:
                x = layers["skewed"](x)
            x = layers["numbers"](x)
            parts.append(x if self.mode == "tutorial" else keras.ops.clip(x, -CLIP, CLIP))
        for col in self.categorical:
            x = inputs[self.input_names_[col]]
            if self.mode == "tutorial":
                code = keras.ops.cast(layers[col](x), "float32") - 1.0
                parts.append(layers[f"{col} scale"](code))
            else:
                parts.append(keras.ops.cast(layers[col](keras.ops.reshape(x, (-1,))), "float32"))
        for col in self.dates:
            parts.append(layers[col](inputs[self.input_names_[col]]))
        if len(parts) == 1:
            return parts[0]
        return keras.ops.concatenate(parts, axis=-1)

    def _keras_layers(self) -> dict[str, keras.layers.Layer]:
        """The fitted layers, by column (numbers share one), made on first use."""
        if self.layers_:
            return self.layers_
        layers: dict[str, keras.layers.Layer] = {}
        if self.numeric:
            mean, variance = [], []
            for col in self.numeric:  # an "is zero" input, a 0/1, sits right after its column and stays 0/1
                zero = col in self.skew_ and self.skew_[col].is_zero_input
                mean += [self.mean_[col]] + [0.0] * zero
                variance += [self.std_[col] ** 2] + [1.0] * zero
            layers["numbers"] = keras.layers.Normalization(mean=mean, variance=variance)
            if self.skew_:
                layers["skewed"] = SignedLog([self.skew_[c].scale if c in self.skew_ else 0.0 for c in self.numeric],
                                             [c in self.skew_ and self.skew_[c].is_zero_input for c in self.numeric],
                                             name="skewed-numbers")
        for col in self.categorical:
            mode = "int" if self.mode == "tutorial" else "one_hot"
            layers[col] = keras.layers.StringLookup(vocabulary=self.categories_[col], num_oov_indices=1,
                                                    output_mode=mode)
            if self.mode == "tutorial":
                layers[f"{col} scale"] = keras.layers.Normalization(mean=[self.mean_[col]],
                                                                    variance=[self.std_[col] ** 2])
        for col in self.dates:  # layer names with '-', which input names never hold, so they cannot clash
            stats = self.date_stats_[col]
            layers[col] = DateFeatures(stats.origin, stats.fill, stats.mean, stats.std, stats.hours, clip=CLIP,
                                       name=f"{self.input_names_[col]}-date")
        self.layers_ = layers
        return layers

    def feature_dict(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Raw columns as the arrays the Keras inputs expect; missing or unreadable columns are a user error."""
        require_columns(frame, self.columns)
        out = {}
        for col in self.columns:
            if col in self.numeric:
                values = numeric_values(frame[col])
            elif col in self.categorical:
                values = text_values(frame[col])
            else:
                values = iso_strings(frame[col], self.date_format_[col])
            out[self.input_names_[col]] = values.reshape(-1, 1)
        return out

    def check(self, frame: pd.DataFrame) -> list[str]:
        """Plain notes on values in new rows that the fitted preprocessing cannot use as they are."""
        notes = []
        for col in self.numeric:
            lost, example = unusable_numbers(frame[col]) if col in frame.columns else (0, "")
            if lost:
                verb = "is" if lost == 1 else "are"
                notes.append(f"'{col}': {lost:,} {'value' if lost == 1 else 'values'} {verb} not a usable number "
                             f"(such as '{example}') and {verb} filled in like a missing value.")
        for col in self.categorical:
            if col not in frame.columns:
                continue
            present = frame[col][frame[col].notna()]
            unknown = present[~pd.Series(text_values(present), index=present.index).isin(self.categories_[col])]
            if len(unknown):
                notes.append(f"'{col}': {len(unknown):,} {'row has' if len(unknown) == 1 else 'rows have'} a value the "
                             f"model did not learn (such as '{unknown.iloc[0]}'), counted as 'other'.")
        for col in self.dates:
            fmt = self.date_format_[col]
            lost, example = unreadable(frame[col], fmt) if col in frame.columns else (0, "")
            if lost:
                verb = "is" if lost == 1 else "are"
                notes.append(f"'{col}': {lost:,} {'value' if lost == 1 else 'values'} {verb} not a date written like "
                             f"{fmt.example} (such as '{example}') and {verb} filled in like a missing date.")
        return notes

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The fitted layers applied eagerly, in chunks; a symbolic keras.Model with one input per column would cost
        seconds to build for a table with thousands of columns, and the export builds its own."""
        if not self.fitted_:
            raise RuntimeError("fit() first")
        out = aligned_empty((len(frame), self.width))
        require_columns(frame, self.columns)  # reported even when there are no rows to transform
        for start in range(0, len(frame), _CHUNK):  # text as Python strings for one chunk at a time, not the table
            piece = {k: tf.constant(v) for k, v in self.feature_dict(frame.iloc[start:start + _CHUNK]).items()}
            out[start:start + _CHUNK] = np.asarray(self.apply(piece), dtype="float32")
        return out

    def slots(self) -> dict[str, slice]:
        """Which columns of the transformed matrix each raw column fills (numbers first, then each category's, then
        each date's six or eight: days, year, month sin/cos, day of week sin/cos and maybe hour sin/cos)."""
        out, start = {}, 0
        for col in self.numeric:
            size = self._number_width(col)
            out[col], start = slice(start, start + size), start + size
        for col in self.categorical:
            size = 1 if self.mode == "tutorial" else len(self.categories_[col]) + 1
            out[col], start = slice(start, start + size), start + size
        for col in self.dates:
            size = self.date_stats_[col].width
            out[col], start = slice(start, start + size), start + size
        return out

    @property
    def width(self) -> int:
        """How many numbers one row becomes: one per number column, one-hot slots (plus 'other') or one code, and
        six or eight per date column."""
        per_category = [1 if self.mode == "tutorial" else len(self.categories_[c]) + 1 for c in self.categorical]
        per_date = [self.date_stats_[c].width for c in self.dates]
        return sum(map(self._number_width, self.numeric)) + sum(per_category) + sum(per_date)

    def _pooled_reason(self, col: str) -> str:
        """Which categories count as 'other', in words (every level with at least MIN_LEVEL_ROWS training rows is
        kept, up to MAX_LEVELS: measured better than an embedding or target means, bench/defaults_findings.md §3)."""
        pooled = self.pooled_.get(col, 0)
        if not pooled:
            return ""
        capped = len(self.categories_[col]) == MAX_LEVELS
        return (f"{pooled:,} {'value' if pooled == 1 else 'values'} with fewer than {MIN_LEVEL_ROWS} training rows"
                + (f" or past the {MAX_LEVELS} most common" if capped else "") + " count as 'other'")

    def _number_width(self, col: str) -> int:
        """One input per number column, two when a skewed one has an "is zero" input."""
        return 2 if col in self.skew_ and self.skew_[col].is_zero_input else 1

    def summary(self) -> pd.DataFrame:
        """What was learned from the training rows, one line per input column, for the page to show; "why" says
        why a column is transformed (a skewed number's signed log) or kept as it is."""
        rows = []
        for col in self.numeric:
            skew = self.skew_.get(col)
            rows.append({"column": col, "treated as": "number, signed log" if skew else "number",
                         "fill missing with": self.fill_[col], "mean": self.mean_[col], "std": self.std_[col],
                         "categories": "", "why": skew.reason() if skew else
                         ("kept as it is: chosen by you" if col in self.plain else "")})
        for col in self.categorical:
            levels = self.categories_[col]
            shown = ", ".join(v if v != MISSING_TOKEN else "(missing)" for v in levels[:8])
            rows.append({"column": col, "treated as": "codes" if self.mode == "tutorial" else "one-hot",
                         "fill missing with": None, "mean": self.mean_.get(col), "std": self.std_.get(col),
                         "categories": shown + (f" … ({len(levels)})" if len(levels) > 8 else ""),
                         "why": self._pooled_reason(col)})
        for col in self.dates:
            stats = self.date_stats_[col]
            first = str(np.datetime64(stats.origin, "D"))
            rows.append({"column": col, "treated as": f"date: days since {first}, year, month, day of week"
                                                      + (", hour" if stats.hours else ""),
                         "fill missing with": stats.fill.replace("T00:00:00", "").replace("T", " "),
                         "mean": stats.mean[0], "std": stats.std[0], "categories": "", "why": ""})
        frame = pd.DataFrame(rows)
        if self.dates:  # numbers and date text in one column: shown as text (a table column holds one type)
            frame["fill missing with"] = [v if isinstance(v, str) or v is None else f"{v:.6g}"
                                          for v in frame["fill missing with"]]
        return frame


def _detect(values: pd.Series) -> DateFormat:
    """The date format of training rows, for a Preprocessor built without the schema's."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or isinstance(values.dtype, pd.PeriodDtype):
        return stored_format(values)
    uniques = values.dropna().unique()
    spread = np.linspace(0, len(uniques) - 1, min(len(uniques), 200)).astype(np.int64) if len(uniques) else []
    fmt = detect_format([str(uniques[i]) for i in spread], every=uniques)
    if fmt is None:
        raise TapeError(f"The column '{values.name}' does not hold dates that can be read; mark it as ignored.")
    return fmt
