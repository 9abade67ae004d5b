"""The Keras layer that turns ISO 8601 date text into a date column's inputs, inside the graph.

One implementation for training and for the exported ``.keras`` file: the training rows go through this layer too
(``Preprocessor.transform``), so the file cannot compute the dates differently from what the network learned on.
It is registered with Keras under the package name "tapeapp", so ``tapeapp.load_model`` (safe mode) can load it
once this module has been imported (``tapeapp.features.preprocess`` imports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tapeapp._tf import keras, tf

ISO_PATTERN = (r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_UNREAD = "1970-01-01T00:00:00"


@dataclass(frozen=True)
class DateStats:
    """What a date column learned from its training rows.

    ``origin``: the first training date (whole days since 1970-01-01); ``fill``: the median training date and time
    (ISO text), used for missing or unreadable dates; ``mean``/``std``: of the days since ``origin`` and of the
    year; ``hours``: whether the training rows hold times other than midnight (then hour of day is an input).
    """

    origin: int
    fill: str
    mean: tuple[float, float]
    std: tuple[float, float]
    hours: bool

    @property
    def width(self) -> int:
        """Inputs one date becomes: days, year, month (sin, cos), day of week (sin, cos) and maybe hour (sin, cos)."""
        return len(self.input_names)

    @property
    def input_names(self) -> tuple[str, ...]:
        """What each of the date's inputs is, in the order ``DateFeatures`` makes them."""
        return INPUT_NAMES if self.hours else INPUT_NAMES[:6]


INPUT_NAMES = ("days since the first date", "year", "month (sine)", "month (cosine)", "day of week (sine)",
               "day of week (cosine)", "hour (sine)", "hour (cosine)")


def days_from_civil(year: tf.Tensor, month: tf.Tensor, day: tf.Tensor) -> tf.Tensor:
    """Days since 1970-01-01 of calendar dates, as int64 tensors (Howard Hinnant's days_from_civil)."""
    year = year - tf.cast(month <= 2, tf.int64)
    era = year // 400
    year_of_era = year - era * 400
    shifted = (month + 9) % 12  # March = 0 ... February = 11
    day_of_year = (153 * shifted + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


@keras.saving.register_keras_serializable(package="tapeapp")
class DateFeatures(keras.layers.Layer):
    """ISO 8601 text ('2021-03-04', '2021-03-04T10:30:00', '2021-03-04 10:30') -> a date column's scaled inputs.

    Empty or unreadable text, or a day that does not exist, counts as missing and becomes ``fill``. Outputs, per row:
    days since ``origin`` and the year (both standardised, clipped to +-``clip`` when ``clip`` > 0), then month,
    day of week (Monday first) and, with ``hours``, the hour of day, each as a point on a circle (sin, cos).
    """

    def __init__(self, origin: int, fill: str, mean, std, hours: bool, clip: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.origin, self.fill, self.hours, self.clip = int(origin), str(fill), bool(hours), float(clip)
        (self.mean_days, self.mean_year), (self.std_days, self.std_year) = map(float, mean), map(float, std)
        self.width = 8 if self.hours else 6

    def get_config(self) -> dict:
        return {**super().get_config(), "origin": self.origin, "fill": self.fill,
                "mean": [self.mean_days, self.mean_year], "std": [self.std_days, self.std_year],
                "hours": self.hours, "clip": self.clip}

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.width)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], self.width), dtype="float32")

    def call(self, inputs):
        text = tf.strings.strip(tf.reshape(inputs, [-1]))
        readable = tf.strings.regex_full_match(text, ISO_PATTERN)
        parts, valid = _parts(tf.where(readable, text, _UNREAD))
        fill, _ = _parts(tf.constant([self.fill.replace(" ", "T")]))
        keep = tf.logical_and(readable, valid)
        year, month, day, second = (tf.where(keep, part, fill_part) for part, fill_part in zip(parts, fill))
        days = days_from_civil(year, month, day)
        since = tf.cast(days - self.origin, tf.float64) + tf.cast(second, tf.float64) / 86_400.0
        scaled = [(since - self.mean_days) / self.std_days,
                  (tf.cast(year, tf.float64) - self.mean_year) / self.std_year]
        if self.clip > 0:
            scaled = [tf.clip_by_value(value, -self.clip, self.clip) for value in scaled]
        turns = [tf.cast(month - 1, tf.float64) / 12.0, tf.cast(tf.math.floormod(days + 3, 7), tf.float64) / 7.0]
        if self.hours:
            turns.append(tf.cast(second, tf.float64) / 86_400.0)
        columns = scaled
        for turn in turns:
            columns += [tf.sin(2.0 * math.pi * turn), tf.cos(2.0 * math.pi * turn)]
        return tf.cast(tf.stack(columns, axis=1), tf.float32)


def _parts(text):
    """Year, month, day and second of the day from text that matches ISO_PATTERN; and whether the date exists."""
    padded = tf.strings.join([text, "                   "])
    has_time = tf.strings.length(text) >= 16
    has_seconds = tf.logical_and(has_time, tf.equal(tf.strings.substr(padded, 16, 1), ":"))

    def number(start, length, present=None, default="0"):
        piece = tf.strings.substr(padded, start, length)
        if present is not None:
            piece = tf.where(present, piece, default)
        return tf.strings.to_number(piece, out_type=tf.int64)

    year, month, day = number(0, 4), number(5, 2), number(8, 2)
    hour, minute, sec = number(11, 2, has_time), number(14, 2, has_time), number(17, 2, has_seconds)
    leap = tf.logical_or(tf.logical_and(year % 4 == 0, year % 100 != 0), year % 400 == 0)
    month_days = tf.gather(tf.constant(_MONTH_DAYS, tf.int64), tf.clip_by_value(month - 1, 0, 11))
    month_days += tf.cast(tf.logical_and(leap, tf.equal(month, 2)), tf.int64)
    valid = tf.reduce_all(tf.stack([year >= 1, month >= 1, month <= 12, day >= 1, day <= month_days, hour < 24,
                                    minute < 60, sec < 60]), axis=0)
    return (year, month, day, hour * 3600 + minute * 60 + sec), valid
