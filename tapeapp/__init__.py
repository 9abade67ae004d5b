"""tapeapp: upload a table, pick what to predict, and watch a hand-written GradientTape loop learn it.

The public API for scripts and notebooks, re-exported from the modules that define it (listed in ``_EXPORTS``;
the ``TYPE_CHECKING`` block below names the same imports for editors and type checkers). Names are loaded on first
use so that reading a table or drawing the page does not wait for TensorFlow to import. The page's helpers
(``ui/``) and the command line (``tapeapp.cli``) also import some modules directly, for what is not public.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# TensorFlow reads this once, at its own import, which tapeapp defers: set it now so that a script or notebook that
# imports TensorFlow itself after tapeapp still gets the kernels whose histories match the CLI and reproduce.py.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

_EXPORTS = {
    "TapeError": "errors",
    "read_table": "table", "Table": "table", "TableInfo": "table",
    "inspect_frame": "schema", "Schema": "schema", "ColumnInfo": "schema", "KINDS": "schema", "TASKS": "schema",
    "DateFormat": "dates", "date_parts": "dates",
    "TrainConfig": "config", "Preset": "config", "PRESETS": "config", "preset": "config", "BOUNDS": "config",
    "ACTIVATIONS": "config", "OPTIMIZERS": "config", "PREPROCESSING": "config", "SPLITS": "config",
    "CLASS_WEIGHTS": "config",
    "start_run": "run", "Run": "run", "STOP_REASONS": "stopping",
    "EpochUpdate": "loop",
    "MAIN_METRIC": "metrics",
    "evaluate": "evaluation", "Evaluation": "evaluation", "no_better_than_guessing": "evaluation",
    "export_files": "export", "save_run": "export", "load_model": "export", "predict_with_model": "export",
    "SAMPLES": "samples", "load_sample": "samples",
    "decision_map": "insight", "hidden_map": "insight", "importance": "insight",
    "explain_step": "explain", "StepExplained": "explain",
    "Baselines": "scores", "BaselineScore": "scores", "row_hash": "scores",
    "fit_baselines": "baselines", "start_baselines": "baselines",
    "compare_with_baselines": "comparison", "comparison_frame": "comparison",
    "diagnose": "advice", "Advice": "advice",
    "find_learning_rate": "lr_find", "LearningRateFinding": "lr_find",
    "mistakes": "cases", "confusion_rows": "cases", "region_rows": "cases", "slices": "cases",
    "weakest_slices": "cases",
    "explain_row": "contributions", "RowExplained": "contributions", "typical_row": "contributions",
    "column_ranges": "contributions", "background_rows": "contributions",
}

# sorted(_EXPORTS), written out for editors and linters (tests/test_structure.py checks they agree)
__all__ = ["ACTIVATIONS", "Advice", "BOUNDS", "BaselineScore", "Baselines", "CLASS_WEIGHTS", "ColumnInfo",
           "DateFormat", "EpochUpdate", "Evaluation", "KINDS", "LearningRateFinding", "MAIN_METRIC", "OPTIMIZERS",
           "PREPROCESSING", "PRESETS", "Preset", "RowExplained", "Run", "SAMPLES", "SPLITS", "STOP_REASONS",
           "Schema", "StepExplained", "TASKS", "Table", "TableInfo", "TapeError", "TrainConfig", "background_rows",
           "column_ranges", "compare_with_baselines", "comparison_frame", "confusion_rows", "date_parts",
           "decision_map", "diagnose", "evaluate", "explain_row", "explain_step", "export_files",
           "find_learning_rate", "fit_baselines", "hidden_map", "importance", "inspect_frame", "load_model",
           "load_sample", "mistakes", "no_better_than_guessing", "predict_with_model", "preset", "read_table",
           "region_rows", "row_hash", "save_run", "slices", "start_baselines", "start_run", "typical_row",
           "weakest_slices"]

if TYPE_CHECKING:  # what the lazy loader below hands out, for editors and type checkers
    from tapeapp.advice import Advice, diagnose
    from tapeapp.baselines import fit_baselines, start_baselines
    from tapeapp.cases import confusion_rows, mistakes, region_rows, slices, weakest_slices
    from tapeapp.comparison import compare_with_baselines, comparison_frame
    from tapeapp.config import (
        ACTIVATIONS,
        BOUNDS,
        CLASS_WEIGHTS,
        OPTIMIZERS,
        PREPROCESSING,
        PRESETS,
        SPLITS,
        Preset,
        TrainConfig,
        preset,
    )
    from tapeapp.contributions import RowExplained, background_rows, column_ranges, explain_row, typical_row
    from tapeapp.dates import DateFormat, date_parts
    from tapeapp.errors import TapeError
    from tapeapp.evaluation import Evaluation, evaluate, no_better_than_guessing
    from tapeapp.explain import StepExplained, explain_step
    from tapeapp.export import export_files, load_model, predict_with_model, save_run
    from tapeapp.insight import decision_map, hidden_map, importance
    from tapeapp.loop import EpochUpdate
    from tapeapp.lr_find import LearningRateFinding, find_learning_rate
    from tapeapp.metrics import MAIN_METRIC
    from tapeapp.run import Run, start_run
    from tapeapp.samples import SAMPLES, load_sample
    from tapeapp.schema import KINDS, TASKS, ColumnInfo, Schema, inspect_frame
    from tapeapp.scores import Baselines, BaselineScore, row_hash
    from tapeapp.stopping import STOP_REASONS
    from tapeapp.table import Table, TableInfo, read_table


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tapeapp' has no attribute {name!r}")
    home = _EXPORTS[name]
    module = importlib.import_module(f"tapeapp.{home}")
    globals().update({key: getattr(module, key) for key, where in _EXPORTS.items() if where == home})
    return globals()[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def warm_up() -> None:
    """Import TensorFlow and Keras now (the page calls this in the background so Train does not wait)."""
    importlib.import_module("tapeapp.run")
