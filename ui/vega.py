"""Vega-Lite plumbing for the page's charts: Altair builds a chart once per shape, later refreshes only swap its rows.

``tapeapp.report.charts`` makes the Altair charts; this module turns them into specs the page can refresh cheaply (named
datasets, no Altair validation, every epoch thinned to at most CHART_EPOCHS points) and keeps the templates.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from typing import TYPE_CHECKING

import tapeapp

if TYPE_CHECKING:
    import pandas as pd

def baseline_marks(run: tapeapp.Run) -> dict[str, float]:
    """The simpler models' validation score in the run's main metric, once they are fitted (else nothing)."""
    ready = run.baselines
    if ready is None:
        return {}
    main = tapeapp.MAIN_METRIC[run.task]
    return {name: score.validation.get(main) for name, score in ready.scores.items() if not score.error}


_TEMPLATES: dict[tuple, dict] = {}  # a live chart's shape -> its spec without the rows; shared by sessions
_TEMPLATES_LOCK = threading.Lock()
TEMPLATES_KEPT = 64


def chart_specs(history: pd.DataFrame, previous: pd.DataFrame | None, task: str, total: int | None,
                baselines: dict[str, float] | None = None) -> dict:
    """The three live charts as Vega-Lite specs, each drawn from at most CHART_EPOCHS epochs of every line.

    Altair builds each chart once per shape (task, length, previous run, baselines, layers) and later refreshes
    only swap the rows in: building a chart costs ~20 ms, filling one a fraction of a millisecond.
    """
    charts = tapeapp.report.charts  # Altair: loaded on first use, after the page's first paint

    history = charts.thin_epochs(history)
    previous = None if previous is None else charts.thin_epochs(previous)
    main = tapeapp.MAIN_METRIC[task]
    marks = tuple(sorted((k, v) for k, v in (baselines or {}).items() if v is not None and math.isfinite(v)))
    shape = (task, total, None if total else (len(history), _last_epoch(history)),
             None if previous is None else (len(previous), _last_epoch(previous)), marks,
             tuple(c for c in history.columns if c.startswith(("grad_norm_", "inner_"))))
    builders = {"loss": lambda: charts.loss_chart(history, previous, total, data_name="loss_rows"),
                "metric": lambda: charts.metric_chart(history, main, previous, total, dict(marks),
                                                      data_name="metric_rows"),
                "grads": lambda: charts.grad_norm_chart(history, total, data_name="grads_rows")}
    rows = {"loss": charts.curve_rows(history, "loss", previous), "metric": charts.curve_rows(history, main, previous),
            "grads": charts.grad_norm_rows(history)}
    specs = {}
    for name, build in builders.items():
        with _TEMPLATES_LOCK:
            template = _TEMPLATES.get((name, *shape))
        if template is None:
            template = live_spec(build(), name)
            with _TEMPLATES_LOCK:  # sessions train in their own threads
                _TEMPLATES[(name, *shape)] = template
                while len(_TEMPLATES) > TEMPLATES_KEPT:
                    del _TEMPLATES[next(iter(_TEMPLATES))]
        specs[name] = spec_with_rows(template, {f"{name}_rows": rows[name]})
    return specs


def _last_epoch(history: pd.DataFrame) -> int:
    return int(history["epoch"].iloc[-1]) if len(history) and "epoch" in history else 0


def spec_of(chart) -> dict:
    """The Altair chart's Vega-Lite spec, without Altair's default size (the page sizes its charts itself)."""
    spec = chart.to_dict(validate=False)  # tapeapp.report.charts' own, tested; validating costs 1/3
    config = spec.get("config", {})
    if config.get("view") == {"continuousWidth": 300, "continuousHeight": 300}:
        del config["view"]
        if not config:
            del spec["config"]
    return spec


def show(place, chart) -> None:
    """Draw an Altair chart from its unvalidated spec (``spec_of``): the page's charts are tapeapp.report.charts'."""
    place.vega_lite_chart(spec_of(chart), width="stretch")


def spec_with_rows(template: dict, frames: dict) -> dict:
    """A spec built once (its data named, not included) with this refresh's rows: Streamlit sends the frames as
    Arrow, and building the chart again with Altair, the slow part of a refresh, is skipped."""
    spec = copy.deepcopy(template)
    spec["datasets"] = {**frames, **spec.get("datasets", {})}  # the rows first, then any the chart carries
    return spec


def live_spec(chart, name: str) -> dict:
    """The Altair chart's Vega-Lite spec with its data under fixed names instead of content hashes.

    Between two epochs only the data changes then, so the browser swaps the rows into the chart it already has
    instead of building it again: smoother to watch, and much less work for a small machine.
    """
    spec = spec_of(chart)
    text = json.dumps(spec)
    for i, old in enumerate(spec.get("datasets", {})):
        text = text.replace(f'"{old}"', f'"{name}_{i}"')
    return json.loads(text)
