"""Split first, then fit preprocessing on the training rows only: the order that keeps validation honest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from tapeapp.config import TrainConfig
from tapeapp.data.schema import Schema, many_levels_warning, missing_target_warning
from tapeapp.errors import TapeError
from tapeapp.features.preprocess import MAX_LEVELS, Preprocessor, is_numeric, numeric_values


@dataclass(frozen=True, eq=False)
class TargetEncoder:
    """Labels to class indices (classification) or to standard units (regression), fitted on training rows."""

    task: str
    classes_: tuple = ()
    mean_: float = 0.0
    std_: float = 1.0

    @classmethod
    def fit(cls, task: str, y_all: pd.Series, y_train: pd.Series) -> TargetEncoder:
        if task == "regression":
            values = y_train.to_numpy(dtype="float64")
            std = values.std()
            return cls(task, mean_=float(values.mean()), std_=float(std) if std > 0 else 1.0)
        return cls(task, classes_=tuple(sorted(pd.unique(y_all), key=_sort_key)))

    def encode(self, y: pd.Series) -> np.ndarray:
        if self.task == "regression":
            return ((y.to_numpy(dtype="float64") - self.mean_) / self.std_).astype("float32")
        index = {c: i for i, c in enumerate(self.classes_)}
        return np.array([index[v] for v in y], dtype="int32")

    def decode_regression(self, scaled: np.ndarray) -> np.ndarray:
        return scaled.astype("float64") * self.std_ + self.mean_

    @property
    def n_outputs(self) -> int:
        return 1 if self.task in ("binary", "regression") else len(self.classes_)


def _plain(value: object) -> object:
    """A NumPy scalar as the Python value it holds, so messages show 70 and not np.int64(70)."""
    return value.item() if isinstance(value, np.generic) else value


def _sort_key(value: object) -> tuple:
    if isinstance(value, (int, float, np.integer, np.floating, bool)):
        return (0, float(value), "")
    return (1, 0.0, str(value))


@dataclass(frozen=True, eq=False)
class Prepared:
    """Everything training needs, and what it took to get there (for the page, the exports and the notes).

    Rows are named in three ways, and each name says which:

    - *labels* (``train_rows``, ``val_rows``): the table's own row labels (its index), as the file numbers them;
      what ``predictions.csv`` and the baselines' row hashes use;
    - *table positions* (``train_positions``): positions in the frame given to ``prepare`` (``frame.iloc[...]``),
      to read raw training rows without keeping a copy of them;
    - *set positions*: positions in this split's own arrays, ``x_train[i]``/``y_train[i]`` or
      ``x_val[i]``/``y_val[i]``/``raw_val.iloc[i]``; ``baselines.training_positions`` (a sample of the training
      rows) and ``insight.validation_positions`` (the rows a view shows) return these.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    train_rows: np.ndarray
    val_rows: np.ndarray
    raw_val: pd.DataFrame
    preprocessor: Preprocessor
    target_encoder: TargetEncoder
    target: str
    task: str
    dropped_rows: int
    data_sha256: str
    warnings: tuple[str, ...]
    stratified: bool
    train_positions: np.ndarray | None = None  # table positions of the training rows (see the docstring)

    @property
    def features(self) -> tuple[str, ...]:
        return self.preprocessor.columns


def inputs_estimate(schema: Schema) -> int:
    """How many numbers one row will become, from the schema alone (before the preprocessing is fitted)."""
    total = 0
    for column in schema.columns:
        if column.role != "feature":
            continue
        total += {"categorical": min(column.distinct, MAX_LEVELS) + 1, "date": 8}.get(column.kind, 1)
    return max(total, 1)


def frame_sha256(frame: pd.DataFrame) -> str:
    """A fingerprint of the table's content, so a config.json says which data it came from."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


def clean_target(frame: pd.DataFrame, target: str, task: str) -> tuple[pd.DataFrame, int, list[str], np.ndarray]:
    """Drop rows whose target is missing (or, for regression, not a number float32 can hold), and say how many.

    Also returns the kept rows' positions in ``frame``, so later steps can read raw rows without a copy of the table.
    """
    y = frame[target]
    rows, notes, kept = len(frame), [], np.arange(len(frame))
    if task == "regression":
        if not is_numeric(y):
            converted = pd.to_numeric(y, errors="coerce")
            if converted.notna().sum() < 0.9 * y.notna().sum():
                raise TapeError(f"'{target}' holds text, so it cannot be predicted as a quantity; choose "
                                "classification instead.")
            y = converted
        unusable = y.notna().to_numpy() & np.isnan(numeric_values(y))
        if unusable.any():
            notes.append(f"{int(unusable.sum()):,} row(s) with an infinite or too large value in '{target}' "
                         "were left out.")
        frame = frame.assign(**{target: y}).loc[~unusable]
        kept, y = kept[~unusable], frame[target]
    missing = int(y.isna().sum())
    if missing:
        notes.insert(0, f"{missing:,} row(s) with no value in '{target}' were left out.")
        frame, kept = frame.loc[y.notna()], kept[y.notna().to_numpy()]
    if len(frame) == 0:
        raise TapeError(f"No rows are left: every row is missing a value in '{target}'.")
    return frame, rows - len(frame), notes, kept


def split_rows(frame: pd.DataFrame, target: str, task: str, val_fraction: float, seed: int,
               stratified: bool = True) -> tuple[np.ndarray, np.ndarray, list[str], bool]:
    """Seeded split, stratified when every class can appear on both sides; else a plain split with a warning.

    ``stratified=False`` is the tutorial's own ``train_test_split(test_size=...)`` (``TrainConfig.split="random"``).
    """
    n = len(frame)
    positions = np.arange(n)
    n_val = int(np.ceil(n * val_fraction))
    if n < 4:
        raise TapeError(f"Only {n} usable row(s): at least 4 are needed to train and check a model.")
    if n - n_val < 2:
        raise TapeError(f"A validation share of {val_fraction:.0%} leaves only {n - n_val} of the {n} usable rows "
                        "for training; choose a smaller validation share.")
    notes: list[str] = []
    stratify = None
    if task != "regression":
        counts = frame[target].value_counts()
        if len(counts) < 2:
            raise TapeError(f"'{target}' has only one value ({_plain(counts.index[0])!r}), so there is nothing to "
                            "learn: choose another column to predict.")
        if counts.max() < 2:
            quantity = " or predict it as a quantity" if is_numeric(frame[target]) else ""
            raise TapeError(f"Every value of '{target}' appears only once (like an ID), so there are no classes to "
                            f"learn: choose another column to predict{quantity}.")
        rare = counts[counts < 2]
        if not stratified:
            pass
        elif len(rare) or n_val < len(counts) or n - n_val < len(counts):
            notes.append("Some classes have too few rows to appear in both training and validation "
                         f"({', '.join(map(str, rare.index[:5])) or 'too many classes for the validation share'}); "
                         "the split is random instead of balanced, so scores for those classes are unreliable.")
        else:
            stratify = frame[target].to_numpy()
    train, val = train_test_split(positions, test_size=val_fraction, random_state=seed, stratify=stratify)
    if task != "regression":
        missing = sorted(set(frame[target].iloc[train]) - set(frame[target].iloc[val]), key=_sort_key)
        if missing and stratify is not None:
            notes.append(f"No validation rows for class(es) {', '.join(map(str, missing[:5]))}: use a larger "
                         "validation share to check them.")
    return np.sort(train), np.sort(val), notes, stratify is not None


CV_FOLDS = 3


def _stratify(y: np.ndarray, task: str, per_class: int) -> np.ndarray | None:
    """The labels to stratify by, when every class has ``per_class`` rows or more; else None (a plain split)."""
    if task == "regression":
        return None
    counts = np.bincount(y)
    return y if counts[counts > 0].min() >= per_class else None


def inner_rows(y_train: np.ndarray, task: str, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Training rows split again (stratified for classes): the weights learn from the first part, the second
    chooses the epoch. Positions in the training set; None when too few rows to hold any back."""
    n = len(y_train)
    n_inner = int(np.ceil(n * fraction))
    if n_inner < 1 or n - n_inner < 2:
        return None
    stratify = _stratify(y_train, task, 2)
    if stratify is not None and (n_inner < len(np.unique(y_train)) or n - n_inner < len(np.unique(y_train))):
        stratify = None
    fit, inner = train_test_split(np.arange(n), test_size=n_inner, random_state=seed, stratify=stratify)
    return np.sort(fit), np.sort(inner)


def fold_rows(y_train: np.ndarray, task: str, seed: int, folds: int = CV_FOLDS
              ) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """``folds`` folds of the training rows (stratified for classes when each class has a row in every fold):
    (rows to learn from, rows held out) per fold. None when there are too few rows for every fold."""
    n = len(y_train)
    if n < 2 * folds:
        return None
    stratify = _stratify(y_train, task, folds)
    splitter = (StratifiedKFold if stratify is not None else KFold)(folds, shuffle=True, random_state=seed)
    return [(np.sort(fit), np.sort(held)) for fit, held in splitter.split(np.zeros(n), stratify)]


def _no_features(schema: Schema) -> TapeError:
    """The error for a schema without features, saying why the other columns are not used."""
    others = [column for column in schema.columns if column.name != schema.target]
    if not others:
        return TapeError(f"The table has only one column, '{schema.target}', so there is nothing to learn it from; "
                         "add columns that help predict it.")
    why = "; ".join(f"'{c.name}': {c.reason or c.role}" for c in others[:3]) + ("; ..." if len(others) > 3 else "")
    return TapeError(f"No column is left to learn from ({why}); mark at least one column as a feature.")


def _schema_warnings(schema: Schema) -> list[str]:
    """The schema's warnings, less those that preparing restates with counts from the rows it actually uses."""
    restated = {missing_target_warning(schema.target, schema.column(schema.target).missing)}
    restated.update(many_levels_warning(column.name, column.distinct) for column in schema.columns)
    return [warning for warning in schema.warnings if warning not in restated]


def prepare(frame: pd.DataFrame, schema: Schema, config: TrainConfig, max_rows: int | None = None) -> Prepared:
    """Check the rows and the target first (the most basic problem is the one reported), then split and fit.

    ``max_rows`` caps the rows used (a seeded random sample, said in the warnings): the page passes it when the
    whole table would not fit in the server's memory (``tapeapp.data.budget``).
    """
    target, task = schema.target, schema.task
    if target not in frame.columns:
        raise TapeError(f"There is no column named '{target}' in this table.")
    warnings = _schema_warnings(schema)
    frame, dropped, notes, kept = clean_target(frame, target, task)
    warnings += notes
    if max_rows is not None and len(frame) > max_rows:
        pick = np.sort(np.random.default_rng(config.seed).choice(len(frame), max_rows, replace=False))
        warnings.append(f"Your table has {len(frame):,} usable rows; to fit in this server's memory the model trains "
                        f"on a random {max_rows:,} of them ({max_rows / len(frame):.0%}), and is checked on "
                        "validation rows from that sample.")
        frame, kept = frame.iloc[pick], kept[pick]
    train_pos, val_pos, notes, stratified = split_rows(frame, target, task, config.val_fraction, config.seed,
                                           stratified=config.split == "stratified")
    warnings += notes
    features = [c for c in schema.features if c != target]
    if not features:
        raise _no_features(schema)
    train, val = frame.iloc[train_pos], frame.iloc[val_pos]
    formats = schema.date_formats()
    dates = tuple(c for c in features if c in formats)
    numeric = tuple(c for c in features if c not in formats and is_numeric(frame[c]))
    categorical = tuple(c for c in features if c not in numeric and c not in formats)
    pre = Preprocessor(numeric, categorical, mode=config.preprocessing, dates=dates,
                       date_formats={c: formats[c] for c in dates},
                       plain=tuple(c for c in schema.plain if c in numeric)).fit(train)
    warnings += pre.warnings_
    encoder = TargetEncoder.fit(task, frame[target], train[target])
    return Prepared(
        x_train=pre.transform(train), y_train=encoder.encode(train[target]),
        x_val=pre.transform(val), y_val=encoder.encode(val[target]),
        train_rows=frame.index.to_numpy()[train_pos], val_rows=frame.index.to_numpy()[val_pos],
        raw_val=val, preprocessor=pre, target_encoder=encoder, target=target, task=task,
        dropped_rows=dropped, data_sha256=frame_sha256(frame), warnings=tuple(dict.fromkeys(warnings)),
        stratified=stratified,
        train_positions=kept[train_pos],
    )
