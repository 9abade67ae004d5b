"""Issue 20: tapeapp's default run on real tables vs guessing and boosted trees, and candidate better defaults.

    python bench/defaults.py --quick                 # 4 small tables, seed 0, 5 variants, short runs: about 1 minute
    python bench/defaults.py                         # every table, seeds 0 and 1, every variant: about 40 minutes
    python bench/defaults.py --variants current,es,es_slog --tables wells,fishing --seeds 0
    python bench/defaults.py --report-only           # tables from the saved results, no training
    python bench/defaults.py --guess-only            # the column-to-predict guess alone (seconds)

For each table and seed, every method sees the same 60/40 split that tapeapp makes (``tapeapp.start_run`` with the
documented response and task; stratified for classes), and is scored on the same validation rows:

- ``majority``/``mean`` and ``trees`` (HistGradientBoosting on the raw columns):
  ``tapeapp.judge.baselines.fit_baselines``;
- ``current``: ``TrainConfig()`` as it is (60 epochs, last epoch kept);
- candidates, implemented here outside the core: the table is transformed before tapeapp sees it (skewed numbers
  through a signed log or a quantile map, decided on the training rows; categories with many levels kept or
  encoded), and/or training runs with early stopping chosen on an INNER split of the training rows (like
  scikit-learn's ``early_stopping=True``): the network trains on the rest of the training rows, the epoch with the
  lowest inner validation loss is kept, and the outer validation rows are only scored, never used to choose.

An early-stopping run trains to a ceiling of epochs or until ``MAX_PATIENCE`` epochs without a better inner loss
(or score), recording the outer validation score of every epoch; each (patience, ceiling, criterion) rule is then
read off that one trajectory exactly (what a run with that rule would have kept), with the seconds it would take.

Results are appended to ``bench/defaults_results.jsonl`` (one line per table, seed and variant), so a rerun adds
only what is missing; ``--fresh`` starts over. Nothing here reads the acceptance tables kept outside the repository.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import defaults_tables
import numpy as np
import pandas as pd
from defaults_guess import guess_target

from _common import machine, print_table  # noqa: F401  (puts the repository root on sys.path)

RESULTS = Path(__file__).resolve().parent / "defaults_results.jsonl"
MAX_PATIENCE = 30  # a trajectory is followed until this many epochs bring no better inner loss and score
CEILING = 300  # nor longer than this many epochs
INNER = 0.2  # share of the training rows held back to choose the epoch
PATIENCES = (10, 20, 30)
CEILINGS = (100, 200, 300)
RULE = {"patience": 20, "ceiling": 200, "criterion": "loss"}  # the rule the per-variant tables report
MANY = 50  # tapeapp.features.preprocess.MAX_LEVELS
RARE = 5  # a level with fewer training rows than this is pooled by the 'keep' treatment

# ------------------------------------------------------------------------------------------------ the variants


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    what: str
    early: bool = True  # inner-split early stopping (False: the config's epochs, last epoch kept)
    skew: str = "none"  # none / log / slog / quantile
    rule: str = "skew1"  # which columns count as skewed: skew1 (|skewness| > 1), skew2, ratio
    levels: str = "top50"  # top50 (tapeapp now) / keep (every level with >= RARE training rows) / freq / target
    config: tuple[tuple[str, Any], ...] = ()
    inner: float = INNER
    only_many_levels: bool = False  # identical to another variant on tables without a >50-level category: skipped
    target_log: bool = False  # regression: a skewed target (|skewness| > 1 on training rows) is learned as slog(y)
    rare: int = RARE  # 'keep': levels with fewer training rows than this are pooled
    folds: int = 0  # > 0: choose the epoch count by k-fold cross-validation on the training rows, then train on all


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("current", "TrainConfig() as it is: 60 epochs, the last one kept", early=False),
    Variant("es", "early stopping on an inner 20% of the training rows, best epoch restored"),
    Variant("es_log", "es + log1p(|x|)*sign(x) for columns with |skewness| > 1 on training rows", skew="log"),
    Variant("es_slog", "es + log1p(|x|/s)*sign(x), s = median nonzero |x| of training rows, |skewness| > 1",
            skew="slog"),
    Variant("es_quantile", "es + quantile map to a normal (fitted on training rows), |skewness| > 1", skew="quantile"),
    Variant("es_slog_skew2", "es_slog with |skewness| > 2", skew="slog", rule="skew2"),
    Variant("es_slog_ratio", "es_slog on columns with max|x| > 10 x median|x| (and >= 10 distinct values)",
            skew="slog", rule="ratio"),
    Variant("es_slog_keep", f"es_slog + every category level with >= {RARE} training rows one-hot (rarer pooled)",
            skew="slog", levels="keep", only_many_levels=True),
    Variant("es_slog_freq", "es_slog + top-50 one-hot + each level's training-row share as a number",
            skew="slog", levels="freq", only_many_levels=True),
    Variant("es_slog_target", "es_slog + top-50 one-hot + out-of-fold target mean per level (5 folds)",
            skew="slog", levels="target", only_many_levels=True),
    Variant("es_slog_inner10", "es_slog with an inner 10% (scikit-learn's validation_fraction)", skew="slog",
            inner=0.1),
    Variant("es_slog_adam", "es_slog with Adam 1e-3", skew="slog", config=(("optimizer", "adam"),)),
    Variant("es_slog_wide", "es_slog with 128-128 and dropout 0.1", skew="slog",
            config=(("hidden", (128, 128)), ("dropout", 0.1))),
    Variant("es_slog_b128", "es_slog with batch 128 and Adam 3e-3", skew="slog",
            config=(("batch_size", 128), ("optimizer", "adam"), ("learning_rate", 3e-3))),
    Variant("current_slog", "TrainConfig() on the slog-transformed table (no early stopping)", early=False,
            skew="slog"),
    Variant("cv_slog_keep", "cv_slog + es_slog_keep's categories", skew="slog", levels="keep", folds=3,
            only_many_levels=True),
    Variant("es_slog_keep_wide", "es_slog_keep with 128-128 and dropout 0.1", skew="slog", levels="keep",
            config=(("hidden", (128, 128)), ("dropout", 0.1))),
    Variant("es_slog_keep_adam", "es_slog_keep with Adam 1e-3", skew="slog", levels="keep",
            config=(("optimizer", "adam"),)),
    Variant("es_slog_zero", "es_slog + a 0/1 column 'is zero' for transformed columns with >= 10% zeros",
            skew="slog_zero"),
    Variant("es_rec", "the candidate: es + slog with 'is zero' columns + every level with >= 5 training rows",
            skew="slog_zero", levels="keep"),
    Variant("es_rec_keep2", "es_rec pooling only levels seen once in the training rows", skew="slog_zero",
            levels="keep", rare=2, only_many_levels=True),
    Variant("es_rec_top200", "es_rec's numbers + the 200 most common levels, as tapeapp with MAX_LEVELS = 200",
            skew="slog_zero", levels="top200", only_many_levels=True),
    Variant("es_rec_ylog", "es_rec + a skewed regression target learned as slog(y), scored back on y's scale",
            skew="slog_zero", levels="keep", target_log=True),
    Variant("cv_rec_ylog", "cv_rec + es_rec_ylog's target", skew="slog_zero", levels="keep", folds=3,
            target_log=True),
    Variant("cv_rec", "es_rec's table, the epoch count by 3-fold cross-validation", skew="slog_zero",
            levels="keep", folds=3),
    Variant("es_rec_wide", "es_rec with 128-128 and dropout 0.1", skew="slog_zero", levels="keep",
            config=(("hidden", (128, 128)), ("dropout", 0.1))),
    Variant("cv_slog", "slog; the epoch count chosen by 3-fold cross-validation on the training rows (mean fold "
            "loss, patience 30, ceiling 300), then all training rows trained for that many epochs", skew="slog",
            folds=3),
)}
# Read off other variants' results: (variant below the row count, variant from it on, training rows)
HYBRIDS = {"rec_hybrid": ("cv_rec", "es_rec", 1000), "rec_hybrid_ylog": ("cv_rec_ylog", "es_rec_ylog", 1000),
           "rec_hybrid_wide": ("cv_rec", "es_rec_wide", 1000),
           "rec_hybrid500": ("cv_rec", "es_rec", 500), "rec_hybrid2000": ("cv_rec", "es_rec", 2000),
           "hybrid_cv1000": ("cv_slog_keep", "es_slog_keep", 1000),
           "hybrid_cv1000_wide": ("cv_slog_keep", "es_slog_keep_wide", 1000)}
QUICK_VARIANTS = ("current", "es", "es_slog", "es_rec", "cv_rec")
MAIN_VARIANTS = ("current", "es", "es_log", "es_slog", "es_quantile", "es_slog_skew2", "es_slog_ratio", "es_slog_zero",
                 "es_slog_keep", "es_slog_freq", "es_slog_target", "es_slog_inner10", "es_slog_adam", "es_slog_wide",
                 "es_slog_b128", "current_slog", "cv_slog", "cv_slog_keep", "es_slog_keep_wide", "es_slog_keep_adam",
                 "es_rec", "es_rec_keep2", "es_rec_top200", "es_rec_ylog", "cv_rec_ylog", "cv_rec", "es_rec_wide")
COLUMNS = ("current", "es", "es_slog", "es_rec", "cv_rec", "rec_hybrid")  # the per-table table's columns

# ------------------------------------------------------------------------------------------------ transforms


def numeric_features(frame: pd.DataFrame, target: str) -> list[str]:
    out = []
    for column in frame.columns:
        series = frame[column]
        if column == target or pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        if series.nunique() > 2:
            out.append(column)
    return out


def skewed(frame: pd.DataFrame, train_rows: np.ndarray, target: str, rule: str) -> dict[str, float]:
    """Numeric feature columns that count as skewed on the training rows, with their skewness."""
    from scipy.stats import skew

    out = {}
    for column in numeric_features(frame, target):
        values = pd.to_numeric(frame.loc[train_rows, column], errors="coerce").to_numpy("float64", na_value=np.nan)
        values = values[np.isfinite(values)]
        if len(np.unique(values)) < 10:  # coded answers, small counts: left as they are
            continue
        g = float(skew(values))
        if rule == "skew1":
            hit = abs(g) > 1
        elif rule == "skew2":
            hit = abs(g) > 2
        else:
            size = np.abs(values)
            middle = np.median(size[size > 0]) if (size > 0).any() else 0.0
            hit = middle > 0 and size.max() > 10 * middle
        if hit:
            out[column] = round(g, 2)
    return out


def transform_skewed(frame: pd.DataFrame, train_rows: np.ndarray, columns: list[str], how: str) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        x = pd.to_numeric(frame[column], errors="coerce").to_numpy("float64", na_value=np.nan)
        train = x[frame.index.get_indexer(train_rows)]
        train = train[np.isfinite(train)]
        if how == "log":
            y = np.sign(x) * np.log1p(np.abs(x))
        elif how == "slog":
            size = np.abs(train)
            scale = float(np.median(size[size > 0])) if (size > 0).any() else 1.0
            y = np.sign(x) * np.log1p(np.abs(x) / scale)
        elif how == "slog_zero":  # slog, and a 0/1 column 'is zero' when zeros are common
            size = np.abs(train)
            scale = float(np.median(size[size > 0])) if (size > 0).any() else 1.0
            y = np.sign(x) * np.log1p(np.abs(x) / scale)
            if (train == 0).mean() >= 0.1:
                frame[f"{column} is 0"] = np.where(np.isnan(x), np.nan, (x == 0).astype("float64"))
        elif how == "quantile":
            from sklearn.preprocessing import QuantileTransformer

            qt = QuantileTransformer(n_quantiles=min(1000, len(train)), output_distribution="normal",
                                     subsample=10**9).fit(train.reshape(-1, 1))
            y = np.full(len(x), np.nan)
            ok = np.isfinite(x)
            y[ok] = qt.transform(x[ok].reshape(-1, 1)).reshape(-1)
        else:
            raise ValueError(how)
        frame[column] = y
    return frame


def many_level_columns(frame: pd.DataFrame, schema, train_rows: np.ndarray) -> list[str]:
    """Category features (as tapeapp sees them) with more than MANY distinct values in the training rows."""
    from tapeapp.features.preprocess import is_numeric

    out = []
    for column in schema.features:
        if schema.column(column).kind in ("categorical",) and not is_numeric(frame[column]):
            if frame.loc[train_rows, column].nunique(dropna=False) > MANY:
                out.append(column)
    return out


def treat_levels(frame: pd.DataFrame, train_rows: np.ndarray, columns: list[str], how: str, target: str,
                 task: str, seed: int, rare: int = RARE) -> pd.DataFrame:
    frame = frame.copy()
    train_pos = frame.index.get_indexer(train_rows)
    for column in columns:
        text = frame[column].astype("object").where(frame[column].notna(), "(missing)").astype(str)
        counts = text.iloc[train_pos].value_counts()
        if how == "keep":
            kept = set(counts.index[counts >= rare])
            frame[column] = text.where(text.isin(kept), "(rare)")
        elif how == "top200":  # nothing to change in the table: tapeapp keeps the 200 most common (MAX_LEVELS)
            pass
        elif how == "freq":
            frame[f"{column} share"] = text.map(counts / len(train_pos)).fillna(0.0).astype("float64")
        elif how == "target":
            for name, values in _target_encoding(text, train_pos, frame[target], task, seed).items():
                frame[f"{column} {name}"] = values
        else:
            raise ValueError(how)
    return frame


def _target_encoding(text: pd.Series, train_pos: np.ndarray, y: pd.Series, task: str, seed: int,
                     folds: int = 5, smooth: float = 10.0) -> dict[str, np.ndarray]:
    """Smoothed mean of the target per level: out of fold on the training rows, from all training rows elsewhere.

    Classification: one column per class but the first (the share of rows of that class); regression: the mean.
    """
    n = len(text)
    if task == "regression":
        targets = {"mean": pd.to_numeric(y, errors="coerce").to_numpy("float64")}
    else:
        classes = sorted(pd.unique(y.dropna()), key=str)
        targets = {f"share {c}": (y == c).to_numpy("float64") for c in classes[1:]}
    rng = np.random.default_rng(seed)
    fold = np.full(n, -1)
    fold[train_pos] = rng.permutation(len(train_pos)) % folds
    out = {}
    for name, values in targets.items():
        encoded = np.full(n, np.nan)
        prior = np.nanmean(values[train_pos])

        def means(rows: np.ndarray, values: np.ndarray = values, prior: float = prior) -> pd.Series:
            frame = pd.DataFrame({"level": text.iloc[rows].to_numpy(), "y": values[rows]}).dropna()
            grouped = frame.groupby("level")["y"].agg(["sum", "count"])
            return (grouped["sum"] + smooth * prior) / (grouped["count"] + smooth)

        for k in range(folds):  # training rows: from the other folds only
            fitting = train_pos[fold[train_pos] != k]
            scoring = train_pos[fold[train_pos] == k]
            encoded[scoring] = text.iloc[scoring].map(means(fitting)).to_numpy("float64")
        rest = np.setdiff1d(np.arange(n), train_pos)  # validation rows: from all training rows
        encoded[rest] = text.iloc[rest].map(means(train_pos)).to_numpy("float64")
        out[name] = np.where(np.isnan(encoded), prior, encoded)
    return out

# ------------------------------------------------------------------------------------------------ one measurement


def main_score(task: str, y: np.ndarray, raw: np.ndarray) -> float:
    """Accuracy (classification) or R^2 (regression, in the standardised units the network trains on)."""
    if task == "regression":
        p = raw.reshape(-1).astype("float64")
        sst = float(np.sum((y - y.mean()) ** 2))
        return 1.0 - float(np.sum((y - p) ** 2)) / sst if sst > 0 else math.nan
    if task == "binary":
        return float(np.mean((raw.reshape(-1) > 0.5).astype(int) == y))
    return float(np.mean(np.nan_to_num(raw).argmax(axis=1) == y))


def inner_split(prepared, fraction: float, seed: int) -> Any:
    """The training rows split again: the network trains on one part, the other chooses the epoch."""
    from sklearn.model_selection import train_test_split

    n = len(prepared.y_train)
    positions = np.arange(n)
    stratify = None
    if prepared.task != "regression":
        counts = np.bincount(prepared.y_train)
        counts = counts[counts > 0]
        n_inner = math.ceil(n * fraction)
        if counts.min() >= 2 and n_inner >= len(counts) and n - n_inner >= len(counts):
            stratify = prepared.y_train
    fit, inner = train_test_split(positions, test_size=fraction, random_state=seed, stratify=stratify)
    fit, inner = np.sort(fit), np.sort(inner)
    return dataclasses.replace(
        prepared, x_train=np.ascontiguousarray(prepared.x_train[fit]), y_train=prepared.y_train[fit],
        x_val=np.ascontiguousarray(prepared.x_train[inner]), y_val=prepared.y_train[inner],
        train_rows=prepared.train_rows[fit], val_rows=prepared.train_rows[inner],
        train_positions=None if prepared.train_positions is None else prepared.train_positions[fit])


def measure(key: str, seed: int, variant: Variant, quick: bool) -> dict:
    """One table, seed and variant: the trajectory of outer validation scores (and inner ones when stopping early)."""
    import tapeapp.features.preprocess as tp
    from tapeapp import TrainConfig, inspect_frame, start_run
    from tapeapp.train.run import Run

    entry = defaults_tables.TABLES[key]
    frame = defaults_tables.load(key)
    schema = inspect_frame(frame, target=entry.target, task=entry.task)
    base_config = TrainConfig(seed=seed)
    outer = start_run(frame, schema, base_config).prepared  # the split every method uses
    train_rows = outer.train_rows
    notes: dict[str, Any] = {}
    if variant.skew != "none":
        columns = skewed(frame, train_rows, entry.target, variant.rule)
        notes["skewed"] = columns
        frame = transform_skewed(frame, train_rows, list(columns), variant.skew)
    many = many_level_columns(frame, schema, train_rows)
    notes["many_levels"] = many
    if variant.only_many_levels and not many:
        return {"skipped": "no category with more than 50 levels", **notes}
    if variant.levels != "top50" and many:
        frame = treat_levels(frame, train_rows, many, variant.levels, entry.target, entry.task, seed, variant.rare)
    original_y = frame[entry.target]
    inverse = None
    if variant.target_log:
        from scipy.stats import skew

        if entry.task != "regression":
            return {"skipped": "not a regression", **notes}
        y_train = pd.to_numeric(frame.loc[train_rows, entry.target], errors="coerce").dropna().to_numpy("float64")
        notes["target_skewness"] = round(float(skew(y_train)), 2)
        if abs(notes["target_skewness"]) <= 1:
            return {"skipped": "the target is not skewed", **notes}
        size = np.abs(y_train)
        scale = float(np.median(size[size > 0])) if (size > 0).any() else 1.0
        y = pd.to_numeric(frame[entry.target], errors="coerce").to_numpy("float64")
        frame = frame.assign(**{entry.target: np.sign(y) * np.log1p(np.abs(y) / scale)})
        inverse = lambda v, scale=scale: np.sign(v) * np.expm1(np.abs(v)) * scale  # noqa: E731
    config = base_config.replace(**dict(variant.config))
    if variant.early:
        config = config.replace(epochs=CEILING if not quick else 60)
    schema = inspect_frame(frame, target=entry.target, task=entry.task)
    saved = tp.MAX_LEVELS
    if variant.levels == "keep":
        tp.MAX_LEVELS = 100_000  # every level the table kept (rarer ones are one '(rare)' value already)
    elif variant.levels == "top200":
        tp.MAX_LEVELS = 200
    try:
        prepared = start_run(frame, schema, config).prepared
    finally:
        tp.MAX_LEVELS = saved
    if not np.array_equal(prepared.val_rows, outer.val_rows):
        raise AssertionError(f"{key}: the transformed table was split differently")
    task = prepared.task

    def outer_score(raw: np.ndarray) -> float:
        """The outer validation score; with a transformed target, R^2 on the original values."""
        if inverse is None:
            return main_score(task, prepared.y_val, raw)
        actual = pd.to_numeric(original_y.loc[prepared.val_rows], errors="coerce").to_numpy("float64")
        predicted = inverse(prepared.target_encoder.decode_regression(raw.reshape(-1)))
        return 1.0 - float(np.sum((actual - predicted) ** 2)) / float(np.sum((actual - actual.mean()) ** 2))

    out: dict[str, Any] = {"inputs": int(prepared.x_train.shape[1]), **notes}
    if not variant.early:
        run = Run(config=config, prepared=prepared)
        scores, seconds = [], []
        started = time.perf_counter()
        for _ in run.epochs():
            seconds.append(time.perf_counter() - started)
            scores.append(outer_score(run.predict_proba_matrix(prepared.x_val)))
            started = time.perf_counter()
        out.update(outer=scores, seconds=seconds, stopped=run.stopped_because)
        return out
    if variant.folds:
        return out | cross_validated(prepared, config, variant.folds, seed, quick, outer_score)
    inner = inner_split(prepared, variant.inner, seed)
    run = Run(config=config, prepared=inner)
    outer_scores, inner_loss, inner_score, seconds = [], [], [], []
    best_loss, best_score = (math.inf, 0), (-math.inf, 0)
    patience = MAX_PATIENCE if not quick else 10
    started = time.perf_counter()
    generator = run.epochs()
    for update in generator:
        seconds.append(time.perf_counter() - started)
        epoch = update.epoch
        loss = float(update.validation["loss"])
        score = float(update.validation["r2" if task == "regression" else "accuracy"])
        inner_loss.append(loss)
        inner_score.append(score)
        outer_scores.append(outer_score(run.predict_proba_matrix(prepared.x_val)))
        if math.isfinite(loss) and loss < best_loss[0]:
            best_loss = (loss, epoch)
        if math.isfinite(score) and score > best_score[0]:
            best_score = (score, epoch)
        if epoch - best_loss[1] >= patience and epoch - best_score[1] >= patience:
            generator.close()
            break
        started = time.perf_counter()
    out.update(outer=outer_scores, inner_loss=inner_loss, inner_score=inner_score, seconds=seconds,
               stopped=run.stopped_because)
    return out


def fold_split(prepared, folds: int, k: int, seed: int) -> Any:
    """Fold k of a (stratified, for classes) k-fold split of the training rows, as a Prepared to train on."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(prepared.y_train)
    splitter = KFold(folds, shuffle=True, random_state=seed)
    counts = np.bincount(prepared.y_train) if prepared.task != "regression" else None
    if counts is not None and counts[counts > 0].min() >= folds:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    fit, held = list(splitter.split(np.zeros(n), prepared.y_train if prepared.task != "regression" else None))[k]
    return dataclasses.replace(
        prepared, x_train=np.ascontiguousarray(prepared.x_train[fit]), y_train=prepared.y_train[fit],
        x_val=np.ascontiguousarray(prepared.x_train[held]), y_val=prepared.y_train[held],
        train_rows=prepared.train_rows[fit], val_rows=prepared.train_rows[held], train_positions=None)


def cross_validated(prepared, config, folds: int, seed: int, quick: bool,
                    score: Callable[[np.ndarray], float] | None = None) -> dict:
    """Each fold trains until MAX_PATIENCE epochs bring no lower held-out loss (or CEILING); the epoch with the
    lowest mean held-out loss over the folds (over the epochs every fold reached) is the count; then a run on all
    training rows trains that many epochs. Records the full run's outer trajectory up to the count."""
    from tapeapp.train.run import Run

    patience = MAX_PATIENCE if not quick else 10
    curves, seconds = [], 0.0
    for k in range(folds):
        run = Run(config=config, prepared=fold_split(prepared, folds, k, seed))
        losses, best = [], (math.inf, 0)
        started = time.perf_counter()
        generator = run.epochs()
        for update in generator:
            loss = float(update.validation["loss"])
            losses.append(loss if math.isfinite(loss) else math.inf)
            if loss < best[0]:
                best = (loss, update.epoch)
            if update.epoch - best[1] >= patience:
                generator.close()
                break
        seconds += time.perf_counter() - started
        curves.append(losses)
    length = min(len(c) for c in curves)
    mean = np.mean([c[:length] for c in curves], axis=0)
    chosen = int(np.argmin(mean)) + 1
    run = Run(config=config.replace(epochs=chosen), prepared=prepared)
    outer, per_epoch = [], []
    started = time.perf_counter()
    for _ in run.epochs():
        per_epoch.append(time.perf_counter() - started)
        raw = run.predict_proba_matrix(prepared.x_val)
        outer.append(score(raw) if score else main_score(prepared.task, prepared.y_val, raw))
        started = time.perf_counter()
    per_epoch[0] += seconds  # the folds' time counts towards the run's
    return {"outer": outer, "seconds": per_epoch, "chosen": chosen, "fold_epochs": [len(c) for c in curves],
            "stopped": run.stopped_because}


def baselines(key: str, seed: int) -> dict:
    from tapeapp import TrainConfig, fit_baselines, inspect_frame, start_run

    entry = defaults_tables.TABLES[key]
    frame = defaults_tables.load(key)
    run = start_run(frame, inspect_frame(frame, target=entry.target, task=entry.task), TrainConfig(seed=seed))
    started = time.perf_counter()
    fitted = fit_baselines(run.prepared, frame, seed=seed)
    seconds = time.perf_counter() - started
    metric = "r2" if run.task == "regression" else "accuracy"
    scores = {name: (score.validation.get(metric, math.nan) if not score.error else math.nan)
              for name, score in fitted.scores.items()}
    return {"guess": scores.get("majority", scores.get("mean")), "linear": scores["linear"],
            "trees": scores["boosted_trees"], "seconds": seconds, "task": run.task,
            "rows": [int(len(run.prepared.y_train)), int(len(run.prepared.y_val))]}

# ------------------------------------------------------------------------------------------------ reading results


def stop_at(record: dict, patience: int, ceiling: int, criterion: str = "loss", restore: bool = True
            ) -> tuple[float, int, int, float]:
    """What a run with this rule keeps: (outer score, epoch kept, epochs run, seconds)."""
    outer = record["outer"]
    if "inner_loss" not in record:  # no early stopping: the last epoch
        n = min(len(outer), ceiling)
        return outer[n - 1], n, n, float(sum(record["seconds"][:n]))
    values = record["inner_loss"] if criterion == "loss" else [-s for s in record["inner_score"]]
    best, best_epoch, ran = math.inf, 0, 0
    for i, value in enumerate(values[:ceiling]):
        epoch = i + 1
        ran = epoch
        if math.isfinite(value) and value < best:
            best, best_epoch = value, epoch
        elif epoch - best_epoch >= patience:
            break
    kept = best_epoch if restore and best_epoch else ran
    return outer[kept - 1], kept, ran, float(sum(record["seconds"][:ran]))


def load_results() -> dict[tuple[str, int, str], dict]:
    out = {}
    if RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                out[(item["table"], item["seed"], item["variant"])] = item["result"]
    return out


def save(table: str, seed: int, variant: str, result: dict) -> None:
    with RESULTS.open("a") as f:
        f.write(json.dumps({"table": table, "seed": seed, "variant": variant, "result": result}) + "\n")


def fmt(x: float, digits: int = 3) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def variant_score(results: dict, key: str, seed: int, name: str, rule: dict = RULE) -> tuple[float, float, int] | None:
    """(score, seconds, epochs run) of a variant under ``rule``; a skipped many-levels variant falls back to its
    base (the same run: nothing to treat)."""
    if name in HYBRIDS:
        small, large, rows = HYBRIDS[name]
        base = results.get((key, seed, "baselines"))
        if base is None:
            return None
        return variant_score(results, key, seed, small if base["rows"][0] < rows else large, rule)
    record = results.get((key, seed, name))
    if record is None:
        return None
    if "skipped" in record:
        base = {"es_slog_keep": "es_slog", "es_slog_freq": "es_slog", "es_slog_target": "es_slog",
                "cv_slog_keep": "cv_slog", "es_rec_keep2": "es_rec", "es_rec_ylog": "es_rec", "cv_rec_ylog": "cv_rec",
                "es_rec_top200": "es_rec"}[name]
        return variant_score(results, key, seed, base, rule)
    score, _, ran, seconds = stop_at(record, rule["patience"], rule["ceiling"], rule["criterion"])
    return score, seconds, ran


def report(results: dict, tables: list[str], seeds: list[int], variants: list[str], columns: list[str]) -> None:
    print(f"\n{machine()}\n")
    print(f"Early-stopping variants read with patience {RULE['patience']}, ceiling {RULE['ceiling']}, "
          f"criterion inner {RULE['criterion']}, best epoch restored; score = accuracy (classes) or R^2 "
          "(regression) on tapeapp's validation rows.\n")
    rows = []
    summary: dict[str, list[tuple[float, float, float, float]]] = {v: [] for v in variants}
    walls: dict[str, float] = {}
    for key in tables:
        for seed in seeds:
            base = results.get((key, seed, "baselines"))
            if base is None:
                continue
            row = [key, seed, base["task"][:5], fmt(base["guess"]), fmt(base["trees"])]
            for name in variants:
                got = variant_score(results, key, seed, name)
                if got is None:
                    if name in columns:
                        row.append("")
                    continue
                score, seconds, ran = got
                if name in columns:
                    row.append(f"{fmt(score)} ({score - base['trees']:+.3f}) {seconds:.1f}s/{ran}")
                summary[name].append((score, base["trees"], base["guess"], seconds))
                real = name
                if name in HYBRIDS:
                    small, large, limit = HYBRIDS[name]
                    real = small if base["rows"][0] < limit else large
                walls[name] = walls.get(name, 0.0) + results.get((key, seed, real), {}).get("wall", 0.0)
            rows.append(row)
    print("Per table and seed: score (gap to trees) seconds/epochs run\n")
    print_table(rows, ["table", "seed", "task", "guess", "trees", *[v for v in variants if v in columns]])
    print()
    srows = []
    for name in variants:
        got = summary[name]
        if not got:
            continue
        tasks = [results[(k, s, "baselines")]["task"] for k in tables for s in seeds
                 if variant_score(results, k, s, name) is not None and (k, s, "baselines") in results]
        within = sum(1 for (score, trees, _, _), t in zip(got, tasks)
                     if trees - score <= (0.05 if t == "regression" else 0.03))
        below = sum(1 for score, _, guess, _ in got if guess - score > 0.01)
        gap = np.mean([score - trees for score, trees, _, _ in got])
        worst = min(score - trees for score, trees, _, _ in got)
        srows.append([name, len(got), f"{within} of {len(got)}", below, f"{gap:+.4f}", f"{worst:+.3f}",
                      f"{sum(s for *_, s in got):.0f}", f"{max(s for *_, s in got):.1f}", f"{walls.get(name, 0.0):.0f}",
                      VARIANTS[name].what if name in VARIANTS else
                      f"{HYBRIDS[name][0]} below {HYBRIDS[name][2]} training rows, else {HYBRIDS[name][1]}"])
    print_table(srows, ["variant", "runs", "within 0.03 acc / 0.05 R^2 of trees", "> 0.01 below guessing",
                        "mean gap to trees", "worst gap", "training s (rule)", "slowest run s",
                        "wall s (whole measurement)",
                        "what"])
    print("\ntraining s: the epochs the rule runs (cross-validation: the folds too); wall s: everything the "
          "measurement did (preparing, tracing, and an early-stopping trajectory followed to patience "
          f"{MAX_PATIENCE}), an upper bound.")


def report_paired(results: dict, tables: list[str], seeds: list[int], base: str, variants: list[str]) -> None:
    """Each variant minus ``base`` on the same table and seed: is a difference larger than the runs' noise?"""
    rows = []
    for name in variants:
        diffs, tasks = [], []
        for key in tables:
            for seed in seeds:
                a, b = variant_score(results, key, seed, name), variant_score(results, key, seed, base)
                if a is not None and b is not None:
                    diffs.append(a[0] - b[0])
                    tasks.append(results[(key, seed, "baselines")]["task"])
        if not diffs or name == base:
            continue
        d = np.array(diffs)
        cls = np.array([t != "regression" for t in tasks])
        se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else math.nan
        def part(m: np.ndarray, d: np.ndarray = d) -> str:
            return f"{d[m].mean():+.4f} ({m.sum()})" if m.any() else "—"
        rows.append([name, len(d), f"{d.mean():+.4f} ± {se:.4f}", part(cls), part(~cls),
                     f"{(d > 0.005).sum()} / {(np.abs(d) <= 0.005).sum()} / {(d < -0.005).sum()}",
                     f"{d.min():+.3f}", f"{d.max():+.3f}"])
    print(f"\nPaired differences from '{base}' (same table and seed; ± one standard error over the runs)\n")
    print_table(rows, ["variant", "runs", "mean difference", "classes: mean (runs)", "regression: mean (runs)",
                       "better / same (±0.005) / worse", "worst", "best"])


def report_rules(results: dict, tables: list[str], seeds: list[int], name: str) -> None:
    """Every stopping rule read off the same trajectories of one variant."""
    rows = []
    for criterion in ("loss", "score"):
        for patience in PATIENCES:
            for ceiling in CEILINGS:
                for restore in (True, False):
                    gaps, below, within, seconds, epochs = [], 0, 0, 0.0, []
                    for key in tables:
                        for seed in seeds:
                            record, base = results.get((key, seed, name)), results.get((key, seed, "baselines"))
                            if record is None or base is None or "skipped" in record:
                                continue
                            score, _, ran, s = stop_at(record, patience, ceiling, criterion, restore)
                            gaps.append(score - base["trees"])
                            below += base["guess"] - score > 0.01
                            within += base["trees"] - score <= (0.05 if base["task"] == "regression" else 0.03)
                            seconds += s
                            epochs.append(ran)
                    if gaps:
                        rows.append([criterion, patience, ceiling, "yes" if restore else "no",
                                     f"{within} of {len(gaps)}",
                                     below, f"{np.mean(gaps):+.4f}", f"{min(gaps):+.3f}", f"{np.median(epochs):.0f}",
                                     f"{max(epochs)}", f"{seconds:.0f}"])
    print(f"\nStopping rules read off the '{name}' trajectories "
          f"(inner {VARIANTS[name].inner:.0%} of the training rows)\n")
    print_table(rows, ["criterion", "patience", "ceiling", "restore best", "within of trees", "> 0.01 below guess",
                       "mean gap", "worst gap", "median epochs", "max epochs", "seconds"])


def report_current(results: dict, tables: list[str], seeds: list[int]) -> None:
    """How the current default's validation score moves over its 60 epochs (peak, and where it was)."""
    rows = []
    for key in tables:
        for seed in seeds:
            record, base = results.get((key, seed, "current")), results.get((key, seed, "baselines"))
            if record is None or base is None:
                continue
            outer = record["outer"]
            peak = int(np.argmax(outer))
            rows.append([key, seed, fmt(base["guess"]), fmt(base["trees"]), fmt(outer[-1]), fmt(outer[peak]), peak + 1,
                         f"{outer[peak] - outer[-1]:+.3f}"])
    print("\nThe current default over its 60 epochs: last epoch vs the best epoch on the validation rows (hindsight)\n")
    print_table(rows, ["table", "seed", "guess", "trees", "epoch 60", "best epoch's score", "best epoch",
                       "lost by keeping the last"])


def report_skew(tables: list[str], seed: int = 0) -> None:
    """Which columns each rule calls skewed (training rows of seed 0's split)."""
    from tapeapp import TrainConfig, inspect_frame, start_run

    rows = []
    for key in tables:
        entry = defaults_tables.TABLES[key]
        frame = defaults_tables.load(key)
        schema = inspect_frame(frame, target=entry.target, task=entry.task)
        train_rows = start_run(frame, schema, TrainConfig(seed=seed)).prepared.train_rows
        picks = {rule: skewed(frame, train_rows, entry.target, rule) for rule in ("skew1", "skew2", "ratio")}
        many = many_level_columns(frame, schema, train_rows)
        rows.append([key, ", ".join(f"{c} ({g:+.1f})" for c, g in picks["skew1"].items()) or "-",
                     ", ".join(sorted(set(picks["skew1"]) ^ set(picks["skew2"]))) or "same",
                     ", ".join(sorted(set(picks["skew1"]) ^ set(picks["ratio"]))) or "same",
                     ", ".join(f"{c} ({frame.loc[train_rows, c].nunique()})" for c in many) or "-"])
    print("\nColumns each rule transforms (training rows, seed 0) and categories with more than 50 levels\n")
    print_table(rows, ["table", "|skewness| > 1 (skewness)", "differs at > 2", "differs for max > 10 x median",
                       "categories > 50 levels"])

# ------------------------------------------------------------------------------------------------ the guess


def report_guess(tables: list[str]) -> None:
    from tapeapp import inspect_frame

    rows, hits = [], {"current": [0, 0], "prototype": [0, 0]}
    for key in tables:
        entry = defaults_tables.TABLES[key]
        frame = defaults_tables.load(key)
        schema = inspect_frame(frame)
        now = (schema.target, schema.task)
        if schema.target != entry.target:  # the task tapeapp would guess once the right column is chosen
            task_now = inspect_frame(frame, target=entry.target).task
        else:
            task_now = schema.task
        started = time.perf_counter()
        proto_target, proto_task, why = guess_target(frame)
        ms = (time.perf_counter() - started) * 1000
        for name, (target, task, _task_if_right) in {"current": (*now, task_now),
                                                    "prototype": (proto_target, proto_task, proto_task)}.items():
            hits[name][0] += target == entry.target
            hits[name][1] += target == entry.target and task == entry.task
        rows.append([key, f"{entry.target} ({entry.task[:5]})",
                     ("ok" if now[0] == entry.target else now[0]) + f" / {now[1][:5]}"
                     + ("" if now[0] == entry.target else f" (right column: {task_now[:5]})"),
                     ("ok" if proto_target == entry.target else proto_target) + f" / {proto_task[:5]}",
                     why, f"{ms:.0f}"])
    print("\nThe column to predict and the task, guessed from the table alone\n")
    print_table(rows, ["table", "documented", "tapeapp now (column / task)", "prototype", "prototype's reason", "ms"])
    n = len(tables)
    print(f"\nColumn right: tapeapp now {hits['current'][0]} of {n}, prototype {hits['prototype'][0]} of {n}. "
          f"Column and task right: now {hits['current'][1]} of {n}, prototype {hits['prototype'][1]} of {n}.")

# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 small tables, seed 0, 5 variants, short runs")
    parser.add_argument("--tables", help="comma-separated keys of bench/defaults_tables.py (default: all)")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--variants", help=f"comma-separated (default: {','.join(MAIN_VARIANTS)}); all: "
                                           + ",".join(VARIANTS))
    parser.add_argument("--fresh", action="store_true", help="forget saved results")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--guess-only", action="store_true")
    parser.add_argument("--hybrids", default=",".join(HYBRIDS),
                        help=f"also show read-off combinations: {','.join(HYBRIDS)}")
    parser.add_argument("--columns", help="variants shown in the per-table table (default: all shown)")
    parser.add_argument("--rules", default="es,es_rec", help="variants whose stopping rules are tabulated")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    tables = args.tables.split(",") if args.tables else list(defaults_tables.TABLES)
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = args.variants.split(",") if args.variants else list(MAIN_VARIANTS)
    global RESULTS
    if args.quick:
        tables, seeds = list(defaults_tables.QUICK), [0]
        variants = list(QUICK_VARIANTS) if not args.variants else variants
        args.hybrids = "rec_hybrid" if args.hybrids == ",".join(HYBRIDS) else args.hybrids
        RESULTS = RESULTS.with_name("defaults_results_quick.jsonl")
    if args.guess_only:
        report_guess(tables)
        return 0
    if args.fresh and RESULTS.exists():
        RESULTS.unlink()
    results = load_results()
    if not args.report_only:
        for key in tables:
            for seed in seeds:
                if (key, seed, "baselines") not in results:
                    results[(key, seed, "baselines")] = baselines(key, seed)
                    save(key, seed, "baselines", results[(key, seed, "baselines")])
                for name in variants:
                    if (key, seed, name) in results or name in HYBRIDS:
                        continue
                    started = time.perf_counter()
                    result = measure(key, seed, VARIANTS[name], args.quick)
                    result["wall"] = time.perf_counter() - started
                    results[(key, seed, name)] = result
                    save(key, seed, name, result)
                    print(f"{key} seed {seed} {name}: {result.get('skipped') or len(result['outer'])} "
                          f"({result['wall']:.0f} s)", file=sys.stderr, flush=True)
    shown = [v for v in variants if any((k, s, v) in results for k in tables for s in seeds)]
    shown += [h for h in args.hybrids.split(",") if h]
    columns = args.columns.split(",") if args.columns else (shown if args.quick else list(COLUMNS))
    report(results, tables, seeds, shown, columns)
    if "current" in shown:
        report_current(results, tables, seeds)
        report_paired(results, tables, seeds, "current", shown)
    if "es_slog" in shown:
        report_paired(results, tables, seeds, "es_slog", shown)
    for name in args.rules.split(","):
        if name in shown:
            report_rules(results, tables, seeds, name)
    report_skew(tables)
    report_guess(tables)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
