"""Simpler models on the same rows as the network, so every run says how much the network adds.

Three baselines, fitted on exactly the network's training rows and scored on its validation rows with the metric
names of the network's validation dict (scikit-learn's exact metrics, where the live curves use Keras' streaming
ones: AUC there is a 200-threshold approximation):

- ``majority`` (classification) / ``mean`` (regression): scikit-learn's ``DummyClassifier`` / ``DummyRegressor``,
  the score of knowing nothing but the training rows' answers;
- ``linear``: ``LogisticRegression`` / ``Ridge`` on the network's own preprocessed inputs;
- ``boosted_trees``: ``HistGradientBoostingClassifier`` / ``Regressor`` on the raw columns, text as native
  categories (at most ``TREE_LEVELS`` per column, the rest as one 'other'; scikit-learn's HistGradientBoosting
  takes at most 255, so this stays apart from the network's own ``MAX_LEVELS``).

They run on one shared background thread (``start_baselines``) with scikit-learn's native thread pools limited to
one thread, so the network's epochs keep the other cores; big tables are fitted on a seeded sample of at most
``SAMPLE_ROWS`` training rows, and the result says so. A failing baseline is recorded, never raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from threadpoolctl import threadpool_limits

from tapeapp.config import TrainConfig
from tapeapp.data.dates import date_parts
from tapeapp.features.prepare import Prepared
from tapeapp.features.preprocess import numeric_values, text_values
from tapeapp.train.scores import Baselines, BaselineScore, main_score, row_hash, validation_scores

SAMPLE_ROWS = 200_000
TREE_LEVELS = 50  # categories per column for the trees: the 50 the measurements of issue 20 used
OTHER = "\x00other"  # text_values strips NUL characters, so no real category can be called this

# One worker for the whole process: many page sessions share one server, and the network must keep the CPUs.
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tapeapp-baselines")


def _full_proba(model, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities with a column for every class, also those absent from the (sampled) training rows."""
    out = np.zeros((len(proba), n_classes))
    out[:, model.classes_.astype(int)] = proba
    return out


def training_positions(prepared: Prepared, seed: int) -> np.ndarray:
    """Set positions (``Prepared``'s words) of the training rows to fit on: all, or a seeded sample of
    ``SAMPLE_ROWS`` in table order."""
    n = len(prepared.y_train)
    if n <= SAMPLE_ROWS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, SAMPLE_ROWS, replace=False))


def category_levels(series: pd.Series) -> list[str]:
    """The TREE_LEVELS most common training values (HGB takes at most 255 categories, 'other' included)."""
    return list(pd.Series(text_values(series)).value_counts(sort=True).index[:TREE_LEVELS])


def as_category(series: pd.Series, levels: list[str]) -> pd.Categorical:
    values = pd.Series(text_values(series))
    return pd.Categorical(values.where(values.isin(levels), OTHER), categories=[*levels, OTHER])


def raw_inputs(prepared: Prepared, rows: pd.DataFrame, levels: Mapping[str, list[str]]) -> pd.DataFrame:
    """Raw feature columns as HistGradientBoosting takes them: numbers as floats (NaN missing), text as categories.

    One block per kind of column, in the preprocessor's order, dates as their parts (``tapeapp.data.dates.date_parts``).
    Columns are named by position, since scikit-learn refuses feature names that are not all strings.
    """
    pre = prepared.preprocessor
    blocks: list[np.ndarray | pd.Categorical] = [numeric_values(rows[c]).astype("float64") for c in pre.numeric]
    blocks += [as_category(rows[c], levels[c]) for c in pre.categorical]
    for c in pre.dates:  # a date as the numbers trees can split on: days since 1970, year, month, weekday, hour
        parts = date_parts(rows[c], pre.date_format_[c])
        blocks += [parts[part].to_numpy(dtype="float64") for part in parts.columns]
    return pd.DataFrame({f"c{i}": block for i, block in enumerate(blocks)})


def fit_baselines(prepared: Prepared, frame: pd.DataFrame, seed: int = 0, class_weight: str = "none",
                  threads: int | None = 1) -> Baselines:
    """Fit and score every baseline now, in this thread. ``frame`` is the table given to ``prepare`` (its training
    rows are read by position for the trees); errors inside one baseline are recorded and the others go on.

    ``class_weight="balanced"`` weights the classes of the linear model and the trees as the network's loss does.
    ``threads`` limits scikit-learn's native pools (OpenMP, BLAS; None: unlimited). One by default: the network
    keeps the other cores, and on a busy machine OpenMP's waiting threads made a 100-row tree fit take 33 s
    instead of 0.4 s (bench/README.md). NumPy's floating-point warnings are off in here (``np.errstate`` holds for
    this thread only): a side view must not print into the CLI's stderr or the page's log.
    """
    with threadpool_limits(limits=threads), np.errstate(all="ignore"):
        return _fit(prepared, frame, seed, class_weight)


def _fit(prepared: Prepared, frame: pd.DataFrame, seed: int, class_weight: str) -> Baselines:
    started = time.perf_counter()
    task, n_classes = prepared.task, prepared.target_encoder.n_outputs
    n_classes = 2 if task == "binary" else n_classes
    sample = training_positions(prepared, seed)
    positions = prepared.train_positions[sample]
    y_train = prepared.y_train[sample]
    x_train = prepared.x_train if len(sample) == len(prepared.y_train) else prepared.x_train[sample]
    regression = task == "regression"
    weights = "balanced" if class_weight == "balanced" and not regression else None

    def trees():
        train_raw = frame[list(prepared.features)].iloc[positions]  # only the input columns of these rows
        levels = {c: category_levels(train_raw[c]) for c in prepared.preprocessor.categorical}
        kind = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        model = kind(random_state=seed, **({} if regression else {"class_weight": weights}))
        model.fit(raw_inputs(prepared, train_raw, levels), y_train)
        return model, raw_inputs(prepared, prepared.raw_val, levels)

    if regression:
        linear = lambda: Ridge(random_state=seed)  # noqa: E731
    else:
        linear = lambda: LogisticRegression(max_iter=1000, class_weight=weights)  # noqa: E731
    dummy = DummyRegressor if regression else lambda: DummyClassifier(strategy="prior")
    makers: dict[str, Callable[[], tuple]] = {
        "mean" if regression else "majority": lambda: (dummy().fit(x_train, y_train), prepared.x_val),
        "linear": lambda: (linear().fit(x_train, y_train), prepared.x_val),
        "boosted_trees": trees,
    }
    scores = {}
    for name, make in makers.items():
        begun = time.perf_counter()
        try:
            model, x_val = make()
            if regression:
                output = model.predict(x_val).astype("float64")
            else:
                output = _full_proba(model, model.predict_proba(x_val), n_classes)
            main, error = main_score(task, prepared.y_val, output, prepared)
            scores[name] = BaselineScore(name, validation_scores(task, prepared.y_val, output, prepared), error,
                                         time.perf_counter() - begun)
        except Exception as exc:  # noqa: BLE001 - a baseline is a side view: it must never break the run
            scores[name] = BaselineScore(name, seconds=time.perf_counter() - begun,
                                         error=f"{type(exc).__name__}: {exc}")
    return Baselines(task=task, scores=scores, train_rows=len(sample), train_hash=row_hash(frame.index[positions]),
                     val_rows=len(prepared.y_val), val_hash=row_hash(prepared.raw_val.index),
                     sampled_from=len(prepared.y_train), seconds=time.perf_counter() - started)


def _fit_in_background(prepared: Prepared, frame: pd.DataFrame, seed: int, class_weight: str) -> Baselines:
    try:
        return fit_baselines(prepared, frame, seed, class_weight)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the run goes on and says what happened
        names = ("mean" if prepared.task == "regression" else "majority", "linear", "boosted_trees")
        failed = {name: BaselineScore(name, error=f"{type(exc).__name__}: {exc}") for name in names}
        return Baselines(prepared.task, failed, 0, "", len(prepared.y_val), "", len(prepared.y_train), 0.0)


def start_baselines(prepared: Prepared, frame: pd.DataFrame, config: TrainConfig) -> Future:
    """Queue the baselines of a prepared run on the shared background worker; the Future gives ``Baselines``.

    Hand this to ``start_run(..., baselines=start_baselines)``, which attaches the Future to the run
    (``run.baselines`` then holds the result when done). ``frame`` is the table the run is started from. The job
    holds the prepared data, not the run: a run dropped before its turn comes cancels it (``start_run`` sees to
    that), so a page session that starts many runs does not queue them all.
    """
    return _WORKER.submit(_fit_in_background, prepared, frame, config.seed, config.class_weight)


