"""How good the trained model is on the validation rows, as plain data frames the page or a notebook can draw."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    auc,
    confusion_matrix,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_curve,
    precision_recall_fscore_support,
    r2_score,
    roc_curve,
)

from tapeapp.train.metrics import probabilities

MAX_CURVE_POINTS = 400


@dataclass(frozen=True, eq=False)
class Evaluation:
    task: str
    threshold: float | None
    headline: dict[str, float]
    confusion: pd.DataFrame = field(default_factory=pd.DataFrame)
    roc: pd.DataFrame = field(default_factory=pd.DataFrame)
    pr: pd.DataFrame = field(default_factory=pd.DataFrame)
    per_class: pd.DataFrame = field(default_factory=pd.DataFrame)
    points: pd.DataFrame = field(default_factory=pd.DataFrame)


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    """Curves on big tables have a point per row; a few hundred draw the same line."""
    if len(frame) <= MAX_CURVE_POINTS:
        return frame
    keep = np.unique(np.linspace(0, len(frame) - 1, MAX_CURVE_POINTS).round().astype(int))
    return frame.iloc[keep].reset_index(drop=True)


def predicted_labels(task: str, proba: np.ndarray, threshold: float) -> np.ndarray:
    if task == "binary":
        return (proba[:, 1] >= threshold).astype(int)
    return np.nan_to_num(proba).argmax(axis=1)


def classification_report(task: str, y: np.ndarray, proba: np.ndarray, classes: tuple,
                          threshold: float = 0.5) -> Evaluation:
    names = [str(c) for c in classes]
    labels = np.arange(len(classes))
    predicted = predicted_labels(task, proba, threshold)
    matrix = confusion_matrix(y, predicted, labels=labels)
    confusion = pd.DataFrame([(names[i], names[j], int(matrix[i, j])) for i in labels for j in labels],
                             columns=["actual", "predicted", "count"])
    p, r, f, s = precision_recall_fscore_support(y, predicted, labels=labels, zero_division=0)
    per_class = pd.DataFrame({"class": names, "precision": p, "recall": r, "f1": f, "support": s})
    roc_parts, pr_parts, aucs = [], [], []
    # a model whose numbers overflowed (a far too high learning rate) has no curves, only its (poor) labels
    curve_classes = ([1] if task == "binary" else list(labels)) if np.isfinite(proba).all() else []
    for k in curve_classes:
        truth = (y == k).astype(int)
        if truth.min() == truth.max():
            continue
        fpr, tpr, _ = roc_curve(truth, proba[:, k])
        precision, recall, _ = precision_recall_curve(truth, proba[:, k])
        aucs.append(auc(fpr, tpr))
        roc_parts.append(_thin(pd.DataFrame({"class": names[k], "fpr": fpr, "tpr": tpr})))
        pr_parts.append(_thin(pd.DataFrame({"class": names[k], "recall": recall, "precision": precision})))
    headline = {"accuracy": float(accuracy_score(y, predicted)),
                "auc": float(np.mean(aucs)) if aucs else math.nan,
                "f1": float(np.average(f, weights=s)) if s.sum() else math.nan}
    return Evaluation(task=task, threshold=threshold if task == "binary" else None, headline=headline,
                      confusion=confusion, roc=pd.concat(roc_parts) if roc_parts else pd.DataFrame(),
                      pr=pd.concat(pr_parts) if pr_parts else pd.DataFrame(), per_class=per_class)


def regression_report(actual: np.ndarray, predicted: np.ndarray) -> Evaluation:
    points = pd.DataFrame({"actual": actual, "predicted": predicted, "residual": actual - predicted})
    if not np.isfinite(predicted).all():  # overflowed predictions have no scores, as in the per-epoch metrics
        return Evaluation(task="regression", threshold=None, headline=dict.fromkeys(("mae", "rmse", "r2"), math.nan),
                          points=points)
    headline = {"mae": float(mean_absolute_error(actual, predicted)),
                "rmse": float(math.sqrt(mean_squared_error(actual, predicted))),
                "r2": float(r2_score(actual, predicted)) if len(actual) > 1 else math.nan}
    return Evaluation(task="regression", threshold=None, headline=headline, points=points)


def evaluate(run, threshold: float = 0.5) -> Evaluation:
    """Scores of the weights the run's model holds now, on its validation rows (never on training rows)."""
    data = run.prepared
    raw = run.predict_proba_matrix(data.x_val)
    if data.task == "regression":
        decode = data.target_encoder.decode_regression
        return regression_report(decode(data.y_val), decode(raw.reshape(-1)))
    return classification_report(data.task, data.y_val, probabilities(data.task, raw),
                                 data.target_encoder.classes_, threshold)


def no_better_than_guessing(evaluation: Evaluation, target: str, advice: Sequence | None = None) -> str | None:
    """A plain warning when the model does no better than the simplest guess, so a run gone wrong never looks fine.

    It states the fact and leaves the remedy to the advice (``tapeapp.diagnose``), so the two never disagree: pass
    the run's advice to have it named here."""
    if evaluation.task == "regression":
        r2 = evaluation.headline.get("r2")
        if r2 is not None and math.isfinite(r2) and r2 < 0:
            return (f"The model predicts '{target}' worse than always predicting the average (R² {r2:,.3g}, "
                    f"below 0): it has not learned the pattern. {_what_to_change(advice)}")
        return None
    support = evaluation.per_class.get("support")
    accuracy = evaluation.headline.get("accuracy")
    if support is None or not len(support) or support.sum() == 0 or accuracy is None or not math.isfinite(accuracy):
        return None
    share = support.max() / support.sum()
    if accuracy > share + 1e-9:
        return None
    common = evaluation.per_class["class"].iloc[int(support.argmax())]
    return (f"The model is right no more often than always answering '{common}', the most common class "
            f"({share:.0%} of the validation rows): it has not learned anything useful yet. "
            f"{_what_to_change(advice)}")


def _what_to_change(advice: Sequence | None) -> str:
    """The remedy, from the advice when there is some, else a pointer to it (never a remedy of its own)."""
    if advice:
        return "What to change: " + " ".join(a.message for a in advice)
    return "The advice after training says what to change, when the evidence points to something."
