"""Shared pieces of the benchmarks: generated tables, the tutorial's network, timing, memory and table printing.

Nothing here imports TensorFlow at module level, so a script can measure what importing it costs.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python bench/x.py` from anywhere: import this checkout's tapeapp
    sys.path.insert(0, str(ROOT))

# The tutorial's heart.csv, when the person running a bench has a copy: TAPEAPP_HEART_CSV=path. Nothing in the
# repository refers to a file outside it; without the variable the benches use their generated heart-like table.
HEART_CSV = Path(os.environ.get("TAPEAPP_HEART_CSV") or "/nonexistent/heart.csv")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


# ---------------------------------------------------------------------------------------------------- tables

def heart_like(rows: int = 918, seed: int = 0) -> pd.DataFrame:
    """A made-up table shaped like the heart-failure table: 6 numbers, 5 text categories (2-4 levels), a 0/1 target.

    The target depends on most columns through a logistic model with noise, so a small network reaches roughly
    80-90 % validation accuracy, and about 55 % of rows are positive, as in the real table.
    """
    rng = np.random.default_rng(seed)
    age = rng.normal(53, 9.4, rows).round().clip(28, 77).astype(int)
    sex = rng.choice(["M", "F"], rows, p=[0.79, 0.21])
    chest = rng.choice(["ASY", "NAP", "ATA", "TA"], rows, p=[0.54, 0.22, 0.19, 0.05])
    bp = rng.normal(132, 18, rows).round().clip(80, 200).astype(int)
    chol = rng.normal(200, 60, rows).round().clip(85, 603).astype(int)
    chol[rng.random(rows) < 0.19] = 0  # the real table writes missing cholesterol as 0
    fasting = (rng.random(rows) < 0.23).astype(int)
    ecg = rng.choice(["Normal", "LVH", "ST"], rows, p=[0.6, 0.2, 0.2])
    max_hr = rng.normal(137, 25, rows).round().clip(60, 202).astype(int)
    angina = rng.choice(["N", "Y"], rows, p=[0.6, 0.4])
    oldpeak = rng.gamma(1.2, 0.75, rows).round(1) - (rng.random(rows) < 0.015) * 1.0
    slope = rng.choice(["Flat", "Up", "Down"], rows, p=[0.5, 0.43, 0.07])
    z = (0.045 * (age - 53) + 1.1 * (sex == "M") - 0.6 + 1.4 * (chest == "ASY") - 0.3 * (chest == "ATA")
         + 0.008 * (bp - 132) + 1.2 * (chol == 0) + 0.9 * fasting + 0.2 * (ecg == "ST")
         - 0.02 * (max_hr - 137) + 1.3 * (angina == "Y") + 0.7 * (oldpeak - 0.9)
         + 1.6 * (slope == "Flat") - 1.2 * (slope == "Up") + 0.5 * (slope == "Down")
         + rng.logistic(0, 0.8, rows))
    disease = (z > np.quantile(z, 0.45)).astype(int)  # 55 % positive
    return pd.DataFrame({
        "age": age, "sex": sex, "chest_pain": chest, "resting_bp": bp, "cholesterol": chol,
        "fasting_bs": fasting, "resting_ecg": ecg, "max_hr": max_hr, "exercise_angina": angina,
        "oldpeak": oldpeak.round(1), "st_slope": slope, "disease": disease,
    })


HEART_LIKE_TARGET = "disease"


def wide_chunk(rows: int, columns: int = 30, seed: int = 0, start: int = 0) -> pd.DataFrame:
    """Rows ``start..start+rows`` of a mixed table: 2/3 numbers (some missing), 1/3 text categories, 0/1 target.

    The last column is the target. Chunks with the same ``seed`` and consecutive ``start`` form one table.
    """
    rng = np.random.default_rng([seed, start])
    n_cat = max(1, (columns - 1) // 3)
    n_num = columns - 1 - n_cat
    data: dict[str, np.ndarray] = {}
    z = np.zeros(rows)
    for j in range(n_num):
        values = rng.normal(0, 1, rows)
        z += values * (0.6 if j % 3 == 0 else 0.1)
        if j % 4 == 1:  # integer-looking columns
            data[f"n{j:02d}"] = (values * 10 + 50).round().astype(int)
        else:
            col = (values * (j + 1) + j).round(3)
            if j % 5 == 2:  # a few missing values
                col[rng.random(rows) < 0.01] = np.nan
            data[f"n{j:02d}"] = col
    for j in range(n_cat):
        levels = 2 + (j * 5) % 19  # 2..20 levels
        codes = rng.integers(0, levels, rows)
        z += (codes % 3 - 1) * 0.5
        data[f"c{j:02d}"] = np.array([f"lvl{k:02d}" for k in range(levels)], dtype=object)[codes]
    data["target"] = (z + rng.logistic(0, 1, rows) > 0).astype(int)
    return pd.DataFrame(data)


def write_wide_csv(path: Path, rows: int, columns: int = 30, seed: int = 0, chunk: int = 200_000) -> int:
    """Write a ``wide_chunk`` table to ``path`` in pieces (so the writer never holds 1M rows) and return its bytes."""
    path = Path(path)
    with path.open("w", newline="") as f:
        for start in range(0, rows, chunk):
            wide_chunk(min(chunk, rows - start), columns, seed, start).to_csv(f, index=False, header=start == 0)
    return path.stat().st_size


# ---------------------------------------------------------------------------------------------------- the tutorial

def tutorial_model(n_inputs: int):
    """The tutorial's network: Dense 64 LeakyReLU (Keras 2's default slope 0.3) twice, then one sigmoid unit."""
    import keras

    return keras.Sequential([
        keras.Input(shape=(n_inputs,)),
        keras.layers.Dense(64), keras.layers.LeakyReLU(negative_slope=0.3),
        keras.layers.Dense(64), keras.layers.LeakyReLU(negative_slope=0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


# ---------------------------------------------------------------------------------------------------- measuring

def proc_status(field: str, pid: int | str = "self") -> int:
    """A memory field of /proc/PID/status (VmRSS, VmHWM, RssAnon, ...) in bytes; 0 if absent."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def tree_rss(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of a process and all its descendants (streamlit may fork helpers), in bytes.

    ``field="RssAnon"`` counts only anonymous memory (heap, tensors), leaving out file-backed pages such as
    TensorFlow's shared libraries, which the kernel can drop and read again under memory pressure.
    """
    return sum(proc_status(field, p) for p in descendants(pid))


def descendants(pid: int) -> set[int]:
    """A process and everything it started, found through /proc/PID/task/*/children."""
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time used so far by these processes (all their threads), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    return total / ticks


def median_after_warmup(seconds: Sequence[float]) -> float:
    """Median per-epoch time, leaving out the first epoch (tracing, thread pools, caches)."""
    rest = list(seconds[1:]) or list(seconds)
    return float(statistics.median(rest))


def spread(values: Iterable[float], fmt: str = "{:.4g}") -> str:
    """'median (min-max)' of several seeds."""
    v = [float(x) for x in values]
    if len(v) == 1:
        return fmt.format(v[0])
    return f"{fmt.format(statistics.median(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})"


def print_table(rows: Sequence[Sequence[object]], headers: Sequence[str], file=None) -> None:
    """A plain, aligned text table (Markdown-compatible, so it pastes into the README as it is)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in cells[1:]]
    print("\n".join(out), file=file or sys.stdout, flush=True)


def machine() -> str:
    """One line saying when and where the numbers were taken."""
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = f"{names[0]} x {len(names)}" if names else cpu
    except FileNotFoundError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    versions = []
    for pkg in ("tensorflow-cpu", "tensorflow", "keras", "pandas", "scikit-learn", "streamlit"):
        try:
            versions.append(f"{pkg.replace('-cpu', '')} {version(pkg)}")
        except PackageNotFoundError:
            continue
    mem = proc_meminfo_gb()
    when = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    one, five, fifteen = os.getloadavg()
    load = f"load average {one:.1f} {five:.1f} {fifteen:.1f} (1/5/15 min; other processes share the CPUs)"
    return (f"{when}; {cpu}; {mem:.0f} GB RAM; Python {platform.python_version()}; " + ", ".join(versions)
            + f"; git {git_head()}; {load}; {calibration()}")


def calibration() -> str:
    """How fast this machine is right now (shared VMs drift): a pure-Python loop and small numpy matmuls.

    Compare this line between runs before comparing their seconds; ratios within one run are fairer.
    """
    import time

    started = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i
    python_ms = (time.perf_counter() - started) * 1000
    a, b = np.ones((64, 64), "float32"), np.ones((32, 64), "float32")
    started = time.perf_counter()
    for _ in range(20_000):
        b @ a
    numpy_ms = (time.perf_counter() - started) * 1000
    return f"calibration: 2M Python adds {python_ms:.0f} ms, 20k 32x64 @ 64x64 numpy matmuls {numpy_ms:.0f} ms"


def proc_meminfo_gb() -> float:
    try:
        with open("/proc/meminfo") as f:
            return int(f.readline().split()[1]) / 1024 ** 2
    except (FileNotFoundError, ValueError):
        return 0.0


def git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def mb(n_bytes: float) -> str:
    value = n_bytes / 1e6
    return f"{value:,.0f} MB" if abs(value) >= 10 else f"{value:.2g} MB"
