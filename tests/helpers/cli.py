"""The command line run as a user runs it: ``python -m tapeapp ...`` in a process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, cwd: str | Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m tapeapp`` with these arguments (paths and numbers are turned into text)."""
    return subprocess.run([sys.executable, "-m", "tapeapp", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or ROOT)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single ``error:`` line a refused command prints, checked to be the only line and not a traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return lines[0]
