"""Turn an uploaded file (bytes, a path or an open file) into a DataFrame and say what was detected and changed."""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import re
import warnings
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from tapeapp.errors import TapeError

MAX_BYTES: int = 500_000_000
MISSING: tuple[str, ...] = (
    "", "NA", "N/A", "n/a", "?", "null", "NULL", "None", "-", "nan", "NaN", "#N/A",
)
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")

_SAMPLE_BYTES = 64 * 1024
_SAMPLE_ROWS = 200
_CHUNK = 8 * 1024 * 1024
_MISSING_SET = frozenset(MISSING)
_KINDS_OF_FILE = "upload a CSV, Excel (.xlsx) or Parquet file"
_CURRENCY = "$€£¥₹"
_THOUSANDS = {".": ",", ",": ". \u00a0\u202f"}
_NUMBER = {
    decimal: re.compile(
        rf"[-+]?\s*[{_CURRENCY}]?\s*[-+]?"
        rf"(?:(?:\d{{1,3}}(?:[{separators}]\d{{3}})+|\d+)(?:{re.escape(decimal)}\d*)?|{re.escape(decimal)}\d+)"
        rf"(?:[eE][-+]?\d+)?\s*[{_CURRENCY}]?\s*%?"
    )
    for decimal, separators in _THOUSANDS.items()
}
_COMMA_DECIMAL = re.compile(r"[-+]?(?:\d+,\d{1,2}|\d+,\d{4,}|0,\d+|\d{1,3}(?:\.\d{3})+,\d+)")
_DOT_DECIMAL = re.compile(r"[-+]?(?:\d+\.\d{1,2}|\d+\.\d{4,}|0\.\d+|\d{1,3}(?:,\d{3})+\.\d+)")
_UNNAMED = re.compile(r"Unnamed: \d+(?:_level_\d+)?")
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"BM", ""),
    (b"\x7fELF", "a program"),
    (b"MZ", ""),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"BZh", ""),
    (b"\xfd7zXZ", "an XZ archive"),
)


@dataclass(frozen=True, eq=False)
class TableInfo:
    """What was detected while reading a table, so the page can show it and the user can check it."""

    name: str
    format: str
    delimiter: str | None
    encoding: str | None
    header: bool
    decimal: str
    rows: int
    columns: int
    sha256: str
    notes: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Table:
    """A table read from a file, together with how it was read."""

    frame: pd.DataFrame
    info: TableInfo


@dataclass(frozen=True)
class _Text:
    """How a text table is laid out, decided from a sample before pandas reads the whole file."""

    encoding: str
    delimiter: str
    decimal: str
    header: bool
    names: tuple[str, ...]
    fits: bool
    skip: int
    skip_lines: int


def read_table(source: str | os.PathLike | bytes | BinaryIO, name: str | None = None) -> Table:
    """Read a CSV/TSV, Excel or Parquet table from bytes, a path or a binary file, detecting its layout."""
    raw, name = _load(source, name)
    digest = hashlib.sha256(raw).hexdigest()
    notes: list[str] = []
    data, inner = _unwrap(raw, name, notes)
    fmt = _binary_format(data, inner)
    if fmt == "excel":
        frame, header, names = _read_excel(data, notes)
        text = None
    elif fmt == "parquet":
        frame, header, names = _read_parquet(data)
        text = None
    else:
        text = _sniff_text(data)
        frame = _read_csv(data, text, notes)
        header, names = text.header, list(text.names)
    decimal = text.decimal if text else "."
    frame = _tidy(frame, names, header, decimal, notes)
    info = TableInfo(
        name=name,
        format=fmt,
        delimiter=text.delimiter if text else None,
        encoding=text.encoding if text else None,
        header=header,
        decimal=decimal,
        rows=len(frame),
        columns=frame.shape[1],
        sha256=digest,
        notes=tuple(notes),
    )
    return Table(frame=frame, info=info)


def _load(source: str | os.PathLike | bytes | BinaryIO, name: str | None) -> tuple[bytes, str]:
    """Get the raw bytes and a display name, refusing inputs above MAX_BYTES before reading them whole."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        default = ""
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        default = path.name
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise TapeError(f"'{path}' is a folder, not a file; choose a table file inside it.")
            _check_size(size)
            raw = path.read_bytes()
        except FileNotFoundError:
            raise TapeError(f"Could not find the file '{path}'; check the name and the folder.") from None
        except PermissionError:
            raise TapeError(f"Not allowed to open '{path}'; check that you can read this file.") from None
        except OSError as error:
            raise TapeError(f"Could not open '{path}' ({error.strerror or error}); check the path.") from None
    elif hasattr(source, "read"):
        default = os.path.basename(str(getattr(source, "name", "") or ""))
        chunk = source.read(MAX_BYTES + 1)
        raw = chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
    else:
        raise TypeError(f"read_table needs bytes, a path or a binary file, not {type(source).__name__}")
    _check_size(len(raw))
    return raw, default if name is None else name


def _check_size(size: int) -> None:
    """Refuse files too big to read in memory on a small server."""
    if size > MAX_BYTES:
        raise TapeError(
            f"The file is {size / 1e6:,.0f} MB, more than the {MAX_BYTES / 1e6:,.0f} MB limit; "
            "upload a smaller part of it."
        )


def _unwrap(data: bytes, name: str, notes: list[str]) -> tuple[bytes, str]:
    """Decompress gzip and open single-file zip archives (not Excel files), noting what was done."""
    for _ in range(3):
        if data[:2] == b"\x1f\x8b":
            data = _gunzip(data)
            notes.append("Decompressed gzip")
            name = name[:-3] if name.lower().endswith(".gz") else name
        elif data[:4] == b"PK\x03\x04" and not _is_excel_zip(data):
            data, name = _unzip(data)
            notes.append(f"Unzipped '{name}'")
        else:
            break
    if not data:
        raise TapeError("The file is empty.")
    return data, name


def _gunzip(data: bytes) -> bytes:
    """Decompress gzip without letting a small bomb grow past MAX_BYTES."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            out = handle.read(MAX_BYTES + 1)
    except (OSError, EOFError, zlib.error):
        raise TapeError(
            "The file is compressed (gzip) but damaged; compress it again or upload it uncompressed."
        ) from None
    if len(out) > MAX_BYTES:
        raise TapeError(
            f"The file unpacks to more than {MAX_BYTES / 1e6:,.0f} MB; upload a smaller part of it."
        )
    return out


def _is_excel_zip(data: bytes) -> bool:
    """Whether a zip archive is an Excel workbook (rather than a zipped CSV); refuse other office files."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return True
    if "xl/workbook.xml" in names:
        return True
    if "content.xml" in names and "mimetype" in names:
        raise TapeError("This is an OpenDocument file (.ods); save it as .xlsx or CSV and upload that.")
    if "[Content_Types].xml" in names:
        raise _not_a_table("an Office document that is not a spreadsheet")
    return False


def _unzip(data: bytes) -> tuple[bytes, str]:
    """Read the one file inside a zip archive; several files are ambiguous, so ask the user."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [
            info for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
            and not os.path.basename(info.filename).startswith(".")
        ]
        if len(members) != 1:
            raise TapeError(
                f"This is a zip archive with {len(members)} files; unzip it and upload the one table you want."
            )
        _check_size(members[0].file_size)
        try:
            inner = archive.read(members[0])
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, OSError):
            raise TapeError(
                "The zip archive could not be opened; unzip it yourself and upload the table inside."
            ) from None
    return inner, os.path.basename(members[0].filename)


def _binary_format(data: bytes, name: str) -> str:
    """Decide the format from the first bytes, then the extension; refuse things that are not tables."""
    head = data[:8]
    if head[:4] == b"PK\x03\x04":
        return "excel"
    if head[:4] == b"PAR1":
        return "parquet"
    if head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise TapeError(
            "This is an old Excel (.xls) file or a password-protected workbook; "
            "save it as .xlsx or CSV without a password and upload that."
        )
    for magic, what in _SIGNATURES:
        if data.startswith(magic) and (what or b"\x00" in data[:1024]):
            raise _not_a_table(what)
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm") and b"\x00" in data[:1024]:
        raise TapeError("This Excel file is damaged or not really an Excel file; save it again as .xlsx or CSV.")
    if suffix == ".parquet" and b"\x00" in data[:1024]:
        raise TapeError("This Parquet file is damaged; save it again or upload a CSV instead.")
    return "csv"


def _not_a_table(what: str = "") -> TapeError:
    """The error for images, documents and other binary files."""
    detail = f" (it looks like {what})" if what else ""
    return TapeError(f"This file does not look like a table{detail}; {_KINDS_OF_FILE}.")


def _sniff_text(data: bytes) -> _Text:
    """Decide encoding, delimiter, decimal mark and header from the start of the file."""
    encoding = _detect_encoding(data)
    complete = len(data) <= _SAMPLE_BYTES
    sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(data[:_SAMPLE_BYTES], final=complete)
    if not sample.strip():
        raise TapeError("The file is empty.")
    start = sample.lstrip().lower()
    if start.startswith(("<!doctype html", "<html")) or (start.startswith("<") and "<html" in start[:2000]):
        raise TapeError(
            "This file is a web page (HTML), not a table; download the data itself as CSV or Excel "
            "instead of saving the page."
        )
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n\f") + sample.count("\ufffd")
    if controls > max(2, len(sample) // 100):
        raise _not_a_table()
    delimiter = _sniff_delimiter(sample, complete)
    records = _records(sample, delimiter, complete)
    if not records:
        raise TapeError("The file is empty.")
    decimal = _sniff_decimal(records) if delimiter != "," else "."
    header = _has_header(records, decimal)
    width = max(len(record) for record in records)
    names = records[0] if header else []
    names = tuple(names) + ("",) * (width - len(names))
    lead = _leading_blank_lines(sample)
    span = 1 + sum(len(re.findall(r"\r\n|\r|\n", name)) for name in names) if header else 0
    return _Text(
        encoding=encoding, delimiter=delimiter, decimal=decimal, header=header, names=names,
        fits=header and len(records[0]) == width, skip=lead + (1 if header else 0), skip_lines=lead + span,
    )


def _leading_blank_lines(sample: str) -> int:
    """How many blank lines come before the first row (pandas counts them when skipping the header)."""
    count = 0
    for line in io.StringIO(sample, newline=""):
        if line.strip():
            break
        count += 1
    return count


def _detect_encoding(data: bytes) -> str:
    """Pick the first encoding that decodes the whole file: BOMs, UTF-8, then cp1252 and latin-1."""
    if data.startswith(codecs.BOM_UTF8) and _decodes(data, "utf-8-sig"):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and _decodes(data, "utf-16"):
        return "utf-16"
    head = data[:4096]
    if b"\x00" in head:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        half = len(head) // 2
        if odd > 0.3 * half and even < 0.05 * half and _decodes(data, "utf-16-le"):
            return "utf-16-le"
        if even > 0.3 * half and odd < 0.05 * half and _decodes(data, "utf-16-be"):
            return "utf-16-be"
        raise _not_a_table()
    if data.isascii() or _decodes(data, "utf-8"):
        return "utf-8"
    if not any(byte in data for byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D)):
        return "cp1252"
    return "latin-1"


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether the whole input decodes, checked in chunks so a large file is not held twice as text."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(data[start:start + _CHUNK], final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _records(sample: str, delimiter: str, complete: bool) -> list[list[str]]:
    """Parse the sample into non-blank records, dropping a last record that the sample may have cut short."""
    try:
        rows = list(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter))
    except csv.Error:
        rows = [line.split(delimiter) for line in sample.splitlines()]
    if not complete and len(rows) > 1:
        rows = rows[:-1]
    return [row for row in rows if len(row) > 1 or (row and row[0].strip())][: _SAMPLE_ROWS + 1]


def _sniff_delimiter(sample: str, complete: bool) -> str:
    """Choose the delimiter that splits most records into the same number (>1) of fields."""
    scores: dict[str, float] = {}
    for delimiter in DELIMITERS:
        counts = [len(row) for row in _records(sample, delimiter, complete)]
        if not counts:
            continue
        width, freq = Counter(counts).most_common(1)[0]
        if width > 1:
            scores[delimiter] = freq / len(counts)
    if not scores:
        return ","
    best = max(scores.values())
    tied = [d for d in DELIMITERS if scores.get(d, -1.0) >= best - 0.02]
    if len(tied) > 1:
        try:
            sniffed = csv.Sniffer().sniff(sample[:16384], delimiters="".join(DELIMITERS)).delimiter
        except csv.Error:
            sniffed = ""
        if sniffed in tied:
            return sniffed
    return tied[0]


def _sniff_decimal(records: list[list[str]]) -> str:
    """Use a decimal comma when unambiguous values like 1,5 outnumber values like 1.5."""
    comma = dot = 0
    for row in records[1:]:
        for cell in row:
            cell = cell.strip()
            if _COMMA_DECIMAL.fullmatch(cell):
                comma += 1
            elif _DOT_DECIMAL.fullmatch(cell):
                dot += 1
    return "," if comma > dot else "."


def _is_number(cell: object, decimal: str) -> bool:
    """Whether a cell is a number, possibly written with thousands separators, currency or %."""
    if isinstance(cell, bool):
        return False
    if isinstance(cell, (int, float)):
        return True
    text = str(cell).strip()
    return _NUMBER[decimal].fullmatch(text) is not None


def _is_blank(cell: object) -> bool:
    """Whether a sampled cell is empty or a missing-value marker."""
    return cell is None or (str(cell).strip() in _MISSING_SET)


def _has_header(records: list[list[object]], decimal: str) -> bool:
    """Whether the first record holds column names rather than data.

    A first row of numbers is data; a text cell above numbers is a name; a text cell that repeats further down
    its column is data.
    """
    first, rest = records[0], records[1:]
    cells = [cell for cell in first if not _is_blank(cell)]
    if cells and all(_is_number(cell, decimal) for cell in cells):
        return False
    if not rest:
        return True
    names = data = 0
    for j, cell in enumerate(first):
        if _is_blank(cell):
            continue
        below = [row[j] for row in rest if j < len(row) and not _is_blank(row[j])]
        if not below:
            continue
        numeric = sum(_is_number(value, decimal) for value in below) >= 0.9 * len(below)
        if numeric:
            if _is_number(cell, decimal):
                data += 1
            else:
                names += 1
        elif str(cell).strip() in {str(value).strip() for value in below}:
            data += 1
    return names > 0 or data == 0


def _read_csv(data: bytes, text: _Text, notes: list[str]) -> pd.DataFrame:
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
            f"Skipped {skipped:,} {_plural(skipped, 'row')} with more values than there are columns"
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


def _read_excel(data: bytes, notes: list[str]) -> tuple[pd.DataFrame, bool, list[str]]:
    """Read the first sheet of an .xlsx workbook, noting when there are more sheets."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheets = book.sheetnames
            rows = []
            lead = 0
            for row in book[sheets[0]].iter_rows(values_only=True):
                if any(not _is_blank(cell) for cell in row):
                    rows.append(list(row))
                elif not rows:
                    lead += 1
                if len(rows) > _SAMPLE_ROWS:
                    break
        finally:
            book.close()
        if not rows:
            raise TapeError("The first sheet of the Excel file is empty; put the table on the first sheet.")
        header = _has_header(rows, ".")
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


def _read_parquet(data: bytes) -> tuple[pd.DataFrame, bool, list[str]]:
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


def _tidy(frame: pd.DataFrame, raw_names: list[str], header: bool, decimal: str, notes: list[str]) -> pd.DataFrame:
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
        notes.append(f"Dropped {dropped:,} empty {_plural(dropped, 'row')}")
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
    pattern = _NUMBER[decimal]
    if not all(pattern.fullmatch(value) for value in present.iloc[:_SAMPLE_ROWS]):
        return text, ""
    if not present.str.fullmatch(pattern.pattern).all():
        return text, ""
    reasons = []
    if present.str.contains(f"\\d[{_THOUSANDS[decimal]}]\\d{{3}}").any():
        reasons.append("removed thousands separators")
    if present.str.contains(f"[{_CURRENCY}]").any():
        reasons.append("removed currency symbols")
    if present.str.contains("%", regex=False).any():
        reasons.append("removed % signs, so 45% reads as 45")
    plain = text.str.replace(f"[\\s{_CURRENCY}%{_THOUSANDS[decimal]}]", "", regex=True)
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
            notes.append(f"Dropped {len(raw) - len(keep)} empty {_plural(len(raw) - len(keep), 'column')}")
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
        notes.append(f"Dropped {dropped} empty {_plural(dropped, 'column')} without a name")
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


def _plural(count: int, word: str) -> str:
    """'row' or 'rows' for a count."""
    return word if count == 1 else word + "s"
