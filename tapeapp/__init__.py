"""tapeapp: upload a table, pick what to predict, and watch a hand-written GradientTape loop learn it.

The public API, re-exported here; the page, the CLI and the tests use nothing else. Names are loaded on first
use so that reading a table or drawing the page does not wait for TensorFlow to import.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import Any

# TensorFlow reads this once, at its own import, which tapeapp defers: set it now so that a script or notebook that
# imports TensorFlow itself after tapeapp still gets the kernels whose histories match the CLI and reproduce.py.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

_EXPORTS = {
    "TapeError": "errors",
    "read_table": "table", "Table": "table", "TableInfo": "table",
    "inspect_frame": "schema", "Schema": "schema", "ColumnInfo": "schema", "KINDS": "schema", "TASKS": "schema",
    "DateFormat": "dates", "date_parts": "dates",
    "TrainConfig": "config", "Preset": "config", "PRESETS": "config", "preset": "config",
    "ACTIVATIONS": "config", "OPTIMIZERS": "config", "PREPROCESSING": "config", "SPLITS": "config",
    "CLASS_WEIGHTS": "config",
    "start_run": "run", "Run": "run", "STOP_REASONS": "run",
    "EpochUpdate": "loop",
    "MAIN_METRIC": "metrics",
    "evaluate": "evaluate", "Evaluation": "evaluate", "no_better_than_guessing": "evaluate",
    "export_files": "export", "save_run": "export", "load_model": "export", "predict_with_model": "export",
    "SAMPLES": "samples", "load_sample": "samples",
    "decision_map": "insight", "hidden_map": "insight", "importance": "insight",
    "explain_step": "explain", "StepExplained": "explain",
    "Baselines": "baselines", "BaselineScore": "baselines", "fit_baselines": "baselines",
    "start_baselines": "baselines", "compare_with_baselines": "baselines", "row_hash": "baselines",
    "comparison_frame": "baselines",
    "diagnose": "advice", "Advice": "advice",
    "find_learning_rate": "lr_find", "LearningRateFinding": "lr_find",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tapeapp' has no attribute {name!r}")
    home = _EXPORTS[name]
    module = importlib.import_module(f"tapeapp.{home}")
    # Importing tapeapp.evaluate binds the submodule to the package name 'evaluate' (so tapeapp.Evaluation used
    # to turn tapeapp.evaluate into a module); bind every name exported from that module so the exports win.
    globals().update({key: getattr(module, key) for key, where in _EXPORTS.items() if where == home})
    return globals()[name]


class _Package(types.ModuleType):
    """Keeps ``tapeapp.evaluate`` the function: importing the submodule of the same name (``from tapeapp.evaluate
    import ...`` anywhere) would otherwise rebind the package's name to the module."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def warm_up() -> None:
    """Import TensorFlow and Keras now (the page calls this in the background so Train does not wait)."""
    importlib.import_module("tapeapp.run")
