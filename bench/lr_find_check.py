"""Does the learning-rate finder's suggestion train well? Suggested rates vs the default 1e-3, over seeds.

    python bench/lr_find_check.py                   # bundled tables + the generated heart-shaped one; 3 optimizers
    python bench/lr_find_check.py --seeds 10 --optimizers rmsprop
    python bench/lr_find_check.py --csv heart.csv --target HeartDisease --seeds 30 --optimizers rmsprop
    python bench/lr_find_check.py --quick            # one table, one seed, 3 epochs: check that it runs

For every table, optimizer and seed: one run with the default knobs (the seed changes the split, the initial
weights and the batch order), the range test on it (``tapeapp.find_learning_rate``: the run is untouched), then a
full training at each chosen rate, all from the same split and initial weights: the default 1e-3, tapeapp's
suggestion (``valley_scaled``), fastai's three rules (``valley``, ``steep``, ``minimum``) and multiples of the
valley rate (``--choices``). Scores are the validation accuracy (classification) or R2 (regression) after the
last epoch, what ``python -m tapeapp train`` reports; differences are paired per seed, mean +- standard error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np

from _common import HEART_LIKE_TARGET, heart_like, machine, print_table

SAMPLE_TABLES = ("breast_cancer", "iris", "wine", "diabetes")
DEFAULT_RATE = 1e-3


def load(name: str, csv: str | None, target: str | None):
    """(frame, schema) for a bundled sample, the generated heart-shaped table, or a file."""
    from tapeapp import inspect_frame, load_sample, read_table

    if name == "csv":
        frame = read_table(csv).frame
        return frame, inspect_frame(frame, target=target)
    if name == "heart_like":
        frame = heart_like()
        return frame, inspect_frame(frame, target=HEART_LIKE_TARGET)
    frame = load_sample(name).frame
    return frame, inspect_frame(frame)


def score(frame, schema, config) -> float:
    from tapeapp import start_run

    run = start_run(frame, schema, config).fit()
    return run.history[-1].validation["r2" if run.task == "regression" else "accuracy"]


# Rates to train at: 1e-3, each rule tapeapp implements, and multiples of the plain valley rate.
CHOICES: dict[str, Callable] = {
    "1e-3": lambda finding: DEFAULT_RATE,
    **{rule: (lambda finding, rule=rule: finding.suggestions[rule])
       for rule in ("valley_scaled", "valley", "steep", "minimum")},
    "valley/10": lambda finding: finding.suggestions["valley"] / 10,
    "valley/3": lambda finding: finding.suggestions["valley"] / 3,
    "valleyx10": lambda finding: finding.suggestions["valley"] * 10,
}


def one_seed(frame, schema, config, choices: list[str]) -> dict[str, tuple[float, float]]:
    """{choice: (rate, score)} for one seed; each distinct rate is trained once."""
    from tapeapp import find_learning_rate, start_run

    finding = find_learning_rate(start_run(frame, schema, config))
    rates = {choice: float(f"{CHOICES[choice](finding):.2g}") for choice in choices}
    scores: dict[float, float] = {}
    for rate in rates.values():
        if rate not in scores:
            scores[rate] = score(frame, schema, config.replace(learning_rate=rate))
    return {choice: (rate, scores[rate]) for choice, rate in rates.items()}


def mean_se(values: np.ndarray, scale: float) -> str:
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{values.mean() * scale:.2f} +- {se * scale:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=",".join((*SAMPLE_TABLES, "heart_like")),
                        help="comma-separated: breast_cancer, iris, wine, diabetes, heart_like")
    parser.add_argument("--csv", help="a table file instead of --tables")
    parser.add_argument("--target", help="the column to predict in --csv")
    parser.add_argument("--optimizers", default="rmsprop,adam,sgd")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--choices", default="1e-3,valley_scaled,valley,steep,minimum,valley/10,valley/3",
                        help=f"the rates to train at, comma-separated, starting with 1e-3: {', '.join(CHOICES)}")
    parser.add_argument("--quick", action="store_true", help="iris, rmsprop, one seed, 3 epochs")
    parser.add_argument("--per-seed", action="store_true", help="also print every seed's rates and scores")
    args = parser.parse_args(argv)
    if args.quick:
        args.tables, args.optimizers, args.seeds, args.epochs = "iris", "rmsprop", 1, 3
    tables = ["csv"] if args.csv else args.tables.split(",")

    from tapeapp import TrainConfig

    choices = args.choices.split(",")
    unknown = set(choices) - set(CHOICES)
    if unknown or choices[0] != "1e-3":
        parser.error(f"--choices starts with 1e-3 and takes {', '.join(CHOICES)}")
    headers = choices
    rate_rows, score_rows, diff_rows, seed_rows = [], [], [], []
    started = time.perf_counter()
    for name in tables:
        frame, schema = load(name, args.csv, args.target)
        label = args.csv if name == "csv" else name
        metric, scale = ("R2", 1.0) if schema.task == "regression" else ("accuracy %", 100.0)
        for optimizer in args.optimizers.split(","):
            results = []
            for seed in range(args.seeds):
                config = TrainConfig(optimizer=optimizer, seed=seed, epochs=args.epochs)
                results.append(one_seed(frame, schema, config, choices))
                seed_rows.append([label, optimizer, seed] + [f"{results[-1][c][0]:.2g}: {results[-1][c][1] * scale:.2f}"
                                                             for c in choices])
            rates = {c: np.array([r[c][0] for r in results]) for c in choices}
            scores = {c: np.array([r[c][1] for r in results]) for c in choices}
            rate_rows.append([label, optimizer] + [
                f"{np.median(rates[c]):.2g} ({rates[c].min():.2g}-{rates[c].max():.2g})" for c in choices[1:]])
            score_rows.append([label, optimizer, metric] + [mean_se(scores[c], scale) for c in choices])
            diff_rows.append([label, optimizer, metric] + [mean_se(scores[c] - scores["1e-3"], scale)
                                                            for c in choices[1:]])
            print(f"{label} {optimizer}: done ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    print(f"\n## Learning-rate finder: suggestions vs 1e-3; {args.epochs} epochs; seeds 0-{args.seeds - 1}; "
          f"default knobs otherwise")
    print(f"{machine()}\n")
    print("Suggested rates, median (min-max) over seeds:\n")
    print_table(rate_rows, ["table", "optimizer", *headers[1:]])
    print("\nValidation score after the last epoch, mean +- standard error over seeds:\n")
    print_table(score_rows, ["table", "optimizer", "metric", *headers])
    print("\nPaired difference vs 1e-3 (same split and initial weights), mean +- standard error:\n")
    print_table(diff_rows, ["table", "optimizer", "metric", *headers[1:]])
    if args.per_seed:
        print("\nPer seed, rate: score:\n")
        print_table(seed_rows, ["table", "optimizer", "seed", *headers])
    print(f"\n{time.perf_counter() - started:.0f} s in all", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
