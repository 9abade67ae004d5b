"""The 'What the network learned' section: the decision map and the last hidden layer, drawn live while the network
trains, then which columns matter and one step under the tape. ``tapeapp.explain.insight`` and
``tapeapp.explain.tape_step`` compute; this module only draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from ui import keys
from ui.cases import MARKED_ROW
from ui.safe import md
from ui.templates import spec_of, spec_with_rows

if TYPE_CHECKING:
    from ui.jobs import Job

HEADER = "What the network learned"
LIVE_RESOLUTION, LIVE_ROWS = 24, 40  # small grids while training keep each refresh to a few milliseconds
LIVE_NUMBERS = 500_000  # inputs fed to the network per live refresh of the map, at most (40 rows x 20 inputs)
REST_RESOLUTION, REST_ROWS = 40, 60  # finer once it has finished, as the Playground does
HIDDEN_ROWS = 500
REPEATS = 5  # shuffles per column for importance
CODE_WORDS = ("tape.gradient", "apply_gradients")


def _insight():
    from tapeapp.explain import insight  # TensorFlow is loaded by now: a job exists

    return insight


def _cached(job: Job, key: tuple, make):
    """Views of a finished run, computed once per run and choice (the weights no longer change)."""
    if key not in job.views:
        job.views[key] = make()
    return job.views[key]


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
            from ui.data import problem

            self.decision.warning(md(problem(error, "drawing what the network learned")))

    def draw_map(self, job: Job, fine: bool) -> None:
        """Small grids while training (a few milliseconds), finer once finished, as the Playground does."""
        from tapeapp.report import charts

        if self.axes is None:
            return
        insight, run, (x, y) = _insight(), job.run, self.axes
        resolution, rows = (REST_RESOLUTION, REST_ROWS) if fine else (LIVE_RESOLUTION, live_rows(run))
        rows = insight.affordable_rows(run, resolution ** 2, rows)
        if job.running:
            grid = insight.decision_map(run, x, y, resolution=resolution, rows=rows)
        else:
            grid = _cached(job, ("map", x, y, fine), lambda: insight.decision_map(run, x, y, resolution, rows))
        if not insight.is_finite_map(grid):
            self.decision.info("The model's answers are not numbers any more, so there is no map to draw.")
            return
        x_kind, y_kind = insight.axis_kind(run, x), insight.axis_kind(run, y)
        marked = job.views.get(MARKED_ROW) if fine else None  # the row being tried under 'One case at a time'
        frames = charts.decision_map_data(grid, insight.map_points(run, x, y), x_kind, y_kind,
                                          (marked[x], marked[y]) if marked else None)
        template = _cached(job, ("map template", x, y), lambda: spec_of(charts.decision_map_template(
            x, y, run.task, run.target, run.prepared.target_encoder.classes_, x_kind, y_kind)))
        self.decision.vega_lite_chart(spec_with_rows(template, frames), width="stretch")
        shown = min(len(run.prepared.y_val), rows)
        self.decision_note.caption(md(insight.explanation("decision_map", rows=f"{shown:,}")))

    def draw_hidden(self, job: Job) -> None:
        from tapeapp.report import charts

        insight, run = _insight(), job.run
        frame = insight.hidden_map(run, rows=HIDDEN_ROWS)
        width = insight.last_hidden_width(run)
        template = _cached(job, ("hidden template",), lambda: spec_of(charts.hidden_map_template(
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
                    from ui.data import problem

                    st.warning(md(problem(error, doing)))


def live_rows(run) -> int:
    """Rows averaged per grid point while training: fewer for wide tables, so a refresh stays about the same cost."""
    width = run.prepared.preprocessor.width
    return max(8, min(LIVE_ROWS, LIVE_NUMBERS // (LIVE_RESOLUTION ** 2 * width)))


def choose_axes(job: Job) -> tuple[str, str] | None:
    """Two selectboxes for the map's axes; the defaults are the two columns that tell most about the target."""
    features = list(job.run.prepared.features)
    if len(features) < 2:
        return None
    ranked = _cached(job, ("useful",), lambda: _insight().useful_columns(job.run))
    state = st.session_state
    if state.get(keys.MAP_X) not in features:
        state[keys.MAP_X] = ranked[0]
    if state.get(keys.MAP_Y) not in features or state[keys.MAP_Y] == state[keys.MAP_X]:
        state[keys.MAP_Y] = next(c for c in ranked if c != state[keys.MAP_X])
    left, right, _ = st.columns([1, 1, 2])
    left.selectbox("Decision map: across", features, key=keys.MAP_X,
                   help="The column along the map's horizontal axis.")
    right.selectbox("Decision map: up", [c for c in features if c != state[keys.MAP_X]], key=keys.MAP_Y,
                    help="The column along the map's vertical axis.")
    return state[keys.MAP_X], state[keys.MAP_Y]


def learned_section(job: Job | None) -> LearnedView | None:
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
    from tapeapp.report import charts

    insight, run = _insight(), job.run
    rows = insight.affordable_rows(run, len(run.prepared.features) * REPEATS, insight.IMPORTANCE_ROWS, floor=100)
    frame = _cached(job, ("importance",), lambda: insight.importance(run, repeats=REPEATS, rows=rows))
    st.altair_chart(charts.importance_chart(frame, insight.importance_measure(run.task), run.task != "regression"),
                    width="stretch")
    rows = min(len(run.prepared.y_val), rows)
    score = "RMSE" if run.task == "regression" else "accuracy"
    st.caption(md(insight.explanation("importance", score=score, rows=f"{rows:,}", repeats=REPEATS)))


def step_part(job: Job) -> None:
    from tapeapp.explain import explain_step

    step = _cached(job, ("step",), lambda: explain_step(job.run))
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
