"""What taking one row apart costs (issue 21): the what-if page follows every edit, so it must be well under a second.

    python bench/explain_speed.py                                  # heart.csv if found, else the heart-like table
    python bench/explain_speed.py --csv heart.csv --target HeartDisease
    python bench/explain_speed.py --quick                          # tiny sizes: check that it runs

For each table (11 columns; a generated 60-column one; and, with ``--big``, the 11 columns on a 3 x 512 network),
a run is trained briefly, then timed: making the explainer (the background rows transformed once), one explanation
(median over ``--rows`` validation rows, each a different row), the same through a saved model.keras (the command
line's path, ``explain_folder``), and the rows-behind-the-numbers views. Memory: the peak resident memory above the
level before the first explanation (VmHWM, reset through /proc/self/clear_refs) and the peak of NumPy's
allocations (tracemalloc), over all explanations.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pandas as pd

from _common import HEART_CSV, HEART_LIKE_TARGET, heart_like, machine, mb, print_table, proc_status, wide_chunk

HEART = HEART_CSV


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def measure(name: str, frame: pd.DataFrame, target: str, rows: int, epochs: int, hidden: tuple[int, ...]) -> list:
    import tapeapp
    from tapeapp.explain import contributions
    from tapeapp.judge import cases
    from tapeapp.keep import explain_files
    from tapeapp.keep.export import save_run

    schema = tapeapp.inspect_frame(frame, target=target)
    run = tapeapp.start_run(frame, schema, tapeapp.TrainConfig(epochs=epochs, hidden=hidden)).fit()
    k = len(run.prepared.features)
    background = contributions.background_rows(run, frame)
    started = time.perf_counter()
    held = contributions.explainer(run, background)
    made = time.perf_counter() - started
    held.explain(run.prepared.raw_val.iloc[[0]])  # the first call traces the forward pass once per model
    before = proc_status("VmRSS")
    exact = _reset_peak()
    tracemalloc.start()
    times, last = [], None
    for position in range(1, rows + 1):
        started = time.perf_counter()
        last = held.explain(run.prepared.raw_val.iloc[[position % len(run.prepared.raw_val)]])
        times.append(time.perf_counter() - started)
    numpy_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_peak = proc_status("VmHWM") - before if exact else float("nan")
    out = [[name, k, "explainer (background transformed once)", _ms(made), ""],
           [name, k, (f"explain one row ({'exact' if last.exact else 'sampled'}, {last.background_rows} background "
                      f"rows, budget {held.model.budget:,} rows)"), _ms(statistics.median(times)),
            f"peak RSS +{mb(rss_peak)}, NumPy peak {mb(numpy_peak)}"]]
    started = time.perf_counter()
    edited = {**contributions.typical_row(run)}
    contributions.explain_row(run, edited, background)
    out.append([name, k, "typical row + explain it (cached explainer)", _ms(time.perf_counter() - started), ""])
    with tempfile.TemporaryDirectory() as folder:
        save_run(run, folder)
        (Path(folder) / "background.csv").write_bytes(explain_files.background_csv(run, frame))
        few = frame.head(20)
        few.to_csv(Path(folder) / "rows.csv", index=False)
        started = time.perf_counter()
        explain_files.explain_folder(folder, Path(folder) / "rows.csv")
        seconds = time.perf_counter() - started
    out.append([name, k, "explain_folder, 20 rows (load model.keras + explain)", _ms(seconds),
                f"{_ms(seconds / 20)} ms a row"])
    for view, call in [("mistakes (20)", lambda: cases.mistakes(run)),
                       ("weakest_slices (every column)", lambda: cases.weakest_slices(run))]:
        started = time.perf_counter()
        call()
        out.append([name, k, view, _ms(time.perf_counter() - started), ""])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="a table to time (default: heart.csv if present, else the heart-like table)")
    parser.add_argument("--target")
    parser.add_argument("--rows", type=int, default=20, help="rows explained per table")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--big", action="store_true", help="also the 11 columns on a 3 x 512 network")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import tapeapp

    rows, epochs = (3, 2) if args.quick else (args.rows, args.epochs)
    if args.csv or HEART.is_file():
        path = Path(args.csv) if args.csv else HEART
        heart, heart_target, heart_name = tapeapp.read_table(path).frame, args.target or "HeartDisease", path.name
    else:
        heart, heart_target, heart_name = heart_like(), HEART_LIKE_TARGET, "heart-like (generated)"
    tables = [(heart_name, heart, heart_target, (64, 64)),
              ("wide (generated, 60 inputs)", wide_chunk(300 if args.quick else 2_000, columns=61), "target",
               (64, 64))]
    if args.big:
        tables.append((f"{heart_name}, 3 x 512", heart, heart_target, (512, 512, 512)))
    print(machine(), file=sys.stderr)
    result = []
    for name, frame, target, hidden in tables:
        result += measure(name, frame, target, rows, epochs, hidden)
    print_table(result, ["table", "columns", "what", "ms", "memory / note"])


if __name__ == "__main__":
    main()
