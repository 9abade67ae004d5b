"""Skewed numbers: which columns count, and the Keras layer that transforms them inside the model.

A number column whose training values are skewed (long tails: counts, money, visits) is transformed as
``sign(x) * log1p(|x| / s)``, ``s`` the median of its nonzero |x| on the training rows, so the transform does not
depend on units. When zeros are common, an "is zero" input goes with it: the jump from none to some that a log
flattens. Measured on 28 public tables in bench/defaults_findings.md §2 (signed log beat a plain log and a quantile
map; the "is zero" inputs helped on zero-inflated columns). Registered with Keras under "tapeapp" like
``DateFeatures``, so ``tapeapp.load_model`` (safe mode) loads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tapeapp._tf import keras

MIN_DISTINCT = 10  # fewer distinct values: coded answers or small counts, left as they are
MIN_SKEWNESS = 1.0
MIN_ZEROS = 0.1  # at least this share of zeros: an "is zero" input too


@dataclass(frozen=True)
class Skew:
    """How one column is transformed: its scale ``s``, its skewness and share of zeros on the training rows."""

    scale: float
    skewness: float
    zeros: float

    @property
    def is_zero_input(self) -> bool:
        return self.zeros >= MIN_ZEROS

    def reason(self) -> str:
        """Why, in plain words, for the column table."""
        text = (f"skewed (skewness {self.skewness:.1f} on the training rows): signed log, "
                f"sign(x)·log(1 + |x| / {self.scale:.4g})")
        if self.is_zero_input:
            text += f", plus an 'is zero' input ({self.zeros:.0%} of training values are 0)"
        return text


def skewness(values: np.ndarray) -> float:
    """The sample skewness (Fisher-Pearson, as scipy.stats.skew's default) of finite float64 values."""
    centred = values - values.mean()
    spread = float(np.mean(centred ** 2))
    return float(np.mean(centred ** 3) / spread ** 1.5) if spread > 0 else 0.0


def find_skew(finite: np.ndarray) -> Skew | None:
    """A column's transform from its finite training values, or None when it is not skewed enough to need one."""
    if len(np.unique(finite)) < MIN_DISTINCT:
        return None
    g = skewness(finite)
    if abs(g) <= MIN_SKEWNESS:
        return None
    size = np.abs(finite)
    scale = float(np.median(size[size > 0])) if (size > 0).any() else 1.0
    return Skew(scale=scale, skewness=g, zeros=float(np.mean(finite == 0)))


@keras.saving.register_keras_serializable(package="tapeapp")
class SignedLog(keras.layers.Layer):
    """Numbers (missing ones already filled) -> the signed log of the columns with a scale above 0, the others as
    they are, and an "is zero" 0/1 input after each column in ``zeros``, so each column's inputs sit together."""

    def __init__(self, scales, zeros, **kwargs):
        super().__init__(**kwargs)
        self.scales = [float(s) for s in scales]
        self.zeros = [bool(z) for z in zeros]
        self.width = len(self.scales) + sum(self.zeros)
        order, position = [], 0
        for i, zero in enumerate(self.zeros):  # numbers first in the block, then the flags: interleave them
            order.append(i)
            if zero:
                order.append(len(self.scales) + position)
                position += 1
        self.order = order

    def get_config(self) -> dict:
        return {**super().get_config(), "scales": self.scales, "zeros": self.zeros}

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.width)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], self.width), dtype="float32")

    def call(self, inputs):
        ops = keras.ops
        scales = np.array(self.scales, "float32")
        logged = ops.sign(inputs) * ops.log1p(ops.abs(inputs) / np.where(scales > 0, scales, 1.0).astype("float32"))
        out = ops.where(scales > 0, logged, inputs)
        if not any(self.zeros):
            return out
        picked = [i for i, zero in enumerate(self.zeros) if zero]
        flags = ops.cast(ops.equal(ops.take(inputs, picked, axis=1), 0.0), "float32")
        return ops.take(ops.concatenate([out, flags], axis=-1), self.order, axis=1)
