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


def check_room_to_read(size: int, budget: int | None = None, used: int | None = None) -> None:
    """TapeError when reading a file of ``size`` bytes now could take the server past its budget.

    Reading is the costliest moment of a big upload (pandas' parser holds the text and the columns at once); two
    students reading 200 MB files together would pass Community Cloud's limit. The file is not lost: the page keeps
    it and tries again when asked.
    """
    budget = budget_bytes() if budget is None else budget
    used = process_bytes() if used is None else used
    if used + READ_FACTOR * size > budget:
        raise NoRoomYet(f"The server is using most of its memory right now ({used / 1e9:.1f} of "
                        f"{budget / 1e9:.1f} GB, shared by everyone using this app), so it cannot read your "
                        f"{size / 1e6:,.0f} MB file safely yet. Your file is kept: press \"Read it again\" in a "
                        "minute, when other runs have finished.")


def inputs_estimate(schema) -> int:
    """How many numbers one row will become, from the schema alone (before the preprocessing is fitted)."""
    from tapeapp.preprocess import MAX_LEVELS

    total = 0
    for column in schema.columns:
        if column.role != "feature":
            continue
        total += {"categorical": min(column.distinct, MAX_LEVELS) + 1, "date": 8}.get(column.kind, 1)
    return max(total, 1)


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
