"""Is it any good? The network beside simpler models fitted on the same rows, and advice with knobs to apply.

``tapeapp.judge.baselines`` and ``tapeapp.judge.advice`` compute; this module draws.
The simpler models are fitted in the
background while the network trains; if they are not ready when the results are drawn, a small fragment looks again
every second and reruns the page once they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

import tapeapp
from tapeapp import words
from ui import keys
from ui import knobs as ui_knobs
from ui.safe import md

if TYPE_CHECKING:
    from ui.jobs import Job

SUBHEADER = "Compared with simpler models"


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
        st.session_state[keys.BASELINES_PENDING] = job.number
        return
    if st.session_state.pop(keys.BASELINES_PENDING, None) == job.number:
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
    advice = job.views.get("advice") if ready else None
    if advice is None:
        advice = tapeapp.diagnose(job.run, wait=0)
        if ready:
            job.views["advice"] = advice
    return advice


def advice_section(job: Job) -> None:
    """What to change, each with an Apply button that sets those knobs (then press Train)."""
    advice = advice_of(job)
    if not advice:
        return
    st.markdown("**What to try next**")
    for i, item in enumerate(advice):
        text, button = st.columns([6, 1], vertical_alignment="center")
        changes = ui_knobs.describe_changes(item.changes)
        text.warning(md(item.message) + (f" *Apply sets: {md(changes)}\\.*" if changes else ""), icon="💡")
        if item.changes:
            button.button("Apply", key=keys.apply(job.number, i, item.code), on_click=ui_knobs.apply_changes,
                          args=(dict(item.changes),), width="stretch",
                          help="Set these knobs above; then press Train to try them.")
