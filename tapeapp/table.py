"""Turn an uploaded file (bytes, a path or an open file) into a DataFrame and say what was detected and changed.

The entry point: it loads and unwraps the bytes (gzip, zip), tells the format, and hands over to
``text_layout`` (how a text table is written), ``readers`` (pandas per format) and ``clean`` (values and names).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from tapeapp.clean import tidy
from tapeapp.errors import TapeError
from tapeapp.readers import read_csv, read_excel, read_parquet
from tapeapp.text_layout import MISSING, not_a_table, sniff_text

__all__ = ["MAX_BYTES", "MISSING", "Table", "TableInfo", "read_table"]

MAX_BYTES: int = 500_000_000
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


def read_table(source: str | os.PathLike | bytes | BinaryIO, name: str | None = None) -> Table:
    """Read a CSV/TSV, Excel or Parquet table from bytes, a path or a binary file, detecting its layout."""
    raw, name = _load(source, name)
    digest = hashlib.sha256(raw).hexdigest()
    notes: list[str] = []
    data, inner = _unwrap(raw, name, notes)
    fmt = _binary_format(data, inner)
    if fmt == "excel":
        frame, header, names = read_excel(data, notes)
        text = None
    elif fmt == "parquet":
        frame, header, names = read_parquet(data)
        text = None
    else:
        text = sniff_text(data)
        frame = read_csv(data, text, notes)
        header, names = text.header, list(text.names)
    decimal = text.decimal if text else "."
    frame = tidy(frame, names, header, decimal, notes)
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
        raise not_a_table("an Office document that is not a spreadsheet")
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
            raise not_a_table(what)
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm") and b"\x00" in data[:1024]:
        raise TapeError("This Excel file is damaged or not really an Excel file; save it again as .xlsx or CSV.")
    if suffix == ".parquet" and b"\x00" in data[:1024]:
        raise TapeError("This Parquet file is damaged; save it again or upload a CSV instead.")
    return "csv"
