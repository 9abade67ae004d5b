"""Lessons: a teacher picks which knobs students may change, writes a short task and hands out one link.

With a built-in sample the whole lesson is in the link (its knobs, sample and target as any shared link, plus
``lesson_text``, ``lesson_knobs`` and ``lesson_hide``); with an uploaded table, the table and the setup are kept in the
server's store under an unguessable lesson id (``lesson=``). A student who opens it gets the task at the top of the
page, the table, the target, the knobs the teacher locked (shown disabled, or hidden) and a session of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import streamlit as st

import tapeapp
from tapeapp import words
from ui import keys
from ui.safe import md

MAX_TEXT = 2_000  # characters of a task: a few sentences, not a document
NO_KNOBS = "none"  # ``lesson_knobs=none``: every knob locked
PARAMS = ("lesson", "lesson_text", "lesson_knobs", "lesson_hide")
HIDE_CHOICES = {"locked": "shown, but locked", "hidden": "hidden"}


def knob_names() -> tuple[str, ...]:
    """The knobs a lesson can leave open: every TrainConfig field the page has a widget for, in its order."""
    return tuple(name for name in tapeapp.TrainConfig().to_dict() if name in words.KNOBS)


@dataclass(frozen=True)
class Plan:
    """What a student's page shows of a lesson: the task, the knobs left open, and whether the others are hidden."""

    text: str = ""
    allowed: tuple[str, ...] = ()
    hide: bool = False
    lesson_id: str = ""  # a stored lesson (an uploaded table); "" when the link carries everything

    def to_dict(self) -> dict:
        return {**asdict(self), "allowed": list(self.allowed)}

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        """A plan from a link or the store, every value checked (anything else is left out)."""
        text = data.get("text") if isinstance(data.get("text"), str) else ""
        allowed = data.get("allowed") if isinstance(data.get("allowed"), list | tuple) else []
        lesson_id = data.get("lesson_id") if isinstance(data.get("lesson_id"), str) else ""
        return cls(text=text[:MAX_TEXT], allowed=tuple(n for n in knob_names() if n in allowed),
                   hide=data.get("hide") is True, lesson_id=lesson_id)

    @classmethod
    def from_link(cls, extras: dict[str, str]) -> Plan | None:
        """The plan a sample lesson's link carries, or None when the link is not a lesson."""
        if "lesson_text" not in extras and "lesson_knobs" not in extras:
            return None
        allowed = [] if extras.get("lesson_knobs", NO_KNOBS) == NO_KNOBS else extras["lesson_knobs"].split(",")
        return cls.from_dict({"text": extras.get("lesson_text", ""), "allowed": allowed,
                              "hide": extras.get("lesson_hide") == "1"})

    def link_params(self) -> dict[str, str]:
        if self.lesson_id:
            return {"lesson": self.lesson_id}
        return {"lesson_text": self.text, "lesson_knobs": ",".join(self.allowed) or NO_KNOBS,
                **({"lesson_hide": "1"} if self.hide else {})}


def current() -> Plan | None:
    return st.session_state.get(keys.LESSON)


def use(plan: Plan | None) -> None:
    st.session_state[keys.LESSON] = plan


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
            columns[i % 3].checkbox(words.KNOBS.get(name, name).capitalize(), key=keys.lesson_knob(name),
                                    value=name in ("epochs", "learning_rate"))
        st.radio("The knobs they may not change are", list(HIDE_CHOICES), format_func=HIDE_CHOICES.get,
                 key=keys.LESSON_HIDE, horizontal=True)
        st.text_area("The task (plain text, shown at the top of their page)", key=keys.LESSON_TEXT,
                     max_chars=MAX_TEXT, placeholder="For example: find a learning rate that beats 85% validation "
                                                     "accuracy in 30 epochs.")
        if st.button("Make the lesson link", key=keys.MAKE_LESSON):
            plan = Plan(text=st.session_state.get(keys.LESSON_TEXT, "") or "",
                        allowed=tuple(n for n in knob_names() if st.session_state.get(keys.lesson_knob(n))),
                        hide=st.session_state.get(keys.LESSON_HIDE) == "hidden")
            link = link_of(plan)
            if link:
                st.markdown("Hand out this link (copy it with the button at its right):")
                st.code(link, language=None, wrap_lines=True)


def page_url() -> str:
    """This page's address without its query, as the browser sees it (a relative link when it is unknown)."""
    url: Any = getattr(st.context, "url", None)
    return str(url).split("?", 1)[0].rstrip("/") + "/" if url else ""
