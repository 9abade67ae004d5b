"""tapeapp's page: bring a table, choose what to predict, set the knobs, and watch a GradientTape loop learn it.

The page's table of contents: it reads top to bottom as the user meets it, one module of ``ui/`` per section, and
every TapeError becomes a plain ``st.error`` there. Everything that learns or measures lives in ``tapeapp``. Only light
modules are imported at the top (tapeapp's folders load on first use: no pandas, Altair or TensorFlow yet), so the
title and the uploader appear at once.
"""

from __future__ import annotations

import threading

import streamlit as st

import tapeapp
from ui import (
    cases,
    data,
    jobs,
    knobs,
    learned,
    lesson,
    link,
    plan,
    results,
    server,
    session,
    sources,
    take_home,
    target,
    training,
)
from ui.safe import md, problem
from ui.state import state

st.set_page_config(page_title="tapeapp · TensorFlow Playground for your own table", page_icon="🧪",
                   layout="wide")


@st.cache_resource(show_spinner=False)
def warm_up_in_background() -> threading.Thread:
    """Import TensorFlow once per process while the user looks at the data, so the first Train does not wait."""
    server.keep_compiled_epochs()
    server.limit_malloc_arenas()
    thread = threading.Thread(target=tapeapp.warm_up, name="tapeapp-warm-up", daemon=True)
    thread.start()
    return thread


def link_extras(table: tapeapp.Table | None, schema: tapeapp.Schema | None) -> dict[str, str]:
    """The parts of the setup that are not knobs: which sample, the target when it is not the guess, the session's
    id and the lesson."""
    extras = {**session.link_params(), **lesson.link_params()}
    chosen = state.chosen
    if chosen is not None and chosen.origin == "sample" and chosen.key != sources.DEFAULT_SAMPLE:
        extras["sample"] = chosen.key
    if table is not None and schema is not None:
        if schema.target != target.guess_schema(table.info.sha256, table.frame).target:
            extras["target"] = schema.target
    return extras


def main() -> None:
    st.title("TensorFlow Playground for your own table")
    st.caption("Bring a table, choose the column to predict, set the knobs, and watch a small neural network "
               "learn it epoch by epoch: a hand-written TensorFlow GradientTape loop, running live.")
    link.load_link()
    lesson_id, lesson_plan = link.link_extra("lesson"), plan.Plan.from_link(link.link_extras(plan.PARAMS))
    sources.arrive(link.link_extra(session.PARAM), lesson_id, lesson_plan, link.link_extra("sample"))
    for note in session.notes():
        st.warning(md(note))
    lesson.show_task()
    busy = jobs.busy()
    table = data.section(busy)
    warm_up_in_background()
    schema = target.section(table, busy) if table is not None else None
    config = knobs.section(table, schema, busy)
    if config is not None:
        link.sync_link(config, link_extras(table, schema))
    session.keep(table, schema, config)
    view = training.section(table, schema, config, jobs.current())
    job = jobs.current()
    pictures = learned.section(job)
    ended = training.watch(view, pictures, job)
    if job is not None and not job.running and job.run.history:
        threshold, picked = results.section(job)
        cases.section(job, threshold, picked)
        take_home.section(job, session.page_state(table, schema, config), threshold)
    if pictures is not None:
        pictures.finish(job)
    if ended:
        st.rerun()


try:
    main()
except Exception as error:  # noqa: BLE001  (a fault nobody foresaw: plain words here, the details in the log)
    st.error(md(problem(error, "drawing this page")))
