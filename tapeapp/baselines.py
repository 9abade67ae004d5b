"""Simpler models on the same rows as the network, so every run says how much the network adds.

Three baselines, fitted on exactly the network's training rows and scored on its validation rows with the metric
names of the network's validation dict (scikit-learn's exact metrics, where the live curves use Keras' streaming
ones: AUC there is a 200-threshold approximation):

- ``majority`` (classification) / ``mean`` (regression): scikit-learn's ``DummyClassifier`` / ``DummyRegressor``,
  the score of knowing nothing but the training rows' answers;
- ``linear``: ``LogisticRegression`` / ``Ridge`` on the network's own preprocessed inputs;
- ``boosted_trees``: ``HistGradientBoostingClassifier`` / ``Regressor`` on the raw columns, text as native
  categories (at most ``MAX_LEVELS`` per column, like the network's preprocessing, the rest as one 'other').

They run on one shared background thread (``start_baselines``) with scikit-learn's native thread pools limited to
one thread, so the network's epochs keep the other cores; big tables are fitted on a seeded sample of at most
``SAMPLE_ROWS`` training rows, and the result says so. A failing baseline is recorded, never raised.
"""

from __future__ import annotations

import hashlib
import math
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, mean_squared_error, r2_score, roc_auc_score
from threadpoolctl import threadpool_limits

from tapeapp.metrics import MAIN_METRIC, probabilities
from tapeapp.prepare import Prepared
from tapeapp.dates import date_parts
from tapeapp.preprocess import MAX_LEVELS, numeric_values, text_values

if TYPE_CHECKING:
    from tapeapp.run import Run

SAMPLE_ROWS = 200_000
OTHER = "\x00other"  # text_values strips NUL characters, so no real category can be called this
TITLES = {"majority": "always answering the most common class", "mean": "always answering the average",
          "linear": "a linear model", "boosted_trees": "boosted trees"}
MODELS = {"majority": "DummyClassifier", "mean": "DummyRegressor", "linear": "LogisticRegression / Ridge",
          "boosted_trees": "HistGradientBoostingClassifier / Regressor"}

# One worker for the whole process: many page sessions share one server, and the network must keep the CPUs.
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tapeapp-baselines")


@dataclass(frozen=True)
class BaselineScore:
    """One simpler model's validation scores; ``error`` says why there are none."""

    name: str
    validation: Mapping[str, float] = field(default_factory=dict)
    standard_error: float = math.nan  # of the task's main score (accuracy or RMSE) on the validation rows
    seconds: float = 0.0
    error: str = ""

    @property
    def title(self) -> str:
        return TITLES[self.name]


@dataclass(frozen=True)
class Baselines:
    """All baselines of one run, and the rows they used (hashes comparable with ``row_hash(prepared.train_rows)``)."""

    task: str
    scores: Mapping[str, BaselineScore]
    train_rows: int
    train_hash: str
    val_rows: int
    val_hash: str
    sampled_from: int  # how many training rows the network had; equal to ``train_rows`` unless sampled
    seconds: float

    @property
    def sampled(self) -> bool:
        return self.train_rows < self.sampled_from

    @property
    def note(self) -> str:
        """One sentence for the page when the baselines saw fewer training rows than the network, else ''."""
        if not self.sampled:
            return ""
        return (f"The simpler models were fitted on a random sample of {self.train_rows:,} of the "
                f"{self.sampled_from:,} training rows, to keep them quick; the network used all of them.")

    def to_dict(self) -> dict[str, dict[str, float | None | str]]:
        """The CLI's ``"baselines"`` object: name -> validation scores rounded like the network's, or an error."""
        out: dict[str, dict[str, float | None | str]] = {}
        for name, score in self.scores.items():
            if score.error:
                out[name] = {"error": score.error}
            else:
                out[name] = {k: round(v, 6) if math.isfinite(v) else None for k, v in score.validation.items()}
        return out

    def record(self) -> dict:
        """What config.json keeps: the scores, the rows used, and how long the fits took."""
        return {"scores": self.to_dict(), "rows": {"train": self.train_rows, "validation": self.val_rows,
                                                    "sampled_from": self.sampled_from},
                "train_rows_sha256": self.train_hash, "validation_rows_sha256": self.val_hash,
                "seconds": {name: round(s.seconds, 3) for name, s in self.scores.items()}}


def row_hash(labels: np.ndarray | pd.Index) -> str:
    """A fingerprint of which rows were used: SHA-256 of the row labels in table order."""
    hashed = pd.util.hash_array(np.asarray(labels, dtype=object), categorize=False)
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def validation_scores(task: str, y: np.ndarray, output: np.ndarray, prepared: Prepared) -> dict[str, float]:
    """The network's validation metrics, computed with scikit-learn from class probabilities (classification) or
    predictions in the standardised units the network trains on (regression)."""
    if task == "regression":
        decode = prepared.target_encoder.decode_regression
        actual, predicted = decode(y), decode(output.reshape(-1))
        return {"loss": float(np.mean((output.reshape(-1).astype("float64") - y) ** 2)),
                "mae": float(mean_absolute_error(actual, predicted)),
                "rmse": float(math.sqrt(mean_squared_error(actual, predicted))),
                "r2": float(r2_score(actual, predicted)) if len(y) > 1 else math.nan}
    proba = np.clip(np.nan_to_num(output, nan=0.5), 1e-7, 1 - 1e-7)  # Keras' crossentropy clips the same way
    proba = proba / proba.sum(axis=1, keepdims=True)
    return {"loss": float(log_loss(y, proba, labels=np.arange(proba.shape[1]))),
            "accuracy": float(accuracy_score(y, proba.argmax(axis=1))),
            "auc": _macro_auc(y, proba)}


def _macro_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """Binary: ROC AUC of the positive class; multiclass: the mean one-vs-rest AUC over classes present in ``y``
    (what Keras' ``AUC(multi_label=True)`` estimates)."""
    columns = [1] if proba.shape[1] == 2 else range(proba.shape[1])
    aucs = [roc_auc_score(y == k, proba[:, k]) for k in columns if 0 < (y == k).sum() < len(y)]
    return float(np.mean(aucs)) if aucs else math.nan


def main_score(task: str, y: np.ndarray, output: np.ndarray, prepared: Prepared) -> tuple[float, float]:
    """The task's main validation score (accuracy, or RMSE in the target's units) and its standard error.

    Accuracy: the binomial sqrt(p(1-p)/n), with Agresti and Coull's two extra rights and wrongs. RMSE: the delta
    method on the squared errors, sd(e^2) / (2 RMSE sqrt(n)), which a bootstrap of the validation rows matches
    (bench/baselines_check.py).
    """
    n = len(y)
    if task == "regression":
        decode = prepared.target_encoder.decode_regression
        errors = decode(output.reshape(-1)) - decode(y)
        rmse = float(math.sqrt(np.mean(errors ** 2)))
        spread = float(np.std(errors ** 2, ddof=1)) if n > 1 else math.nan
        return rmse, spread / (2 * rmse * math.sqrt(n)) if rmse > 0 else 0.0
    right = int((np.nan_to_num(output).argmax(axis=1) == y).sum())
    adjusted = (right + 2) / (n + 4)  # Agresti-Coull: 60 of 60 right still has some noise, not none
    return right / n, math.sqrt(adjusted * (1 - adjusted) / (n + 4))


def better_by(task: str, score: float, other: float) -> float:
    """How much better ``score`` is than ``other`` (RMSE is better when lower)."""
    return other - score if MAIN_METRIC[task] == "rmse" else score - other


def _full_proba(model, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities with a column for every class, also those absent from the (sampled) training rows."""
    out = np.zeros((len(proba), n_classes))
    out[:, model.classes_.astype(int)] = proba
    return out


def training_positions(prepared: Prepared, seed: int) -> np.ndarray:
    """Indices into the network's training rows: all of them, or a seeded sample of ``SAMPLE_ROWS`` in table order."""
    n = len(prepared.y_train)
    if n <= SAMPLE_ROWS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, SAMPLE_ROWS, replace=False))


def category_levels(series: pd.Series) -> list[str]:
    """The MAX_LEVELS most common training values, as the network's preprocessing keeps (HGB takes at most 255)."""
    return list(pd.Series(text_values(series)).value_counts(sort=True).index[:MAX_LEVELS])


def as_category(series: pd.Series, levels: list[str]) -> pd.Categorical:
    values = pd.Series(text_values(series))
    return pd.Categorical(values.where(values.isin(levels), OTHER), categories=[*levels, OTHER])


def raw_inputs(prepared: Prepared, rows: pd.DataFrame, levels: Mapping[str, list[str]]) -> pd.DataFrame:
    """Raw feature columns as HistGradientBoosting takes them: numbers as floats (NaN missing), text as categories.

    One block per kind of column, in the preprocessor's order, dates as their parts (``tapeapp.dates.date_parts``).
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


def start_baselines(run: "Run", frame: pd.DataFrame) -> Future:
    """Queue the baselines of ``run`` on the shared background worker; ``run.baselines`` holds them when done.

    ``frame`` is the table the run was started from. The job holds the prepared data, not the run: a run that is
    dropped before its turn comes is cancelled, so a page session that starts many runs does not queue them all.
    """
    future = _WORKER.submit(_fit_in_background, run.prepared, frame, run.config.seed, run.config.class_weight)
    weakref.finalize(run, future.cancel)
    run.baselines_future = future
    return future


def network_scores(run: "Run") -> dict[str, float]:
    """The network's validation scores under the baselines' names, by the same scikit-learn code."""
    data = run.prepared
    raw = run.predict_proba_matrix(data.x_val).astype("float64")
    return validation_scores(run.task, data.y_val, raw if run.task == "regression" else probabilities(run.task, raw),
                             data)


def comparison_frame(run: "Run") -> pd.DataFrame | None:
    """The network and each simpler model, one row each, with their validation scores; None until fitted."""
    base = run.baselines
    if base is None:
        return None
    rows = [{"model": "the network (tapeapp)", **network_scores(run)}]
    for name, score in base.scores.items():
        rows.append({"model": TITLES[name], **score.validation} if not score.error else
                    {"model": TITLES[name], "error": score.error})
    return pd.DataFrame(rows)


def network_score(run: "Run") -> tuple[float, float]:
    """The main validation score of the weights the network holds now (what it exports), and its standard error."""
    data = run.prepared
    raw = run.predict_proba_matrix(data.x_val)
    output = raw.astype("float64") if run.task == "regression" else probabilities(run.task, raw.astype("float64"))
    return main_score(run.task, data.y_val, output, data)


def _phrase(task: str, score: float) -> str:
    return f"RMSE {score:,.4g}" if task == "regression" else f"{score:.0%} accuracy"


def _better(task: str, name: str, gap: float, network: float) -> str:
    """'Boosted trees do 7 points better' or 'A linear model's errors are 12% smaller'."""
    title = TITLES[name][0].upper() + TITLES[name][1:]
    if task == "regression":
        return f"{title}'s errors are {gap / network:.0%} smaller" if name != "mean" else f"{title} does better"
    points = round(gap * 100)
    return f"{title} {'do' if name == 'boosted_trees' else 'does'} {points} point{'s' if points != 1 else ''} better"


_WHY = {"boosted_trees": "for tables like this, trees are often the better tool.",
        "linear": "the pattern is simple enough for a straight-line model, which the network has not yet matched.",
        "majority": "the network has not learned anything useful yet.",
        "mean": "the network has not learned anything useful yet."}


def compare_with_baselines(run: "Run") -> str | None:
    """One sentence comparing the network with the simpler models, or None while they are not ready."""
    base = run.baselines
    usable = {n: s for n, s in (base.scores.items() if base else ())
              if not s.error and not (n == "majority" and run.config.class_weight == "balanced")}
    if not usable:
        return None
    task = run.task
    main = MAIN_METRIC[task]
    net, net_se = network_score(run)
    if not math.isfinite(net):
        return "The network's outputs are not numbers, so every simpler model does better: " + _WHY["majority"]
    gaps = {n: better_by(task, s.validation[main], net) for n, s in usable.items()}
    noise = {n: math.hypot(net_se, s.standard_error) for n, s in usable.items()}
    best = max(gaps, key=gaps.get)
    if gaps[best] > noise[best]:
        return (f"{_better(task, best, gaps[best], net)} on this table ({_phrase(task, usable[best].validation[main])}"
                f" vs the network's {_phrase(task, net)}): {_WHY[best]}")
    if all(-gaps[n] > noise[n] for n in usable):
        return (f"The network beats every simpler model ({_phrase(task, net)}; the best of them, {TITLES[best]}: "
                f"{_phrase(task, usable[best].validation[main])}).")
    return (f"The network scores about the same as {TITLES[best]} ({_phrase(task, net)} vs "
            f"{_phrase(task, usable[best].validation[main])}): the difference is within the validation score's noise.")
