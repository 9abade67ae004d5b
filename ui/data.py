"""Where the table comes from: an upload or a built-in sample, read once and cached by content."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import streamlit as st

import tapeapp
from tapeapp.data import read_how
from tapeapp.errors import clipped
from ui import keys
from ui.safe import md

if TYPE_CHECKING:
    import pandas as pd

LOG = logging.getLogger("tapeapp.page")
DEFAULT_SAMPLE = "breast_cancer"
UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "parquet", "gz", "zip"]  # .zip: a tapeapp project file
PREVIEW_ROWS = 200


@st.cache_data(max_entries=8, show_spinner="Loading the sample…")
def read_sample(key: str) -> tapeapp.Table:
    return tapeapp.load_sample(key)


@st.cache_data(max_entries=16, show_spinner=False)
def guess_schema(sha256: str, _frame) -> tapeapp.Schema:
    """Column kinds and the suggested target, once per table (keyed on its content's hash)."""
    return tapeapp.inspect_frame(_frame)


def source() -> str:
    """'upload' or a sample key: what the page is showing now."""
    return st.session_state.setdefault(keys.SOURCE, DEFAULT_SAMPLE)


def use_sample_from_link(key: str | None) -> None:
    if key is None:
        return
    if key in tapeapp.SAMPLES:
        st.session_state[keys.SAMPLE_PICK] = key
        on_sample_picked()
    else:
        st.session_state.setdefault(keys.LINK_PROBLEMS, []).append(
            f"Ignored sample={clipped(key)} from the link: there is no such sample ({', '.join(tapeapp.SAMPLES)}).")


def on_sample_picked() -> None:
    """A sample pill was clicked: load it now so a failed download can put the pill back and say why."""
    key = st.session_state.get(keys.SAMPLE_PICK)
    if key is None:
        st.session_state[keys.SOURCE] = "upload" if st.session_state.get(keys.UPLOAD) else DEFAULT_SAMPLE
        return
    try:
        read_sample(key)
    except tapeapp.TapeError as error:
        st.session_state[keys.DATA_ERROR] = str(error)
        previous = st.session_state.get(keys.SOURCE, DEFAULT_SAMPLE)
        st.session_state[keys.SAMPLE_PICK] = previous if previous in tapeapp.SAMPLES else None
        return
    st.session_state[keys.SOURCE] = key
    st.session_state.pop(keys.KEPT_TABLE, None)


def on_upload_changed() -> None:
    uploaded, held = st.session_state.get(keys.UPLOAD), st.session_state.get(keys.UPLOAD_TABLE)
    if uploaded is not None and held is not None and getattr(uploaded, "file_id", None) == held[0]:
        return  # the same file, its bytes released after reading (_release_bytes): the table is kept
    st.session_state.pop(keys.UPLOAD_TABLE, None)
    st.session_state.pop(keys.KEPT_TABLE, None)
    if uploaded is not None:
        st.session_state[keys.SOURCE] = "upload"
        st.session_state[keys.SAMPLE_PICK] = None
    else:
        st.session_state[keys.SOURCE] = st.session_state[keys.SAMPLE_PICK] = DEFAULT_SAMPLE


def current_table(read: Callable[[Any], tapeapp.Table | tapeapp.TapeError] | None = None) -> tapeapp.Table:
    """The table in use; TapeError when an upload cannot be read. ``read`` turns a new upload into a table (the
    page hands in ``ui.session.read_upload``, which also opens project files and keeps the table)."""
    uploaded = st.session_state.get(keys.UPLOAD)
    if source() == "upload" and uploaded is not None:
        return uploaded_table(uploaded, read or read_upload)
    if source() == "kept" and keys.KEPT_TABLE in st.session_state:
        return st.session_state[keys.KEPT_TABLE]  # brought back from the store, a project or a lesson
    key = source() if source() in tapeapp.SAMPLES else DEFAULT_SAMPLE
    return read_sample(key)


def read_upload(uploaded) -> tapeapp.Table | tapeapp.TapeError:
    """A table upload read as it is (a seeded sample when too big for the server)."""
    return read_bytes(uploaded.getvalue(), uploaded.name, sample=True)


def uploaded_table(uploaded, read: Callable[[Any], tapeapp.Table | tapeapp.TapeError] = read_upload) -> tapeapp.Table:
    """The user's upload, read once and kept in this session only; then its bytes are let go.

    A cache shared by sessions would hash the whole file on every rerun and hand out a fresh (unpickled) copy of
    the table each time; a 200 MB upload would cost seconds and several times its size per rerun. The table read
    from the bytes is all the page needs, so the server's copy of the bytes is released once read: the uploader
    then reports the file as deleted, under the same id, and the table kept here is used.
    """
    held = st.session_state.get(keys.UPLOAD_TABLE)
    if held is None or held[0] != uploaded.file_id:
        if not hasattr(uploaded, "getvalue"):  # released and no table kept for it (cannot happen in one session)
            raise tapeapp.TapeError("Your file is no longer on the server; please upload it again.")
        held = (uploaded.file_id, read(uploaded))  # NoRoomYet: not kept, a rerun tries again
        st.session_state[keys.UPLOAD_TABLE] = held
        _release_bytes(uploaded.file_id)
    if st.session_state.get(keys.SOURCE) == "kept":  # it was a project: its table is the one in use
        return st.session_state[keys.KEPT_TABLE]
    if isinstance(held[1], Exception):
        raise held[1]
    return held[1]


def rows_to_predict(uploaded) -> tapeapp.Table:
    """The 'Predict new rows' upload, read once per file and kept in this session only, with the same memory check
    as the table (every row must be read: a file too big for the server is refused, never sampled)."""
    held = st.session_state.get(keys.PREDICT_TABLE)
    if held is None or held[0] != uploaded.file_id:
        held = (uploaded.file_id, read_bytes(uploaded.getvalue(), uploaded.name, sample=False))
        st.session_state[keys.PREDICT_TABLE] = held
    if isinstance(held[1], Exception):
        raise held[1]
    return held[1]


def read_bytes(data: bytes, name: str, sample: bool) -> tapeapp.Table | tapeapp.TapeError:
    """An upload read in memory (never written to disk) under the server's memory budget.

    A TapeError is kept as the answer (the same bytes would fail again); ``NoRoomYet`` is raised instead, so that
    the file is read when the user asks again.
    """
    from tapeapp.data import NoRoomYet

    try:
        with st.spinner("Reading your table…"):
            return tapeapp.read_table(data, name, sample=sample)
    except NoRoomYet:
        raise
    except tapeapp.TapeError as error:
        return error


def _release_bytes(file_id: str) -> None:
    """Drop the server's copy of an upload that has been read (Streamlit keeps it until the session ends)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or ctx.uploaded_file_mgr is None:
        return
    try:
        ctx.uploaded_file_mgr.remove_file(ctx.session_id, file_id)
    except (KeyError, AttributeError):  # an uploader that keeps no bytes (tests), or already gone
        LOG.debug("upload %s was not held by the server", file_id)


def problem(error: Exception, doing: str) -> str:
    """What the page says about an error: a TapeError's own plain words; for anything else a short note.

    A file nobody foresaw must still get an answer on the page, not a traceback; the traceback goes to the server's
    log for whoever runs it.
    """
    if isinstance(error, tapeapp.TapeError):
        return str(error)
    LOG.error("unexpected error while %s", doing, exc_info=error)
    return (f"Something unexpected went wrong while {doing} ({type(error).__name__}). This is a fault in tapeapp, "
            "not in what you did; the details are in the server's log. Try again, or try the file saved as CSV.")


def preview(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows the page shows of a table: never more than PREVIEW_ROWS, however long the table is."""
    return frame.head(PREVIEW_ROWS)


def role_changes(before: pd.DataFrame, after: pd.DataFrame, target: str) -> tuple[dict[str, str], bool]:
    """Roles the user switched in the columns table, and whether they tried to move the target there."""
    changes, target_touched = {}, False
    for name, old, new in zip(before["name"], before["role"], after["role"]):
        if new == old:
            continue
        if name == target or new == "target":
            target_touched = True
        else:
            changes[name] = new
    return changes, target_touched


def describe(info: tapeapp.TableInfo) -> str:
    """One line saying what was detected, in words: all of it escaped (the name is the user's; the rest is plain text
    too, whatever a reader of a new format puts in it)."""
    return f"**{md(info.name or 'your table')}** · {md(read_how(info))}"
