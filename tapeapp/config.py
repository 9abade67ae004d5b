"""What a training run is asked to do: one frozen dataclass, its limits, and named presets."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from tapeapp.errors import TapeError

ACTIVATIONS = ("leaky_relu", "relu", "tanh", "elu", "gelu", "selu", "sigmoid", "swish")
OPTIMIZERS = ("rmsprop", "adam", "adamw", "sgd")
PREPROCESSING = ("standard", "tutorial")
SPLITS = ("stratified", "random")
CLASS_WEIGHTS = ("none", "balanced")
_FLOAT_FIELDS = ("dropout", "l2", "learning_rate", "momentum", "val_fraction")


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a run. Defaults are the tutorial's network with tapeapp's safer preprocessing."""

    hidden: tuple[int, ...] = (64, 64)
    activation: str = "leaky_relu"
    dropout: float = 0.0
    l2: float = 0.0
    optimizer: str = "rmsprop"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    batch_size: int = 32
    epochs: int = 60
    val_fraction: float = 0.4
    seed: int = 0
    patience: int = 0
    class_weight: str = "none"
    preprocessing: str = "standard"
    split: str = "stratified"  # classes in the same shares on both sides; "random" is the tutorial's plain split

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for name in _FLOAT_FIELDS:  # learning_rate=10 means 10.0; Keras optimizers refuse a Python int
            object.__setattr__(self, name, float(getattr(self, name)))
        for problem in _problems(self):
            raise TapeError(problem)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Build from JSON or URL parameters; unknown keys are a user error, not silently dropped."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise TapeError(f"Unknown setting(s): {', '.join(unknown)}.")
        values: dict[str, Any] = {}
        for key, raw in data.items():
            default = getattr(cls, key) if key != "hidden" else (64, 64)
            try:
                if key == "hidden":
                    values[key] = parse_hidden(raw)
                elif isinstance(default, bool):
                    values[key] = bool(raw)
                elif isinstance(default, int):
                    values[key] = int(float(raw))
                elif isinstance(default, float):
                    values[key] = float(raw)
                else:
                    values[key] = str(raw).lower()
            except (TypeError, ValueError):
                raise TapeError(f"The setting {key} = {raw!r} is not a valid value.") from None
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def parse_hidden(raw: Any) -> tuple[int, ...]:
    """Accept '64,64', [64, 64] or 64 for the hidden layer widths."""
    if isinstance(raw, str):
        parts = [p for p in raw.replace(" ", "").split(",") if p]
        try:
            return tuple(int(p) for p in parts)
        except ValueError:
            raise TapeError(f"Hidden layers must be whole numbers separated by commas, like 64,64 (got {raw!r}).") from None
    if isinstance(raw, int):
        return (raw,)
    return tuple(int(h) for h in raw)


def _problems(c: TrainConfig) -> list[str]:
    out = []
    if not 1 <= len(c.hidden) <= 6:
        out.append("Use between 1 and 6 hidden layers.")
    if any(not 1 <= h <= 1024 for h in c.hidden):
        out.append("Each hidden layer needs between 1 and 1024 neurons.")
    if c.activation not in ACTIVATIONS:
        out.append(f"Unknown activation '{c.activation}'; choose one of {', '.join(ACTIVATIONS)}.")
    if c.optimizer not in OPTIMIZERS:
        out.append(f"Unknown optimizer '{c.optimizer}'; choose one of {', '.join(OPTIMIZERS)}.")
    if c.preprocessing not in PREPROCESSING:
        out.append(f"Unknown preprocessing '{c.preprocessing}'; choose one of {', '.join(PREPROCESSING)}.")
    if c.split not in SPLITS:
        out.append(f"Unknown split '{c.split}'; choose one of {', '.join(SPLITS)}.")
    if c.class_weight not in CLASS_WEIGHTS:
        out.append(f"Unknown class weighting '{c.class_weight}'; choose one of {', '.join(CLASS_WEIGHTS)}.")
    if not 0.0 <= c.dropout < 1.0:
        out.append("Dropout must be at least 0 and below 1.")
    if not 0.0 <= c.l2 <= 1.0:
        out.append("L2 penalty must be between 0 and 1.")
    if not 0.0 < c.learning_rate <= 100.0:
        out.append("The learning rate must be above 0 (and at most 100).")
    if not 0.0 <= c.momentum < 1.0:
        out.append("Momentum must be at least 0 and below 1.")
    if not 1 <= c.batch_size <= 1_000_000:
        out.append("The batch size must be a whole number of at least 1.")
    if not 0 <= c.epochs <= 10_000:
        out.append("The number of epochs must be between 0 and 10,000.")
    if not 0.05 <= c.val_fraction <= 0.9:
        out.append("The validation share must be between 5% and 90% of the rows.")
    if c.patience < 0:
        out.append("Early-stopping patience cannot be negative (0 turns it off).")
    if c.seed < 0:
        out.append("The seed must be 0 or a positive whole number.")
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
            TrainConfig(preprocessing="tutorial", split="random"),
        ),
        Preset(
            "Quick look",
            "A small network for 15 epochs with bigger batches: a first answer in a couple of seconds.",
            TrainConfig(hidden=(32,), epochs=15, batch_size=64, optimizer="adam", learning_rate=3e-3, val_fraction=0.25),
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
