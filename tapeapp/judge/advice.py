"""What to change after a run: plain advice read from the history, the baselines and the class counts.

``diagnose(run)`` returns a list of frozen ``Advice`` (``code``, a one- or two-sentence ``message`` citing the
evidence, and ``changes`` valid for ``TrainConfig.replace(**changes)``). A clean run gets none, and nothing within
the validation score's own noise counts: a difference must exceed its standard error (accuracy: binomial, with
Agresti and Coull's adjustment; RMSE: the delta method on the squared errors; two models: the two combined).

The thresholds come from the measured runs of ``bench/advice_calibration.py`` (results in bench/README.md): default
runs of the bundled and generated tables on several seeds, and runs broken on purpose. Gradient norms were measured
too but did not separate the cases (clean runs on breast cancer and wine reached 13-38 times their median gradient
norm as their loss neared zero, as much as runs with far too high learning rates), so no rule reads them.

Several advices may hold at once. A high learning rate stands in for ``learning_rate_low`` and ``underfitting``
(their signs are the overshooting's echo) but never hides ``overfitting``, ``imbalance`` or ``baseline_better``.

- ``learning_rate_high``: the NaN guard stopped the run, or the training loss climbed back to ``CLIMB_RATIO``
  (1.5) times its lowest value so far and by at least ``CLIMB_SHARE`` (a tenth) of the loss of knowing nothing.
  Runs without advice climbed at most 1.39 times (a 5 % class) or, when more, by at most 0.017 of that loss
  (losses near zero); Adam at 0.05-0.3, RMSprop at 0.1 and SGD at 0.1-0.3 climbed 1.6-72,000 times and by
  0.16-1,640 (RMSprop at 0.03, 1.28 times, is called overfitting instead). Change: the learning rate / 10.
- ``overfitting`` (no early stopping): the validation loss was lowest ``MIN_EPOCHS_SINCE`` epochs or more (and a
  tenth of the run) before the end, rose by more than ``RISE`` since, and the main score fell by more than its
  standard error since that epoch. Validation loss alone is not enough: on breast cancer it rose 150-230 % while
  accuracy stayed put, which is confidence growing, not harm. Change: early stopping with patience 10 (the
  lowest point came at epochs 1-20 in the runs so advised) and dropout 0.2; on diabetes this took the RMSE from
  58-62 to 54-56 and left no advice (bench/README.md).
- ``learning_rate_low``: the validation loss was still falling in at least ``STEADY`` of the last half's epochs
  and was lowest in the last tenth, yet it had gone less than ``SLOW`` of the way from knowing nothing to the best
  simpler model's loss, and that model scores better by more than the noise. SGD and RMSprop at 1e-5 and 1e-4
  got 0.07-0.30 of the way; fine runs still falling steadily at the end (iris, 5 epochs, SGD at 1e-3, Adam at
  1e-4) had gone 0.59-1.17 of it. Change: the learning rate x 10.
- ``underfitting``: a simpler model scores better by more than the noise, and either the network does not reach
  that score even on its own training rows, or its validation loss was still falling (fast: else it is
  ``learning_rate_low``) or at least at its lowest in the last epoch when training ended. Changes: with strong L2
  (above 0.01, ten times the Careful preset's) or layers narrower than 4, loosen them; else twice the epochs when
  still improving, or wider layers. Not given when early stopping or cross-validation already chose the number of
  epochs: more epochs were tried there, and ``baseline_better`` says the simpler model is the better tool.
- ``imbalance``: a class under 20 % of the training rows (and under half its even share, for many classes), the
  network finds less than half of its validation rows even allowing one standard error, and classes are not
  weighted. Change: ``class_weight="balanced"``.
- ``baseline_better``: a simpler model scores better by more than the combined standard error, and no learning-
  rate or underfitting advice already explains it. With balanced class weights the majority guess is no rival.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tapeapp.config import TrainConfig
from tapeapp.judge.baselines import training_positions
from tapeapp.judge.comparison import network_score
from tapeapp.train.metrics import MAIN_METRIC, probabilities
from tapeapp.train.scores import better_by, main_score
from tapeapp.words import BASELINE_TITLES as TITLES
from tapeapp.words import BASELINE_WHY

if TYPE_CHECKING:
    from tapeapp.train.run import Run

CODES = ("learning_rate_high", "learning_rate_low", "underfitting", "overfitting", "imbalance", "baseline_better")
CLIMB_RATIO = 1.5
CLIMB_SHARE = 0.1
RISE = 0.10
MIN_EPOCHS_SINCE = 5
STEADY = 0.8
SLOW = 0.5
STRONG_L2 = 0.01
NARROW = 4
RARE_SHARE = 0.2
WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class Advice:
    """One thing to change: a code from ``CODES``, the reason in plain words, and the knobs to set."""

    code: str
    message: str
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rival:
    """A simpler model's validation score beside the network's."""

    name: str
    score: float
    error: float
    loss: float


@dataclass(frozen=True)
class ClassCount:
    label: str
    train_share: float
    val_found: int
    val_rows: int


@dataclass(frozen=True)
class Evidence:
    """Everything ``advise`` reads, taken from a run once (so the rules are plain functions of numbers)."""

    task: str
    config: TrainConfig
    stop_reason: str
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    val_main: tuple[float, ...]
    score: float  # the network's main validation score, weights as kept
    error: float  # its standard error
    train_score: float  # the same score on (up to 200,000 of) its training rows
    know_nothing_loss: float  # validation loss of always answering the training rows' class shares / mean
    know_nothing_train_loss: float  # the same on the training rows, weighted as the network's loss weights them
    rivals: tuple[Rival, ...] = ()
    classes: tuple[ClassCount, ...] = ()
    chosen: bool = False  # early stopping ended the run, or cross-validation chose its number of epochs

    @property
    def main(self) -> str:
        return MAIN_METRIC[self.task]


def evidence(run: Run, wait: float = WAIT_SECONDS) -> Evidence:
    """Read a finished run, waiting up to ``wait`` seconds for its baselines (without them, fewer rules apply)."""
    data, task, config = run.prepared, run.task, run.config
    main = MAIN_METRIC[task]
    history = run.history
    finite = run.stopped_because != "not_finite"
    score, error = network_score(run) if finite else (math.nan, math.nan)
    rows = training_positions(data, config.seed)
    train_out = run.predict_proba_matrix(data.x_train[rows]).astype("float64") if finite else None
    if train_out is not None and task != "regression":
        train_out = probabilities(task, train_out)
    train_score = main_score(task, data.y_train[rows], train_out, data)[0] if finite else math.nan
    classes: tuple[ClassCount, ...] = ()
    if task == "regression":
        know_nothing = float(np.mean(data.y_val.astype("float64") ** 2))  # standardised units: the mean is 0
        know_nothing_train = 1.0
    else:
        n_classes = len(data.target_encoder.classes_)
        shares = np.bincount(data.y_train, minlength=n_classes) / len(data.y_train)
        know_nothing = float(-np.mean(np.log(np.clip(shares[data.y_val], 1e-7, 1))))
        present = shares[shares > 0]
        # balanced weights make every class count the same: knowing nothing is then a uniform guess, log(classes)
        know_nothing_train = float(np.log(len(present)) if config.class_weight == "balanced"
                                   else -(present * np.log(present)).sum())
        if finite:
            found = run.predict_proba_matrix(data.x_val)
            found = np.nan_to_num(probabilities(task, found)).argmax(axis=1)
            classes = tuple(ClassCount(str(label), float(shares[k]), int(((found == k) & (data.y_val == k)).sum()),
                                       int((data.y_val == k).sum()))
                            for k, label in enumerate(data.target_encoder.classes_))
    base = run.wait_baselines(wait)
    rivals = tuple(Rival(name, s.validation[main], s.standard_error, s.validation["loss"])
                   for name, s in (base.scores.items() if base else ())
                   if not s.error and not (name == "majority" and config.class_weight == "balanced"))
    return Evidence(task=task, config=config, stop_reason=run.stopped_because,
                    train_loss=tuple(u.train["loss"] for u in history),
                    val_loss=tuple(u.validation["loss"] for u in history),
                    val_main=tuple(u.validation[main] for u in history),
                    score=score, error=error, train_score=train_score, know_nothing_loss=know_nothing,
                    know_nothing_train_loss=know_nothing_train,
                    rivals=rivals, classes=classes,
                    chosen=run.stopped_because == "early_stopping" or run.chosen_epochs > 0)


def diagnose(run: Run, wait: float = WAIT_SECONDS) -> list[Advice]:
    """Advice for a trained run, most basic first; an empty list for a clean run (or one not trained yet)."""
    if not run.history:
        return []
    return advise(evidence(run, wait))


def advise(ev: Evidence) -> list[Advice]:
    """The rules of this module's docstring, applied to numbers read from a run."""
    if not ev.train_loss:
        return []
    high = _learning_rate_high(ev)
    found = [high] if high else [a for a in (_learning_rate_low(ev),) if a]
    if not found:  # slow or overshooting steps explain a network held back: no other remedy for that
        found += [a for a in (_underfitting(ev),) if a]
    found += [a for a in (_overfitting(ev), _imbalance(ev)) if a]
    if not any(a.code in ("learning_rate_low", "underfitting") for a in found):
        found += [a for a in (_baseline_better(ev),) if a]
    return found


# ------------------------------------------------------------------------------------------------ the rules

def _lr(value: float) -> str:
    return f"{value:g}"


def _points(ev: Evidence, value: float) -> str:
    """A difference or an error in the main score's units: accuracy points, or the target's units for RMSE."""
    return f"{value:,.3g}" if ev.task == "regression" else f"{value * 100:.1f} points"


def _score(ev: Evidence, value: float) -> str:
    return f"RMSE {value:,.4g}" if ev.task == "regression" else f"{value:.0%} accuracy"


def _best_rival(ev: Evidence) -> tuple[Rival | None, float]:
    """The simpler model that beats the network by the most, if by more than the combined standard error."""
    best, margin = None, 0.0
    for rival in ev.rivals:
        gap = better_by(ev.task, rival.score, ev.score)
        if gap > math.hypot(ev.error, rival.error) and gap > margin:
            best, margin = rival, gap
    return best, margin


def _learning_rate_high(ev: Evidence) -> Advice | None:
    lr = ev.config.learning_rate
    changes = {"learning_rate": lr / 10}
    if ev.stop_reason == "not_finite":
        return Advice("learning_rate_high", f"The loss stopped being a number in epoch {len(ev.train_loss)}: "
                      f"steps of learning rate {_lr(lr)} are far too big. Try {_lr(lr / 10)}.", changes)
    loss = np.asarray(ev.train_loss)
    lowest = np.minimum.accumulate(loss)
    climbs = (loss >= CLIMB_RATIO * lowest) & (loss - lowest >= CLIMB_SHARE * ev.know_nothing_train_loss)
    if not climbs.any():
        return None
    epoch = int(np.argmax(np.where(climbs, loss / lowest, 0)))
    return Advice("learning_rate_high", f"The training loss climbed back from {lowest[epoch]:.3g} to "
                  f"{loss[epoch]:.3g} in epoch {epoch + 1} instead of settling: steps of learning rate {_lr(lr)} "
                  f"overshoot. Try {_lr(lr / 10)}.", changes)


def _still_falling(ev: Evidence) -> bool:
    loss = np.asarray(ev.val_loss)
    n = len(loss)
    if n < 4 or int(np.argmin(loss)) < n - max(1, n // 10):
        return False
    return float(np.mean(np.diff(loss[n // 2:]) < 0)) >= STEADY


def _held_back(ev: Evidence) -> bool:
    """Strong L2 or very narrow layers: the network's own settings keep it simple."""
    return ev.config.l2 > STRONG_L2 or min(ev.config.hidden) < NARROW


def _learning_rate_low(ev: Evidence) -> Advice | None:
    rival, _ = _best_rival(ev)
    if rival is None or not _still_falling(ev) or _held_back(ev):
        return None
    target = min(r.loss for r in ev.rivals if r.name in ("linear", "boosted_trees")) if ev.rivals else math.nan
    if not ev.know_nothing_loss > target:
        return None
    progress = (ev.know_nothing_loss - ev.val_loss[-1]) / (ev.know_nothing_loss - target)
    if progress >= SLOW:
        return None
    lr = ev.config.learning_rate
    return Advice("learning_rate_low", f"The validation loss was still falling slowly after {len(ev.val_loss)} "
                  f"epochs: {ev.val_loss[-1]:.3g}, against {ev.know_nothing_loss:.3g} for knowing nothing and "
                  f"{target:.3g} for a simpler model. Try a 10 times higher learning rate ({_lr(lr * 10)}).",
                  {"learning_rate": min(lr * 10, 100.0)})


def _underfitting(ev: Evidence) -> Advice | None:
    rival, _ = _best_rival(ev)
    if rival is None:
        return None
    config = ev.config
    poor = better_by(ev.task, rival.score, ev.train_score) > math.hypot(ev.error, rival.error)
    fact = (f"Even on its own training rows the network does worse ({_score(ev, ev.train_score)}) than "
            f"{TITLES[rival.name]} on rows {'they' if rival.name == 'boosted_trees' else 'it'} never saw "
            f"({_score(ev, rival.score)})")
    if poor and _held_back(ev):
        changes: dict[str, Any] = {}
        said = []
        if config.l2 > STRONG_L2:
            changes["l2"] = 1e-3
            said.append(f"an L2 penalty of {config.l2:g} keeps its weights too small (try 0.001)")
        if min(config.hidden) < NARROW:
            changes["hidden"] = tuple(max(w, 32) for w in config.hidden)
            said.append(f"a layer of {min(config.hidden)} neuron{'s' if min(config.hidden) > 1 else ''} is too "
                        f"narrow (try {', '.join(map(str, changes['hidden']))})")
        return Advice("underfitting", f"{fact}: {' and '.join(said)}.", changes)
    if ev.chosen:  # more epochs were tried and did not help: the simpler model is the better tool here
        return None
    if _still_falling(ev) or int(np.argmin(ev.val_loss)) == len(ev.val_loss) - 1:
        epochs = min(max(config.epochs, len(ev.val_loss)) * 2, 10_000)
        return Advice("underfitting", f"Training ended while the validation loss was still improving, and "
                      f"{TITLES[rival.name]} already {'do' if rival.name == 'boosted_trees' else 'does'} better "
                      f"({_score(ev, rival.score)} vs {_score(ev, ev.score)}). Train for {epochs} epochs.",
                      {"epochs": epochs})
    if not poor:
        return None
    hidden = tuple(min(w * 2, 1024) for w in config.hidden)
    changes = {"hidden": hidden, "epochs": min(config.epochs * 2, 10_000)}
    loosen = ""
    if config.dropout > 0 or config.l2 > 0:
        changes.update(dropout=0.0, l2=0.0)
        loosen = ", without dropout or L2"
    return Advice("underfitting", f"{fact}: it needs more room to learn this pattern. Try layers of "
                  f"{', '.join(map(str, hidden))} and twice the epochs{loosen}.", changes)


def _overfitting(ev: Evidence) -> Advice | None:
    loss = np.asarray(ev.val_loss)
    n, best = len(loss), int(np.argmin(loss))
    if ev.config.patience > 0 or n - 1 - best < max(MIN_EPOCHS_SINCE, n // 10):
        return None
    rise = loss[-1] / loss[best] - 1
    fell = better_by(ev.task, ev.val_main[best], ev.val_main[-1])
    if rise <= RISE or fell <= ev.error:
        return None
    changes: dict[str, Any] = {"patience": 10}
    if ev.config.dropout < 0.2:
        changes["dropout"] = 0.2
    moved = (f"RMSE rose from {ev.val_main[best]:,.4g} to {ev.val_main[-1]:,.4g}" if ev.task == "regression" else
             f"accuracy fell from {ev.val_main[best]:.0%} to {ev.val_main[-1]:.0%}")
    return Advice("overfitting", f"Validation loss was lowest at epoch {best + 1} and rose by {rise:.0%} since, and "
                  f"{moved} (more than its noise of ±{_points(ev, ev.error)}): the network is learning its training "
                  f"rows by heart. Early stopping (patience 10) keeps the best epoch"
                  f"{' and dropout 0.2 slows the memorising' if 'dropout' in changes else ''}.", changes)


def _recall_upper(found: int, rows: int) -> float:
    """Recall plus one standard error (Agresti-Coull, so 0 of 8 is not certainty)."""
    adjusted = (found + 2) / (rows + 4)
    return found / rows + math.sqrt(adjusted * (1 - adjusted) / (rows + 4))


def _imbalance(ev: Evidence) -> Advice | None:
    if ev.config.class_weight != "none" or not ev.classes:
        return None
    rare_below = min(RARE_SHARE, 0.5 / len(ev.classes))
    missed = [c for c in ev.classes if c.train_share < rare_below and c.val_rows and
              _recall_upper(c.val_found, c.val_rows) < 0.5]
    if not missed:
        return None
    c = min(missed, key=lambda c: c.train_share)
    return Advice("imbalance", f"'{c.label}' is only {c.train_share:.0%} of the training rows and the network finds "
                  f"{c.val_found} of its {c.val_rows} validation rows. Balancing the classes makes every class count "
                  f"the same, so rare ones are looked for; overall accuracy usually drops, so choose it when finding "
                  f"'{c.label}' matters.", {"class_weight": "balanced"})


def _baseline_better(ev: Evidence) -> Advice | None:
    rival, gap = _best_rival(ev)
    if rival is None:
        return None
    noise = math.hypot(ev.error, rival.error)
    verb = "do" if rival.name == "boosted_trees" else "does"
    return Advice("baseline_better", f"{TITLES[rival.name].capitalize()} {verb} better than the network on the "
                  f"validation rows ({_score(ev, rival.score)} vs {_score(ev, ev.score)}, a gap of "
                  f"{_points(ev, gap)} against noise of ±{_points(ev, noise)}): {BASELINE_WHY[rival.name]}")
