"""The command line run as a user runs it: ``python -m tapeapp ...`` in a process of its own."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, cwd: str | Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m tapeapp`` with these arguments (paths and numbers are turned into text)."""
    return subprocess.run([sys.executable, "-m", "tapeapp", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or ROOT)


def cli_at_once(*commands: tuple, cwd: str | Path | None = None) -> list[subprocess.CompletedProcess]:
    """Several ``python -m tapeapp`` commands that do not depend on each other, run side by side (each pays
    TensorFlow's import, seconds; the machine has cores to spare for that); the results in the commands' order."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: cli(*args, cwd=cwd), commands))


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single ``error:`` line a refused command prints, checked to be the only line and not a traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return lines[0]
