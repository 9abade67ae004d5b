"""Lessons: a teacher picks which knobs students may change, writes a short task and hands out one link.

With a built-in sample the whole lesson is in the link (its knobs, sample and target as any shared link, plus
``lesson_text``, ``lesson_knobs`` and ``lesson_hide``); with an uploaded table, the table and the setup are kept in the
server's store under an unguessable lesson id (``lesson=``). A student who opens it gets the task at the top of the
page, the table, the target, the knobs the teacher locked (shown disabled, or hidden) and a session of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

import tapeapp
from tapeapp import words
from ui.plan import MAX_TEXT, Plan, knob_names
from ui.safe import md
from ui.state import LESSON_HIDE, LESSON_TEXT, MAKE_LESSON, lesson_knob, state, widget

HIDE_CHOICES = {"locked": "shown, but locked", "hidden": "hidden"}


def current() -> Plan | None:
    return state.lesson


def use(plan: Plan | None) -> None:
    state.lesson = plan


def locked(name: str) -> bool:
    """Whether a lesson keeps this knob (a TrainConfig field) as the teacher set it."""
    plan = current()
    return plan is not None and name not in plan.allowed


def hidden(name: str) -> bool:
    plan = current()
    return plan is not None and plan.hide and name not in plan.allowed


def link_params() -> dict[str, str]:
    """What the student's own link keeps of the lesson (a reload shows the same lesson)."""
    plan = current()
    return plan.link_params() if plan is not None else {}


def show_task() -> None:
    """The teacher's task at the top of the page, as plain text."""
    plan = current()
    if plan is None:
        return
    locked_names = [words.KNOBS.get(n, n) for n in knob_names() if n not in plan.allowed]
    st.info("**Your task**\n\n" + (md(plan.text) if plan.text.strip() else "Train the network and see how it does."))
    if locked_names:
        st.caption("This is a lesson: your teacher has set " + ", ".join(locked_names) + " for you.")


def section(config: tapeapp.TrainConfig, link_of: Callable[[Plan], str | None]) -> None:
    """The teacher's expander: tick the knobs students may change, write the task, make the link.

    ``link_of`` turns the plan into the link to hand out (it stores an uploaded table's lesson), or None with the
    reason already shown.
    """
    with st.expander("Make this a lesson"):
        st.caption("Students who open the lesson link get this table, this target and these knobs, and train in a "
                   "session of their own. You see nothing of their work unless they share their link or hand in "
                   "a report.")
        st.markdown("**Knobs students may change**")
        columns = st.columns(3)
        for i, name in enumerate(knob_names()):
            columns[i % 3].checkbox(words.KNOBS.get(name, name).capitalize(), key=lesson_knob(name),
                                    value=name in ("epochs", "learning_rate"))
        st.radio("The knobs they may not change are", list(HIDE_CHOICES), format_func=HIDE_CHOICES.get,
                 key=LESSON_HIDE, horizontal=True)
        st.text_area("The task (plain text, shown at the top of their page)", key=LESSON_TEXT,
                     max_chars=MAX_TEXT, placeholder="For example: find a learning rate that beats 85% validation "
                                                     "accuracy in 30 epochs.")
        if st.button("Make the lesson link", key=MAKE_LESSON):
            plan = Plan(text=widget(LESSON_TEXT, "") or "",
                        allowed=tuple(n for n in knob_names() if widget(lesson_knob(n))),
                        hide=widget(LESSON_HIDE) == "hidden")
            link = link_of(plan)
            if link:
                st.markdown("Hand out this link (copy it with the button at its right):")
                st.code(link, language=None, wrap_lines=True)


def page_url() -> str:
    """This page's address without its query, as the browser sees it (a relative link when it is unknown)."""
    url: Any = getattr(st.context, "url", None)
    return str(url).split("?", 1)[0].rstrip("/") + "/" if url else ""
