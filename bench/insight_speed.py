"""What each 'What the network learned' view costs per refresh, and the decision map against scikit-learn's own.

    python bench/insight_speed.py                          # the generated heart-shaped table and a wide one
    python bench/insight_speed.py --csv heart.csv --target HeartDisease
    python bench/insight_speed.py --quick                  # tiny sizes: check that it runs

Each table is trained with the default knobs (60 epochs), then every view is timed on the trained run, median of
``--repeats`` calls (the first call, which builds and transforms what later calls reuse, is reported apart). The
decision map is compared with ``sklearn.inspection.partial_dependence`` (brute force, one prediction call per grid
point) on the same rows, grid and adapter: the same numbers, and the ratio of their times. One refresh of the live
page is the live decision map (24 x 24 grid, 40 rows) plus the hidden map (500 rows) plus the dots' predictions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import pandas as pd

from _common import HEART_LIKE_TARGET, heart_like, machine, print_table, wide_chunk


def _timed(call, repeats: int) -> tuple[float, float, object]:
    """(first call's seconds, median of the next ``repeats``, the last result)."""
    started = time.perf_counter()
    result = call()
    first = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return first, statistics.median(times) if times else first, result


def measure(name: str, frame: pd.DataFrame, target: str, repeats: int, epochs: int, sklearn_grid: int) -> list:
    from sklearn.inspection import partial_dependence

    import tapeapp
    from tapeapp.explain import insight
    from tapeapp.explain.estimator import rows_estimator

    schema = tapeapp.inspect_frame(frame, target=target)
    run = tapeapp.start_run(frame, schema, tapeapp.TrainConfig(epochs=epochs)).fit()
    x, y = insight.useful_columns(run)[:2]
    rows = []

    def add(view: str, call, reps: int = repeats) -> object:
        first, median, result = _timed(call, reps)
        rows.append([name, view, f"{first * 1000:,.1f}", f"{median * 1000:,.1f}"])
        return result

    add("useful columns (map's default axes, once per run)", lambda: insight.useful_columns(run), 0)
    add("decision map, live (24 x 24, 40 rows)", lambda: insight.decision_map(run, x, y, 24, 40))
    add("decision map, at rest (40 x 40, 100 rows)", lambda: insight.decision_map(run, x, y, 40, 100))
    add("dots on the map (500 rows)", lambda: insight.map_points(run, x, y))
    add("hidden map (500 rows)", lambda: insight.hidden_map(run, 500))
    add("importance (5 repeats, up to 2,000 rows)", lambda: insight.importance(run), 1)
    add("one step under the tape", lambda: tapeapp.explain_step(run), 1)

    grid_rows = 40
    ours = insight.decision_map(run, x, y, sklearn_grid, grid_rows)
    base = run.prepared.raw_val.iloc[insight.validation_positions(run, grid_rows)]
    gx, gy = insight.grid_values(run, x, sklearn_grid), insight.grid_values(run, y, sklearn_grid)
    table = pd.concat([base, base.iloc[[0] * len(gx)].assign(**{x: gx}), base.iloc[[0] * len(gy)].assign(**{y: gy})])
    estimator = rows_estimator(run, table)
    columns = list(estimator.columns)
    jx, jy, n = columns.index(x), columns.index(y), len(base)
    started = time.perf_counter()
    theirs = partial_dependence(estimator, estimator.identity(n), features=[jx, jy],
                                categorical_features=[True] * len(columns), kind="average",
                                custom_values={jx: n + np.arange(len(gx)), jy: n + len(gx) + np.arange(len(gy))})
    sklearn_seconds = time.perf_counter() - started
    _, ours_seconds, _ = _timed(lambda: insight.decision_map(run, x, y, sklearn_grid, grid_rows), repeats)
    if run.task == "multiclass":
        same = "argmax equal" if np.array_equal(ours["value"].to_numpy(), np.asarray(
            run.prepared.target_encoder.classes_)[theirs["average"].argmax(axis=0).reshape(-1)]) else "DIFFER"
    else:
        values = theirs["average"][0].reshape(-1)
        if run.task == "regression":
            values = run.prepared.target_encoder.decode_regression(values)
        same = f"max difference {np.abs(ours['value'].to_numpy() - values).max():.1e}"
    rows.append([name, f"scikit-learn partial_dependence ({sklearn_grid} x {sklearn_grid}, {grid_rows} rows)",
                 "", f"{sklearn_seconds * 1000:,.1f}"])
    rows.append([name, f"tapeapp decision_map, same grid: {same}", "", f"{ours_seconds * 1000:,.1f}"])
    rows.append([name, "-> tapeapp faster by", "", f"{sklearn_seconds / ours_seconds:,.0f}x"])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", help="a table of your own (with --target)")
    parser.add_argument("--target")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--sklearn-grid", type=int, default=12, help="grid side for the scikit-learn comparison")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.csv and not args.target:
        parser.error("--csv needs --target")
    if args.quick:
        args.repeats, args.epochs, args.sklearn_grid = 1, 2, 3

    import tapeapp

    tables = []
    if args.csv:
        tables.append((args.csv.rsplit("/", 1)[-1], tapeapp.read_table(args.csv).frame, args.target))
    else:
        tables.append(("heart-shaped (918 x 12)", heart_like(), HEART_LIKE_TARGET))
        tables.append(("wide (5,000 x 60)", wide_chunk(500 if args.quick else 5_000, 60), "target"))
    rows = []
    for name, frame, target in tables:
        rows += measure(name, frame, target, args.repeats, args.epochs, args.sklearn_grid)
    print(f"\n## insight_speed: each view per call, trained run ({args.epochs} epochs, default knobs)\n")
    print(f"{machine()}\n")
    print_table(rows, ["table", "view", "first call, ms", f"median of {args.repeats}, ms"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
