"""The 'What the network learned' section: the decision map and the last hidden layer, drawn live while the network
trains, then which columns matter and one step under the tape. ``tapeapp.explain.insight`` and
``tapeapp.explain.tape_step`` compute; this module only draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

import tapeapp
from tapeapp.train import ViewKey
from ui.cases import EDITED_ROW
from ui.job import IMPORTANCE
from ui.safe import md, problem
from ui.state import MAP_X, MAP_Y, set_widgets, widget
from ui.vega import spec_of, spec_with_rows

if TYPE_CHECKING:
    import pandas as pd

    from ui.job import Job

HEADER = "What the network learned"
LIVE_RESOLUTION, LIVE_ROWS = 24, 40  # small grids while training keep each refresh to a few milliseconds
LIVE_NUMBERS = 500_000  # inputs fed to the network per live refresh of the map, at most (40 rows x 20 inputs)
REST_RESOLUTION, REST_ROWS = 40, 60  # finer once it has finished, as the Playground does
HIDDEN_ROWS = 500
REPEATS = 5  # shuffles per column for importance
CODE_WORDS = ("tape.gradient", "apply_gradients")


# what this section keeps of a finished run (``job.views``), per choice where there is one
MAP: ViewKey[pd.DataFrame] = ViewKey("decision map")  # per (across, up, fine)
MAP_TEMPLATE: ViewKey[dict] = ViewKey("decision map's spec")  # per (across, up)
HIDDEN_TEMPLATE: ViewKey[dict] = ViewKey("hidden map's spec")
USEFUL: ViewKey[list] = ViewKey("columns that tell most about the target")
STEP: ViewKey[tapeapp.StepExplained] = ViewKey("one step under the tape")


@dataclass
class LearnedView:
    """Placeholders for the live pictures and, once trained, for what is added after the results are shown."""

    decision: st.delta_generator.DeltaGenerator
    decision_note: st.delta_generator.DeltaGenerator
    hidden: st.delta_generator.DeltaGenerator
    hidden_note: st.delta_generator.DeltaGenerator
    later: st.delta_generator.DeltaGenerator
    axes: tuple[str, str] | None
    drawn: bool = False

    @classmethod
    def create(cls, job: Job) -> LearnedView:
        axes = choose_axes(job)
        left, right = st.columns(2, gap="large")
        with left:
            decision, decision_note = st.empty(), st.empty()
            if axes is None:
                decision.info("The decision map needs two input columns; this model learns from only one.")
        with right:
            hidden, hidden_note = st.empty(), st.empty()
        return cls(decision, decision_note, hidden, hidden_note, st.container(), axes)

    def draw(self, job: Job, fine: bool = False) -> None:
        """Both pictures from the weights the model holds now; a fault here never stops the training."""
        try:
            self.draw_map(job, fine)
            if not fine or not self.drawn:
                self.draw_hidden(job)
            self.drawn = True
        except Exception as error:  # noqa: BLE001
            self.decision.warning(md(problem(error, "drawing what the network learned")))

    def draw_map(self, job: Job, fine: bool) -> None:
        """Small grids while training (a few milliseconds), finer once finished, as the Playground does."""
        insight, charts = tapeapp.explain.insight, tapeapp.report.charts  # loaded on first use
        if self.axes is None:
            return
        run, (x, y) = job.run, self.axes
        resolution, rows = (REST_RESOLUTION, REST_ROWS) if fine else (LIVE_RESOLUTION, live_rows(run))
        rows = insight.affordable_rows(run, resolution ** 2, rows)
        if job.running:
            grid = insight.decision_map(run, x, y, resolution=resolution, rows=rows)
        else:
            grid = job.views.get_or_make(MAP, lambda: insight.decision_map(run, x, y, resolution, rows),
                                         part=(x, y, fine))
        if not insight.is_finite_map(grid):
            self.decision.info("The model's answers are not numbers any more, so there is no map to draw.")
            return
        x_kind, y_kind = insight.axis_kind(run, x), insight.axis_kind(run, y)
        marked = job.views.get(EDITED_ROW) if fine else None  # the row being tried under 'One case at a time'
        frames = charts.decision_map_data(grid, insight.map_points(run, x, y), x_kind, y_kind,
                                          (marked[x], marked[y]) if marked else None)
        template = job.views.get_or_make(MAP_TEMPLATE, lambda: spec_of(charts.decision_map_template(
            x, y, run.task, run.target, run.prepared.target_encoder.classes_, x_kind, y_kind)), part=(x, y))
        self.decision.vega_lite_chart(spec_with_rows(template, frames), width="stretch")
        shown = min(len(run.prepared.y_val), rows)
        self.decision_note.caption(md(insight.explanation("decision_map", rows=f"{shown:,}")))

    def draw_hidden(self, job: Job) -> None:
        insight, charts = tapeapp.explain.insight, tapeapp.report.charts  # loaded on first use
        run = job.run
        frame = insight.hidden_map(run, rows=HIDDEN_ROWS)
        width = insight.last_hidden_width(run)
        template = job.views.get_or_make(HIDDEN_TEMPLATE, lambda: spec_of(charts.hidden_map_template(
            run.task, run.target, width, run.prepared.target_encoder.classes_)))
        self.hidden.vega_lite_chart(spec_with_rows(template, {"hidden_rows": frame}), width="stretch")
        self.hidden_note.caption(md(insight.explanation("hidden_map", width=width) +
                                    f" {len(frame):,} of the {len(run.prepared.y_val):,} validation rows are shown."))

    def finish(self, job: Job) -> None:
        """After the results are on the page: the finer map, which columns matter and one step under the tape.

        Drawn last so that the results never wait for them; they fill places kept for them above the results.
        """
        if job.running or not job.run.history:
            return
        self.draw(job, fine=True)
        with self.later:
            for part, doing in ((importance_part, "measuring which columns matter"),
                                (step_part, "showing one step under the tape")):
                try:
                    part(job)
                except Exception as error:  # noqa: BLE001
                    st.warning(md(problem(error, doing)))


def live_rows(run) -> int:
    """Rows averaged per grid point while training: fewer for wide tables, so a refresh stays about the same cost."""
    width = run.prepared.preprocessor.width
    return max(8, min(LIVE_ROWS, LIVE_NUMBERS // (LIVE_RESOLUTION ** 2 * width)))


def choose_axes(job: Job) -> tuple[str, str] | None:
    """Two selectboxes for the map's axes; the defaults are the two columns that tell most about the target."""
    insight = tapeapp.explain.insight  # loaded on first use
    features = list(job.run.prepared.features)
    if len(features) < 2:
        return None
    ranked = job.views.get_or_make(USEFUL, lambda: insight.useful_columns(job.run))
    if widget(MAP_X) not in features:
        set_widgets({MAP_X: ranked[0]})
    if widget(MAP_Y) not in features or widget(MAP_Y) == widget(MAP_X):
        set_widgets({MAP_Y: next(c for c in ranked if c != widget(MAP_X))})
    left, right, _ = st.columns([1, 1, 2])
    left.selectbox("Decision map: across", features, key=MAP_X, help="The column along the map's horizontal axis.")
    right.selectbox("Decision map: up", [c for c in features if c != widget(MAP_X)], key=MAP_Y,
                    help="The column along the map's vertical axis.")
    return widget(MAP_X), widget(MAP_Y)


def section(job: Job | None) -> LearnedView | None:
    """The section's header and live pictures (their finer and slower parts come with ``LearnedView.finish``)."""
    if job is None or not (job.run.history or job.running):
        return None
    st.header(HEADER, divider="orange")
    st.caption("The network's answers and its inner picture, drawn from the weights it holds now"
               + (", and redrawn as it trains." if job.running else "."))
    view = LearnedView.create(job)
    if job.run.history and not job.running:
        view.draw(job)
    return view


def importance_part(job: Job) -> None:
    insight, charts = tapeapp.explain.insight, tapeapp.report.charts  # loaded on first use
    run = job.run
    rows = insight.affordable_rows(run, len(run.prepared.features) * REPEATS, insight.IMPORTANCE_ROWS, floor=100)
    frame = job.views.get_or_make(IMPORTANCE, lambda: insight.importance(run, repeats=REPEATS, rows=rows))
    st.altair_chart(charts.importance_chart(frame, insight.importance_measure(run.task), run.task != "regression"),
                    width="stretch")
    rows = min(len(run.prepared.y_val), rows)
    score = "RMSE" if run.task == "regression" else "accuracy"
    st.caption(md(insight.explanation("importance", score=score, rows=f"{rows:,}", repeats=REPEATS)))


def step_part(job: Job) -> None:
    step = job.views.get_or_make(STEP, lambda: tapeapp.explain_step(job.run))
    with st.expander("One step under the tape"):
        st.markdown(f"One real training step on {step.rows} of your training rows, run on a copy of the model so "
                    "the trained one is not changed. Left: the code the loop runs for every batch. Right: what it "
                    "did, in order.")
        code, words = st.columns([3, 2], gap="large")
        code.code(step.source, language="python")
        with words:
            for number, (title, text) in enumerate(step.story(), start=1):
                shown = f"`{title}`" if title in CODE_WORDS else md(title)
                st.markdown(f"**{number}. {shown}** — {md(text)}")
            st.dataframe({"layer": list(step.grad_norms), "gradient size": list(step.grad_norms.values()),
                          "change made": list(step.update_norms.values())}, hide_index=True, width="stretch")
