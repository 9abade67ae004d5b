"""Section 1, your data: the uploader, the built-in samples, what was read and a preview (``ui.sources`` reads)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

import tapeapp
from ui import sources
from ui.safe import md, problem
from ui.state import READ_AGAIN, SAMPLE_PICK, UPLOAD, state, widget_default

if TYPE_CHECKING:
    import pandas as pd

PREVIEW_ROWS = 200


def section(busy: bool) -> tapeapp.Table | None:
    """The table in use, shown; None (with the reason on the page) when there is none."""
    st.header("1. Your data", divider="orange")
    st.file_uploader(
        "Upload a table", type=sources.UPLOAD_TYPES, key=UPLOAD, on_change=sources.upload_changed,
        disabled=busy, help="CSV or TSV (any delimiter, encoding and decimal comma are detected), Excel .xlsx or "
                            "Parquet; .gz compressed is fine. One row per example, one column per measurement. "
                            "A project file (.zip) saved by tapeapp opens its run again.")
    widget_default(SAMPLE_PICK, sources.DEFAULT_SAMPLE)
    st.pills("…or try a built-in sample with one click", list(tapeapp.SAMPLES), key=SAMPLE_PICK,
             format_func=lambda key: tapeapp.SAMPLES[key].title, on_change=sources.sample_picked,
             disabled=busy, help="Ready-made tables; all but the heart table work offline.")
    if error := state.data_error:
        del state.data_error
        st.error(md(error))
    try:
        chosen, table = sources.table_in_use()
    except Exception as error:  # noqa: BLE001  (every failure gets plain words; see ui.safe.problem)
        st.error(md(problem(error, "reading your table")))
        if isinstance(error, tapeapp.data.NoRoomYet):
            st.button("Read it again", key=READ_AGAIN)  # a rerun tries to read the kept file again
        return None
    if table is None:
        st.error(md(chosen.problem))
        return None
    if chosen.origin == "sample":
        st.markdown(tapeapp.SAMPLES[chosen.key].description)
    st.markdown(describe(table.info))
    if table.info.notes:
        st.info("**What was changed while reading the file**\n" + "".join(f"\n- {md(n)}" for n in table.info.notes))
    shown = preview(table.frame)
    st.dataframe(shown, height=220, width="stretch")
    st.caption(f"The first {len(shown):,} of {len(table.frame):,} rows.")
    return table


def preview(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows the page shows of a table: never more than PREVIEW_ROWS, however long the table is."""
    return frame.head(PREVIEW_ROWS)


def describe(info: tapeapp.TableInfo) -> str:
    """One line saying what was detected, in words: all of it escaped (the name is the user's; the rest is plain text
    too, whatever a reader of a new format puts in it)."""
    return f"**{md(info.name or 'your table')}** · {md(tapeapp.data.read_how(info))}"
