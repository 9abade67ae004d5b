"""The learning-rate finder on the page: a button beside the slider, the loss-vs-rate chart, and a button that sets
the slider to the suggestion. ``tapeapp.find_learning_rate`` does the work on a copy; nothing the user trains later
is touched."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

import tapeapp
from ui import keys

FIND_LABEL = "Find a learning rate"
USE_LABEL = "Use this learning rate"


def find_button(busy: bool, possible: bool) -> None:
    """Under the learning-rate slider."""
    st.button(FIND_LABEL, key=keys.FIND_LR, on_click=lambda: st.session_state.update({keys.LR_FIND_REQUESTED: True}),
              disabled=busy or not possible, width="stretch",
              help="Trains a copy of the model for about 100 batches while raising the learning rate from 0.000001 "
                   "to 1, and suggests a rate where the loss falls fastest. Your own run is not touched.")


def _setup_key(table: tapeapp.Table, schema: tapeapp.Schema, config: tapeapp.TrainConfig) -> tuple:
    """What a finding depends on: the table, target, task, columns and every knob but the learning rate itself."""
    return (table.info.sha256, schema.target, schema.task, schema.features, config.replace(learning_rate=1e-3))


def result_section(table: tapeapp.Table | None, schema: tapeapp.Schema | None, config: tapeapp.TrainConfig | None,
                   use: Callable[[dict], None]) -> None:
    """Run the finder when asked, then show its chart and the button that takes the suggestion; ``use`` is what the
    button does with ``{"learning_rate": rate}`` (the page hands in the knobs' ``apply_changes``)."""
    asked = st.session_state.pop(keys.LR_FIND_REQUESTED, False)
    if table is None or schema is None or config is None:
        return
    key = _setup_key(table, schema, config)
    if asked:
        try:
            with st.spinner("Trying learning rates from 0.000001 to 1 on a copy of the model…"):
                run = tapeapp.start_run(table.frame, schema, config)
                st.session_state[keys.LR_FINDING] = (key, tapeapp.find_learning_rate(run))
        except Exception as error:  # noqa: BLE001
            from ui.data import problem
            from ui.safe import md

            st.error(md(problem(error, "finding a learning rate")))
            return
    held = st.session_state.get(keys.LR_FINDING)
    if held is None or held[0] != key:
        return
    finding = held[1]
    suggested = float(f"{finding.suggested_learning_rate:.2g}")
    from tapeapp.report import charts

    chart, side = st.columns([3, 1], vertical_alignment="center")
    chart.altair_chart(charts.learning_rate_chart(finding.learning_rates, finding.losses, suggested), width="stretch")
    with side:
        st.markdown(f"Suggested learning rate: **{suggested:g}**")
        st.caption(finding.rule)
        st.button(USE_LABEL, key=keys.USE_LR, type="primary", on_click=use, args=({"learning_rate": suggested},),
                  width="stretch",
                  disabled=config.learning_rate == suggested)

