"""Where the table comes from, in one step: a built-in sample, an upload (a table, or a project file that opens its run
again), a session brought back, or a lesson; ``table_in_use`` says which and gives one result, a ``Chosen``.

The uploader takes tables and project files alike; they are told apart here (``_read_upload``) and nowhere else. An
upload is read once, in this session only, and then the server's copy of its bytes is let go: a cache shared by
sessions would hash the whole file on every rerun and hand out a fresh copy of the table each time.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import tapeapp
from tapeapp.errors import clipped
from ui import session
from ui.plan import Plan
from ui.safe import problem
from ui.state import SAMPLE_PICK, UPLOAD, Chosen, set_widgets, state, widget

LOG = logging.getLogger("tapeapp.page")
DEFAULT_SAMPLE = "breast_cancer"
UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "parquet", "gz", "zip"]  # .zip: a tapeapp project file too


@st.cache_data(max_entries=8, show_spinner="Loading the sample…")
def read_sample(key: str) -> tapeapp.Table:
    return tapeapp.load_sample(key)


def table_in_use() -> tuple[Chosen, tapeapp.Table | None]:
    """The table this script run uses and where it came from (an upload is read here, once).

    ``tapeapp.data.NoRoomYet`` is raised, not kept: the file waits unread, and the next script run ("Read it again")
    tries again.
    """
    chosen = state.chosen or Chosen("sample", DEFAULT_SAMPLE)
    if chosen.origin == "upload" and chosen.table is None and not chosen.problem:
        chosen = state.chosen = _read_upload(chosen)
    if chosen.origin == "sample":
        return chosen, read_sample(chosen.key if chosen.key in tapeapp.SAMPLES else DEFAULT_SAMPLE)
    return chosen, chosen.table


def upload_changed() -> None:
    """The uploader's callback: a new file is the table to read; no file brings the default sample back."""
    uploaded = widget(UPLOAD)
    chosen = state.chosen
    if uploaded is not None and chosen is not None and chosen.key == getattr(uploaded, "file_id", None):
        return  # the same file, its bytes let go after reading (the uploader then reports it deleted)
    if uploaded is not None:
        state.chosen = Chosen("upload", uploaded.file_id)
        set_widgets({SAMPLE_PICK: None})
    else:
        state.chosen = Chosen("sample", DEFAULT_SAMPLE)
        set_widgets({SAMPLE_PICK: DEFAULT_SAMPLE})


def sample_picked() -> None:
    """A sample pill was clicked: load it now, so that a failed download can put the pill back and say why."""
    key = widget(SAMPLE_PICK)
    if key is None:  # the pill clicked off: the upload comes back if the uploader still holds it
        uploaded = widget(UPLOAD)
        held = state.upload_read
        state.chosen = held if uploaded is not None and held is not None and held.key == uploaded.file_id \
            else Chosen("sample", DEFAULT_SAMPLE)
        return
    try:
        read_sample(key)
    except tapeapp.TapeError as error:
        state.data_error = str(error)
        previous = state.chosen
        set_widgets({SAMPLE_PICK: previous.key if previous is not None and previous.origin == "sample" else None})
        return
    state.chosen = Chosen("sample", key)


def sample_from_link(key: str | None) -> None:
    """``sample=`` in a link: that sample, or a note naming what there is."""
    if key is None:
        return
    if key in tapeapp.SAMPLES:
        set_widgets({SAMPLE_PICK: key})
        sample_picked()
    else:
        state.link_problems.append(
            f"Ignored sample={clipped(key)} from the link: there is no such sample ({', '.join(tapeapp.SAMPLES)}).")


def _read_upload(chosen: Chosen) -> Chosen:
    """The uploader's file read once: a project opens its run; a table is read (a seeded sample when too big for
    the server) and kept in the session's store, or opens the project that was waiting for it."""
    uploaded = widget(UPLOAD)
    if uploaded is None or getattr(uploaded, "file_id", None) != chosen.key or not hasattr(uploaded, "getvalue"):
        return replace(chosen, problem="Your file is no longer on the server; please upload it again.")
    data, name = uploaded.getvalue(), uploaded.name
    try:
        if data.startswith(b"PK") and tapeapp.keep.is_project(data):  # a zip: a project, or an Excel workbook
            with st.spinner("Opening your project…"):
                table, held = session.open_project_upload(data, name)
            read = Chosen("project", chosen.key, table, held=held)
        else:
            with st.spinner("Reading your table…"):
                table = tapeapp.read_table(data, name, sample=True)
            held = tapeapp.keep.TableSource.upload(data, table.info)
            opened = session.pending_project(held)
            read = Chosen("project", chosen.key, opened, held=held) if opened is not None \
                else Chosen("upload", chosen.key, table, held=session.keep_table(held))
    except tapeapp.data.NoRoomYet:
        raise  # not kept: "Read it again" tries once more
    except tapeapp.TapeError as error:
        read = replace(chosen, problem=str(error))
    except Exception as error:  # noqa: BLE001  (every failure gets plain words; the traceback goes to the log)
        read = replace(chosen, problem=problem(error, "reading your table"))
    state.upload_read = read
    _release_bytes(chosen.key)
    return read


def rows_to_predict(uploaded) -> tapeapp.Table:
    """The 'Predict new rows' upload, read once per file and kept in this session only, with the same memory check
    as the table (every row must be read: a file too big for the server is refused, never sampled)."""
    held = state.predict_table
    if held is None or held[0] != uploaded.file_id:
        try:
            with st.spinner("Reading your rows…"):
                read: tapeapp.Table | tapeapp.TapeError = tapeapp.read_table(uploaded.getvalue(), uploaded.name,
                                                                             sample=False)
        except tapeapp.data.NoRoomYet:
            raise
        except tapeapp.TapeError as error:
            read = error
        held = state.predict_table = (uploaded.file_id, read)
    if isinstance(held[1], Exception):
        raise held[1]
    return held[1]


def _release_bytes(file_id: str) -> None:
    """Drop the server's copy of an upload that has been read (Streamlit keeps it until the session ends)."""
    ctx = get_script_run_ctx()
    if ctx is None or ctx.uploaded_file_mgr is None:
        return
    try:
        ctx.uploaded_file_mgr.remove_file(ctx.session_id, file_id)
    except (KeyError, AttributeError):  # an uploader that keeps no bytes (tests), or already gone
        LOG.debug("upload %s was not held by the server", file_id)


def arrive(wanted_session: str | None, lesson_id: str | None, plan: Plan | None, sample: str | None) -> None:
    """What the link brings (once per session; later passes only follow the session): the session kept under it,
    else a lesson (its table too, when the teacher's own), else the sample it names."""
    came_back, brought = session.resume(wanted_session)
    if came_back:
        if brought is not None:
            _use_brought(brought, "kept")
        return
    brought = session.open_lesson(lesson_id, plan)
    if brought is not None:
        _use_brought(brought, "lesson")
    sample_from_link(sample)


def _use_brought(brought: session.Brought, origin: str) -> None:
    """A table brought back becomes the one in use: a sample by its pill, a file as it was read."""
    table, source = brought
    if source.sample:
        set_widgets({SAMPLE_PICK: source.sample})
        state.chosen = Chosen("sample", source.sample)
    else:
        set_widgets({SAMPLE_PICK: None})
        state.chosen = Chosen(origin, "", table, held=session.held(source))
