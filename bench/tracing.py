"""What tracing a new graph costs a run: the compiled epoch traced once with the rows left open (input signatures),
against the same runner traced as TensorFlow's ``reduce_retracing`` does (a concrete trace for the first number of
rows, a second, open one for the next), in the same process, arms in turn.

    python bench/tracing.py               # 8 tables x 2 arms x 2 kinds of run
    python bench/tracing.py --tables 3    # a quick check that it runs

Each table has its own number of inputs, so every run builds and traces a new graph (nothing from the pool). A
default run on a small table trains three folds (each its own number of rows) and then all its training rows: with
``reduce_retracing`` that traced the epoch three times; a run without early stopping trains one set of rows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from _common import machine, print_table
from tapeapp import TrainConfig, inspect_frame, start_run
from tapeapp._tf import tf
from tapeapp.train.loop import EpochRunner
from tapeapp.train.runners import POOL

GRAPHS = ("_epoch", "_steps", "_train_scores", "_score_rows", "_score_at")


def _table(width: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(300, width)), columns=[f"c{i}" for i in range(width)])
    frame["y"] = (frame["c0"] + rng.normal(size=300) > 0).astype(int)
    return frame


def _retracing(runner: EpochRunner) -> None:
    """The peer: each compiled call as a ``tf.function`` without a signature, ``reduce_retracing=True``."""
    for name in GRAPHS:
        setattr(runner, name, tf.function(getattr(runner, f"{name}_graph"), reduce_retracing=True))


def _timed_run(frame: pd.DataFrame, patience: int, peer: bool) -> tuple[float, int]:
    POOL.clear()
    run = start_run(frame, inspect_frame(frame, target="y"), TrainConfig(epochs=5, patience=patience))
    made = run.make_runner
    if peer:
        def make_runner():
            runner = made()
            _retracing(runner)
            return runner
        run.make_runner = make_runner
    traces = []
    original = run._hand_back

    def counted() -> None:
        traces.append(run.runner._epoch.experimental_get_tracing_count())
        original()

    run._hand_back = counted
    started = time.perf_counter()
    run.fit()
    return time.perf_counter() - started, traces[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=8)
    args = parser.parse_args()
    _timed_run(_table(20, 99), 0, False)  # TensorFlow's first graph pays one-off costs: not counted
    totals: dict[tuple[str, str], list[float]] = {}
    traces: dict[tuple[str, str], int] = {}
    for k in range(args.tables):
        for kind, patience in (("default (3 folds, then the run)", 20), ("patience 0 (one set of rows)", 0)):
            for arm, peer in (("rows left open", False), ("reduce_retracing", True)) if k % 2 else (
                    ("reduce_retracing", True), ("rows left open", False)):
                seconds, count = _timed_run(_table(2 + k, k), patience, peer)
                totals.setdefault((kind, arm), []).append(seconds)
                traces[(kind, arm)] = count
    print(machine())
    rows = []
    for kind in ("default (3 folds, then the run)", "patience 0 (one set of rows)"):
        open_, peer = totals[(kind, "rows left open")], totals[(kind, "reduce_retracing")]
        for arm, values in (("rows left open", open_), ("reduce_retracing", peer)):
            rows.append([kind, arm, traces[(kind, arm)], f"{np.median(values):.3f}", f"{sum(values):.2f}",
                         f"{sum(values) / sum(open_):.2f}"])
    print_table(rows, ["run (5 epochs, 300 rows, a new graph each)", "epoch traced as", "traces of the epoch",
                       "seconds per run (median)", f"seconds, {args.tables} tables", "vs rows left open"])


if __name__ == "__main__":
    main()
