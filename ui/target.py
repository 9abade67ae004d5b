"""Section 2, what to predict: the target and the kind of prediction (guessed, changeable), and the columns' roles."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

import tapeapp
from tapeapp import words
from ui import link
from ui.safe import md, problem
from ui.state import roles, state, target, task, widget_default
from ui.vega import show

if TYPE_CHECKING:
    import pandas as pd

LOG_COLUMN = "log if skewed"


@st.cache_data(max_entries=16, show_spinner=False)
def guess_schema(sha256: str, _frame) -> tapeapp.Schema:
    """Column kinds and the suggested target, once per table (keyed on its content's hash)."""
    return tapeapp.inspect_frame(_frame)


def section(table: tapeapp.Table, busy: bool) -> tapeapp.Schema | None:
    st.header("2. What to predict", divider="orange")
    sha = table.info.sha256[:16]
    try:
        guess = guess_schema(table.info.sha256, table.frame)
    except Exception as error:  # noqa: BLE001
        st.error(md(problem(error, "looking at your columns")))
        return None
    columns = [str(c) for c in table.frame.columns]
    wanted = link.link_extra("target")
    widget_default(target(sha), wanted if wanted in columns else guess.target)
    left, right = st.columns([2, 3], gap="large")
    with left:
        chosen = st.selectbox("Column to predict (the target)", columns, key=target(sha), disabled=busy,
                              help="The answer the model should learn to give. Every other column it uses is an "
                                   "input (a 'feature').")
        kind = st.selectbox("Kind of prediction", list(words.TASK_CHOICES), format_func=words.TASK_CHOICES.get,
                            key=task(sha, chosen), disabled=busy,
                            help="Classes (yes/no, or one of several labels) or a number. The app guesses from the "
                                 "target column; change it if the guess is wrong.")
        try:
            schema = guess.with_target(chosen)
            schema = schema if kind == "auto" else schema.with_task(kind)
        except Exception as error:  # noqa: BLE001
            st.error(md(problem(error, f"looking at '{chosen}'")))
            return None
        st.markdown(f"**{words.TASK_LABELS[schema.task]}** — {md(schema.task_reason)}")
    with right:
        show(st, tapeapp.report.charts.target_chart(table.frame[chosen], schema.task == "regression", chosen))
    for warning in schema.warnings:
        st.warning(md(warning))
    return roles_editor(schema, roles(sha, chosen, kind), busy)


def roles_editor(schema: tapeapp.Schema, key: str, busy: bool) -> tapeapp.Schema | None:
    """The columns as the app understood them; the user may switch inputs between used and ignored, and keep a
    skewed number as it is (no signed log)."""
    st.markdown("**The columns** — switch a column's *role* to `ignored` to leave it out, or back to `feature`; "
                "untick *log if skewed* to keep a number as it is.")
    if base := state.base_roles.get(key):  # choices brought back: the editor starts from them
        try:
            schema = schema.with_roles(base.get("roles", {})).with_plain(base.get("plain", []))
        except Exception:  # noqa: BLE001  (choices that no longer fit this table: start from the guess)
            state.base_roles.pop(key, None)
    frame = schema.to_frame()
    numbers = (frame["kind"] == "numeric").tolist()
    frame.insert(frame.columns.get_loc("role") + 1, LOG_COLUMN,
                 [name not in schema.plain if number else None for name, number in zip(frame["name"], numbers)])
    edited = st.data_editor(
        frame, key=key, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(frame)),
        disabled=True if busy else [c for c in frame.columns if c not in ("role", LOG_COLUMN)],
        column_config={
            "name": "Column", "kind": "Kind", "missing": "Missing", "distinct": "Distinct values",
            "examples": "Examples", "reason": st.column_config.TextColumn("Why this role", width="large"),
            "role": st.column_config.SelectboxColumn(
                "Role", options=["feature", "ignored", "target"], required=True,
                help="feature: the model learns from it. ignored: left out. The target is chosen above."),
            LOG_COLUMN: st.column_config.CheckboxColumn(
                "Log if skewed",
                help="Numbers only. When the training rows of this column are strongly skewed (counts, money, "
                     "visits), the model sees sign(x)·log(1 + |x|/s) and whether it is zero; the results' "
                     "preprocessing table says which columns it was and why."),
        })
    changes, target_touched = role_changes(frame, edited, schema.target)
    if target_touched:
        st.info("To predict another column, choose it in the box above; roles here are feature or ignored.")
    plain = [name for name, number, log in zip(frame["name"], numbers, edited[LOG_COLUMN]) if number and not log]
    try:
        schema = schema.with_roles(changes) if changes else schema
        return schema.with_plain(plain) if tuple(plain) != schema.plain else schema
    except Exception as error:  # noqa: BLE001
        st.error(md(problem(error, "changing the roles")))
        return None


def role_changes(before: pd.DataFrame, after: pd.DataFrame, target_name: str) -> tuple[dict[str, str], bool]:
    """Roles the user switched in the columns table, and whether they tried to move the target there."""
    changes, target_touched = {}, False
    for name, old, new in zip(before["name"], before["role"], after["role"]):
        if new == old:
            continue
        if name == target_name or new == "target":
            target_touched = True
        else:
            changes[name] = new
    return changes, target_touched
