"""One case at a time: the rows behind a number of the results, one row taken apart, and where the model is weak.

``tapeapp.judge.cases`` and ``tapeapp.explain.contributions`` compute; this module draws.
A click on a cell of the confusion
matrix (or a rectangle dragged on predicted-against-actual) lists the validation rows in it; "Try one row" starts
from any of them, or from typical values, and every change of a value gives the new answer and what pushed it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

import tapeapp
from tapeapp import words
from tapeapp.train import ViewKey
from ui.safe import md, problem
from ui.state import (
    EDIT_ROW_NUMBER,
    EDIT_TYPICAL,
    MISTAKE_ROWS,
    PICKED_ROWS,
    WEAK_COLUMN,
    edit,
    set_widgets,
    state,
    widget,
)

if TYPE_CHECKING:
    from ui.job import Job

HEADER = "6. One case at a time"
ROWS_SHOWN = 200
MISTAKES = 20
# what this section keeps of a finished run (``job.views``), per choice where there is one
EDITED_ROW: ViewKey[dict] = ViewKey("the row being tried")  # marked on the decision map
MISTAKE_TABLE: ViewKey[pd.DataFrame] = ViewKey("worst mistakes")  # per threshold
RANGES: ViewKey[list] = ViewKey("column ranges")
EXPLAINER: ViewKey[object] = ViewKey("row explainer")
TYPICAL: ViewKey[dict] = ViewKey("typical row")
GROUPS: ViewKey[pd.DataFrame] = ViewKey("groups scored")  # per (column or None for the weakest, threshold)


def section(job: Job, threshold: float, picked) -> None:
    """Why did it say that: the rows behind the picked number, one row taken apart, the weakest groups."""
    st.header(HEADER, divider="orange")
    st.caption("Why did it say that? The rows behind a number, one row taken apart, and the groups of rows where "
               "the model is weakest.")
    for part, doing in ((lambda: behind_the_numbers(job, threshold, picked), "listing those rows"),
                        (lambda: try_one_row(job, job.background), "taking the row apart"),
                        (lambda: weak_groups(job, threshold), "scoring the groups")):
        try:
            part()
        except Exception as error:  # noqa: BLE001  (each part words its own trouble; the others still draw)
            st.warning(md(problem(error, doing)))


def _selection(event) -> dict:
    """A chart's or table's selection; events are dictionaries (Streamlit's states also read as attributes)."""
    selection = event.get("selection") if isinstance(event, dict) else None
    return selection if isinstance(selection, dict) else {}


def picked_rows(job: Job, threshold: float, event) -> pd.DataFrame | None:
    """The validation rows behind what the user selected on the results' charts, or None when nothing is."""
    cases, charts = tapeapp.judge.cases, tapeapp.report.charts  # loaded on first use
    selection = _selection(event)
    run = job.run
    if run.task == "regression":
        region = selection.get(charts.REGION) or {}
        if not region:
            return None
        return cases.region_rows(run, predicted=tuple(region.get("predicted", (None, None))),
                                 actual=tuple(region.get("actual", (None, None))))
    cell = selection.get(charts.CELL) or []
    if not cell:
        return None
    return cases.confusion_rows(run, cell[0]["actual"], cell[0]["predicted"], threshold)


def behind_the_numbers(job: Job, threshold: float, event) -> None:
    """Under the results' charts: the rows of the selected cell or region, else how to select, and the worst ones."""
    cases = tapeapp.judge.cases  # loaded on first use
    rows = picked_rows(job, threshold, event)
    st.markdown("**The rows behind the numbers**")
    if rows is None:
        how = ("drag a rectangle on 'Predicted against actual'" if job.run.task == "regression"
               else "click a square of the confusion matrix (double-click to clear)")
        st.caption(f"To see which validation rows make up a number, {how}.")
    else:
        st.caption(f"{len(rows):,} validation {'row' if len(rows) == 1 else 'rows'} in your selection"
                   + (f", the first {ROWS_SHOWN} shown" if len(rows) > ROWS_SHOWN else "")
                   + ". Pick one to take it apart under 'Try one row'.")
        _row_table(job, rows.head(ROWS_SHOWN), PICKED_ROWS)
    worst = job.views.get_or_make(MISTAKE_TABLE, lambda: cases.mistakes(job.run, n=MISTAKES, threshold=threshold),
                                  part=threshold)
    with st.expander(f"Its worst mistakes ({len(worst)})"):
        st.caption("The validation rows the model was most sure about and still got wrong"
                   if job.run.task != "regression" else "The validation rows with the largest errors")
        _row_table(job, worst, MISTAKE_ROWS)


def _row_table(job: Job, rows: pd.DataFrame, key: str) -> None:
    """A table of validation rows; picking one starts 'Try one row' from it."""
    share = {column: st.column_config.NumberColumn(format="percent") for column in rows.columns[-1:]
             if column.startswith("probability")}  # the model's probability for the class it predicted
    event = st.dataframe(rows, hide_index=True, width="stretch", height=min(360, 38 + 35 * len(rows)),
                         on_select="rerun", selection_mode="single-row", key=key, column_config=share)
    chosen = _selection(event).get("rows") or []
    if chosen and chosen[0] < len(rows):
        label = int(rows.iloc[chosen[0], 0])  # the row's number comes first ('row', or 'row_' beside a 'row' input)
        if state.edit_picked != (key, job.number, label):
            state.edit_picked = (key, job.number, label)
            state.edit_from = ("row", job.number, label)


def try_one_row(job: Job, background: pd.DataFrame | None) -> None:
    """'Try one row': a validation row (picked above or by number) or typical values, edited column by column; the
    answer and what pushed it follow every change."""
    contributions = tapeapp.explain.contributions  # loaded on first use
    run = job.run
    st.subheader("Try one row")
    ranges = job.views.get_or_make(RANGES, lambda: contributions.column_ranges(run))
    explainer = job.views.get_or_make(EXPLAINER, lambda: contributions.explainer(run, background))
    start = _start_row(job)
    if state.edit_loaded != (job.number, start[0], start[1]):
        set_widgets({edit(i): _widget_value(column, start[2].get(column.column, column.typical))
                     for i, column in enumerate(ranges)})
        state.edit_loaded = (job.number, start[0], start[1])
    st.caption(f"Starting from {start[3]}. Change any value: the answer and the reasons follow.")
    _edited_row(job, ranges, explainer)


@st.fragment
def _edited_row(job: Job, ranges: list, explainer) -> None:
    """The inputs and the answer. A change of a value reruns this part alone, so the answer follows in a fraction of
    a second; the rest of the page, with the row's mark on the decision map, follows at its next full redraw."""
    charts = tapeapp.report.charts  # loaded on first use
    run = job.run
    try:
        editor, answer = st.columns([2, 3], gap="large")
        row = {}
        with editor:
            for i, column in enumerate(ranges):
                row[column.column] = _input(i, column)
        explained = explainer.explain(row)
        job.views.put(EDITED_ROW, row)
        with answer:
            _answer(run, explained)
            toward = (f"{run.target} = {explained.explained_class}" if explained.explained_class is not None
                      else str(run.target))  # chart text is drawn as text, never Markdown
            unit = "points" if explained.probabilities is not None else f"{run.target}'s units"
            st.altair_chart(charts.contributions_chart(explained.contributions, toward, unit), width="stretch")
            st.caption(_reasons(run, explained))
    except Exception as error:  # noqa: BLE001  (a fragment's rerun is outside the page's own guard)
        st.warning(md(problem(error, "taking the row apart")))


def _start_row(job: Job) -> tuple[str, int, dict, str]:
    """Where the editor starts: (kind, row label, values, words): a chosen validation row, or typical values."""
    contributions = tapeapp.explain.contributions  # loaded on first use
    run = job.run
    labels = run.prepared.val_rows
    chosen = state.edit_from
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    number = left.number_input("Start from row", min_value=0, value=None, step=1, key=EDIT_ROW_NUMBER,
                               placeholder="typical values",
                               help="A validation row's number, as in the 'row' column of the tables above; empty: "
                                    "typical values of every column.")
    if right.button("Typical values", key=EDIT_TYPICAL, on_click=_typical_values):
        chosen = None
    if number is not None and state.edit_typed != number:
        state.edit_typed = number
        chosen = ("row", job.number, int(number))
        state.edit_from = chosen
    if chosen and chosen[1] == job.number:
        found = np.flatnonzero(labels == chosen[2])
        if len(found):
            return "row", chosen[2], run.prepared.raw_val.iloc[int(found[0])].to_dict(), f"row {chosen[2]}"
        st.caption(f"Row {chosen[2]} is not one of the validation rows (the model trained on it, or the table has "
                   "no such row), so the editor starts from typical values.")
    return "typical", -1, job.views.get_or_make(TYPICAL, lambda: contributions.typical_row(run)), "typical values"


def _typical_values() -> None:
    """Before the page is drawn again: the editor starts from typical values and the row number is emptied."""
    state.edit_from = None
    set_widgets({EDIT_ROW_NUMBER: None})
    del state.edit_typed


def _widget_value(column, value):
    """A value as its input holds it: numbers as floats (or ints), dates as dates, text as one of the choices."""
    if column.kind == "number":
        if value is None or (isinstance(value, float) and math.isnan(value)):
            value = column.typical
        if value is None:
            return None
        return int(value) if column.whole else float(value)
    if column.kind == "date":
        stamp = pd.Timestamp(value) if value is not None and not pd.isna(value) else pd.Timestamp(column.typical)
        return stamp.date()
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text if text in column.categories else str(column.typical)


def _input(i: int, column) -> object:
    """The input a column's kind calls for: a number within the range seen, a category seen, a date."""
    label = md(column.column)
    key = edit(i)
    if column.kind == "number":
        if column.low is None:  # no number seen at all: any number
            return st.number_input(label, value=None, key=key)
        low, high = (int(column.low), int(column.high)) if column.whole else (float(column.low), float(column.high))
        value = widget(key)
        set_widgets({key: min(max(value, low), high) if value is not None else low})
        return st.number_input(label, min_value=low, max_value=high, step=1 if column.whole else None, key=key)
    if column.kind == "date":
        low = pd.Timestamp(column.low).date() if column.low is not None else None
        high = pd.Timestamp(column.high).date() if column.high is not None else None
        chosen = st.date_input(label, min_value=low, max_value=high, key=key)
        return pd.Timestamp(chosen) if isinstance(chosen, dt.date) else None
    choices = [str(c) for c in column.categories]
    return st.selectbox(label, choices, key=key)


def _answer(run, explained) -> None:
    """The answer for the edited row, with every class's probability (classification)."""
    if explained.probabilities is None:
        st.metric(f"Predicted {md(run.target)}", words.score_text("rmse", float(explained.prediction)),
                  border=True)
        return
    shown = sorted(explained.probabilities.items(), key=lambda item: -item[1])[:4]
    columns = st.columns(len(shown))
    for column, (label, probability) in zip(columns, shown):
        column.metric(md(f"{run.target} = {label}"), f"{probability:.0%}", border=True,
                      help="The model's probability for this class, for the row as it is now.")


def _reasons(run, explained) -> str:
    """The biggest pushes in words: "'age = 63' pushed towards 'HeartDisease = 1' by 12 points"."""
    toward = f"'{run.target} = {explained.explained_class}'" if explained.explained_class is not None \
        else f"'{run.target}'"
    parts = []
    for _, item in explained.contributions.head(3).iterrows():
        amount = float(item["contribution"])
        points = round(abs(amount) * 100)
        size = (f"{points} point{'' if points == 1 else 's'}" if explained.probabilities is not None
                else f"{abs(amount):,.4g}")
        direction = "towards" if amount >= 0 else "away from"
        if explained.probabilities is None:
            direction = "up" if amount >= 0 else "down"
            parts.append(f"'{item['column']} = {item['value']}' pushed the answer {direction} by {size}")
        else:
            parts.append(f"'{item['column']} = {item['value']}' pushed {direction} {toward} by {size}")
    start = (f"The average answer over {explained.background_rows} training rows is "
             + (f"{explained.base:.0%}" if explained.probabilities is not None else f"{explained.base:,.4g}")
             + (f" for {toward}" if explained.probabilities is not None else ""))
    how = "exact Shapley values" if explained.exact else "Shapley values, estimated from sampled orders"
    return md(f"{start}; " + "; ".join(parts) + f". ({how}: the pushes add up to the answer.)")


def weak_groups(job: Job, threshold: float) -> None:
    """Where the model is weak: the validation score per group of one column (or the weakest over all columns)."""
    cases = tapeapp.judge.cases  # loaded on first use
    run = job.run
    st.subheader("Where the model is weak")
    features = ["(all columns: the weakest groups)", *run.prepared.features]
    choice = st.selectbox("Look at the groups of", features, key=WEAK_COLUMN,
                          help="A text column's values, a number cut into four ranges, dates by year.")
    if choice == features[0]:
        table = job.views.get_or_make(GROUPS, lambda: cases.weakest_slices(run, threshold=threshold),
                                      part=(None, threshold))
    else:
        table = job.views.get_or_make(GROUPS, lambda: cases.slices(run, choice, threshold=threshold),
                                      part=(choice, threshold))
    score = cases.score_name(run.task)
    overall = cases.overall_score(run, threshold)
    name = words.METRICS[score][0]
    st.dataframe(table, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(table)), column_config={
        "score": st.column_config.NumberColumn(name, format="percent" if score in words.SHARES else "%.4g"),
        "too_few": st.column_config.CheckboxColumn(f"fewer than {cases.MIN_ROWS} rows")})
    st.caption(md(f"The {name.lower()} on the validation rows of each group, weakest first (all "
                  f"rows: {words.score_text(score, overall)}). A group with fewer than {cases.MIN_ROWS} rows is "
                  "marked too small to judge."))
    st.caption("**Is anyone missing from these rows?** A group with few rows, or none, is a group "
               "the model has hardly seen: its answers there are guesses. Before using the model, ask who it will be "
               "used on, and what happens to them when it is wrong.")

