"""Turn an uploaded file (bytes, a path or an open file) into a DataFrame and say what was detected and changed.

The entry point: it loads and unwraps the bytes (gzip, zip), tells the format, and hands over to
``text_layout`` (how a text table is written), ``readers`` (pandas per format) and ``clean`` (values and names).
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from tapeapp.data import budget as memory
from tapeapp.data.clean import tidy
from tapeapp.data.readers import open_workbook, parquet_size, read_csv, read_excel, read_parquet, sheet_size
from tapeapp.data.text_layout import MAX_COLUMNS, MAX_LINE_BYTES, MISSING, not_a_table, sniff_text, too_many_columns
from tapeapp.errors import TapeError

__all__ = ["MAX_BYTES", "MISSING", "Table", "TableInfo", "read_table"]

MAX_BYTES: int = 500_000_000  # a file as uploaded or named
MAX_UNPACKED: int = 2_000_000_000  # what a compressed file may unpack to: beyond it, not even a sample is read
HOLD_SHARE = 4  # unpacked content is kept in memory up to a quarter of what is free; bigger is streamed
HEAD_BYTES = 3 * MAX_LINE_BYTES + 1024  # the start of a streamed content, for telling its layout
UNPACK_CHUNK = 1 << 20
MAX_ZIP_ENTRIES = 10_000
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
    fraction: float = 1.0  # the share of the file's rows read: below 1 when it was too big to read whole


@dataclass(frozen=True, eq=False)
class Table:
    """A table read from a file, together with how it was read."""

    frame: pd.DataFrame
    info: TableInfo


def read_table(source: str | os.PathLike | bytes | BinaryIO, name: str | None = None, *, sample: bool = True,
               budget: int | None = None, used: int | None = None, fraction: float | None = None) -> Table:
    """Read a CSV/TSV, Excel or Parquet table from bytes, a path or a binary file, detecting its layout.

    What the file becomes in memory is measured before it is parsed (unpacked size, the text's rows and columns,
    the workbook's sheet, the Parquet footer) and checked against the server's memory budget
    (``tapeapp.data.budget.reading_plan``): a file too big to read whole is read as a random sample of its rows
    (``sample=False`` refuses instead, for rows to predict) or waits (``NoRoomYet``) while the server is busy.
    ``budget`` and ``used`` override the budget and the memory in use (tests). ``fraction`` reads that share of the
    rows again (``TableInfo.fraction`` of an earlier read: the same seeded sample), when memory allows it now.
    """
    raw, name = _load(source, name)
    digest = hashlib.sha256(raw).hexdigest()
    notes: list[str] = []
    free = (memory.budget_bytes() if budget is None else budget) - (memory.process_bytes() if used is None else used)
    content = _unwrap(raw, name, notes, hold=max(0, free) // HOLD_SHARE)
    del raw
    fmt = _binary_format(content.head, content.name)
    plan = partial(_plan, sample=sample, budget=budget, used=used, fraction=fraction)
    text = None
    if fmt in ("excel", "parquet") and content.data is None:
        raise TapeError(f"This {fmt} file is too big to unpack on this server; upload it uncompressed.")
    if fmt == "excel":
        rows, columns, xml = sheet_size_of(content.data)
        chosen = plan(memory.SHEET_FACTOR * xml, max(rows, 1))
        frame, header, names = read_excel(content.data, notes, chosen.fraction)
    elif fmt == "parquet":
        rows, columns, frame_bytes = parquet_size(content.data)
        if columns > MAX_COLUMNS:
            raise too_many_columns(columns)
        chosen = plan(memory.FRAME_FACTOR * frame_bytes, max(rows, 1))
        frame, header, names = read_parquet(content.data, chosen.fraction)
    else:
        text = sniff_text(content.head if content.data is None else content.data, content.utf8)
        rows = text.rows_in(content.size)
        chosen = plan(memory.text_need(content.size, rows, len(text.names)), rows)
        frame = read_csv(content.data if content.data is not None else content.open(), text, notes, chosen.fraction)
        header, names = text.header, list(text.names)
    if chosen.note:
        notes.insert(0, chosen.note)
    decimal = text.decimal if text else "."
    frame = tidy(frame, names, header, decimal, notes)
    info = TableInfo(
        name=content.name,
        format=fmt,
        delimiter=text.delimiter if text else None,
        encoding=text.encoding if text else None,
        header=header,
        decimal=decimal,
        rows=len(frame),
        columns=frame.shape[1],
        sha256=digest,
        notes=tuple(notes),
        fraction=chosen.fraction,
    )
    return Table(frame=frame, info=info)


def _plan(need: int, rows: int, sample: bool, budget: int | None, used: int | None,
          fraction: float | None) -> memory.ReadPlan:
    """The reading plan; with ``fraction``, that share again (a table read before, restored), if it fits now."""
    if fraction is None or fraction >= 1.0:
        return memory.reading_plan(need, rows, sample=sample if fraction is None else False, budget=budget, used=used)
    plan = memory.reading_plan(int(need * fraction), max(1, int(rows * fraction)), sample=False, budget=budget,
                               used=used)
    return memory.ReadPlan(fraction, plan.note) if plan.note else memory.ReadPlan(
        fraction, f"A random {fraction:.0%} of the file's rows was read, as when it was first opened.")


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


@dataclass(eq=False)
class _Content:
    """A file's content once unpacked: whole in memory (``data``), or, when too big to hold, a stream to open
    again (``open``) with its first bytes (``head``) and whether all of it decodes as UTF-8."""

    name: str
    size: int
    head: bytes
    data: bytes | None = None
    open: Callable[[], BinaryIO] | None = None
    utf8: bool | None = None


def _unwrap(data: bytes, name: str, notes: list[str], hold: int) -> _Content:
    """Unpack gzip and single-file zip archives (not Excel files), measuring what they unpack to before keeping it.

    The unpacked size is what counts (a 0.7 MB gzip can unpack to 480 MB): each archive is streamed once with a
    cap, kept in memory only up to ``hold`` bytes, and otherwise opened again as a stream for a sampled read.
    """
    content = _Content(name, len(data), data[:HEAD_BYTES], data)
    for _ in range(3):
        held = content.data
        if held is None:
            if content.head[:2] == b"\x1f\x8b" or content.head[:4] == b"PK\x03\x04":
                raise TapeError("The file is packed twice and too big to unpack on this server; unpack it and "
                                "upload the table inside.")
            break
        if held[:2] == b"\x1f\x8b":
            content = _stream(lambda held=held: gzip.GzipFile(fileobj=io.BytesIO(held)), _strip_gz(content.name),
                              hold, "gzip")
            notes.append("Decompressed gzip")
        elif held[:4] == b"PK\x03\x04" and not _is_excel_zip(held):
            member = _zip_member(held)
            content = _stream(lambda held=held, member=member: zipfile.ZipFile(io.BytesIO(held)).open(member),
                              os.path.basename(member.filename), hold, "zip")
            notes.append(f"Unzipped '{content.name}'")
        else:
            break
    if not content.size:
        raise TapeError("The file is empty.")
    return content


def _strip_gz(name: str) -> str:
    return name[:-3] if name.lower().endswith(".gz") else name


def _stream(opener: Callable[[], BinaryIO], name: str, hold: int, kind: str) -> _Content:
    """Unpack once, counting (and checking UTF-8 on the way); keep the bytes only if they fit in ``hold``."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunks: list[bytes] | None = []
    size, head, utf8 = 0, b"", True
    try:
        with opener() as handle:
            while chunk := handle.read(UNPACK_CHUNK):
                size += len(chunk)
                if size > MAX_UNPACKED:
                    raise TapeError(f"The file unpacks to more than {MAX_UNPACKED / 1e9:,.0f} GB, too much to read "
                                    "here, even as a sample; upload a smaller part of it.")
                if len(head) < HEAD_BYTES:
                    head += chunk[:HEAD_BYTES - len(head)]
                if utf8:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        utf8 = False
                if chunks is not None:
                    chunks.append(chunk)
                    if size > hold:
                        chunks = None
    except TapeError:
        raise
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError):
        if kind == "zip":
            raise TapeError("The zip archive could not be opened; unzip it yourself and upload the table "
                            "inside.") from None
        raise TapeError("The file is compressed (gzip) but damaged; compress it again or upload it "
                        "uncompressed.") from None
    if chunks is not None:
        return _Content(name, size, head, b"".join(chunks))
    return _Content(name, size, head, None, opener, utf8 and _utf8_end(decoder))


def _utf8_end(decoder: codecs.IncrementalDecoder) -> bool:
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _zip_entries(data: bytes) -> int:
    """How many files a zip archive lists, read from its end record before ``zipfile`` builds one object per entry
    (a 200 MB archive can list four million)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 12 > len(data):
        return 0
    return int.from_bytes(data[end + 10:end + 12], "little")


def _is_excel_zip(data: bytes) -> bool:
    """Whether a zip archive is an Excel workbook (rather than a zipped CSV); refuse other office files."""
    if _zip_entries(data) > MAX_ZIP_ENTRIES:
        raise TapeError(f"This zip archive lists more than {MAX_ZIP_ENTRIES:,} files; unzip it and upload the one "
                        "table you want.")
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


def _zip_member(data: bytes) -> zipfile.ZipInfo:
    """The one file inside a zip archive; several files are ambiguous, so ask the user."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [
                info for info in archive.infolist()
                if not info.is_dir() and not info.filename.startswith("__MACOSX/")
                and not os.path.basename(info.filename).startswith(".")
            ]
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        raise TapeError("The zip archive could not be opened; unzip it yourself and upload the table inside.") from None
    if len(members) != 1:
        raise TapeError(
            f"This is a zip archive with {len(members)} files; unzip it and upload the one table you want."
        )
    return members[0]


def sheet_size_of(data: bytes) -> tuple[int, int, int]:
    """A workbook's first sheet: declared rows and columns, and its XML's unpacked size (bounds the cells)."""
    book = open_workbook(data)
    try:
        return sheet_size(book)
    except Exception:  # noqa: BLE001  (openpyxl raises several types for a damaged sheet)
        raise TapeError("The Excel file could not be opened; it may be damaged. Save it again as .xlsx or "
                        "CSV.") from None
    finally:
        book.close()


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


def read_how(info: TableInfo) -> str:
    """How the file was read, in words: the page's line under the table and the report's (one wording)."""
    delimiters = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
    parts = [f"{info.rows:,} rows × {info.columns:,} columns"]
    if info.format == "sample":
        parts.append("built-in sample")
    elif info.delimiter:
        parts.append(f"columns separated by {delimiters.get(info.delimiter, repr(info.delimiter))}")
    else:
        parts.append(f"{info.format} file")
    if info.encoding:
        parts.append(f"text encoding {info.encoding}")
    if info.decimal and info.decimal != ".":
        parts.append(f"decimal comma ('{info.decimal}')")
    if info.format != "sample":
        parts.append("first line holds the column names" if info.header else "no header line (columns named for you)")
    return " · ".join(parts)
