"""Read a table's bytes with pandas, once its layout is known: delimited text, Excel workbooks, Parquet files."""

from __future__ import annotations

import csv
import io
import warnings

import pandas as pd

from tapeapp.clean import plural
from tapeapp.errors import TapeError
from tapeapp.text_layout import MISSING, SAMPLE_ROWS, TextLayout, has_header, is_blank


def read_csv(data: bytes, text: TextLayout, notes: list[str]) -> pd.DataFrame:
    """Read delimited text with the fast C parser, falling back to the python parser for ragged rows.

    pandas' ``skiprows`` slows the C parser, so the header row is skipped with ``header=0`` when it is as wide as
    the rows; a narrower header must be skipped instead, or the C parser would reject the wider rows.
    """
    fast = dict(header=0) if text.fits else dict(header=None, skiprows=text.skip)
    options = dict(
        sep=text.delimiter,
        encoding=text.encoding,
        names=list(range(len(text.names))),
        index_col=False,
        na_values=list(MISSING),
        keep_default_na=False,
        decimal=text.decimal,
        quotechar='"',
        skip_blank_lines=True,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.read_csv(
                io.BytesIO(data), engine="c", low_memory=False, on_bad_lines="error", **fast, **options
            )
    except pd.errors.EmptyDataError:
        raise TapeError("The file is empty.") from None
    except pd.errors.ParserError as error:
        if "EOF inside string" in str(error):
            raise _unclosed_quote() from None
    except (UnicodeDecodeError, ValueError):
        raise _unreadable() from None
    return _read_ragged(data, text.skip_lines, options, notes)


def _read_ragged(data: bytes, skip_lines: int, options: dict, notes: list[str]) -> pd.DataFrame:
    """Read a file whose rows have different lengths: keep long rows whose extra fields are blank, skip others."""
    width = len(options["names"])
    skipped = 0

    def fit(fields: list[str]) -> list[str] | None:
        nonlocal skipped
        if all(not field.strip() for field in fields[width:]):
            return fields[:width]
        skipped += 1
        return None

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(
                io.BytesIO(data), engine="python", on_bad_lines=fit, header=None, skiprows=skip_lines, **options
            )
    except pd.errors.EmptyDataError:
        raise TapeError("The file is empty.") from None
    except pd.errors.ParserError as error:
        raise (_unclosed_quote() if "quot" in str(error).lower() else _unreadable()) from None
    except (UnicodeDecodeError, ValueError, csv.Error):
        raise _unreadable() from None
    if skipped:
        notes.append(
            f"Skipped {skipped:,} {plural(skipped, 'row')} with more values than there are columns"
        )
    return frame


def _unclosed_quote() -> TapeError:
    """The error for a quote mark that never closes."""
    return TapeError(
        'A quote mark (") in the file is never closed, so it cannot be split into columns; '
        "fix that quote or save the file again as CSV."
    )


def _unreadable() -> TapeError:
    """The error for text that cannot be split into rows and columns."""
    return TapeError(
        "The file could not be split into rows and columns; open it in a spreadsheet program and save it as CSV."
    )


def read_excel(data: bytes, notes: list[str]) -> tuple[pd.DataFrame, bool, list[str]]:
    """Read the first sheet of an .xlsx workbook, noting when there are more sheets."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheets = book.sheetnames
            rows = []
            lead = 0
            for row in book[sheets[0]].iter_rows(values_only=True):
                if any(not is_blank(cell) for cell in row):
                    rows.append(list(row))
                elif not rows:
                    lead += 1
                if len(rows) > SAMPLE_ROWS:
                    break
        finally:
            book.close()
        if not rows:
            raise TapeError("The first sheet of the Excel file is empty; put the table on the first sheet.")
        header = has_header(rows, ".")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_excel(
                io.BytesIO(data), sheet_name=0, engine="openpyxl", header=0 if header else None, skiprows=lead,
                na_values=list(MISSING), keep_default_na=False,
            )
    except TapeError:
        raise
    except Exception:
        raise TapeError(
            "The Excel file could not be opened; it may be damaged. Save it again as .xlsx or CSV."
        ) from None
    if len(sheets) > 1:
        notes.append(f"Read the first sheet '{sheets[0]}'; the file has {len(sheets)} sheets")
    first = rows[0] if header else []
    names = [str(cell) if cell is not None else "" for cell in first]
    while len(names) > frame.shape[1] and not names[-1]:
        names.pop()
    if header and len(names) != frame.shape[1]:
        names = [str(column) for column in frame.columns]
    names += [""] * (frame.shape[1] - len(names))
    frame.columns = range(frame.shape[1])
    return frame, header, names


def read_parquet(data: bytes) -> tuple[pd.DataFrame, bool, list[str]]:
    """Read a Parquet file with pyarrow, keeping a meaningful index as a column."""
    try:
        frame = pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    except Exception:
        raise TapeError(
            "The Parquet file could not be read; it may be damaged. Save it again or upload a CSV."
        ) from None
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    names = [str(column) for column in frame.columns]
    frame.columns = range(frame.shape[1])
    return frame, True, names
