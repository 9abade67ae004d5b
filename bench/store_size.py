"""What keeping a session costs (issue 19): its size on disk in the run store, and how long saving, checkpointing,
loading and restoring take, for the heart-shaped table and a ~50 MB one; plus the project file of a run.

    python bench/store_size.py             # heart-like (918 rows) and a ~50 MB CSV, 2 runs each
    python bench/store_size.py --mb 20     # a smaller big table
    python bench/store_size.py --quick     # tiny sizes: check that it runs

Each table is kept as a session (its file's bytes, the page's state and 2 runs: the default 64-64 network and a
second one with other settings), in a fresh store in a temporary folder. Times are medians of ``--repeats``
(``load`` reads the whole session back; ``restore`` is ``restore_run`` on the table read again, per run, which
splits and fits the preprocessing again but does not train). ``checkpoint (6 x 1024)`` is the worst case of the
checkpoint a training run writes every few seconds: the biggest network the knobs allow (about 25 MB of weights).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import HEART_LIKE_TARGET, heart_like, machine, mb, print_table, wide_chunk, write_wide_csv


def _timed(call: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median seconds over ``repeats`` calls, and the last call's result."""
    seconds, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), out


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def _parts(folder: Path) -> dict[str, int]:
    """Bytes on disk by part of a session folder."""
    out = {"table": 0, "state": 0, "run.json": 0, "weights": 0}
    for path in folder.rglob("*"):
        if path.is_file():
            key = ("table" if path.name.startswith("table") else "state" if path.name == "state.json"
                   else "run.json" if path.name == "run.json" else "weights")
            out[key] += path.stat().st_size
    return out


def measure(name: str, raw: bytes, file_name: str, target: str, configs: list, repeats: int) -> tuple[list, list]:
    import tapeapp
    from tapeapp.keep.project import open_project, project_zip
    from tapeapp.keep.records import TableSource, restore_run
    from tapeapp.keep.store import RunStore, new_id

    table = tapeapp.read_table(raw, file_name)
    schema = tapeapp.inspect_frame(table.frame, target=target)
    runs = []
    started = time.perf_counter()
    for config in configs:
        runs.append(tapeapp.start_run(table.frame, schema, config, source_sha256=table.info.sha256).fit())
    trained = time.perf_counter() - started
    source = TableSource.upload(raw, table.info)
    state = {"target": target, "task": "", "roles": {}, "knobs": configs[0].to_dict(), "lesson": None}
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "store")
        session = new_id()
        t_table, _ = _timed(lambda: store.save_table(session, source), repeats)
        t_state, _ = _timed(lambda: store.save_state(session, state), repeats)
        t_save, _ = _timed(lambda: [store.save_run(session, i + 1, run, schema, {"table": file_name})
                                    for i, run in enumerate(runs)], repeats)
        t_check, _ = _timed(lambda: store.checkpoint_run(session, 1, runs[0], schema), repeats)
        parts = _parts(store.root / "sessions" / session)
        size = store.entry_bytes(session)
        t_load, kept = _timed(lambda: store.load_session(session), repeats)
        t_read, again = _timed(lambda: kept.table.read(), repeats)
        t_restore, _ = _timed(lambda: [restore_run(record, again.frame, schema) for record in kept.runs], repeats)
    t_zip, data = _timed(lambda: project_zip(runs[0], schema, source, state=state), 1)
    t_open, _ = _timed(lambda: open_project(data), repeats)
    sizes = [name, f"{len(table.frame):,} x {table.frame.shape[1]}", mb(len(raw)), mb(size), mb(parts["table"]),
             f"{parts['run.json'] / 1e3:,.0f} kB", f"{parts['weights'] / 1e3:,.0f} kB", mb(len(data))]
    times = [name, f"{trained:,.1f} s", _ms(t_table), _ms(t_state), _ms(t_save), _ms(t_check), _ms(t_load),
             _ms(t_read), _ms(t_restore), _ms(t_zip), _ms(t_open)]
    return sizes, times


def checkpoint_big(repeats: int) -> list:
    """A checkpoint of the biggest network the knobs allow (6 x 1024), one epoch into a run."""
    import tapeapp
    from tapeapp.keep.store import RunStore, new_id

    frame = heart_like(918)
    schema = tapeapp.inspect_frame(frame, target=HEART_LIKE_TARGET)
    run = tapeapp.start_run(frame, schema, tapeapp.TrainConfig(hidden=(1024,) * 6, epochs=2, batch_size=128))
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "store")
        session = new_id()
        epochs = run.epochs()
        next(epochs)  # one epoch done: the run is training, its weights those of epoch 1
        seconds, _ = _timed(lambda: store.checkpoint_run(session, 1, run, schema), repeats)
        size = store.entry_bytes(session)
        load, _ = _timed(lambda: store.load_session(session), repeats)
        epochs.close()
    return ["checkpoint (6 x 1024), epoch 1 of 2", mb(size), _ms(seconds), _ms(load)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50.0, help="size of the big CSV in MB (default 50)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20, help="epochs of each heart-like run (default 20)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import tapeapp

    big_mb, repeats, epochs = (1.0, 1, 3) if args.quick else (args.mb, args.repeats, args.epochs)
    print(machine())
    default = tapeapp.TrainConfig(epochs=epochs)
    other = tapeapp.TrainConfig(hidden=(128, 64), optimizer="adam", epochs=epochs, dropout=0.2, seed=1)
    heart = heart_like(918).to_csv(index=False).encode()
    small = measure("heart-like", heart, "heart.csv", HEART_LIKE_TARGET, [default, other], repeats)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wide.csv"
        write_wide_csv(path, max(1000, int(big_mb * 1e6 / _bytes_per_row())))
        raw = path.read_bytes()
    big_configs = [c.replace(epochs=2, batch_size=256) for c in (default, other)]
    big = measure(f"wide CSV ({mb(len(raw))})", raw, "wide.csv", "target", big_configs, repeats)
    sizes, times = [small[0], big[0]], [small[1], big[1]]
    print("\nSize of a session kept in the run store (2 runs), and of one run's project file:\n")
    print_table(sizes, ["table", "rows x columns", "file", "session on disk", "table part", "run.json (2)",
                        "weights (2)", "project .zip (1 run)"])
    print(f"\nTimes (median of {repeats}; 'save runs' and 'restore' are for both runs together):\n")
    print_table(times, ["table", "training (2 runs)", "save table", "save state", "save runs", "checkpoint",
                        "load session", "read table again", "restore (2)", "project .zip", "open project"])
    print()
    print_table([checkpoint_big(repeats)], ["worst case", "session on disk", "checkpoint", "load session"])


def _bytes_per_row() -> float:
    """About how many bytes one row of the wide CSV takes (from 2,000 rows)."""
    return len(wide_chunk(2000).to_csv(index=False).encode()) / 2000


if __name__ == "__main__":
    main()
