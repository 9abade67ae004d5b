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
    "TapeError": "errors", "read_table": "data.table", "Table": "data.table", "TableInfo": "data.table",
    "inspect_frame": "data.schema", "Schema": "data.schema", "ColumnInfo": "data.schema", "KINDS": "data.schema",
    "TASKS": "data.schema", "DateFormat": "data.dates", "date_parts": "data.dates", "TrainConfig": "config",
    "Preset": "config", "PRESETS": "config", "preset": "config", "BOUNDS": "config", "ACTIVATIONS": "config",
    "OPTIMIZERS": "config", "PREPROCESSING": "config", "SPLITS": "config", "CLASS_WEIGHTS": "config",
    "start_run": "train.run", "Run": "train.run", "STOP_REASONS": "train.stopping", "EpochUpdate": "train.loop",
    "MAIN_METRIC": "train.metrics", "evaluate": "judge.evaluation", "Evaluation": "judge.evaluation",
    "no_better_than_guessing": "judge.evaluation", "export_files": "keep.export", "save_run": "keep.export",
    "load_model": "keep.export", "predict_with_model": "keep.export", "SAMPLES": "data.samples",
    "load_sample": "data.samples", "decision_map": "explain.insight", "hidden_map": "explain.insight",
    "importance": "explain.insight", "explain_step": "explain.tape_step", "StepExplained": "explain.tape_step",
    "Baselines": "train.scores", "BaselineScore": "train.scores", "row_hash": "train.scores",
    "fit_baselines": "judge.baselines", "start_baselines": "judge.baselines",
    "compare_with_baselines": "judge.comparison", "comparison_frame": "judge.comparison", "diagnose": "judge.advice",
    "Advice": "judge.advice", "find_learning_rate": "train.lr_find", "LearningRateFinding": "train.lr_find",
    "mistakes": "judge.cases", "confusion_rows": "judge.cases", "region_rows": "judge.cases", "slices": "judge.cases",
    "weakest_slices": "judge.cases", "explain_row": "explain.contributions", "RowExplained": "explain.contributions",
    "typical_row": "explain.contributions", "column_ranges": "explain.contributions",
    "background_rows": "explain.contributions",
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
    from tapeapp.data.dates import DateFormat, date_parts
    from tapeapp.data.samples import SAMPLES, load_sample
    from tapeapp.data.schema import KINDS, TASKS, ColumnInfo, Schema, inspect_frame
    from tapeapp.data.table import Table, TableInfo, read_table
    from tapeapp.errors import TapeError
    from tapeapp.explain.contributions import RowExplained, background_rows, column_ranges, explain_row, typical_row
    from tapeapp.explain.insight import decision_map, hidden_map, importance
    from tapeapp.explain.tape_step import StepExplained, explain_step
    from tapeapp.judge.advice import Advice, diagnose
    from tapeapp.judge.baselines import fit_baselines, start_baselines
    from tapeapp.judge.cases import confusion_rows, mistakes, region_rows, slices, weakest_slices
    from tapeapp.judge.comparison import compare_with_baselines, comparison_frame
    from tapeapp.judge.evaluation import Evaluation, evaluate, no_better_than_guessing
    from tapeapp.keep.export import export_files, load_model, predict_with_model, save_run
    from tapeapp.train.loop import EpochUpdate
    from tapeapp.train.lr_find import LearningRateFinding, find_learning_rate
    from tapeapp.train.metrics import MAIN_METRIC
    from tapeapp.train.run import Run, start_run
    from tapeapp.train.scores import Baselines, BaselineScore, row_hash
    from tapeapp.train.stopping import STOP_REASONS


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
    importlib.import_module("tapeapp.train.run")
