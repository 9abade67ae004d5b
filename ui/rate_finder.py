"""The learning-rate finder on the page: a button beside the slider, the loss-vs-rate chart, and a button that sets
the slider to the suggestion. ``tapeapp.find_learning_rate`` does the work on a copy; nothing the user trains later
is touched."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

import tapeapp
from ui.safe import md, problem
from ui.state import FIND_LR, USE_LR, state

FIND_LABEL = "Find a learning rate"
USE_LABEL = "Use this learning rate"


def find_button(busy: bool, possible: bool) -> None:
    """Under the learning-rate slider."""
    st.button(FIND_LABEL, key=FIND_LR, on_click=_asked,
              disabled=busy or not possible, width="stretch",
              help="Trains a copy of the model for about 100 batches while raising the learning rate from 0.000001 "
                   "to 1, and suggests a rate where the loss falls fastest. Your own run is not touched.")


def _asked() -> None:
    state.lr_find_requested = True


def _setup_key(table: tapeapp.Table, schema: tapeapp.Schema, config: tapeapp.TrainConfig) -> tuple:
    """What a finding depends on: the table, target, task, columns and every knob but the learning rate itself."""
    return (table.info.sha256, schema.target, schema.task, schema.features, config.replace(learning_rate=1e-3))


def result_section(table: tapeapp.Table | None, schema: tapeapp.Schema | None, config: tapeapp.TrainConfig | None,
                   use: Callable[[dict], None]) -> None:
    """Run the finder when asked, then show its chart and the button that takes the suggestion; ``use`` is what the
    button does with ``{"learning_rate": rate}`` (the page hands in the knobs' ``apply_changes``)."""
    asked = state.lr_find_requested
    state.lr_find_requested = False
    if table is None or schema is None or config is None:
        return
    key = _setup_key(table, schema, config)
    if asked:
        try:
            with st.spinner("Trying learning rates from 0.000001 to 1 on a copy of the model…"):
                run = tapeapp.start_run(table.frame, schema, config)
                state.lr_finding = (key, tapeapp.find_learning_rate(run))
        except Exception as error:  # noqa: BLE001
            st.error(md(problem(error, "finding a learning rate")))
            return
    held = state.lr_finding
    if held is None or held[0] != key:
        return
    finding = held[1]
    suggested = float(f"{finding.suggested_learning_rate:.2g}")
    chart, side = st.columns([3, 1], vertical_alignment="center")
    picture = tapeapp.report.charts.learning_rate_chart(finding.learning_rates, finding.losses, suggested)
    chart.altair_chart(picture, width="stretch")
    with side:
        st.markdown(f"Suggested learning rate: **{suggested:g}**")
        st.caption(finding.rule)
        st.button(USE_LABEL, key=USE_LR, type="primary", on_click=use, args=({"learning_rate": suggested},),
                  width="stretch",
                  disabled=config.learning_rate == suggested)

