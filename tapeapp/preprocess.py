"""Preprocessing fitted on training rows only, applied by Keras layers so the exported model takes raw values.

Like a scikit-learn transformer: ``fit`` learns statistics from the training rows (attributes ending in ``_``),
``transform`` applies them. The same Keras layers transform the training data and sit inside the exported
``.keras`` file, so what the app trained on and what the file computes cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tapeapp._tf import keras, tf
from tapeapp.errors import TapeError

MISSING_TOKEN = ""
MAX_LEVELS = 50
CLIP = 10.0
_CHUNK = 65_536


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def numeric_values(series: pd.Series) -> np.ndarray:
    """Numbers as float32 with inf and non-numbers as NaN (so they are imputed, never trained on)."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan).astype("float32")


def text_values(series: pd.Series) -> np.ndarray:
    """Category labels as strings, missing as the empty string (a category of its own)."""
    as_text = series.astype("object").where(series.notna(), MISSING_TOKEN)
    return np.array([str(v) for v in as_text], dtype=object)


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


@dataclass(eq=False)
class Preprocessor:
    """Turns raw feature columns into a float matrix; ``mode`` is 'standard' or 'tutorial'."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    mode: str = "standard"
    input_names_: dict[str, str] = field(default_factory=dict)
    fill_: dict[str, float] = field(default_factory=dict)
    mean_: dict[str, float] = field(default_factory=dict)
    std_: dict[str, float] = field(default_factory=dict)
    categories_: dict[str, list[str]] = field(default_factory=dict)
    warnings_: list[str] = field(default_factory=list)
    _model: keras.Model | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    def fit(self, train: pd.DataFrame) -> "Preprocessor":
        taken: set[str] = set()
        self.input_names_ = {c: input_name(c, taken) for c in self.columns}
        for col in self.numeric:
            values = numeric_values(train[col]).astype("float64")
            finite = values[~np.isnan(values)]
            if finite.size == 0:
                raise TapeError(f"The column '{col}' has no numbers in the training rows; mark it as ignored.")
            self.fill_[col] = float(np.median(finite) if self.mode == "standard" else finite.mean())
            if self.mode == "tutorial":
                mean, std = finite.mean(), finite.std(ddof=1) if finite.size > 1 else 0.0
            else:
                mean, std = finite.mean(), finite.std()
            if not np.isfinite(mean) or not np.isfinite(std):
                mean, std = float(np.median(finite)), float(np.subtract(*np.percentile(finite, [75, 25])))
                self.warnings_.append(f"'{col}' has huge values; it was scaled by its median and spread instead.")
            self.mean_[col] = float(mean)
            self.std_[col] = float(std) if np.isfinite(std) and std > 0 else 1.0
        for col in self.categorical:
            counts = pd.Series(text_values(train[col])).value_counts(sort=True)
            if self.mode == "tutorial":
                levels = sorted(counts.index)
            else:
                levels = list(counts.index[:MAX_LEVELS])
                if len(counts) > MAX_LEVELS:
                    self.warnings_.append(
                        f"'{col}' has {len(counts):,} different values; the {MAX_LEVELS} most common are used "
                        "and the rest count as 'other'."
                    )
            self.categories_[col] = levels
            if self.mode == "tutorial":
                codes = np.array([levels.index(v) for v in text_values(train[col])], dtype="float64")
                std = codes.std(ddof=1) if codes.size > 1 else 0.0
                self.mean_[col], self.std_[col] = float(codes.mean()), float(std) if std > 0 else 1.0
        self._model = self._build()
        return self

    def raw_inputs(self) -> dict[str, keras.KerasTensor]:
        return {
            self.input_names_[c]: keras.Input(shape=(1,), name=self.input_names_[c],
                                              dtype="float32" if c in self.numeric else "string")
            for c in self.columns
        }

    def apply(self, inputs: dict[str, keras.KerasTensor]) -> keras.KerasTensor:
        """The fitted transform as Keras layers on symbolic inputs (used for training and for export)."""
        parts = []
        for col in self.numeric:
            x = inputs[self.input_names_[col]]
            x = keras.ops.where(keras.ops.isnan(x), self.fill_[col], x)
            x = keras.layers.Normalization(mean=[self.mean_[col]], variance=[self.std_[col] ** 2])(x)
            parts.append(x if self.mode == "tutorial" else keras.ops.clip(x, -CLIP, CLIP))
        for col in self.categorical:
            x = inputs[self.input_names_[col]]
            if self.mode == "tutorial":
                code = keras.layers.StringLookup(vocabulary=self.categories_[col], num_oov_indices=1,
                                                 output_mode="int")(x)
                code = keras.ops.cast(code, "float32") - 1.0
                parts.append(keras.layers.Normalization(mean=[self.mean_[col]], variance=[self.std_[col] ** 2])(code))
            else:
                onehot = keras.layers.StringLookup(vocabulary=self.categories_[col], num_oov_indices=1,
                                                   output_mode="one_hot")(keras.ops.reshape(x, (-1,)))
                parts.append(keras.ops.cast(onehot, "float32"))
        if len(parts) == 1:
            return parts[0]
        return keras.layers.Concatenate()(parts)

    def _build(self) -> keras.Model:
        inputs = self.raw_inputs()
        return keras.Model(inputs, self.apply(inputs), name="preprocess")

    def feature_dict(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Raw columns as the arrays the Keras inputs expect; missing or unreadable columns are a user error."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise TapeError("These columns are missing: " + ", ".join(f"'{c}'" for c in missing) + ".")
        out = {}
        for col in self.columns:
            name = self.input_names_[col]
            out[name] = (numeric_values(frame[col]) if col in self.numeric else text_values(frame[col])).reshape(-1, 1)
        return out

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("fit() first")
        data = self.feature_dict(frame)
        n = len(frame)
        chunks = []
        for start in range(0, max(n, 1), _CHUNK):
            piece = {k: tf.constant(v[start:start + _CHUNK]) for k, v in data.items()}
            chunks.append(np.asarray(self._model(piece, training=False), dtype="float32"))
        out = np.concatenate(chunks) if chunks else np.zeros((0, self.width), "float32")
        return out[:n]

    @property
    def width(self) -> int:
        return int(self._model.output.shape[-1])

    def summary(self) -> pd.DataFrame:
        """What was learned from the training rows, one line per input column, for the page to show."""
        rows = []
        for col in self.numeric:
            rows.append({"column": col, "treated as": "number", "fill missing with": self.fill_[col],
                         "mean": self.mean_[col], "std": self.std_[col], "categories": ""})
        for col in self.categorical:
            levels = self.categories_[col]
            shown = ", ".join(v if v != MISSING_TOKEN else "(missing)" for v in levels[:8])
            rows.append({"column": col, "treated as": "codes" if self.mode == "tutorial" else "one-hot",
                         "fill missing with": None, "mean": self.mean_.get(col), "std": self.std_.get(col),
                         "categories": shown + (f" … ({len(levels)})" if len(levels) > 8 else "")})
        return pd.DataFrame(rows)
