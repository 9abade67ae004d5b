"""Issue 20, goal 6: is every advice worth following? Apply each advice's changes where it is given and retrain.

    nice -n 10 python bench/advice_followed.py --quick        # the generated cases and heart.csv, seeds 0-1
    nice -n 10 python bench/advice_followed.py                # + the tables of bench/defaults_tables.py, seeds 0-4

For every case and seed: train, fit the simpler models, ``diagnose``; for each advice given, train again with its
``changes`` (same seed, same split) and record the change in the main validation score (accuracy, or R² for
quantities). ``baseline_better`` changes no knob: following it means using the simpler model it names, so its
change is that model's score minus the network's. ``imbalance`` is scored by balanced accuracy (the mean recall of
the classes), the score it promises to raise (its message says plain accuracy falls). Prints, per code, how often
it was given and the mean change.

Cases: runs made to show each symptom (as tests/test_advice.py makes them), the issue's heart.csv run (300 epochs at
learning rate 0.003, every epoch trained and the last kept), and the default run on each benchmark table. heart.csv
is read in place from TAPEAPP_HEART_CSV when set, and never copied.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's tapeapp, from anywhere

from _common import HEART_CSV  # noqa: E402  (bench/ is on the path: the scripts run from it)

HEART = HEART_CSV


def cases(quick: bool) -> list[tuple[str, pd.DataFrame, str, str | None, dict]]:
    """(name, table, target, task, knobs): generated symptoms, heart.csv's, then the benchmark tables' defaults."""
    from helpers.tables import make_binary, make_imbalanced, make_multiclass, make_noisy

    out = [
        ("lr_high (sgd 10)", make_binary(), "target", None, dict(optimizer="sgd", learning_rate=10.0, epochs=5,
                                                                  patience=0)),
        ("lr_low (sgd 1e-5)", make_binary(), "target", None, dict(optimizer="sgd", learning_rate=1e-5, epochs=10,
                                                                   patience=0)),
        ("underfit (1 neuron, l2 0.5)", make_binary(), "target", None, dict(hidden=(1,), l2=0.5, epochs=20,
                                                                             patience=0)),
        ("overfit (256x256, 100 ep.)", make_noisy(), "y", None, dict(hidden=(256, 256), epochs=100, patience=0)),
        ("imbalance (5 %)", make_imbalanced(), "y", None, dict(epochs=20, patience=0)),
        ("multiclass defaults", make_multiclass(), "species", None, {}),
    ]
    if HEART.exists():
        from tapeapp import read_table

        heart = read_table(HEART).frame
        out.append(("heart (300 ep., lr 0.003)", heart, "HeartDisease", None,
                    dict(epochs=300, learning_rate=0.003, patience=0)))
        out.append(("heart defaults", heart, "HeartDisease", None, {}))
    if not quick:
        import defaults_tables

        for key, entry in defaults_tables.TABLES.items():
            if key == "heart":
                continue
            try:
                out.append((f"{key} defaults", defaults_tables.load(key), entry.target, entry.task, {}))
            except Exception as error:  # noqa: BLE001  (a package not installed: say so and go on)
                print(f"skipped {key}: {error}", file=sys.stderr)
    return out


def score(run, code: str = "") -> float:
    """The main validation score; for ``imbalance``, the score that advice is about: balanced accuracy (the mean of
    every class's recall), which weighting the classes raises while plain accuracy falls, as its message says."""
    from tapeapp import evaluate

    evaluation = evaluate(run)
    if code == "imbalance":
        return float(evaluation.per_class["recall"].mean())
    headline = evaluation.headline
    return float(headline["r2"] if run.task == "regression" else headline["accuracy"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=None)
    args = parser.parse_args()
    from tapeapp import TrainConfig, diagnose, inspect_frame, start_baselines, start_run
    from tapeapp.train.metrics import MAIN_METRIC

    seeds = range(args.seeds if args.seeds is not None else (2 if args.quick else 5))
    changes: dict[str, list[float]] = defaultdict(list)
    started = time.perf_counter()
    for name, frame, target, task, knobs in cases(args.quick):
        schema = inspect_frame(frame, target=target, task=task)
        given: dict[str, list[float]] = defaultdict(list)
        for seed in seeds:
            config = TrainConfig(**knobs).replace(seed=seed)
            run = start_run(frame, schema, config, baselines=start_baselines).fit()
            for advice in diagnose(run, wait=300):
                before = score(run, advice.code)
                if advice.code == "baseline_better":
                    rival = max(run.baselines.scores.values(),
                                key=lambda s: -math.inf if s.error else
                                (s.validation.get("r2", -math.inf) if run.task == "regression"
                                 else s.validation[MAIN_METRIC[run.task]]))
                    after = rival.validation["r2" if run.task == "regression" else "accuracy"]
                else:
                    after = score(start_run(frame, schema, config.replace(**advice.changes)).fit(), advice.code)
                given[advice.code].append(after - before)
                changes[advice.code].append(after - before)
        shown = ", ".join(f"{code} ×{len(v)} {np.mean(v):+.4f}" for code, v in given.items()) or "no advice"
        print(f"{name:32s} {shown}", flush=True)
    print(f"\nper code, over every case and seed where it was given ({time.perf_counter() - started:.0f} s):")
    print(f"{'code':20s} {'given':>5s} {'mean change':>12s} {'± s.e.':>8s} {'helped':>6s}")
    for code, values in sorted(changes.items()):
        v = np.array(values)
        error = v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else math.nan
        print(f"{code:20s} {len(v):5d} {v.mean():+12.4f} {error:8.4f} {int((v > 0).sum()):6d}")


if __name__ == "__main__":
    main()
