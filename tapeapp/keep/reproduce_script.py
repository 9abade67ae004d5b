"""Write reproduce.py: the stand-alone script that repeats a run with tensorflow, pandas and scikit-learn only."""

from __future__ import annotations

import pprint
from importlib import resources

from tapeapp.data.table import MISSING

_PLACEHOLDER = "SETTINGS = {}  # written by tapeapp: the run's settings, columns and how the file was read"


def render_reproduce(run, source_name: str, read_options: dict) -> str:
    pre = run.prepared.preprocessor
    settings = {
        "source": source_name,
        "config": run.config.to_dict(),
        "target": run.target, "task": run.task,
        "numeric": list(pre.numeric), "categorical": list(pre.categorical), "plain": list(pre.plain),
        "dates": {col: list(pre.date_format_[col].formats) for col in pre.dates},
        "stratified": run.prepared.stratified,
        "read": {"delimiter": read_options.get("delimiter") or ",", "encoding": read_options.get("encoding") or "utf-8",
                 "decimal": read_options.get("decimal") or ".", "header": read_options.get("header", True),
                 "missing_markers": list(MISSING)},
    }
    template = resources.files("tapeapp.keep").joinpath("templates/reproduce.py").read_text(encoding="utf-8")
    literal = pprint.pformat(settings, indent=4, sort_dicts=False)
    return template.replace(_PLACEHOLDER, f"SETTINGS = {literal}  # written by tapeapp for this run")
