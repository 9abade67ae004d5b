"""Issue 20, goal 1: the default run against the tutorial's recipe on heart.csv, seeds 0-9.

    nice -n 10 python bench/defaults_heart.py [--seeds 10] [--data PATH/heart.csv]

Each seed trains ``TrainConfig()`` (early stopping on held-back training rows, or 3-fold cross-validation below
1,000 training rows, best epoch kept) and ``preset("Tutorial")`` (60 epochs, the last kept, a random 40 % split, the
tutorial's preprocessing), and scores each on its own validation rows. The file is read where it is, never copied.
Prints both means, the paired difference (default minus tutorial) with its standard error, and the seconds.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import numpy as np

from _common import HEART_CSV  # noqa: E402  (bench/ is on the path: the scripts run from it)

DATA = HEART_CSV


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    from tapeapp import TrainConfig, evaluate, inspect_frame, preset, read_table, start_run

    frame = read_table(args.data).frame
    schema = inspect_frame(frame, target="HeartDisease")
    rows = []
    print(f"{'seed':>4}  {'default':>8}  {'epochs':>6}  {'kept':>4}  {'how':>6}  {'s':>5}  {'tutorial':>8}  {'s':>5}")
    for seed in range(args.seeds):
        out = {}
        for name, config in (("default", TrainConfig(seed=seed)), ("tutorial", preset("Tutorial").replace(seed=seed))):
            started = time.perf_counter()
            run = start_run(frame, schema, config).fit()
            out[name] = (evaluate(run).headline["accuracy"], time.perf_counter() - started, run)
        run = out["default"][2]
        print(f"{seed:4d}  {out['default'][0]:8.4f}  {len(run.history):6d}  {run.kept_epoch:4d}  {run.choice:>6}  "
              f"{out['default'][1]:5.1f}  {out['tutorial'][0]:8.4f}  {out['tutorial'][1]:5.1f}")
        rows.append((out["default"][0], out["tutorial"][0], out["default"][1], out["tutorial"][1]))
    default, tutorial, s_default, s_tutorial = (np.array(c) for c in zip(*rows))
    diff = default - tutorial
    error = statistics.stdev(diff) / math.sqrt(len(diff)) if len(diff) > 1 else math.nan
    print(f"\nmean accuracy: default {default.mean():.4f}, tutorial {tutorial.mean():.4f}")
    print(f"paired difference (default - tutorial): {diff.mean():+.4f} ± {error:.4f} (one standard error); "
          f"better on {int((diff > 0.005).sum())}, level on {int((abs(diff) <= 0.005).sum())}, "
          f"worse on {int((diff < -0.005).sum())} of {len(diff)} seeds")
    print(f"seconds per run: default {s_default.mean():.1f}, tutorial {s_tutorial.mean():.1f}")


if __name__ == "__main__":
    main()
