"""The network beside the simpler models: one table and one sentence, read from a finished (or running) Run.

An observer: it reads ``run.baselines`` (fitted by ``tapeapp.judge.baselines``) and the network's outputs on the
validation rows, and scores both with ``tapeapp.train.scores``; nothing here trains or fits.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from tapeapp.train.metrics import MAIN_METRIC, probabilities
from tapeapp.train.scores import better_by, main_score, validation_scores
from tapeapp.words import BASELINE_TITLES as TITLES
from tapeapp.words import BASELINE_WHY

if TYPE_CHECKING:
    from tapeapp.train.run import Run


def network_scores(run: Run) -> dict[str, float]:
    """The network's validation scores under the baselines' names, by the same scikit-learn code."""
    data = run.prepared
    raw = run.predict_proba_matrix(data.x_val).astype("float64")
    return validation_scores(run.task, data.y_val, raw if run.task == "regression" else probabilities(run.task, raw),
                             data)


def comparison_frame(run: Run) -> pd.DataFrame | None:
    """The network and each simpler model, one row each, with their validation scores; None until fitted."""
    base = run.baselines
    if base is None:
        return None
    rows = [{"model": "the network (tapeapp)", **network_scores(run)}]
    for name, score in base.scores.items():
        rows.append({"model": TITLES[name], **score.validation} if not score.error else
                    {"model": TITLES[name], "error": score.error})
    return pd.DataFrame(rows)


def network_score(run: Run) -> tuple[float, float]:
    """The main validation score of the weights the network holds now (what it exports), and its standard error."""
    data = run.prepared
    raw = run.predict_proba_matrix(data.x_val)
    output = raw.astype("float64") if run.task == "regression" else probabilities(run.task, raw.astype("float64"))
    return main_score(run.task, data.y_val, output, data)


def _phrase(task: str, score: float) -> str:
    return f"RMSE {score:,.4g}" if task == "regression" else f"{score:.0%} accuracy"


def _better(task: str, name: str, gap: float, network: float) -> str:
    """'Boosted trees do 7 points better' or 'A linear model's errors are 12% smaller'."""
    title = TITLES[name][0].upper() + TITLES[name][1:]
    if task == "regression":
        return f"{title}'s errors are {gap / network:.0%} smaller" if name != "mean" else f"{title} does better"
    points = round(gap * 100)
    return f"{title} {'do' if name == 'boosted_trees' else 'does'} {points} point{'s' if points != 1 else ''} better"


def compare_with_baselines(run: Run) -> str | None:
    """One sentence comparing the network with the simpler models, or None while they are not ready."""
    base = run.baselines
    usable = {n: s for n, s in (base.scores.items() if base else ())
              if not s.error and not (n == "majority" and run.config.class_weight == "balanced")}
    if not usable:
        return None
    task = run.task
    main = MAIN_METRIC[task]
    net, net_se = network_score(run)
    if not math.isfinite(net):
        return "The network's outputs are not numbers, so every simpler model does better: " + BASELINE_WHY["majority"]
    gaps = {n: better_by(task, s.validation[main], net) for n, s in usable.items()}
    noise = {n: math.hypot(net_se, s.standard_error) for n, s in usable.items()}
    best = max(gaps, key=gaps.get)
    if gaps[best] > noise[best]:
        return (f"{_better(task, best, gaps[best], net)} on this table ({_phrase(task, usable[best].validation[main])}"
                f" vs the network's {_phrase(task, net)}): {BASELINE_WHY[best]}")
    if all(-gaps[n] > noise[n] for n in usable):
        return (f"The network beats every simpler model ({_phrase(task, net)}; the best of them, {TITLES[best]}: "
                f"{_phrase(task, usable[best].validation[main])}).")
    return (f"The network scores about the same as {TITLES[best]} ({_phrase(task, net)} vs "
            f"{_phrase(task, usable[best].validation[main])}): the difference is within the validation score's noise.")
