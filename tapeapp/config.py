"""What a training run is asked to do: one frozen dataclass, its limits, and named presets."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tapeapp.errors import TapeError, quoted
from tapeapp.words import ACTIVATIONS, CLASS_WEIGHTS, OPTIMIZERS, PREPROCESSING, SPLITS

_FLOAT_FIELDS = ("dropout", "l2", "learning_rate", "momentum", "val_fraction", "inner_fraction")


@dataclass(frozen=True)
class Bound:
    """The values a knob may take, for the config, the CLI, the page's widgets and links alike.

    ``open_low``/``open_high`` leave an end out (a learning rate above 0, dropout below 1).
    """

    low: float
    high: float
    message: str
    open_low: bool = False
    open_high: bool = False

    def holds(self, value: float) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below


SEED_MAX = 2**32 - 1  # NumPy's and scikit-learn's seeds are 32-bit
BOUNDS: dict[str, Bound] = {
    "layers": Bound(1, 6, "Use between 1 and 6 hidden layers."),
    "width": Bound(1, 1024, "Each hidden layer needs between 1 and 1024 neurons."),
    "dropout": Bound(0.0, 1.0, "Dropout must be at least 0 and below 1.", open_high=True),
    "l2": Bound(0.0, 1.0, "L2 penalty must be between 0 and 1."),
    "learning_rate": Bound(0.0, 100.0, "The learning rate must be above 0 (and at most 100).", open_low=True),
    "momentum": Bound(0.0, 1.0, "Momentum must be at least 0 and below 1.", open_high=True),
    "batch_size": Bound(1, 1_000_000, "The batch size must be a whole number between 1 and 1,000,000."),
    "epochs": Bound(0, 10_000, "The number of epochs must be between 0 and 10,000."),
    "val_fraction": Bound(0.05, 0.9, "The validation share must be between 5% and 90% of the rows."),
    "patience": Bound(0, 10_000, "Early-stopping patience must be between 0 (off) and 10,000 epochs."),
    "seed": Bound(0, SEED_MAX, f"The seed must be a whole number from 0 to {SEED_MAX:,}."),
    "inner_fraction": Bound(0.0, 0.5, "The share of training rows that chooses the epoch must be between 0 (the "
                                      "validation rows choose) and 50%."),
    "cv_below": Bound(0, 1_000_000_000, "Cross-validation applies below a number of training rows from 0 (never) "
                                        "to 1,000,000,000."),
}


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a run. Defaults are the tutorial's network with tapeapp's safer preprocessing, trained until
    early stopping ends it (at most 200 epochs) and keeping its best epoch (bench/defaults_findings.md §1).

    With ``patience`` above 0, the epoch is chosen on ``inner_fraction`` of the training rows, held back from the
    weights (as scikit-learn's ``early_stopping``): the validation rows the score is reported on never choose it.
    Below ``cv_below`` training rows, 3-fold cross-validation on the training rows chooses the number of epochs
    instead, and a fresh run trains all the training rows that long. ``inner_fraction=0`` lets the validation rows
    choose (their score is then a little optimistic); ``patience=0`` trains every epoch and keeps the last.
    """

    hidden: tuple[int, ...] = (64, 64)
    activation: str = "leaky_relu"
    dropout: float = 0.0
    l2: float = 0.0
    optimizer: str = "rmsprop"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    batch_size: int = 32
    epochs: int = 200
    val_fraction: float = 0.4
    seed: int = 0
    patience: int = 20
    inner_fraction: float = 0.2
    cv_below: int = 1000
    class_weight: str = "none"
    preprocessing: str = "standard"
    split: str = "stratified"  # classes in the same shares on both sides; "random" is the tutorial's plain split

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for name in _FLOAT_FIELDS:  # learning_rate=10 means 10.0; Keras optimizers refuse a Python int
            object.__setattr__(self, name, float(getattr(self, name)))
        for problem in _problems(self):
            raise TapeError(problem)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from JSON or URL parameters; unknown keys are a user error, not silently dropped."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise TapeError(f"Unknown setting(s): {', '.join(quoted(key) for key in unknown)}.")
        values: dict[str, Any] = {}
        for key, raw in data.items():
            default = getattr(cls, key) if key != "hidden" else (64, 64)
            if key == "hidden":
                values[key] = parse_hidden(raw)
            elif isinstance(default, (int, float)) and not isinstance(default, bool):
                values[key] = parse_number(key, raw, whole=isinstance(default, int))
            else:
                values[key] = str(raw).lower()
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def parse_number(key: str, raw: Any, whole: bool) -> int | float:
    """A knob's value from text (a link, the command line) or JSON: a finite number, whole where it must be.

    Out-of-range values are left to the bounds' own message; ``1e400`` (infinite), ``nan`` and ``2.5`` epochs are
    refused here, in plain words, instead of surfacing as Python's OverflowError or ValueError.
    """
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise TapeError(f"The setting {key} = {quoted(raw)} is not a valid value: it needs a number.") from None
    if not math.isfinite(value):
        raise TapeError(f"The setting {key} = {quoted(raw)} is not a valid value: it is not a finite number. "
                        f"{BOUNDS[key].message}")
    if not whole:
        return value
    if value != math.floor(value):
        raise TapeError(f"The setting {key} = {quoted(raw)} is not a valid value: it must be a whole number.")
    if abs(value) > 2**53:
        raise TapeError(f"The setting {key} = {quoted(raw)} is not a valid value: it is too large. "
                        f"{BOUNDS[key].message}")
    return int(value)


def parse_hidden(raw: Any) -> tuple[int, ...]:
    """Accept '64,64', [64, 64] or 64 for the hidden layer widths."""
    if isinstance(raw, str):
        parts = [p for p in raw.replace(" ", "").split(",") if p]
        if len(parts) > BOUNDS["layers"].high:
            raise TapeError(BOUNDS["layers"].message)
        try:
            return tuple(int(p) for p in parts)
        except ValueError:
            raise TapeError(f"Hidden layers must be whole numbers separated by commas, like 64,64 "
                            f"(got {quoted(raw)}).") from None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return (raw,)
    try:
        return tuple(int(h) for h in raw)
    except (TypeError, ValueError, OverflowError):
        raise TapeError(f"Hidden layers must be whole numbers, like 64,64 (got {quoted(raw)}).") from None


def _problems(c: TrainConfig) -> list[str]:
    out = []
    if not BOUNDS["layers"].holds(len(c.hidden)):
        out.append(BOUNDS["layers"].message)
    if any(not BOUNDS["width"].holds(h) for h in c.hidden):
        out.append(BOUNDS["width"].message)
    if c.activation not in ACTIVATIONS:
        out.append(f"Unknown activation {quoted(c.activation)}; choose one of {', '.join(ACTIVATIONS)}.")
    if c.optimizer not in OPTIMIZERS:
        out.append(f"Unknown optimizer {quoted(c.optimizer)}; choose one of {', '.join(OPTIMIZERS)}.")
    if c.preprocessing not in PREPROCESSING:
        out.append(f"Unknown preprocessing {quoted(c.preprocessing)}; choose one of {', '.join(PREPROCESSING)}.")
    if c.split not in SPLITS:
        out.append(f"Unknown split {quoted(c.split)}; choose one of {', '.join(SPLITS)}.")
    if c.class_weight not in CLASS_WEIGHTS:
        out.append(f"Unknown class weighting {quoted(c.class_weight)}; choose one of {', '.join(CLASS_WEIGHTS)}.")
    for name in ("dropout", "l2", "learning_rate", "momentum", "batch_size", "epochs", "val_fraction", "patience",
                 "seed", "inner_fraction", "cv_below"):
        value = getattr(c, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and BOUNDS[name].holds(value)):
            out.append(BOUNDS[name].message)
    return out


@dataclass(frozen=True)
class Preset:
    name: str
    why: str
    config: TrainConfig = field(default_factory=TrainConfig)


PRESETS: dict[str, Preset] = {
    p.name.lower().replace(" ", "_"): p
    for p in (
        Preset(
            "Tutorial",
            "Exactly the tutorial: 64-64 LeakyReLU, RMSprop 1e-3, batch 32, 60 epochs, a random 40% held back, "
            "codes + mean/std scaling.",
            TrainConfig(preprocessing="tutorial", split="random", epochs=60, patience=0),
        ),
        Preset(
            "Quick look",
            "A small network for 15 epochs with bigger batches: a first answer in a couple of seconds.",
            TrainConfig(hidden=(32,), epochs=15, patience=0, batch_size=64, optimizer="adam", learning_rate=3e-3,
                        val_fraction=0.25),
        ),
        Preset(
            "Bigger network",
            "Three wider layers with dropout and early stopping: more capacity, guarded against over-fitting.",
            TrainConfig(hidden=(128, 128, 64), dropout=0.2, optimizer="adam", learning_rate=1e-3, epochs=100,
                        patience=15, val_fraction=0.25, batch_size=64),
        ),
        Preset(
            "Careful",
            "A small learning rate, L2 penalty and early stopping: slow but steady, for small or noisy tables.",
            TrainConfig(hidden=(32, 32), l2=1e-3, optimizer="adamw", learning_rate=3e-4, epochs=150, patience=20,
                        val_fraction=0.25),
        ),
    )
}


def preset(name: str) -> TrainConfig:
    key = name.lower().replace(" ", "_").replace("-", "_")
    if key not in PRESETS:
        raise TapeError(f"Unknown preset '{name}'; choose one of {', '.join(PRESETS)}.")
    return PRESETS[key].config
