"""Shared words and shapes for scores: the main metric per task, and class probabilities from a model's output."""

from __future__ import annotations

import numpy as np

from tapeapp.words import MAIN_METRIC  # noqa: F401  (re-exported: the main metric is part of the scores' shape)


def probabilities(task: str, predictions: np.ndarray) -> np.ndarray:
    """Class probabilities with one column per class (a binary head gives only the positive one)."""
    if task == "binary":
        p = predictions.reshape(-1)
        return np.column_stack([1 - p, p])
    return predictions
