"""The learning-rate range test (L. Smith 2015; fastai's ``lr_find``): raise the rate each batch on a copy, suggest one.

A copy of the run's model takes up to ``steps`` batches while the learning rate grows exponentially from ``start``
to ``end``; the loss is smoothed as fastai smooths it (an exponential moving average, beta 0.98, debiased) and the
test stops once the smoothed loss passes 4 times its lowest value or stops being a number. The run itself, its
model, weights and history, is never touched, so it trains afterwards exactly as it would have without the test.

The suggestion is fastai's ``valley`` scaled to the run's length (``valley_scaled``): the valley rate is read off
a 100-batch test, and a run of T batches gets it times sqrt(100 / T), never more (a fixed budget of T steps wants a
step size proportional to 1/sqrt(T)). Unscaled, the valley rate over-trains the heart tables in 60 epochs
(bench/README.md has the figures for every rule tried).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tapeapp._tf import tf
from tapeapp.errors import TapeError
from tapeapp.train.loop import as_tensor, sample_weights, training_copy
from tapeapp.train.run import Run

SMOOTHING = 0.98  # fastai's AvgSmoothLoss
EXPLODES_AT = 4.0  # times the lowest smoothed loss, as fastai's LRFinder
LOWEST_RATE, HIGHEST_RATE = 1e-5, 1.0  # what the page's learning-rate slider offers; TrainConfig takes them all


@dataclass(frozen=True)
class LearningRateFinding:
    """What the range test saw (one rate and one smoothed loss per batch) and the rate it suggests.

    ``stopped_because`` is ``finished`` (all steps ran), ``exploded`` (the smoothed loss passed 4 times its lowest
    value) or ``not_finite`` (the loss stopped being a number; that batch is not recorded).
    """

    learning_rates: tuple[float, ...]
    losses: tuple[float, ...]
    suggested_learning_rate: float
    rule: str
    stopped_because: str
    suggestions: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The CLI's JSON line: the three contract keys first."""
        return {"suggested_learning_rate": self.suggested_learning_rate,
                "learning_rates": list(self.learning_rates), "losses": list(self.losses),
                "rule": self.rule, "stopped_because": self.stopped_because, "suggestions": dict(self.suggestions)}


def _valley(rates: np.ndarray, losses: np.ndarray) -> float:
    """Halfway along the longest run of ever-lower losses (a longest decreasing subsequence: bumps are skipped).

    As in fastai, the run is taken to span as many batches as it has points, ending where it ends: a noisy
    plateau before the fall does not stretch it.
    """
    length = np.ones(len(losses), int)
    for i in range(1, len(losses)):
        for j in range(i):
            if losses[j] > losses[i]:
                length[i] = max(length[i], length[j] + 1)
    end = int(np.argmax(length))
    start = end - length[end] + 1
    return float(rates[start + (end - start) // 2])


def _steep(rates: np.ndarray, losses: np.ndarray) -> float:
    """Where the loss falls fastest per factor of the rate."""
    if len(losses) < 2:
        return float(rates[0])
    slopes = np.diff(losses) / np.diff(np.log(rates))
    return float(rates[int(np.argmin(slopes))])


def _minimum(rates: np.ndarray, losses: np.ndarray) -> float:
    return float(rates[int(np.argmin(losses))]) / 10


RULES: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], str]] = {
    "valley": (_valley, "valley (fastai's default): the rate halfway along the longest stretch over which the "
                        "smoothed loss keeps falling"),
    "steep": (_steep, "steep: the rate at which the smoothed loss falls fastest"),
    "minimum": (_minimum, "minimum: a tenth of the rate with the lowest smoothed loss"),
}
SCALED = "valley_scaled"  # the default: valley times sqrt(test batches / run batches), never raised


def _clip(rate: float) -> float:
    """Into the slider's range, to two significant figures (0.0023, not 0.0023101…)."""
    return float(f"{min(max(rate, LOWEST_RATE), HIGHEST_RATE):.2g}")


def _suggest(rule: str, rates: Sequence[float], losses: Sequence[float]) -> float:
    """Apply a rule to the curve without its first tenth and last 5 batches (fastai's trim), clipped to the slider."""
    steps = len(rates)
    lo, hi = steps // 10, steps - 5
    if hi - lo < 2:  # the test stopped too early to trim anything
        lo, hi = 0, steps
    return _clip(RULES[rule][0](np.asarray(rates[lo:hi]), np.asarray(losses[lo:hi])))


def run_batches(run: Run) -> int:
    """How many batches the run's training takes: its epochs times the batches of one epoch."""
    return run.config.epochs * math.ceil(len(run.prepared.y_train) / run.config.batch_size)


def _scaled(valley: float, steps: int, run: Run) -> tuple[float, str]:
    batches = run_batches(run)
    factor = min(1.0, math.sqrt(steps / max(batches, 1)))
    why = (f"{SCALED} (the default): the valley rate {valley:g} times sqrt({steps} / {batches}), the range test's "
           f"batches over the {batches} batches this run trains ({run.config.epochs} epochs), never raised: "
           f"a longer run wants a lower rate")
    return _clip(valley * factor), why


def find_learning_rate(run: Run, steps: int = 100, start: float = 1e-6, end: float = 1.0,
                       rule: str = SCALED) -> LearningRateFinding:
    """Range-test a copy of ``run``'s model with its optimizer, batch size, class weights and training rows.

    Batch ``i`` (of ``steps``) trains at ``start * (end / start) ** (i / (steps - 1))``; the rows come in an order
    shuffled with the run's seed, epoch after epoch if there are fewer than ``steps`` full batches. The run is
    left as it was (trained or not), and a fresh optimizer of the run's kind is used, on one device.

    ``rule`` picks the suggestion: ``valley_scaled`` (the default, see the module's docstring), or ``valley``,
    ``steep``, ``minimum`` as fastai defines them; all four are in ``suggestions``. Every rule reads the smoothed
    curve without its first tenth and last 5 batches, as fastai does, and is clipped to 1e-5..1.
    """
    if rule not in (SCALED, *RULES):
        raise ValueError(f"unknown rule {rule!r}; choose one of {SCALED}, {', '.join(RULES)}")
    if steps < 2 or not 0 < start < end:
        raise ValueError("need steps >= 2 and 0 < start < end")
    config, data = run.config, run.prepared
    twin = training_copy(run.model, config, data.task)  # a fresh optimizer: the test starts from the run's weights
    optimizer = twin.optimizer
    x, y = as_tensor(data.x_train), as_tensor(data.y_train)  # no copy of a big training matrix
    w = as_tensor(sample_weights(data.y_train, data.task, config.class_weight))
    step = tf.function(lambda rows: twin.step(tf.gather(x, rows), tf.gather(y, rows), tf.gather(w, rows))[0],
                       reduce_retracing=True)
    batches = _batches(len(data.y_train), config.batch_size, steps, config.seed)
    rates = start * (end / start) ** (np.arange(steps) / (steps - 1))
    recorded_rates: list[float] = []
    losses: list[float] = []
    average, lowest, stopped_because = 0.0, math.inf, "finished"
    for i, (rate, rows) in enumerate(zip(rates, batches), start=1):
        optimizer.learning_rate.assign(rate)
        loss = float(step(tf.constant(rows)))
        average = SMOOTHING * average + (1 - SMOOTHING) * loss
        smoothed = average / (1 - SMOOTHING ** i)
        if not math.isfinite(smoothed):
            stopped_because = "not_finite"
            break
        recorded_rates.append(float(rate))
        losses.append(smoothed)
        lowest = min(lowest, smoothed)
        if smoothed > EXPLODES_AT * lowest:
            stopped_because = "exploded"
            break
    if not losses:
        raise TapeError("The loss was not a number even at the smallest learning rate, so no rate can be "
                        "suggested: check the table for extreme values.")
    curve = {name: _suggest(name, recorded_rates, losses) for name in RULES}
    scaled, why = _scaled(curve["valley"], steps, run)
    suggestions = {SCALED: scaled, **curve}
    return LearningRateFinding(learning_rates=tuple(recorded_rates), losses=tuple(losses),
                               suggested_learning_rate=suggestions[rule],
                               rule=why if rule == SCALED else RULES[rule][1],
                               stopped_because=stopped_because, suggestions=suggestions)


def _batches(rows: int, batch_size: int, steps: int, seed: int) -> list[np.ndarray]:
    """``steps`` batches of full size (the last partial one of each epoch is left out, as fastai's loader does)."""
    rng = np.random.default_rng([seed, 7])
    size = min(batch_size, rows)
    out: list[np.ndarray] = []
    while len(out) < steps:
        order = rng.permutation(rows).astype("int32")
        out += [order[i:i + size] for i in range(0, rows - size + 1, size)]
    return out[:steps]
