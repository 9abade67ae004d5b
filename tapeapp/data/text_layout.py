"""How a text table is written, decided from its first bytes: encoding, delimiter, decimal mark, header row.

Also the words shared by reading and cleaning: which cells mean "missing" and what a written number looks like.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass

from tapeapp.errors import TapeError

MISSING: tuple[str, ...] = (
    "", "NA", "N/A", "n/a", "?", "null", "NULL", "None", "-", "nan", "NaN", "#N/A",
)
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_SAMPLE_BYTES = 64 * 1024
_SAMPLE_LINES = 3  # the sample reaches at least this many line ends, however long the lines (a wide header)
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_COLUMNS = 10_000
_SNIFFER_CHARS = 4096  # csv.Sniffer's quote pattern is quadratic in its input: 16 kB of ',"' took 1.6 s
SAMPLE_ROWS = 200
_CHUNK = 8 * 1024 * 1024
MISSING_SET = frozenset(MISSING)
KINDS_OF_FILE = "upload a CSV, Excel (.xlsx) or Parquet file"
CURRENCY = "$€£¥₹"
THOUSANDS = {".": ",", ",": ". \u00a0\u202f"}
# A written number. Every run of spaces has one place to go (a space after a currency sign belongs to the sign), so
# a cell that is not a number fails in time linear in its length: two neighbouring "\s*" would try every split of a
# long run of spaces (issue 17: "1", 20,000 spaces, "x" took 10 s). Pandas also runs it through RE2 (no possessive
# quantifiers there), hence this shape rather than "\s*+".
NUMBER = {
    decimal: re.compile(
        rf"[-+]?\s*(?:[{CURRENCY}]\s*)?[-+]?"
        rf"(?:(?:\d{{1,3}}(?:[{separators}]\d{{3}})+|\d+)(?:{re.escape(decimal)}\d*)?|{re.escape(decimal)}\d+)"
        rf"(?:[eE][-+]?\d+)?\s*(?:[{CURRENCY}]\s*)?%?"
    )
    for decimal, separators in THOUSANDS.items()
}
_COMMA_DECIMAL = re.compile(r"[-+]?(?:\d+,\d{1,2}|\d+,\d{4,}|0,\d+|\d{1,3}(?:\.\d{3})+,\d+)")
_DOT_DECIMAL = re.compile(r"[-+]?(?:\d+\.\d{1,2}|\d+\.\d{4,}|0\.\d+|\d{1,3}(?:,\d{3})+\.\d+)")


@dataclass(frozen=True)
class TextLayout:
    """How a text table is laid out, decided from a sample before pandas reads the whole file."""

    encoding: str
    delimiter: str
    decimal: str
    header: bool
    names: tuple[str, ...]
    fits: bool
    skip: int
    skip_lines: int
    rows_per_byte: float = 0.0  # in the sample: with the width, what the whole file becomes in memory

    def rows_in(self, size: int) -> int:
        """About how many rows ``size`` bytes of this text hold."""
        return int(size * self.rows_per_byte) + 1


def sniff_text(data: bytes, whole_utf8: bool | None = None) -> TextLayout:
    """Decide encoding, delimiter, decimal mark and header from the start of the file.

    ``data`` is the whole file, or only its start when the rest is read as a stream; then ``whole_utf8`` says
    whether all of it decodes as UTF-8 (measured while it was unpacked).
    """
    encoding = _detect_encoding(data, whole_utf8)
    end = sample_end(data)
    complete = end >= len(data) and whole_utf8 is None
    sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(data[:end], final=complete)
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
        raise not_a_table()
    delimiter = _sniff_delimiter(sample, complete)
    records = _records(sample, delimiter, complete)
    if not records:
        raise TapeError("The file is empty.")
    decimal = _sniff_decimal(records) if delimiter != "," else "."
    header = has_header(records, decimal)
    width = max(len(record) for record in records)
    if width > MAX_COLUMNS:
        raise too_many_columns(width)
    names = records[0] if header else []
    names = tuple(names) + ("",) * (width - len(names))
    lead = _leading_blank_lines(sample)
    span = 1 + sum(len(re.findall(r"\r\n|\r|\n", name)) for name in names) if header else 0
    return TextLayout(
        encoding=encoding, delimiter=delimiter, decimal=decimal, header=header, names=names,
        fits=header and len(records[0]) == width, skip=lead + (1 if header else 0), skip_lines=lead + span,
        rows_per_byte=max(1, sample.count("\n") + sample.count("\r") - sample.count("\r\n")) / max(1, end),
    )


def sample_end(data: bytes) -> int:
    """Where the sample of a text table ends: 64 kB, or further to take in the first few lines whole.

    Column names are read from the sample, so a header longer than 64 kB (a table of 100,000 columns) must not be
    cut short: its names would be too few and pandas would drop the columns past them.
    """
    limit = min(len(data), MAX_LINE_BYTES * _SAMPLE_LINES)
    position = 0
    for _ in range(_SAMPLE_LINES):
        ends = [found for found in (data.find(b"\n", position, limit), data.find(b"\r", position, limit)) if found >= 0]
        if not ends:
            if limit < len(data):
                raise TapeError(f"A line of this file is longer than {MAX_LINE_BYTES // 2**20} MB, so it cannot be "
                                "split into rows; check that it is a table with one row per line.")
            return len(data)
        position = min(ends) + 1
    return max(min(len(data), _SAMPLE_BYTES), position)


def too_many_columns(width: int, exact: bool = True) -> TapeError:
    """The error for a table wider than tapeapp reads: said, never cut short in silence."""
    count = f"{width:,}" if exact else f"more than {MAX_COLUMNS:,}"
    return TapeError(f"The file has {count} columns; tapeapp reads tables of up to {MAX_COLUMNS:,} columns. Keep "
                     "the columns you need (the one to predict among them) and upload that.")


def _leading_blank_lines(sample: str) -> int:
    """How many blank lines come before the first row (pandas counts them when skipping the header)."""
    count = 0
    for line in io.StringIO(sample, newline=""):
        if line.strip():
            break
        count += 1
    return count


def _detect_encoding(data: bytes, whole_utf8: bool | None = None) -> str:
    """Pick the first encoding that decodes the whole file: BOMs, UTF-8, then cp1252 and latin-1."""
    part = whole_utf8 is not None
    utf8 = (lambda encoding: whole_utf8) if part else (lambda encoding: _decodes(data, encoding))
    if data.startswith(codecs.BOM_UTF8) and utf8("utf-8-sig"):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and _decodes(data, "utf-16", part):
        return "utf-16"
    head = data[:4096]
    if b"\x00" in head:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        half = len(head) // 2
        if odd > 0.3 * half and even < 0.05 * half and _decodes(data, "utf-16-le", part):
            return "utf-16-le"
        if even > 0.3 * half and odd < 0.05 * half and _decodes(data, "utf-16-be", part):
            return "utf-16-be"
        raise not_a_table()
    if (data.isascii() and not part) or utf8("utf-8"):
        return "utf-8"
    if not any(byte in data for byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D)):
        return "cp1252"
    return "latin-1"


def _decodes(data: bytes, encoding: str, part: bool = False) -> bool:
    """Whether the whole input (or, with ``part``, this start of it) decodes, checked in chunks so a large file is
    not held twice as text."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(data[start:start + _CHUNK], final=False)
        decoder.decode(b"", final=not part)
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
    return [row for row in rows if len(row) > 1 or (row and row[0].strip())][: SAMPLE_ROWS + 1]


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
            sniffed = csv.Sniffer().sniff(sample[:_SNIFFER_CHARS], delimiters="".join(DELIMITERS)).delimiter
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


def is_number(cell: object, decimal: str) -> bool:
    """Whether a cell is a number, possibly written with thousands separators, currency or %."""
    if isinstance(cell, bool):
        return False
    if isinstance(cell, (int, float)):
        return True
    text = str(cell).strip()
    return NUMBER[decimal].fullmatch(text) is not None


def is_blank(cell: object) -> bool:
    """Whether a sampled cell is empty or a missing-value marker."""
    return cell is None or (str(cell).strip() in MISSING_SET)


def has_header(records: list[list[object]], decimal: str) -> bool:
    """Whether the first record holds column names rather than data.

    A first row of numbers is data; a text cell above numbers is a name; a text cell that repeats further down
    its column is data.
    """
    first, rest = records[0], records[1:]
    cells = [cell for cell in first if not is_blank(cell)]
    if cells and all(is_number(cell, decimal) for cell in cells):
        return False
    if not rest:
        return True
    names = data = 0
    for j, cell in enumerate(first):
        if is_blank(cell):
            continue
        below = [row[j] for row in rest if j < len(row) and not is_blank(row[j])]
        if not below:
            continue
        numeric = sum(is_number(value, decimal) for value in below) >= 0.9 * len(below)
        if numeric:
            if is_number(cell, decimal):
                data += 1
            else:
                names += 1
        elif str(cell).strip() in {str(value).strip() for value in below}:
            data += 1
    return names > 0 or data == 0


def not_a_table(what: str = "") -> TapeError:
    """The error for images, documents and other binary files."""
    detail = f" (it looks like {what})" if what else ""
    return TapeError(f"This file does not look like a table{detail}; {KINDS_OF_FILE}.")
