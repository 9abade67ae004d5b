"""Per-epoch scores from predictions, all computed by scikit-learn, in the target's original units."""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, r2_score, roc_auc_score

MAIN_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "rmse"}


def probabilities(task: str, predictions: np.ndarray) -> np.ndarray:
    """Class probabilities with one column per class (a binary head gives only the positive one)."""
    if task == "binary":
        p = predictions.reshape(-1)
        return np.column_stack([1 - p, p])
    return predictions


def _auc(y: np.ndarray, proba: np.ndarray) -> float:
    """AUC is undefined when a class is absent from y; report NaN rather than fail the epoch."""
    present = np.unique(y)
    if len(present) < 2 or not np.isfinite(proba).all():
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if proba.shape[1] == 2:
                return float(roc_auc_score(y, proba[:, 1]))
            if len(present) < proba.shape[1]:
                return math.nan
            return float(roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1])))
        except ValueError:
            return math.nan


def epoch_metrics(task: str, y: np.ndarray, predictions: np.ndarray, loss: float, decode=None) -> dict[str, float]:
    if len(y) == 0:
        return {"loss": math.nan}
    if task == "regression":
        pred = predictions.reshape(-1).astype("float64")
        truth = y.astype("float64")
        if decode is not None:
            pred, truth = decode(pred), decode(truth)
        if not np.isfinite(pred).all():
            return {"loss": loss, "mae": math.nan, "rmse": math.nan, "r2": math.nan}
        return {"loss": loss, "mae": float(mean_absolute_error(truth, pred)),
                "rmse": float(math.sqrt(mean_squared_error(truth, pred))),
                "r2": float(r2_score(truth, pred)) if len(truth) > 1 else math.nan}
    proba = probabilities(task, predictions)
    labels = np.nan_to_num(proba).argmax(axis=1)
    return {"loss": loss, "accuracy": float(accuracy_score(y, labels)), "auc": _auc(y, proba)}
