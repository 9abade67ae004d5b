"""Memory a server may use, and what a run will need: refuse or shrink a run rather than be killed mid-class.

Streamlit Community Cloud kills an app that passes its memory limit (about 2.7 GB), and with it every visitor's
session. So before a run starts, the page compares what the process holds now plus what the run will need with a
budget (``TAPEAPP_MEMORY_BUDGET_MB``, default 2,400 MB): a run that fits starts; a table too big for what is left
trains on a random sample of its rows, said plainly; and when not even a small sample fits, the run is refused
with a message to try again shortly. The estimates are deliberately generous (measured in ``bench/scale.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tapeapp.errors import TapeError

DEFAULT_BUDGET_MB = 2_400
BYTES_PER_INPUT = 4 * 3  # a float32 input, held about three times over while a run prepares and trains
RUN_OVERHEAD = 40e6  # a model, its traced epoch, optimizer and views: measured at 10-25 MB, rounded up
MIN_ROWS = 1_000  # a sample smaller than this would not be worth training
READ_FACTOR = 6  # reading + inspecting a CSV peaks 4.8-5.2x its size above the server's level (scale.py --page)
FIELD_BYTES = 28  # ... and 17-26 bytes per field: a file of short fields ("1,,,,") peaks at 17x its size
SHEET_FACTOR = 8  # a workbook's cells held as Python values, by column, then a frame: per byte of the sheet's XML
FRAME_FACTOR = 3  # a Parquet file: Arrow's table, pandas' frame and cleaning, per byte of the frame it becomes
QUIET_SHARE = 0.5  # a file needing at most this share of the budget is read whole when the server is quieter
SAMPLE_SHARE = 0.5  # a sample may take this share of what is free (others may start reading meanwhile)
MIN_SAMPLE_ROWS = 500


def process_bytes() -> int:
    """Resident memory of this process (Linux /proc; 0 where that cannot be read)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def budget_bytes() -> int:
    """The memory budget: ``TAPEAPP_MEMORY_BUDGET_MB`` if set to a positive number, else the default."""
    text = os.environ.get("TAPEAPP_MEMORY_BUDGET_MB", "").strip()
    megabytes = float(text) if text.replace(".", "", 1).isdigit() and float(text) > 0 else DEFAULT_BUDGET_MB
    return int(megabytes * 1e6)


class NoRoomYet(TapeError):
    """Not enough memory for this right now; the same request may succeed in a minute (the page offers a retry)."""


def run_bytes(rows: int, inputs: int) -> float:
    """What training on ``rows`` rows of ``inputs`` numbers each will add to the process, generously."""
    return rows * inputs * BYTES_PER_INPUT + RUN_OVERHEAD


@dataclass(frozen=True)
class Allowance:
    """How many rows a new run may train on now (all of them, or a sample), and the note to show if sampled."""

    rows: int
    note: str = ""


def allowance(rows: int, inputs: int, budget: int | None = None, used: int | None = None) -> Allowance:
    """The rows a run on a table of ``rows`` x ``inputs`` may use with the memory left; TapeError if none."""
    budget = budget_bytes() if budget is None else budget
    used = process_bytes() if used is None else used
    left = budget - used
    if run_bytes(rows, inputs) <= left:
        return Allowance(rows)
    fits = int((left - RUN_OVERHEAD) // (inputs * BYTES_PER_INPUT)) if left > RUN_OVERHEAD else 0
    if fits < min(rows, MIN_ROWS):
        raise TapeError(f"The server is using most of its memory right now ({used / 1e9:.1f} of "
                        f"{budget / 1e9:.1f} GB, shared by everyone using this app), so it cannot start your run "
                        "safely. Try again in a minute, when other runs have finished.")
    return Allowance(fits, f"Your table has {rows:,} rows; to fit in this server's memory the model trains on a "
                           f"random {fits:,} of them ({fits / rows:.0%}). Scores are measured the same way, on "
                           "validation rows from that sample.")


def size_text(size: float) -> str:
    """A number of bytes in words: 2.4 GB, 380 MB."""
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{max(size / 1e6, 1):,.0f} MB"


def text_need(size: int, rows: int, width: int) -> int:
    """Memory reading a delimited text of ``size`` bytes, ``rows`` x ``width`` fields, takes at its peak."""
    return max(READ_FACTOR * size, size + FIELD_BYTES * rows * max(width, 1))


@dataclass(frozen=True)
class ReadPlan:
    """How much of a file to read now: every row (``fraction`` 1), or a seeded random share, with the note to show."""

    fraction: float = 1.0
    note: str = ""


def reading_plan(need: int, rows: int, sample: bool = True, budget: int | None = None,
                 used: int | None = None) -> ReadPlan:
    """Read a file whole, read a random share of its rows, or refuse: what memory allows for one that takes ``need``
    bytes at its peak when read whole (about ``rows`` rows).

    A file that would fit on a quieter server waits (``NoRoomYet``: the page keeps it and offers to try again); one
    too big for this server even when idle is sampled, so that it still gives a table, or refused where a sample
    would not do (``sample=False``: rows to predict must all be read).
    """
    budget = budget_bytes() if budget is None else budget
    used = process_bytes() if used is None else used
    room = budget - used
    if need <= room:
        return ReadPlan()
    gb = size_text
    if need <= QUIET_SHARE * budget or not sample:
        if need <= QUIET_SHARE * budget:
            raise NoRoomYet(f"The server is using most of its memory right now ({gb(used)} of {gb(budget)}, shared by "
                            f"everyone using this app), and reading your file takes about {gb(need)}. Your file is "
                            "kept: press \"Read it again\" in a minute, when other runs have finished.")
        raise TapeError(f"Reading this file whole takes about {gb(need)} of memory, more than this server can give "
                        f"(its budget is {gb(budget)}, shared by everyone using this app). Split it into smaller "
                        "files and use them one at a time.")
    fraction = SAMPLE_SHARE * room / need
    if fraction * rows < MIN_SAMPLE_ROWS:
        raise NoRoomYet(f"The server is using most of its memory right now ({gb(used)} of {gb(budget)}, shared by "
                        f"everyone using this app), and your file takes about {gb(need)} to read, so not even a "
                        "sample of it fits. Your file is kept: press \"Read it again\" in a minute.")
    share = f"{fraction:.0%}" if fraction >= 0.01 else f"{fraction:.1%}"
    return ReadPlan(fraction, f"The file holds about {rows:,} rows and reading it whole would take about {gb(need)} "
                              f"of memory, more than this server can give ({gb(room)} free of {gb(budget)}, shared "
                              f"by everyone using this app): a random {share} of its rows was read. Scores are "
                              "measured on rows from that sample.")
