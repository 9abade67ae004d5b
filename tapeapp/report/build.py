"""A report to hand in: one self-contained HTML file of a finished run that opens offline in any browser and prints.

``report_html(run, table_info, schema)`` writes the page's story in the page's words (``tapeapp.words``): the table
and what was changed while reading it, what is predicted, the columns, the knobs, the curves, the results, the
simpler models, the advice, which columns matter, the decision map, and a short model card.

Nothing in it reaches outside the file: the charts are ``tapeapp.report.charts``' own, drawn to inline SVG by
vl-convert (Vega-Lite without a browser, network access refused), there is no JavaScript, and a Content Security
Policy tells the browser to load nothing. Every string from the user's table, file name or settings is escaped:
this module writes HTML only through ``tag``/``esc``, and an SVG that holds anything but shapes and text is left
out. Long histories, big scatter plots and wide tables are thinned or cut, and the report says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING

import pandas as pd

from tapeapp.judge.advice import WAIT_SECONDS, Advice
from tapeapp.judge.evaluation import evaluate
from tapeapp.report.markup import Safe, join, tag
from tapeapp.report.sections import SECTIONS, Facts, Section
from tapeapp.version import __version__

if TYPE_CHECKING:
    from tapeapp.data.schema import Schema
    from tapeapp.data.table import TableInfo
    from tapeapp.train.run import Run

REPORT_NAME = "report.html"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = resources.files("tapeapp.report").joinpath("style.css").read_text(encoding="utf-8")


def _part(make: Callable[[Facts], Safe], facts: Facts) -> Safe:
    """One section's body; a fault in one part is said in its place, and the rest of the report still comes."""
    try:
        return make(facts)
    except Exception as error:  # noqa: BLE001  (a report with one part missing beats no report)
        return tag("p", f"This part could not be written ({type(error).__name__}); the rest of the report is "
                        "complete.", cls="warning")


def report_html(run: Run, table_info: TableInfo | None = None, schema: Schema | None = None, *,
                importance: pd.DataFrame | None = None, advice: Sequence[Advice] | None = None,
                axes: tuple[str, str] | None = None, threshold: float = 0.5, title: str | None = None,
                created: datetime | None = None, wait: float = WAIT_SECONDS) -> str:
    """The run as one self-contained HTML page (``REPORT_NAME``): no script, nothing loaded from anywhere.

    Only the run is needed; without ``table_info`` (how the file was read) or ``schema`` (the columns' roles and
    reasons) those parts say less. What the page already holds can be handed in so it is not computed again:
    ``importance`` (``insight.importance``), ``advice`` (``diagnose``), the decision map's ``axes`` and the binary
    decision ``threshold``. The simpler models are waited for up to ``wait`` seconds (0: take them as they are).
    Cost is bounded like the page's views (``insight.affordable_rows``); drawing the charts takes about half a
    second the first time in a process (vl-convert starting), then about 0.1 s a chart.
    """
    if wait > 0:
        run.wait_baselines(wait)
    evaluation = evaluate(run, threshold) if run.history else None
    facts = Facts(run, table_info, schema, evaluation, importance, None if advice is None else list(advice), axes)
    name = table_info.name if table_info is not None and table_info.name else ""
    title = title or f"Predicting '{run.target}'" + (f" from {name}" if name else "")
    when = (created or datetime.now()).strftime("%Y-%m-%d %H:%M")
    sections = [Section(key, heading, _part(make, facts)) for key, heading, make in SECTIONS]
    nav = tag("nav", tag("ol", *(tag("li", tag("a", s.title, href=f"#{s.key}")) for s in sections)))
    body = join(tag("section", tag("h2", f"{i}. {s.title}"), s.body, id=s.key) for i, s in enumerate(sections, 1))
    meta = " · ".join(filter(None, [name and f"Table: {name}", f"Written {when}", f"tapeapp {__version__}"]))
    head = join([tag("meta", charset="utf-8"), tag("meta", http_equiv="Content-Security-Policy", content=CSP),
                 tag("meta", name="viewport", content="width=device-width, initial-scale=1"),
                 tag("meta", name="generator", content=f"tapeapp {__version__}"),
                 tag("title", title), tag("style", Safe(STYLE))])
    page = tag("html", tag("head", head), tag("body", tag("header", tag("h1", title), tag("p", meta, cls="meta")),
                                              nav, tag("main", body),
                                              tag("footer", tag("p", "Made with tapeapp: a small neural network "
                                                                     "trained by a hand-written TensorFlow "
                                                                     "GradientTape loop. This file needs no internet "
                                                                     "connection and loads nothing from anywhere."))),
               lang="en")
    return "<!DOCTYPE html>\n" + page + "\n"
