"""Hostile input is normal input (issue 17): files small on disk and huge in memory, cells that make patterns
backtrack, headers wider than the sample, knobs out of range, model files that name other code.

Each is read within the memory budget (measured in a fresh process), in time linear in its size, or refused in one
plain sentence. Files are generated here, as small as the case allows.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tapeapp import TapeError, read_table
from tapeapp.config import SEED_MAX, TrainConfig
from tapeapp.data import text_layout

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MB = 700  # the budget of the fresh process that reads each file; it starts at ~150-200 MB


def _read_in_a_fresh_process(path: Path, budget_mb: int = BUDGET_MB) -> tuple[int, dict]:
    """Read ``path`` in a new Python under ``budget_mb``: its peak resident memory (MB) and what it read."""
    script = (  # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent (pytest) across fork and exec
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from tapeapp import read_table, TapeError\n"
        "try:\n"
        f"    table = read_table({str(path)!r})\n"
        "    out = {'shape': list(table.frame.shape), 'notes': list(table.info.notes),\n"
        "           'columns': [str(c) for c in table.frame.columns][:10]}\n"
        "except TapeError as error:\n"
        "    out = {'error': str(error)}\n"
        "print(json.dumps(out))\n"
        "peak = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
        "print(int(peak.split()[1]) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "TAPEAPP_MEMORY_BUDGET_MB": str(budget_mb)})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    return int(lines[-1]), json.loads(lines[-2])


@pytest.mark.subprocess
def test_a_gzip_that_unpacks_to_far_more_than_the_budget_is_read_as_a_sample_within_it(tmp_path):
    """0.6 MB on disk, 240 MB unpacked: measured by what it becomes, never held whole."""
    path = tmp_path / "bomb.csv.gz"
    rows = b"1,2,3,4,5,6,7,8,9,0\n" * 100_000
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(b"a,b,c,d,e,f,g,h,i,target\n")
        for _ in range(120):
            handle.write(rows)
    assert path.stat().st_size < 5_000_000
    peak, out = _read_in_a_fresh_process(path)
    assert peak <= BUDGET_MB, f"peaked at {peak} MB"
    assert "error" not in out, out
    assert 1_000 < out["shape"][0] < 12_000_000 and out["shape"][1] == 10
    assert "a random" in out["notes"][0] and "of its rows was read" in out["notes"][0]


@pytest.mark.subprocess
def test_a_workbook_with_one_cell_in_column_xfd_reads_its_real_columns_only(tmp_path):
    """openpyxl pads every row to the sheet's width: a stray cell in XFD made each row 16,384 cells."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("data")
    rng = np.random.default_rng(0)
    sheet.append(["x", "y", "label"])
    for i in range(20_000):
        sheet.append([float(rng.normal()), int(rng.integers(0, 5)), "a" if i % 2 else "b"]
                     + ([None] * 16_380 + [1] if i == 0 else []))
    path = tmp_path / "wide.xlsx"
    book.save(path)
    peak, out = _read_in_a_fresh_process(path)
    assert peak <= BUDGET_MB, f"peaked at {peak} MB"
    assert out["shape"] == [20_000, 4], out
    assert out["columns"] == ["x", "y", "label", "column_16384"]
    assert "Dropped 16,380 empty columns without a name" in out["notes"]


@pytest.mark.subprocess
def test_a_parquet_file_of_millions_of_rows_is_looked_at_by_its_footer_and_sampled(tmp_path):
    """A few MB on disk, 30 million rows: the footer says so before a row is decoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "long.parquet"
    batch = pa.table({"a": pa.array(np.zeros(1_000_000, "int8")), "target": pa.array(np.ones(1_000_000, "int8"))})
    with pq.ParquetWriter(path, batch.schema, compression="zstd") as writer:
        for _ in range(30):
            writer.write_table(batch)
    peak, out = _read_in_a_fresh_process(path)
    assert peak <= BUDGET_MB, f"peaked at {peak} MB"
    assert 0 < out["shape"][0] < 30_000_000 and "30,000,000 rows" in out["notes"][0]


def test_a_cell_with_a_long_run_of_spaces_reads_in_time_linear_in_its_length():
    """'1', spaces, 'x' made the number pattern try every split of the spaces: 20,000 spaces took 10 s. A million
    now reads in well under a second; the quadratic pattern would take days (the wait below only catches a hang)."""
    data = b"a,b\n1" + b" " * 1_000_000 + b"x,2\n3,4\n"
    result: list = []
    reader = threading.Thread(target=lambda: result.append(read_table(data, "spaces.csv")), daemon=True)
    reader.start()
    reader.join(120)
    assert result, "reading did not finish"
    assert result[0].frame.shape == (2, 2)
    for decimal, pattern in text_layout.NUMBER.items():
        assert pattern.fullmatch("- $ 1" + " " * 100_000 + "x") is None
        assert pattern.fullmatch("1 234 €" if decimal == "," else "$ -1,234.5 %")


def test_a_header_longer_than_the_sample_keeps_every_column_and_too_many_columns_are_refused():
    names = [f"measurement_number_{i:05d}" for i in range(5_000)] + ["target"]
    header = ",".join(names).encode()
    assert len(header) > 64 * 1024
    rows = b"\n".join(b",".join(b"1" for _ in names) for _ in range(3))
    table = read_table(header + b"\n" + rows + b"\n", "wide.csv")
    assert list(table.frame.columns) == names, "no column is dropped, the target (last) included"
    wide = ",".join(f"c{i}" for i in range(text_layout.MAX_COLUMNS + 1)).encode()
    with pytest.raises(TapeError, match=f"{text_layout.MAX_COLUMNS + 1:,} columns; tapeapp reads tables of up to"):
        read_table(wide + b"\n" + b",".join(b"1" for _ in range(text_layout.MAX_COLUMNS + 1)) + b"\n", "w.csv")


def test_rows_wider_than_the_column_names_are_never_cut_short_in_silence(monkeypatch):
    """pandas drops the fields past the names it is given, with a warning; that warning now means 'read it row by
    row', which keeps or counts every such row."""
    monkeypatch.setattr(text_layout, "_SAMPLE_BYTES", 8)
    monkeypatch.setattr(text_layout, "_SAMPLE_LINES", 1)
    table = read_table(b"a,b\n1,2,3\n4,5,6\n7,8\n", "short_header.csv")
    assert table.frame.shape[0] == 1
    assert "Skipped 2 rows with more values than there are columns" in table.info.notes


def test_a_line_too_long_to_be_a_row_is_refused(monkeypatch):
    monkeypatch.setattr(text_layout, "MAX_LINE_BYTES", 1_000)
    with pytest.raises(TapeError, match="longer than"):
        read_table(b"a" * 5_000 + b"\n1\n", "one_line.csv")


def test_a_zip_listing_thousands_of_files_is_refused_before_they_are_listed():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(10_001):
            archive.writestr(f"f{i}.csv", b"")
    with pytest.raises(TapeError, match="more than 10,000 files"):
        read_table(buffer.getvalue(), "many.zip")


def test_a_file_read_whole_or_sampled_gives_the_same_columns_and_kinds(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=5_000).round(3), "colour": rng.choice(["red", "blue"], 5_000),
                          "y": rng.integers(0, 2, 5_000)})
    data = frame.to_csv(index=False).encode()
    whole = read_table(data, "t.csv")
    sampled = read_table(data, "t.csv", budget=900_000, used=700_000)  # needs 0.48 MB, 0.2 MB free: a sample
    assert len(whole.frame) == 5_000 and 500 <= len(sampled.frame) < 5_000
    assert list(sampled.frame.dtypes.astype(str)) == list(whole.frame.dtypes.astype(str))
    assert "a random" in sampled.info.notes[0]
    with pytest.raises(TapeError, match="Split it into smaller files"):
        read_table(data, "t.csv", sample=False, budget=900_000, used=850_000)


@pytest.mark.parametrize("settings,words", [
    ({"epochs": "1e400"}, "not a finite number"),
    ({"seed": "1e400"}, "not a finite number"),
    ({"seed": "1e17"}, "too large"),
    ({"seed": str(SEED_MAX + 1)}, "The seed must be a whole number from 0 to 4,294,967,295"),
    ({"epochs": "2.5"}, "must be a whole number"),
    ({"dropout": "[x](http://evil.test/)"}, "needs a number"),
    ({"hidden": "8," * 50}, "between 1 and 6 hidden layers"),
    ({"batch_size": "nan"}, "not a finite number"),
])
def test_knob_values_from_links_and_the_command_line_are_refused_in_plain_words(settings, words):
    with pytest.raises(TapeError, match=words):
        TrainConfig.from_dict(settings)


def test_a_sample_read_once_is_read_again_the_same_for_a_restored_session():
    """A table read as a sample (its TableInfo.fraction) reads the same rows again: a session restored from the
    run store trains on the very rows it had."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=5_000).round(3), "colour": rng.choice(["red", "blue"], 5_000),
                          "y": rng.integers(0, 2, 5_000)})
    data = frame.to_csv(index=False).encode()
    first = read_table(data, "t.csv", budget=900_000, used=700_000)
    assert first.info.fraction < 1
    again = read_table(data, "t.csv", fraction=first.info.fraction)
    assert again.frame.equals(first.frame) and again.info.fraction == first.info.fraction
    assert read_table(data, "t.csv").info.fraction == 1.0
