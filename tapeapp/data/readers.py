"""Read a table's content with pandas (text), openpyxl (workbooks) or pyarrow (Parquet), once its layout is known.

Each reader takes the share of rows to keep (``fraction``, from ``tapeapp.data.budget.reading_plan``): 1 reads every
row; less reads a seeded random sample, a piece at a time, so that a file too big for the server's memory still
gives a table without ever being held whole.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl.worksheet._reader import WorkSheetParser

from tapeapp.data.clean import plural
from tapeapp.data.text_layout import (
    MAX_COLUMNS,
    MISSING,
    SAMPLE_ROWS,
    TextLayout,
    has_header,
    is_blank,
    too_many_columns,
)
from tapeapp.errors import TapeError

SAMPLE_SEED = 0  # the same file gives the same sample
csv.field_size_limit(256 * 1024 * 1024)  # a single cell may be long (Python's default is 128 kB, a csv.Error)
CHUNK_BYTES = 16 * 1024 * 1024  # text parsed per piece when sampling: about 0.3-0.4 GB at the parser's peak
BATCH_ROWS = 65_536  # Parquet rows decoded per piece when sampling


def read_csv(source: bytes | BinaryIO, text: TextLayout, notes: list[str], fraction: float = 1.0) -> pd.DataFrame:
    """Read delimited text with the fast C parser, falling back to the python parser for ragged rows.

    pandas' ``skiprows`` slows the C parser, so the header row is skipped with ``header=0`` when it is as wide as
    the rows; a narrower header must be skipped instead, or the C parser would reject the wider rows. pandas says
    with a warning when a row is wider than the names it was given and drops the rest of that row; here that warning
    sends the file to the ragged reader, which keeps or counts every such row.
    """
    options = _csv_options(text)
    if fraction < 1.0:
        return _read_csv_sample(source, text, options, notes, fraction)
    data = source if isinstance(source, bytes) else source.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(io.BytesIO(data), engine="c", low_memory=False, on_bad_lines="error",
                               **_header_options(text), **options)
    except pd.errors.EmptyDataError:
        raise TapeError("The file is empty.") from None
    except pd.errors.ParserWarning:
        pass
    except pd.errors.ParserError as error:
        if "EOF inside string" in str(error):
            raise _unclosed_quote() from None
    except (UnicodeDecodeError, ValueError, OverflowError):
        raise _unreadable() from None
    return _read_ragged(data, text, options, notes)


def _csv_options(text: TextLayout) -> dict:
    return dict(
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


def _header_options(text: TextLayout) -> dict:
    return dict(header=0) if text.fits else dict(header=None, skiprows=text.skip)


def _read_csv_sample(source: bytes | BinaryIO, text: TextLayout, options: dict, notes: list[str],
                     fraction: float) -> pd.DataFrame:
    """A seeded random share of the rows, parsed a piece at a time: memory holds one piece and the rows kept."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    rows = max(1_000, int(CHUNK_BYTES * text.rows_per_byte))
    rng = np.random.default_rng(SAMPLE_SEED)
    kept, skipped = [], 0
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            reader = pd.read_csv(stream, engine="c", low_memory=False, on_bad_lines="warn", chunksize=rows,
                                 **_header_options(text), **options)
            with reader:
                for chunk in reader:
                    kept.append(chunk.loc[rng.random(len(chunk)) < fraction])
        skipped = sum(str(w.message).count("Skipping line") for w in caught)
    except pd.errors.EmptyDataError:
        raise TapeError("The file is empty.") from None
    except pd.errors.ParserError as error:
        raise (_unclosed_quote() if "EOF inside string" in str(error) else _unreadable()) from None
    except (UnicodeDecodeError, ValueError, OverflowError):
        raise _unreadable() from None
    if skipped:
        notes.append(f"Skipped {skipped:,} {plural(skipped, 'row')} with more values than there are columns")
    if not kept:
        raise TapeError("The file is empty.")
    return pd.concat(kept, ignore_index=True)


def _read_ragged(data: bytes, text: TextLayout, options: dict, notes: list[str]) -> pd.DataFrame:
    """Read a file whose rows have different lengths: keep long rows whose extra fields are blank, skip others.

    The rows are evened out with Python's csv module first, then parsed by the C parser as usual: pandas' own
    engines take the first data row's length for the table's when it is longer than the names, and cut every row
    to the names' length with only a warning.
    """
    width = len(text.names)
    evened = io.StringIO()
    writer = csv.writer(evened, delimiter=text.delimiter, quotechar='"', lineterminator="\n")
    skipped, header = 0, text.header
    try:
        source = io.TextIOWrapper(io.BytesIO(data), encoding=text.encoding, newline="")
        for record in csv.reader(source, delimiter=text.delimiter, quotechar='"'):
            if not any(field.strip() for field in record):
                continue
            if header:
                header = False
                continue
            if len(record) > width:
                if any(field.strip() for field in record[width:]):
                    skipped += 1
                    continue
                record = record[:width]
            writer.writerow(record)
    except (UnicodeDecodeError, csv.Error):
        raise _unreadable() from None
    if skipped:
        notes.append(f"Skipped {skipped:,} {plural(skipped, 'row')} with more values than there are columns")
    if not evened.tell():
        raise TapeError("The file has column names but no rows of data; add rows below the column names.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.read_csv(io.StringIO(evened.getvalue()), engine="c", low_memory=False, header=None,
                               **{k: v for k, v in options.items() if k != "encoding"})
    except pd.errors.ParserError as error:
        raise (_unclosed_quote() if "EOF inside string" in str(error) else _unreadable()) from None
    except (ValueError, OverflowError):
        raise _unreadable() from None


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


def _damaged_workbook() -> TapeError:
    return TapeError("The Excel file could not be opened; it may be damaged. Save it again as .xlsx or CSV.")


def sheet_cells(book) -> Iterator[tuple[int, list[tuple[int, object]]]]:
    """The first sheet's rows as (row number, [(column number, value), ...]): only the cells that hold a value.

    openpyxl's ``iter_rows`` pads every row to the sheet's width, and one stray cell in column XFD makes that
    16,384 cells a row (issue 17: a 0.24 MB workbook passed 2.4 GB). Its read-only worksheet reads the sheet with
    ``WorkSheetParser``, one row at a time; this adapter does the same without the padding (openpyxl is pinned).
    Whole numbers stored as floats come back as ints, as pandas' Excel reader gives them.
    """
    sheet = book[book.sheetnames[0]]
    with sheet._get_source() as source:
        parser = WorkSheetParser(source, sheet._shared_strings, data_only=book.data_only, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for number, cells in parser.parse():
            yield number, [(cell["column"], _whole(cell["value"])) for cell in cells if not is_blank(cell["value"])]


def _whole(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def sheet_size(book) -> tuple[int, int, int]:
    """The first sheet's declared rows and columns (its dimension, which a file may overstate) and the size of its
    XML once unpacked (which bounds the cells it can hold): all known before a row is read."""
    sheet = book[book.sheetnames[0]]
    info = book._archive.getinfo(sheet._worksheet_path)
    return sheet.max_row or 0, sheet.max_column or 0, info.file_size


def open_workbook(data: bytes):
    """The workbook in openpyxl's read-only mode (rows are read on demand); a plain TapeError if it is damaged."""
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001  (openpyxl raises many types for a damaged archive or XML)
        raise _damaged_workbook() from None
    if not book.sheetnames:
        book.close()
        raise TapeError("The Excel file has no sheets; put the table on the first sheet.")
    return book


def read_excel(data: bytes, notes: list[str], fraction: float = 1.0) -> tuple[pd.DataFrame, bool, list[str]]:
    """Read the first sheet of an .xlsx workbook cell by cell, noting when there are more sheets.

    Only the cells that hold a value are kept, column by column, so memory follows what the file holds rather than
    the width it claims; with ``fraction`` < 1 a seeded random share of the data rows is kept.
    """
    book = open_workbook(data)
    try:
        sheets = book.sheetnames
        sheet = _read_sheet(book, fraction)
    except TapeError:
        raise
    except Exception:  # noqa: BLE001  (the same, while reading the rows)
        raise _damaged_workbook() from None
    finally:
        book.close()
    if sheet.first is None:
        raise TapeError("The first sheet of the Excel file is empty; put the table on the first sheet.")
    if len(sheets) > 1:
        notes.append(f"Read the first sheet '{sheets[0]}'; the file has {len(sheets)} sheets")
    header = has_header(sheet.records, ".")
    start = 1 if header else 0
    named = {column: str(value) for column, value in sheet.first} if header else {}
    filled = {column for column, (rows, _) in sheet.columns.items() if rows and rows[-1] >= start}
    positions = sorted(filled | set(named))
    frame = pd.DataFrame({i: _column(sheet.columns.get(p), sheet.rows, start) for i, p in enumerate(positions)},
                         index=range(sheet.rows - start))
    empty = (max(positions) if positions else 0) - len(positions)
    if empty:  # never made: a stray cell far to the right would otherwise mean thousands of empty columns
        notes.append(f"Dropped {empty:,} empty {plural(empty, 'column')}" + (" without a name" if header else ""))
    if sheet.blank_between:
        notes.append(f"Dropped {sheet.blank_between:,} empty {plural(sheet.blank_between, 'row')}")
    names = [named.get(p, "") for p in positions]
    if header and empty:  # named for their place in the sheet, as they would be had the empty ones been read
        for i, p in enumerate(positions):
            if not names[i].strip():
                names[i] = f"column_{p}"
                notes.append(f"Named column {p}, which had no name, '{names[i]}'")
    return frame, header, names


@dataclass
class _Sheet:
    """A sheet's cells by column (row numbers counted from the first row with a value, which is row 0)."""

    first: list[tuple[int, object]] | None = None
    records: list[list[object]] = field(default_factory=list)  # the first rows, dense: to tell a header
    columns: dict[int, tuple[list[int], list[object]]] = field(default_factory=dict)
    rows: int = 0
    blank_between: int = 0


def _read_sheet(book, fraction: float) -> _Sheet:
    """One pass over the sheet's cells; blank rows inside the table are counted, as ``tidy`` counts them."""
    rng = np.random.default_rng(SAMPLE_SEED)
    sheet, last = _Sheet(), 0
    for number, cells in sheet_cells(book):
        if not cells:
            continue
        if sheet.first is None:
            sheet.first = cells
        else:
            sheet.blank_between += number - last - 1
        last = number
        if len(sheet.records) <= SAMPLE_ROWS:
            sheet.records.append(_dense(cells))
        if sheet.rows and fraction < 1.0 and rng.random() >= fraction:
            continue
        for column, value in cells:
            if column not in sheet.columns and len(sheet.columns) >= MAX_COLUMNS:
                raise too_many_columns(MAX_COLUMNS + 1, exact=False)
            held = sheet.columns.setdefault(column, ([], []))
            held[0].append(sheet.rows)
            held[1].append(value)
        sheet.rows += 1
    return sheet


def _dense(cells: list[tuple[int, object]]) -> list[object]:
    row: list[object] = [None] * max(column for column, _ in cells)
    for column, value in cells:
        row[column - 1] = value
    return row


def _column(held: tuple[list[int], list[object]] | None, rows: int, start: int) -> pd.Series:
    """One sheet column as an object Series of ``rows - start`` values, missing where the sheet has no cell."""
    values = np.full(rows, None, dtype=object)
    if held is not None and held[0]:
        cells = np.empty(len(held[1]), dtype=object)
        cells[:] = held[1]
        values[np.asarray(held[0], dtype=np.int64)] = cells
    return pd.Series(values[start:], dtype=object)


def parquet_size(data: bytes) -> tuple[int, int, int]:
    """Rows, columns and the bytes a pandas frame of the whole file would take, read from its footer only."""
    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
        schema = meta.schema.to_arrow_schema()
    except Exception:  # noqa: BLE001  (pyarrow raises several types for a damaged footer)
        raise _damaged_parquet() from None
    rows = meta.num_rows
    per_row = 0
    for position, column in enumerate(schema):
        try:
            width = max(1, column.type.bit_width // 8)
        except ValueError:  # not a fixed width: text, lists, ...
            width = 0
        stored = sum(meta.row_group(g).column(position).total_uncompressed_size
                     for g in range(meta.num_row_groups)) if position < meta.num_columns else 0
        per_row += max(width, 8) + (stored / rows if rows and not width else 0) + (0 if width else 16)
    return rows, len(schema), int(rows * per_row)


def _damaged_parquet() -> TapeError:
    return TapeError("The Parquet file could not be read; it may be damaged. Save it again or upload a CSV.")


def read_parquet(data: bytes, fraction: float = 1.0) -> tuple[pd.DataFrame, bool, list[str]]:
    """Read a Parquet file with pyarrow, keeping a meaningful index as a column; with ``fraction`` < 1, a seeded
    random share of the rows, decoded a batch at a time."""
    try:
        if fraction >= 1.0:
            frame = pd.read_parquet(io.BytesIO(data), engine="pyarrow")
        else:
            rng = np.random.default_rng(SAMPLE_SEED)
            source = pq.ParquetFile(io.BytesIO(data))
            batches = [batch.filter(pa.array(rng.random(batch.num_rows) < fraction))
                       for batch in source.iter_batches(batch_size=BATCH_ROWS)]
            table = pa.Table.from_batches(batches, schema=source.schema_arrow)
            frame = table.to_pandas()
    except Exception:  # noqa: BLE001  (pyarrow raises several types for damaged files)
        raise _damaged_parquet() from None
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    if frame.shape[1] > MAX_COLUMNS:
        raise too_many_columns(frame.shape[1])
    names = [str(column) for column in frame.columns]
    frame.columns = range(frame.shape[1])
    return frame, True, names
