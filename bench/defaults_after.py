"""Issue 20 after the change: tapeapp's default run, as the core now does it, against guessing and boosted trees.

    nice -n 10 python bench/defaults_after.py                 # the 28 tables of bench/defaults_tables.py, seeds 0-1
    nice -n 10 python bench/defaults_after.py --quick         # 4 small tables, seed 0
    python bench/defaults_after.py --before PATH.jsonl        # also the old default's scores from bench/defaults.py

For every table and seed: ``start_run(frame, inspect_frame(frame, target=documented, task=documented),
TrainConfig(seed=s)).fit()``, nothing else (early stopping or cross-validation, the signed log and the levels are
the core's own now), scored on its validation rows; the simpler models from ``fit_baselines`` on the same rows.
With ``--before`` (the results file ``bench/defaults.py`` wrote), the old default (``current``: 60 epochs, the last
kept) is read from there and printed beside it: the same tables, seeds and splits.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import defaults_tables

from _common import machine, print_table

BAR = {"regression": 0.05}  # behind the trees by at most this (R^2); 0.03 for accuracy
GUESS_SLACK = 0.01


def _before(path: Path | None) -> dict[tuple[str, int], float]:
    """The old default's last-epoch validation score per (table, seed), from bench/defaults.py's results."""
    if path is None or not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        item = json.loads(line)
        if item.get("variant") == "current" and item["result"].get("outer"):
            out[(item["table"], item["seed"])] = item["result"]["outer"][-1]
    return out


def one(key: str, seed: int) -> dict:
    from tapeapp import TrainConfig, fit_baselines, inspect_frame, start_run

    entry = defaults_tables.TABLES[key]
    frame = defaults_tables.load(key)
    started = time.perf_counter()
    run = start_run(frame, inspect_frame(frame, target=entry.target, task=entry.task), TrainConfig(seed=seed)).fit()
    seconds = time.perf_counter() - started
    metric = "r2" if run.task == "regression" else "accuracy"
    scores = {name: (s.validation.get(metric, math.nan) if not s.error else math.nan)
              for name, s in fit_baselines(run.prepared, frame, seed=seed).scores.items()}
    return {"task": run.task, "network": run.final_metrics()[1].get(metric, math.nan),
            "guess": scores.get("majority", scores.get("mean")), "trees": scores["boosted_trees"],
            "choice": run.choice, "epochs": len(run.history), "kept": run.kept_epoch,
            "chosen": run.chosen_epochs, "seconds": seconds}


def _within(result: dict, score: float) -> bool:
    return score >= result["trees"] - BAR.get(result["task"], 0.03)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--tables", help="comma-separated keys (default: all)")
    parser.add_argument("--before", type=Path, help="bench/defaults.py's results file, for the old default")
    args = parser.parse_args()
    every = defaults_tables.QUICK if args.quick else defaults_tables.TABLES
    keys = args.tables.split(",") if args.tables else list(every)
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    before = _before(args.before)
    print(machine())
    rows, results = [], []
    for key in keys:
        for seed in seeds:
            result = one(key, seed)
            old = before.get((key, seed))
            results.append((result, old))
            how = {"folds": f"CV chose {result['chosen']}", "inner": f"kept {result['kept']} of {result['epochs']}",
                   "validation": f"kept {result['kept']}", "last": f"{result['epochs']} epochs"}[result["choice"]]
            rows.append([key, seed, result["task"], f"{result['guess']:.3f}", f"{result['trees']:.3f}",
                         "" if old is None else f"{old:.3f}", f"{result['network']:.3f}",
                         f"{result['network'] - result['trees']:+.3f}", how, f"{result['seconds']:.1f}"])
            print(" | ".join(map(str, rows[-1])), flush=True)
    print()
    print_table(rows, ["table", "seed", "task", "guess", "trees", "before", "now", "now - trees", "epochs",
                       "seconds"])
    n = len(results)
    within = sum(_within(r, r["network"]) for r, _ in results)
    below = sum(r["network"] < r["guess"] - GUESS_SLACK for r, _ in results)
    gap = statistics.mean(r["network"] - r["trees"] for r, _ in results)
    worst = min(r["network"] - r["trees"] for r, _ in results)
    summary = [["now (the core's defaults)", f"{within} of {n}", below, f"{gap:+.4f}", f"{worst:+.3f}",
                f"{sum(r['seconds'] for r, _ in results):.0f}"]]
    paired = [(r, old) for r, old in results if old is not None]
    if paired:
        summary.insert(0, ["before (60 epochs, last kept)", f"{sum(_within(r, o) for r, o in paired)} of {len(paired)}",
                           sum(o < r["guess"] - GUESS_SLACK for r, o in paired),
                           f"{statistics.mean(o - r['trees'] for r, o in paired):+.4f}",
                           f"{min(o - r['trees'] for r, o in paired):+.3f}", ""])
        diffs = [r["network"] - o for r, o in paired]
        se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.nan
        print(f"\nPaired, now minus before: {statistics.mean(diffs):+.4f} +- {se:.4f} over {len(diffs)} runs")
    print()
    print_table(summary, ["default", "within 0.03 acc / 0.05 R² of trees", "> 0.01 below the guess",
                          "mean gap to trees", "worst gap", "seconds, all runs"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
