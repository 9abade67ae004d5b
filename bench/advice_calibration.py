"""The runs behind diagnose()'s thresholds: clean default runs and runs broken on purpose, with the numbers each
rule reads and what diagnose says.

    python bench/advice_calibration.py            # ~100 runs, ~10 minutes on 2 cores
    python bench/advice_calibration.py --quick    # a few of them

Columns: ``climb`` is the largest rise of the training loss above its lowest so far, as a ratio and as a share of
the loss of knowing nothing (learning_rate_high needs both >= 1.5 and >= 0.1); ``rise`` is how much the validation
loss rose after its lowest epoch ``best`` and ``fell/SE`` how far the main score fell since, in standard errors
(overfitting: > 10 % and > 1); ``steady`` is the share of the last half's epochs in which the validation loss fell
and ``way`` how far it got from knowing nothing to the best simpler model's loss (learning_rate_low: >= 0.8, < 0.5);
``linear``/``trees`` are how much better those baselines score than the network, in combined standard errors.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
import pandas as pd

from _common import heart_like, print_table


def sawtooth(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Alternating bands of one number: trees find the cut points, a small network barely starts."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": (np.floor(x * 1.5) % 2).astype(int)})


def imbalanced(n: int = 400, seed: int = 0, share: float = 0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    s = a + 0.5 * b + rng.normal(0, 1.0, n)
    return pd.DataFrame({"a": a, "b": b, "y": (s > np.quantile(s, 1 - share)).astype(int)})


def noisy(n: int = 200, seed: int = 0, noise: float = 1.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    y = (x[:, 0] + rng.normal(0, noise, n) > 0).astype(int)
    return pd.DataFrame({**{f"x{i}": x[:, i] for i in range(10)}, "y": y})


def linear(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    return pd.DataFrame({**{f"x{i}": x[:, i] for i in range(5)},
                         "y": x @ np.array([3, -2, 1, 0.5, 0]) + rng.normal(0, 0.3, n)})


def steps(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, c = rng.uniform(0, 1, n), rng.choice(list("abcdefgh"), n)
    return pd.DataFrame({"x": x, "c": c, "z": rng.normal(size=n),
                         "y": ((x > 0.5) ^ np.isin(c, list("aceg"))).astype(int)})


def sparse(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 31))
    y = (x[:, 0] + rng.normal(0, 0.2, n) > 0).astype(int)
    return pd.DataFrame({**{f"x{i}": x[:, i] for i in range(31)}, "y": y})


def tables() -> dict:
    sys.path.insert(0, str(__import__("_common").ROOT / "tests"))
    from helpers.tables import make_binary, make_multiclass, make_regression
    from tapeapp import load_sample

    out = {"heart": lambda s: (heart_like(seed=s), "disease"),
           "heart20k": lambda s: (heart_like(20_000, seed=s), "disease"),
           "sawtooth": lambda s: (sawtooth(seed=s), "y"), "sawtooth1k": lambda s: (sawtooth(1000, seed=s), "y"),
           "imbalanced": lambda s: (imbalanced(seed=s), "y"), "imbalanced1k": lambda s: (imbalanced(1000, seed=s), "y"),
           "imbalanced10": lambda s: (imbalanced(seed=s, share=0.1), "y"), "noisy": lambda s: (noisy(seed=s), "y"),
           "linear": lambda s: (linear(seed=s), "y"), "steps": lambda s: (steps(seed=s), "y"),
           "sparse": lambda s: (sparse(seed=s), "y"), "make_binary": lambda s: (make_binary(seed=s), "target"),
           "make_multiclass": lambda s: (make_multiclass(seed=s), "species"),
           "make_regression": lambda s: (make_regression(seed=s), "price")}
    for key in ("breast_cancer", "iris", "wine", "diabetes"):
        out[key] = (lambda k: lambda s: (load_sample(k).frame, None))(key)
    return out


def plan(quick: bool) -> list[tuple[str, int, str | None, dict]]:
    """(table, table seed, preset, knobs): clean runs first, then broken ones."""
    if quick:
        return [("make_binary", 0, None, {"epochs": 10}), ("make_binary", 0, None, {"optimizer": "sgd",
                "learning_rate": 10.0, "epochs": 3}), ("imbalanced", 0, None, {"epochs": 10})]
    runs = [("heart", s, None, {"seed": s}) for s in range(5)]
    runs += [(k, 0, None, {"seed": s}) for k in ("breast_cancer", "iris", "wine", "diabetes") for s in range(3)]
    runs += [(k, s, None, {"seed": s}) for k in ("make_binary", "make_multiclass", "make_regression") for s in range(3)]
    runs += [("heart", 0, p, {}) for p in ("quick_look", "bigger_network", "careful", "tutorial")]
    runs += [("heart20k", s, None, {"epochs": 15, "seed": s}) for s in range(2)]
    runs += [("noisy", s, None, {"seed": s}) for s in range(3)]
    runs += [("heart", 0, None, kw) for kw in (
        {"dropout": 0.5}, {"dropout": 0.3, "hidden": (256, 256)}, {"class_weight": "balanced"},
        {"optimizer": "adam", "learning_rate": 0.05}, {"optimizer": "adam", "learning_rate": 0.1},
        {"optimizer": "adam", "learning_rate": 0.3}, {"optimizer": "rmsprop", "learning_rate": 0.03},
        {"optimizer": "rmsprop", "learning_rate": 0.1}, {"optimizer": "sgd", "learning_rate": 0.1},
        {"optimizer": "sgd", "learning_rate": 0.3}, {"optimizer": "sgd", "learning_rate": 10.0},
        {"optimizer": "sgd", "learning_rate": 1e-5, "epochs": 20},
        {"optimizer": "sgd", "learning_rate": 1e-4, "epochs": 20},
        {"optimizer": "sgd", "learning_rate": 1e-3, "epochs": 20}, {"optimizer": "rmsprop", "learning_rate": 1e-5},
        {"optimizer": "rmsprop", "learning_rate": 1e-5, "epochs": 20},
        {"optimizer": "adam", "learning_rate": 1e-4, "epochs": 15},
        {"epochs": 5}, {"hidden": (1,), "epochs": 20}, {"hidden": (2,), "l2": 0.5},
        {"hidden": (4,), "l2": 0.1, "epochs": 30},
        {"l2": 1.0, "epochs": 30}, {"hidden": (1,), "l2": 0.3}, {"hidden": (1,), "activation": "sigmoid"})]
    runs += [("diabetes", 0, None, kw) for kw in ({"optimizer": "adam", "learning_rate": 0.1},
             {"optimizer": "sgd", "learning_rate": 0.3}, {"optimizer": "sgd", "learning_rate": 1e-5, "epochs": 20},
             {"hidden": (2,), "l2": 0.5})]
    runs += [("make_regression", 0, None, kw) for kw in ({"optimizer": "rmsprop", "learning_rate": 0.1},
             {"hidden": (2,), "l2": 0.5}, {"epochs": 5})]
    runs += [("breast_cancer", 0, None, {"optimizer": "adam", "learning_rate": 0.1}),
             ("iris", 0, None, {"optimizer": "adam", "learning_rate": 0.1}),
             ("wine", 0, None, {"optimizer": "rmsprop", "learning_rate": 0.05}),
             ("make_multiclass", 0, None, {"class_weight": "balanced"})]
    runs += [("noisy", s, None, {"hidden": (256, 256), "epochs": 150, "seed": s}) for s in range(3)]
    runs += [("linear", 0, None, kw) for kw in ({}, {"hidden": (1,), "l2": 0.3}, {"hidden": (2,), "epochs": 10})]
    runs += [("sawtooth", s, None, {"seed": s}) for s in range(3)]
    runs += [("sawtooth", 0, None, {"hidden": (8,), "epochs": 30}), ("sawtooth1k", 0, None, {})]
    runs += [("imbalanced", s, None, {"seed": s}) for s in range(3)]
    runs += [("imbalanced1k", s, None, {"seed": s}) for s in range(2)] + [("imbalanced10", s, None, {"seed": s})
                                                                           for s in range(2)]
    runs += [(k, 0, None, {"class_weight": "balanced"}) for k in ("imbalanced", "imbalanced1k", "imbalanced10")]
    runs += [(k, s, None, {"seed": s}) for k in ("steps", "sparse") for s in range(3)]
    runs += [(k, 0, None, {"hidden": (16,), "epochs": 20}) for k in ("steps", "sparse")]
    return runs


def measure(table: str, table_seed: int, preset_name: str | None, knobs: dict, makers: dict) -> list:
    from tapeapp import TrainConfig, inspect_frame, preset, start_baselines, start_run
    from tapeapp.judge.advice import advise, evidence
    from tapeapp.train.scores import better_by

    frame, target = makers[table](table_seed)
    config = (preset(preset_name) if preset_name else TrainConfig()).replace(**knobs)
    run = start_run(frame, inspect_frame(frame, target=target), config, baselines=start_baselines).fit()
    ev = evidence(run, wait=600)
    name = f"{table} {table_seed}" + (f" {preset_name}" if preset_name else "") + (f" {knobs}" if knobs else "")
    codes = ", ".join(a.code for a in advise(ev)) or "none"
    if run.stopped_because == "not_finite":
        return [name, len(ev.train_loss), "not finite", "", "", "", "", "", "", "", codes]
    loss, val = np.asarray(ev.train_loss), np.asarray(ev.val_loss)
    lowest = np.minimum.accumulate(loss)
    best, n = int(np.argmin(val)), len(val)
    gap = {r.name: better_by(ev.task, r.score, ev.score) / math.hypot(ev.error, r.error) for r in ev.rivals}
    targets = [r.loss for r in ev.rivals if r.name in ("linear", "boosted_trees")]
    way = ((ev.know_nothing_loss - val[-1]) / (ev.know_nothing_loss - min(targets))
           if targets and ev.know_nothing_loss > min(targets) else math.nan)
    steady = float(np.mean(np.diff(val[n // 2:]) < 0)) if n > 3 else math.nan
    fell = better_by(ev.task, ev.val_main[best], ev.val_main[-1]) / ev.error
    return [name, n, f"{(loss / lowest).max():.2f} / {((loss - lowest) / ev.know_nothing_train_loss).max():.3f}",
            best + 1, f"{val[-1] / val[best] - 1:.2f}", f"{fell:.2f}", f"{steady:.2f}", f"{way:.2f}",
            f"{gap.get('linear', math.nan):.1f}", f"{gap.get('boosted_trees', math.nan):.1f}", codes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from _common import machine

    makers = tables()
    rows = []
    for item in plan(args.quick):
        rows.append(measure(*item, makers))
        print(rows[-1][0], "->", rows[-1][-1], file=sys.stderr, flush=True)
    print(f"\n### The runs behind diagnose()'s thresholds\n\n{machine()}\n")
    print_table(rows, ["run", "epochs", "climb ratio / share", "best", "rise", "fell/SE", "steady", "way",
                       "linear (SE)", "trees (SE)", "diagnose"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
