"""How a column writes its dates, reading them that way, and the numbers a date becomes (no TensorFlow here).

A column's ``DateFormat`` is detected once, from the values (``detect_format``), and then used everywhere the
column is read: training, ``Run.predict``, the exported model's ``predict_with_model`` and ``reproduce.py``. Dates
are read into plain seconds (``parse_dates``), handed to the Keras model as ISO 8601 strings (``iso_strings``), and
turned into numbers there; ``date_parts`` gives the same numbers as a table for tools outside the network.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

ISO = "ISO8601"
MIXED = "mixed"
MIXED_DAY_FIRST = "mixed-dayfirst"
_ISO_TEXT = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_ZONE = r"(\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(?:Z|[+-]\d\d:?\d\d)$"
_ZONED = r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|[+-]\d\d:?\d\d)$"
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
_EXAMPLE = pd.Timestamp(2020, 12, 31, 13, 45)
USES = "time since the first date, year, month and day of the week"
USES_WITH_HOURS = "time since the first date, year, month, day of the week and hour of the day"


@dataclass(frozen=True)
class DateFormat:
    """How one column writes its dates.

    ``formats`` are pandas ``to_datetime`` formats tried in turn for each value (the first that reads it wins);
    ``ISO8601`` reads only values written year-month-day, ``mixed``/``mixed-dayfirst`` let pandas guess per value.
    ``order`` and ``example`` say it in words, ``guessed`` that day and month could not be told apart from the
    values, ``times`` that the values seen hold a time of day other than midnight.
    """

    formats: tuple[str, ...]
    order: str
    example: str
    guessed: bool = False
    times: bool = False

    def to_dict(self) -> dict:
        return {"formats": list(self.formats), "order": self.order, "example": self.example,
                "guessed": self.guessed, "times": self.times}

    @classmethod
    def from_dict(cls, data: dict) -> DateFormat:
        return cls(tuple(data["formats"]), data["order"], data["example"], bool(data.get("guessed")),
                   bool(data.get("times")))

    def reason(self) -> str:
        """What was detected and what the dates are used as, in plain words (the page's 'why this role')."""
        what = "dates and times" if self.times else "dates"
        if self.order == "stored":
            said = f"{what} stored as dates in the file"
        elif self.order == "mixed":
            said = f"{what} written in a free form (such as {self.example})"
        elif self.guessed:
            other = "day" if self.order.startswith("month") else "month"
            said = (f"{what} written {self.order} (like {self.example}; no value shows whether the {other} comes "
                    "first, so this order is a guess)")
        else:
            said = f"{what} written {self.order} (like {self.example})"
        return f"{said}: used as {USES_WITH_HOURS if self.times else USES}"


STORED = DateFormat((ISO,), "stored", "2020-12-31")


@dataclass(frozen=True)
class _Family:
    """One way of writing the date part (its formats differ only in two- or four-digit years or month names)."""

    dates: tuple[str, ...]
    order: str
    mark: str  # a character some value must hold for this way to be tried ("a" for any letter)


def _families() -> list[_Family]:
    families = [_Family((ISO,), "year-month-day", "-")]
    for sep in "/.-":
        if sep != "-":
            families.append(_Family((f"%Y{sep}%m{sep}%d",), f"year{sep}month{sep}day", sep))
        families.append(_Family((f"%d{sep}%m{sep}%Y", f"%d{sep}%m{sep}%y"), f"day{sep}month{sep}year", sep))
        families.append(_Family((f"%m{sep}%d{sep}%Y", f"%m{sep}%d{sep}%y"), f"month{sep}day{sep}year", sep))
    families.append(_Family(("%d %b %Y", "%d %B %Y", "%d %b %y", "%d-%b-%Y", "%d-%b-%y", "%d-%B-%Y"),
                            "with month names", "a"))
    families.append(_Family(("%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y"), "with month names", "a"))
    return families


_FAMILIES = _families()


def _read(text: pd.Series, fmt: str) -> pd.Series:
    """``text`` read with one format; what it cannot read is NaT (pandas' own errors included)."""
    if fmt == ISO:
        zoned = text.str.contains(_ZONED, regex=True).fillna(False).astype(bool)
        if zoned.any():  # the clock time counts, not the time zone
            text = text.copy()
            text[zoned] = text[zoned].str.replace(_ZONE, r"\1", regex=True)
        text = text.where(text.str.fullmatch(_ISO_TEXT.pattern).fillna(False).astype(bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if fmt in (MIXED, MIXED_DAY_FIRST):
                read = pd.to_datetime(text, format="mixed", dayfirst=fmt == MIXED_DAY_FIRST, errors="coerce")
            else:
                read = pd.to_datetime(text, format=fmt, errors="coerce")
        except (ValueError, TypeError, OverflowError):  # e.g. several time zones in one column
            read = None
    if read is None or not pd.api.types.is_datetime64_any_dtype(read.dtype):
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    return read.dt.tz_localize(None) if read.dt.tz is not None else read


def _as_text(series: pd.Series) -> pd.Series:
    """Values as stripped strings, missing ones as NaN (a column of datetime objects reads as ISO text)."""
    if isinstance(series.dtype, pd.StringDtype):
        return series.str.strip()
    present = series.notna().to_numpy()
    text = np.full(len(series), np.nan, dtype=object)
    text[present] = [str(value).strip() for value in series.to_numpy(dtype=object)[present]]
    return pd.Series(text, index=series.index, dtype="str")


def detect_format(values: Sequence[str], every: Sequence[object] | None = None) -> DateFormat | None:
    """The way most of ``values`` (a sample of a column's distinct values) are written, or None for not dates.

    At least 90% of the sample must read one way. When both day/month and month/day read the sample, ``every``
    (all distinct values, if given) decides; when nothing decides, '.' and '-' are read day first and '/' month
    first, and ``guessed`` says so.
    """
    text = pd.Series([str(value).strip() for value in values], dtype="str")
    if text.empty:
        return None
    joined = "".join(text.head(50))
    marks = set(joined) | ({"a"} if re.search("[A-Za-z]", joined) else set())
    suffixes = tuple(time for time in _TIMES if time == "" or ":" in marks and ("%p" not in time or "M" in marks))
    scored = []
    for family in (family for family in _FAMILIES if family.mark in marks):
        formats = (family.dates if family.dates == (ISO,) else
                   tuple(date + time for time in suffixes for date in family.dates))
        counts, read = [], pd.Series(False, index=text.index)
        for fmt in formats:
            hit = _read(text, fmt).notna()
            if hit.any():
                counts.append((int(hit.sum()), fmt))
                read |= hit
        if counts:
            kept = tuple(fmt for _, fmt in sorted(counts, key=lambda item: -item[0]))
            scored.append((float(read.mean()), family, kept))
    scored.sort(key=lambda item: -item[0])
    if not scored or scored[0][0] < 0.9:
        return _mixed(text)
    share, family, kept = scored[0]
    guessed = False
    rival = next((item for item in scored[1:]
                  if item[0] == share and item[1].order == _swap(family.order) != family.order), None)
    if rival is not None:
        mine, theirs = (_share(every, kept), _share(every, rival[2])) if every is not None else (0.0, 0.0)
        if theirs > mine:
            family, kept = rival[1], rival[2]
        elif theirs == mine:  # nothing tells: '/' is read month first (as pandas does), '.' and '-' day first
            guessed = True
            if family.order.startswith("day") == ("/" in family.order):
                family, kept = rival[1], rival[2]
    parsed = _read(text, kept[0])
    for fmt in kept[1:]:
        parsed = parsed.fillna(_read(text, fmt))
    times = _has_times(parsed)
    return DateFormat(kept if ISO in kept else kept + (ISO,), family.order, _example(kept[0], times), guessed, times)


def _swap(order: str) -> str:
    """The same writing with day and month swapped ('day/month/year' -> 'month/day/year')."""
    return order.replace("day", "#").replace("month", "day").replace("#", "month")


def _share(values: Sequence[object], formats: tuple[str, ...]) -> float:
    """How many of ``values`` one of ``formats`` reads."""
    text = pd.Series([str(value).strip() for value in values], dtype="str")
    read = pd.Series(False, index=text.index)
    for fmt in formats:
        read |= _read(text, fmt).notna()
    return float(read.sum())


def _mixed(text: pd.Series) -> DateFormat | None:
    """pandas' per-value guessing, for dates written in ways no single format reads (slow, so only as a fallback)."""
    month_first, day_first = _read(text, MIXED), _read(text, MIXED_DAY_FIRST)
    best, parsed = (MIXED_DAY_FIRST, day_first) if day_first.notna().sum() > month_first.notna().sum() else (
        MIXED, month_first)
    if parsed.notna().mean() < 0.9:
        return None
    example = text[parsed.notna()].iloc[0]
    return DateFormat((best, ISO), "mixed", example, times=_has_times(parsed))


def _has_times(parsed: pd.Series) -> bool:
    present = parsed.dropna()
    return bool(len(present) and (present != present.dt.normalize()).any())


def _example(fmt: str, times: bool) -> str:
    """31 December 2020 (at 13:45 when the column holds times) written the way the column writes dates."""
    if fmt == ISO:
        return _EXAMPLE.strftime("%Y-%m-%d %H:%M" if times else "%Y-%m-%d")
    return _EXAMPLE.strftime(fmt)


def stored_format(series: pd.Series) -> DateFormat:
    """The format of a column pandas already holds as dates (from Parquet or Excel): ISO text when read again."""
    moments = parse_dates(series, STORED)
    present = moments[~np.isnat(moments)]
    times = bool(len(present) and (present.astype("int64") % 86_400 != 0).any())
    return DateFormat(STORED.formats, STORED.order, _EXAMPLE.strftime("%Y-%m-%d %H:%M") if times else "2020-12-31",
                      times=times)


def parse_dates(series: pd.Series, fmt: DateFormat) -> np.ndarray:
    """A column read as dates, to the second: ``datetime64[s]``, NaT where missing or unreadable.

    A column pandas already holds as dates is used as it is (time zones dropped: the clock time counts). Years
    before 1 or after 9999 count as unreadable, because ISO 8601 text has four digits for the year.
    """
    if isinstance(series.dtype, pd.PeriodDtype):
        series = series.dt.to_timestamp()
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)
        out = series.to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT"))
    else:  # each distinct text read once: a column of a million rows often holds a few thousand dates
        codes, uniques = pd.factorize(_as_text(series))
        text = pd.Series(uniques, dtype="str")
        read = np.full(len(text) + 1, np.datetime64("NaT"), dtype="datetime64[s]")  # the last one: missing
        todo = np.ones(len(text), dtype=bool)
        for form in fmt.formats:
            if not todo.any():
                break
            where = np.flatnonzero(todo)
            moments = _read(text[todo], form).to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT"))
            read[where] = moments
            todo[where[~np.isnat(moments)]] = False
        out = read[codes]
    years = out.astype("datetime64[Y]").astype("int64") + 1970
    return np.where((years < 1) | (years > 9999), np.datetime64("NaT"), out).astype("datetime64[s]")


def iso_strings(series: pd.Series, fmt: DateFormat) -> np.ndarray:
    """A column as the ISO 8601 text the exported model reads ('2020-12-31T13:45:00'); '' where missing."""
    moments, at = np.unique(parse_dates(series, fmt), return_inverse=True)  # each distinct date written once
    text = np.datetime_as_string(moments, unit="s").astype(object)
    text[np.isnat(moments)] = ""
    return text[at.reshape(-1)]


def unreadable(series: pd.Series, fmt: DateFormat, moments: np.ndarray | None = None) -> tuple[int, str]:
    """How many present values are not dates written this way, and the first of them, for a plain note (blank text
    counts as missing, not as unreadable). ``moments``: the column already read with ``parse_dates``."""
    present = _as_text(series).str.len().fillna(0).to_numpy() > 0
    lost = present & np.isnat(parse_dates(series, fmt) if moments is None else moments)
    return int(lost.sum()), (str(series[lost].iloc[0]) if lost.any() else "")


def seconds(moments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole days since 1970-01-01 and the second of the day, as int64 (NaT rows hold nonsense: mask them)."""
    count = moments.astype("datetime64[s]").astype("int64")
    return np.floor_divide(count, 86_400), np.mod(count, 86_400)


def date_parts(series: pd.Series, fmt: DateFormat | None = None) -> pd.DataFrame:
    """A date column's numeric parts, unscaled, one row per value (NaN where the date is missing or unreadable).

    Columns: ``days`` since 1970-01-01 (with the time of day as a fraction), ``year``, ``month`` (1-12),
    ``day_of_week`` (0 = Monday ... 6 = Sunday) and ``hour`` (0-24, minutes as a fraction). These are what the
    network's inputs for the column are computed from (it scales days and year and puts month, day of week and
    hour on a circle), so a model outside the network, such as scikit-learn's trees, can use the same dates as
    numbers. ``fmt`` is the column's ``DateFormat`` (``Preprocessor.date_format_[column]``, or the schema's);
    without it the format is detected from the values.
    """
    if fmt is None:
        fmt = (stored_format(series) if pd.api.types.is_datetime64_any_dtype(series.dtype) else
               detect_format(series.dropna().astype("str").unique()[:1000].tolist()) or STORED)
    moments = parse_dates(series, fmt)
    missing = np.isnat(moments)
    days, second = seconds(moments)
    parts = {
        "days": days + second / 86_400.0,
        "year": moments.astype("datetime64[Y]").astype("int64") + 1970.0,
        "month": moments.astype("datetime64[M]").astype("int64") % 12 + 1.0,
        "day_of_week": np.mod(days + 3, 7).astype("float64"),
        "hour": second / 3_600.0,
    }
    return pd.DataFrame({name: np.where(missing, np.nan, values) for name, values in parts.items()},
                        index=series.index)
