"""Section 5, results: the scores on the validation rows, the charts (a cell or region picked on them is the user's
selection for section 6), the network beside simpler models fitted on the same rows, advice with knobs to apply, and
the session's runs side by side.

``tapeapp.judge`` computes; this module draws. The simpler models are fitted in the background while the network
trains; if they are not ready when the results are drawn, a small fragment looks again every second and reruns the
page once they are.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import streamlit as st

import tapeapp
from tapeapp import words
from ui import job as ui_job
from ui import jobs, link
from ui.job import ADVICE
from ui.safe import md
from ui.state import CONFUSION_PICK, REGION_PICK, THRESHOLD, apply, state
from ui.vega import show

if TYPE_CHECKING:
    from ui.job import Job

SUBHEADER = "Compared with simpler models"


def section(job: ui_job.Job) -> tuple[float, object]:
    """The scores, the charts (a cell or region picked on them is the user's selection), the simpler models and
    advice; returns the decision threshold and the selection, for the section after."""
    st.header("5. Results", divider="orange")
    run = job.run
    epochs = f"{len(run.history)} epoch" + ("" if len(run.history) == 1 else "s")
    st.caption(f"Run {job.number}: predicting **{md(run.target)}**, scored on the "
               f"{run.summary()['rows']['validation']:,} validation rows the model never trained on ({epochs}, "
               f"{jobs.ended_by(job)}). {jobs.kept_by(job)}")
    threshold = 0.5
    if run.task == "binary":
        positive = md(run.prepared.target_encoder.classes_[1])
        threshold = st.slider(
            f"Decision threshold: call a row '{positive}' when the model is at least this sure", 0.05, 0.95, 0.5,
            0.05, key=THRESHOLD, help=f"Lower it to catch more '{positive}' rows (with more false alarms); raise "
                                        "it to make fewer false alarms (and miss more). The confusion matrix and the "
                                        "scores follow; the curves show every threshold at once.")
    evaluation = ui_job.evaluation(job, threshold)
    headline_metrics(evaluation, job.previous_headline)
    if warning := tapeapp.no_better_than_guessing(evaluation, run.target, advice=advice_of(job)):
        st.warning(md(warning))
    if run.task == "regression":
        charts = tapeapp.report.charts  # loaded on first use
        left, right = st.columns(2, gap="large")
        picked = left.altair_chart(charts.predicted_actual_chart(evaluation.points, run.target, pickable=True),
                                   width="stretch", on_select="rerun", key=REGION_PICK)
        show(right, charts.residual_chart(evaluation.points, run.target))
    else:
        picked = classification_charts(evaluation)
    compare_section(job)
    advice_section(job)
    with st.expander("What the preprocessing learned from the training rows"):
        st.dataframe(run.prepared.preprocessor.summary(), hide_index=True, width="stretch")
    runs_table()
    return threshold, picked


def runs_table() -> None:
    st.subheader("Your runs in this session")
    st.caption("Every run you finished or stopped, to compare the knobs you changed with the scores they gave.")
    runs = state.runs
    scores = {c: st.column_config.NumberColumn(format="%.3f") for row in runs for c in row
              if c.startswith(("train ", "validation "))}
    st.dataframe(runs, hide_index=True, width="stretch", column_config=scores)


def headline_metrics(evaluation: tapeapp.Evaluation, previous: dict | None) -> None:
    columns = st.columns(len(evaluation.headline))
    for column, (key, value) in zip(columns, evaluation.headline.items()):
        label, why = words.METRICS.get(key, (key, ""))
        before = (previous or {}).get(key)
        delta = words.score_text(key, value - before) if _finite(before) and _finite(value) else None
        column.metric(label, words.score_text(key, value), delta=delta, help=why, border=True,
                      delta_color="inverse" if key in words.LOWER_IS_BETTER else "normal",
                      delta_description="vs. previous run" if delta else None)


def classification_charts(evaluation: tapeapp.Evaluation):
    """The confusion matrix (a click picks a cell), ROC and PR curves and the per-class table; returns the pick."""
    charts = tapeapp.report.charts  # loaded on first use
    matrix, roc, pr = st.columns(3, gap="medium")
    picked = matrix.altair_chart(charts.confusion_chart(evaluation.confusion, pickable=True), width="stretch",
                                 on_select="rerun", key=CONFUSION_PICK)
    if len(evaluation.roc):
        show(roc, charts.roc_chart(evaluation.roc))
        show(pr, charts.pr_chart(evaluation.pr))
    st.markdown("**Per class** — *precision*: of the rows called this class, the share that were; *recall*: of "
                "the rows that were this class, the share found.")
    share = {name: st.column_config.ProgressColumn(name, format="percent", min_value=0.0, max_value=1.0)
             for name in ("precision", "recall", "f1")}
    st.dataframe(evaluation.per_class, hide_index=True, width="stretch",
                 column_config=share | {"support": st.column_config.NumberColumn("rows", format="%d")})
    return picked


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def compare_section(job: Job) -> None:
    st.subheader(SUBHEADER)
    if job.run.baselines_future is None:
        st.caption("No simpler models were fitted for this run.")
        return
    st.fragment(_comparison, run_every=None if job.run.baselines is not None else 1.0)(job)


def _comparison(job: Job) -> None:
    """The table and one sentence; while the simpler models are still fitting, a note (and a look every second)."""
    run = job.run
    frame = tapeapp.comparison_frame(run)
    if frame is None:
        st.caption("The simpler models are still being fitted on the same training rows…")
        state.baselines_pending = job.number
        return
    pending = state.baselines_pending
    del state.baselines_pending
    if pending == job.number:
        st.rerun()  # they arrived during a look of the fragment: draw the whole page with them once
    sentence = tapeapp.compare_with_baselines(run)
    if sentence:
        st.markdown(md(sentence))
    columns = {c: st.column_config.NumberColumn(c, format="percent" if c in words.SHARES else "%.4g")
               for c in frame.columns if c not in ("model", "error")}
    st.dataframe(frame, hide_index=True, width="stretch", column_config=columns)
    main = tapeapp.MAIN_METRIC[run.task]
    note = run.baselines.note
    st.caption(f"All four use the same {run.summary()['rows']['train']:,} training rows and are scored on the same "
               f"validation rows ({main} is the headline score). The linear model reads the network's inputs; the "
               "boosted trees read the raw columns." + (f" {md(note)}" if note else ""))


def advice_of(job: Job) -> list:
    """The run's advice, worked out once the simpler models are in (before, again at each pass: it may change)."""
    ready = job.run.baselines is not None
    advice = job.views.get(ADVICE) if ready else None
    if advice is None:
        advice = tapeapp.diagnose(job.run, wait=0)
        if ready:
            job.views.put(ADVICE, advice)
    return advice


def advice_section(job: Job) -> None:
    """What to change, each with an Apply button that sets those knobs (then press Train)."""
    advice = advice_of(job)
    if not advice:
        return
    st.markdown("**What to try next**")
    for i, item in enumerate(advice):
        text, button = st.columns([6, 1], vertical_alignment="center")
        changes = link.describe_changes(item.changes)
        text.warning(md(item.message) + (f" *Apply sets: {md(changes)}\\.*" if changes else ""), icon="💡")
        if item.changes:
            button.button("Apply", key=apply(job.number, i, item.code), on_click=link.apply_changes,
                          args=(dict(item.changes),), width="stretch",
                          help="Set these knobs above; then press Train to try them.")
