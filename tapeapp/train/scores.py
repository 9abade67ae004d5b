"""Scores on the validation rows as scikit-learn computes them, and the simpler models' results as data.

The network's per-epoch scores are Keras' streaming metrics; these are scikit-learn's exact ones, with the standard
error of the main score, so the network and the simpler models (``tapeapp.judge.baselines``) are compared by the same
code. ``Baselines`` and ``BaselineScore`` are plain results: a ``Run`` carries them without knowing how they are
fitted.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, mean_squared_error, r2_score, roc_auc_score

from tapeapp.features.prepare import Prepared
from tapeapp.train.metrics import MAIN_METRIC
from tapeapp.words import BASELINE_TITLES as TITLES


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
