"""The simpler models beside the network: do they slow it down, how do they score, and what does diagnose() say?

    python bench/baselines_check.py                      # speed check, then the bundled and generated tables
    python bench/baselines_check.py --csv heart.csv --target HeartDisease [--csv cars.csv --target Miles_per_Gallon]
    python bench/baselines_check.py --speed-only | --tables-only
    python bench/baselines_check.py --quick              # one repeat, one seed, few epochs: check that it runs

Speed: a default run of the generated heart-shaped table, timed alone and with the baselines fitting in the
background (and, to show why scikit-learn's native threads are limited to one, with them unlimited), the three
arms in turn so that each sees the same machine; plus what the baselines took. Tables: each table's default run
(seeds 0..N-1): the network's validation score (the weights it keeps, scored by scikit-learn like the baselines)
beside the three baselines, and the advice ``diagnose`` gave; with ``--apply`` each advised run is rerun with the
advice's changes. Errors: the formula standard errors of the main score beside a bootstrap of the validation rows.
"""

from __future__ import annotations

import argparse
import collections
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from _common import HEART_LIKE_TARGET, heart_like, machine, print_table, spread

BUNDLED = ("breast_cancer", "iris", "wine", "diabetes")


def timed_run(frame, target: str, config, arm: str) -> dict:
    """One run consumed like the page does; ``arm`` is 'alone', 'baselines' or 'unlimited' (no thread limit)."""
    from tapeapp import inspect_frame, start_run
    from tapeapp.judge import baselines as bl

    original = bl.threadpool_limits
    if arm == "unlimited":
        bl.threadpool_limits = lambda limits=None: original(limits=None)
    try:
        started = time.perf_counter()
        run = start_run(frame, inspect_frame(frame, target=target), config, baselines=arm != "alone")
        finished: list[float] = []
        if run.baselines_future is not None:
            run.baselines_future.add_done_callback(lambda _: finished.append(time.perf_counter()))
        walls, ends, last = [], [], time.perf_counter()
        for _ in run.epochs():
            now = time.perf_counter()
            walls.append(now - last)
            ends.append(now)
            last = now
        network_s = time.perf_counter() - started
        overlap = run.baselines is None and arm != "alone"  # still fitting when the network finished
        base = run.wait_baselines() if arm != "alone" else None
    finally:
        bl.threadpool_limits = original
    rest = walls[1:] or walls
    # epochs after the first that ended while the baselines were still fitting
    during = [w for w, end in zip(walls[1:], ends[1:]) if finished and end <= finished[0]]
    return {"ms": statistics.median(rest) * 1000, "during": during, "network_s": network_s,
            "epochs_per_s": 1 / statistics.median(rest),
            "baselines_s": base.seconds if base else math.nan, "overlap": overlap,
            "trees_s": base.scores["boosted_trees"].seconds if base else math.nan}


def speed(repeats: int, epochs: int, rows: int) -> None:
    from tapeapp import TrainConfig

    frame = heart_like(rows)
    config = TrainConfig(epochs=epochs)
    arms = ("alone", "baselines", "unlimited")
    timed_run(frame, HEART_LIKE_TARGET, config, "baselines")  # warm up TensorFlow and scikit-learn
    results = collections.defaultdict(list)
    for _ in range(repeats):
        for arm in arms:
            results[arm].append(timed_run(frame, HEART_LIKE_TARGET, config, arm))
    alone = statistics.median(r["ms"] for r in results["alone"])
    table = []
    for arm in arms:
        rs = results[arm]
        during = [w * 1000 for r in rs for w in r["during"]]
        table.append([{"alone": "network alone", "baselines": "with baselines in the background (1 thread)",
                       "unlimited": "with baselines, scikit-learn threads unlimited"}[arm],
                      spread([r["ms"] for r in rs], "{:.2f}"), spread([r["epochs_per_s"] for r in rs], "{:.0f}"),
                      f"{statistics.median(r['ms'] for r in rs) / alone:.2f}",
                      f"{statistics.median(during):.2f} ({len(during)} epochs)" if during else "-",
                      spread([r["network_s"] for r in rs], "{:.2f}"),
                      spread([r["baselines_s"] for r in rs], "{:.2f}") if arm != "alone" else "-",
                      f"{sum(r['overlap'] for r in rs)} of {len(rs)}" if arm != "alone" else "-"])
    print(f"\n### Baselines beside the network: speed (heart-shaped table, {rows:,} rows, default run, {epochs} "
          f"epochs; {repeats} repeats, arms in turn)\n\n{machine()}\n")
    print_table(table, ["run", "ms/epoch median (min-max)", "epochs/s", "ms/epoch vs alone",
                        "ms/epoch while the baselines were fitting (epochs after the first)",
                        "seconds to last epoch (incl. preparing, tracing)", "seconds the baselines took",
                        "baselines still fitting at the last epoch"])


def tables(args) -> list[tuple[str, object, str | None]]:
    from tapeapp import load_sample, read_table

    out = [(key, load_sample(key).frame, None) for key in BUNDLED]
    out.append(("heart-shaped (generated, 918 rows)", heart_like(), HEART_LIKE_TARGET))
    for path, target in zip(args.csv or [], args.target or []):
        out.append((Path(path).name, read_table(path).frame, target))
    return out


def one(frame, target, config) -> dict:
    from tapeapp import compare_with_baselines, diagnose, inspect_frame, start_baselines, start_run
    from tapeapp.judge.comparison import network_score

    run = start_run(frame, inspect_frame(frame, target=target), config, baselines=start_baselines)
    run.fit()
    base = run.wait_baselines()
    main = {"binary": "accuracy", "multiclass": "accuracy", "regression": "rmse"}[run.task]
    score = network_score(run)
    return {"run": run, "task": run.task, "main": main, "network": score[0], "error": score[1],
            "baselines": {n: (s.validation.get(main, math.nan), s.standard_error) for n, s in base.scores.items()},
            "advice": diagnose(run), "sampled": base.note, "comparison": compare_with_baselines(run),
            "rows": f"{len(run.prepared.y_train)} / {len(run.prepared.y_val)}"}


def fmt(task: str, value: float) -> str:
    return f"{value:,.4g}" if task == "regression" else f"{value * 100:.1f}"


def score_tables(args) -> None:
    from tapeapp import TrainConfig

    rows, messages, applied, compared = [], [], [], []
    for name, frame, target in tables(args):
        results = [one(frame, target, TrainConfig(seed=seed, epochs=args.epochs)) for seed in range(args.seeds)]
        first = results[0]
        task = first["task"]
        cell = lambda values, task=task: spread(values, "{:,.4g}" if task == "regression" else "{:.1f}")
        scale = 1.0 if task == "regression" else 100.0
        said = collections.Counter(a.code for r in results for a in r["advice"])
        baseline_cells = []
        for key in ("majority", "linear", "boosted_trees"):
            key = "mean" if key == "majority" and task == "regression" else key
            baseline_cells.append(cell([r["baselines"][key][0] * scale for r in results]))
        rows.append([name, task, first["rows"], "RMSE" if task == "regression" else "accuracy %",
                     cell([r["network"] * scale for r in results]) + f" ±{fmt(task, first['error'])}",
                     *baseline_cells,
                     ", ".join(f"{code} ({n}/{len(results)})" for code, n in said.items()) or "none"])
        compared.append(f"- {name}, seed 0: {first['comparison']}{' ' + first['sampled'] if first['sampled'] else ''}")
        for r_seed, r in enumerate(results):
            messages += [f"- {name}, seed {r_seed}: [{a.code}] {a.message}" for a in r["advice"]]
            if args.apply and r["advice"]:
                changes = {k: v for a in r["advice"] for k, v in a.changes.items()}
                if changes:
                    again = one(frame, target, r["run"].config.replace(**changes))
                    applied.append([name, r_seed, ", ".join(a.code for a in r["advice"]),
                                    ", ".join(f"{k}={v}" for k, v in changes.items()),
                                    fmt(task, r["network"]), fmt(task, again["network"]),
                                    ", ".join(a.code for a in again["advice"]) or "none"])
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(f"\n### The network beside the baselines (default run, {args.epochs} epochs, seeds 0-{args.seeds - 1}; "
          "validation rows)\n")
    print(f"{machine()}\n")
    print_table(rows, ["table", "task", "train / validation rows", "metric", "network median (min-max) ±SE",
                       "majority / mean", "linear", "boosted trees", "diagnose (runs saying it)"])
    print("\nWhat compare_with_baselines said:\n")
    print("\n".join(compared))
    print("\nWhat diagnose said:\n")
    print("\n".join(messages) or "(nothing)")
    if applied:
        print("\nWith the advice applied (the changes of every advice of that run, rerun once):\n")
        print_table(applied, ["table", "seed", "advice", "changes", "network before", "network after",
                              "diagnose after"])


def bootstrap_check(resamples: int) -> None:
    """The formula standard errors beside the spread of the score over resampled validation rows."""
    from tapeapp import TrainConfig, inspect_frame, load_sample, start_run
    from tapeapp.train.metrics import probabilities
    from tapeapp.train.scores import main_score

    rows = []
    for name, frame, target in [("heart-shaped", heart_like(), HEART_LIKE_TARGET),
                                ("diabetes", load_sample("diabetes").frame, None),
                                ("iris", load_sample("iris").frame, None)]:
        run = start_run(frame, inspect_frame(frame, target=target), TrainConfig()).fit()
        data = run.prepared
        out = run.predict_proba_matrix(data.x_val).astype("float64")
        out = out if run.task == "regression" else probabilities(run.task, out)
        score, error = main_score(run.task, data.y_val, out, data)
        rng = np.random.default_rng(0)
        draws = [main_score(run.task, data.y_val[i], out[i], data)[0]
                 for i in (rng.integers(0, len(out), len(out)) for _ in range(resamples))]
        rows.append([name, "RMSE" if run.task == "regression" else "accuracy", f"{score:.4g}", f"{error:.4g}",
                     f"{np.std(draws, ddof=1):.4g}"])
    print(f"\n### Standard error of the main validation score: formula vs bootstrap ({resamples} resamples)\n")
    print_table(rows, ["table", "score", "value", "formula SE", "bootstrap SE"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", action="append", help="another table (repeatable, with --target for each)")
    parser.add_argument("--target", action="append")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, default=918, help="rows of the heart-shaped table for the speed check")
    parser.add_argument("--apply", action="store_true", help="rerun advised runs with the advice's changes")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--tables-only", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if len(args.csv or []) != len(args.target or []):
        parser.error("give one --target per --csv")
    if args.quick:
        args.repeats, args.seeds, args.epochs = 1, 1, 5
    if not args.tables_only:
        speed(args.repeats, args.epochs, args.rows)
    if not args.speed_only:
        score_tables(args)
        bootstrap_check(200 if args.quick else 2000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
