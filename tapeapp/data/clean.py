"""Tidy a freshly read table: clean values (missing markers, formatted numbers), name columns, drop empty ones."""

from __future__ import annotations

import re

import pandas as pd

from tapeapp.data.text_layout import CURRENCY, MISSING, NUMBER, SAMPLE_ROWS, THOUSANDS
from tapeapp.errors import TapeError

_UNNAMED = re.compile(r"Unnamed: \d+(?:_level_\d+)?")


def tidy(frame: pd.DataFrame, raw_names: list[str], header: bool, decimal: str, notes: list[str]) -> pd.DataFrame:
    """Clean values, name columns, drop empty rows and columns, and refuse a table with no rows."""
    frame = frame.reset_index(drop=True)
    frame.columns = range(frame.shape[1])
    read_rows = len(frame)
    changes: dict[int, str] = {}
    for position in range(frame.shape[1]):
        column = frame[position]
        cleaned, change = _clean_values(column, decimal)
        if cleaned is not column:
            frame[position] = cleaned
        if change:
            changes[position] = change
    empty = [not frame[position].notna().any() for position in range(frame.shape[1])]
    names, keep = _clean_names(raw_names, header, empty, notes)
    frame = frame[keep] if len(keep) < frame.shape[1] else frame
    frame.columns = names
    for position, name in zip(keep, names):
        if position in changes:
            notes.append(changes[position].format(name=name))
    if frame.shape[1] == 0:
        raise TapeError("The file has no values in it; check that you chose the right file.")
    blank = frame.isna().all(axis=1)
    dropped = int(blank.sum())
    if dropped:
        frame = frame.loc[~blank].reset_index(drop=True)
        notes.append(f"Dropped {dropped:,} empty {plural(dropped, 'row')}")
    if len(frame) == 0:
        if header and read_rows == 0:
            raise TapeError("The file has column names but no rows of data; add rows below the column names.")
        raise TapeError("The file has column names but no rows with values; fill in some rows and upload it again.")
    return frame


def _clean_values(column: pd.Series, decimal: str) -> tuple[pd.Series, str]:
    """Strip text, turn missing markers into missing, and read formatted numbers as numbers."""
    if column.dtype == object:
        column = _settle_object(column)
    if not isinstance(column.dtype, pd.StringDtype):
        return column, ""
    text = column.str.strip()
    text = text.mask(text.isin(MISSING))
    present = text.dropna()
    if present.empty:
        return text, ""
    pattern = NUMBER[decimal]
    if not all(pattern.fullmatch(value) for value in present.iloc[:SAMPLE_ROWS]):
        return text, ""
    if not present.str.fullmatch(pattern.pattern).all():
        return text, ""
    reasons = []
    if present.str.contains(f"\\d[{THOUSANDS[decimal]}]\\d{{3}}").any():
        reasons.append("removed thousands separators")
    if present.str.contains(f"[{CURRENCY}]").any():
        reasons.append("removed currency symbols")
    if present.str.contains("%", regex=False).any():
        reasons.append("removed % signs, so 45% reads as 45")
    plain = text.str.replace(f"[\\s{CURRENCY}%{THOUSANDS[decimal]}]", "", regex=True)
    if decimal == ",":
        plain = plain.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(plain, errors="coerce")
    if int(numbers.notna().sum()) != len(present):
        return text, ""
    return numbers, "Read '{name}' as numbers (" + ", ".join(reasons) + ")" if reasons else ""


def _settle_object(column: pd.Series) -> pd.Series:
    """Give a mixed object column (from Excel or Parquet) one clear type: booleans, numbers or text."""
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind == "boolean":
        return column.astype("boolean")
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(column, errors="coerce")
    if kind == "empty":
        return column.astype("float64")
    if kind in ("string", "mixed", "mixed-integer", "bytes", "categorical"):
        return column.astype("str")
    return column


def _clean_names(
    raw: list[str], header: bool, empty: list[bool], notes: list[str]
) -> tuple[list[str], list[int]]:
    """Make column names non-empty and unique, dropping nameless empty columns, with a note for each change."""
    if not header:
        keep = [position for position in range(len(raw)) if not empty[position]] or [0]
        if len(keep) < len(raw):
            notes.append(f"Dropped {len(raw) - len(keep)} empty {plural(len(raw) - len(keep), 'column')}")
        notes.append(f"The first row looks like data, so the columns are named column_1 to column_{len(keep)}")
        return [f"column_{number}" for number in range(1, len(keep) + 1)], keep
    names: list[str] = []
    keep = []
    dropped = 0
    for position, original in enumerate(raw):
        name = str(original).strip()
        if name != str(original) and name:
            notes.append(f"Removed spaces around the column name '{name}'")
        if not name or _UNNAMED.fullmatch(name):
            if empty[position]:
                dropped += 1
                continue
            name = f"column_{position + 1}"
            notes.append(f"Named column {position + 1}, which had no name, '{name}'")
        names.append(name)
        keep.append(position)
    if dropped:
        notes.append(f"Dropped {dropped} empty {plural(dropped, 'column')} without a name")
    taken = set(names)
    seen: set[str] = set()
    unique = []
    for name in names:
        if name in seen:
            suffix = 2
            while f"{name}_{suffix}" in taken:
                suffix += 1
            new = f"{name}_{suffix}"
            notes.append(f"Renamed duplicate column '{name}' to '{new}'")
            taken.add(new)
            name = new
        seen.add(name)
        unique.append(name)
    return unique, keep


def plural(count: int, word: str) -> str:
    """'row' or 'rows' for a count."""
    return word if count == 1 else word + "s"
