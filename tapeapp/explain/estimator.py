"""A trained run seen as a fitted scikit-learn estimator, so scikit-learn's inspection tools work on it unchanged.

``permutation_importance`` and ``partial_dependence`` shuffle or overwrite whole *raw* columns and ask for
predictions many times. Running the fitted preprocessing again for every call would cost tens of milliseconds each;
instead the rows are transformed once, and the estimator's input ``X`` says, for every raw column, which transformed
row to take that column's values from. Preprocessing treats each raw column on its own (a number is filled and
scaled alone, a text column becomes its own one-hot block), so the matrix assembled this way is exactly the
transform of the shuffled raw rows, a text column's inputs move together, and each call costs one gather and one
forward pass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from tapeapp.judge.evaluation import predicted_labels
from tapeapp.train.metrics import probabilities


class RowsEstimator(BaseEstimator):
    """Predictions of ``run`` for rows assembled column by column from ``rows`` (raw, untransformed values).

    ``X`` has one integer column per raw input column (in ``columns`` order): entry ``X[i, j]`` is the position in
    ``rows`` whose value of column j row i takes. ``identity(n)`` gives the rows unchanged.
    """

    def __init__(self, run=None, rows: pd.DataFrame | None = None) -> None:
        self.run = run
        self.rows = rows

    def __sklearn_is_fitted__(self) -> bool:
        return True  # the network was trained by tapeapp's own loop; there is nothing for scikit-learn to fit

    def fit(self, X=None, y=None) -> RowsEstimator:
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        return self.run.prepared.features

    @property
    def matrix_(self) -> np.ndarray:
        """The rows transformed once (cached: the same rows serve every call)."""
        if getattr(self, "_matrix", None) is None:
            self._matrix = self.run.prepared.preprocessor.transform(self.rows)
        return self._matrix

    def identity(self, n: int | None = None) -> np.ndarray:
        """``X`` for the rows as they are (the first ``n``)."""
        n = len(self.rows) if n is None else n
        return np.repeat(np.arange(n)[:, None], len(self.columns), axis=1)

    def assemble(self, X) -> np.ndarray:
        """The transformed matrix of the rows that ``X`` describes."""
        positions = np.asarray(X, dtype=np.int64)
        slots = self.run.prepared.preprocessor.slots()
        out = np.empty((len(positions), self.matrix_.shape[1]), dtype="float32")
        for j, column in enumerate(self.columns):
            out[:, slots[column]] = self.matrix_[positions[:, j], slots[column]]
        return out

    def raw_outputs(self, X) -> np.ndarray:
        return self.run.predict_proba_matrix(self.assemble(X))


class RowsClassifier(ClassifierMixin, RowsEstimator):
    """Classes are the target's encoded indices 0..k-1 (``run.prepared.target_encoder.classes_`` names them)."""

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(len(self.run.prepared.target_encoder.classes_))

    def predict_proba(self, X) -> np.ndarray:
        return probabilities(self.run.task, self.raw_outputs(X))

    def predict(self, X) -> np.ndarray:
        return predicted_labels(self.run.task, self.predict_proba(X), 0.5)


class RowsRegressor(RegressorMixin, RowsEstimator):
    """Predictions in the target's own units."""

    def predict(self, X) -> np.ndarray:
        return self.run.prepared.target_encoder.decode_regression(self.raw_outputs(X).reshape(-1))


def rows_estimator(run, rows: pd.DataFrame) -> RowsEstimator:
    """The classifier or regressor adapter that fits the run's task."""
    return (RowsRegressor if run.task == "regression" else RowsClassifier)(run, rows)
