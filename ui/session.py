"""The session kept on the server (``tapeapp.keep.store``): its id in the link, its table, the page's state and its runs
saved as they happen, and all of it brought back, without training again, after a reload, in a new tab, after the
laptop slept or the server restarted.

The id is made here (``store.new_id``) and only ever read back from the link: an id nobody made on this server starts
a new session instead of being adopted, so that nobody can hand someone a link to a session they watch. Nothing is
written for a visitor who only looks at a sample: the first upload or the first Train creates the entry.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

import tapeapp
from ui import data as data_reader
from ui import jobs, keys, knobs
from ui.safe import md

if TYPE_CHECKING:  # the store brings TensorFlow with it: imported where first used, after the page's top is drawn
    from tapeapp.keep import Autosave, Project, RunRecord, RunStore, Session, TableSource
    from ui.lesson import Plan

LOG = logging.getLogger("tapeapp.page")
PARAM = "s"  # the link's parameter holding the session's id
STORE_ENV = "TAPEAPP_STORE"  # as ``tapeapp.keep.store.STORE_ENV`` (a test checks), read without importing it
HELD_BYTES = 20_000_000  # an upload this small is held in memory for the project download; a bigger one is read back


@st.cache_resource(show_spinner=False)
def _store(setting: str) -> RunStore | None:
    """One store per server (``setting`` is ``TAPEAPP_STORE``: tests point each at a folder of their own)."""
    del setting
    from tapeapp.keep import open_store

    return open_store()


def store() -> RunStore | None:
    return _store(os.environ.get(STORE_ENV, ""))


@st.cache_resource(show_spinner=False)
def live_jobs() -> weakref.WeakValueDictionary:
    """The job each kept session is showing, across the server's browser sessions: a second tab on the same link
    watches the run the first one trains instead of starting another. Weak: a job nobody shows is freed."""
    return weakref.WeakValueDictionary()


def session_id() -> str | None:
    return st.session_state.get(keys.SESSION_ID)


def link_params() -> dict[str, str]:
    """What the link carries for the session (its id), beside the knobs."""
    return {PARAM: session_id()} if session_id() and store() is not None else {}


def resume(wanted: str | None) -> bool:
    """Once per browser session: bring back the session the link names, or start a new one; whether one came
    back. Later passes follow a newer job another tab on the link started, and mark the session as in use."""
    from tapeapp.keep import new_id, valid_id

    kept = store()
    if keys.SESSION_ID in st.session_state:
        follow()
        if kept is not None and session_id() and kept.exists(session_id()):
            kept.touch(session_id())
        return False
    if kept is None:
        st.session_state[keys.SESSION_ID] = None
        return False
    if valid_id(wanted) and kept.exists(wanted):
        st.session_state[keys.SESSION_ID] = wanted
        try:
            session = kept.load_session(wanted)
        except tapeapp.TapeError as error:
            _note(str(error))
            return False
        if session is not None:
            bring_back(session)
            return True
        return False
    st.session_state[keys.SESSION_ID] = new_id()
    if wanted:
        _note("Nothing is kept under this link any more (work is kept for 7 days after it was last opened, and "
              "the oldest goes first when the server's room is full): this is a new session.")
    return False


def _note(text: str) -> None:
    st.session_state.setdefault(keys.RESTORE_NOTES, []).append(text)


def notes() -> list[str]:
    """What bringing the work back said (a damaged run, a table that could not be read), shown once."""
    return st.session_state.pop(keys.RESTORE_NOTES, [])


def bring_back(session: Session) -> None:
    """The session's table, state and latest run on the page again (a damaged part is said and left out)."""
    for problem in session.problems:
        _note(problem)
    table = _use_table(session.table) if session.table is not None else None
    if table is not None:
        st.session_state[keys.SAVED_TABLE] = _identity(session.table)
    apply_state({k: v for k, v in session.state.items() if k != "config"}, table)  # the link holds the knobs
    if table is None or not session.runs:
        return
    live = live_jobs().get(session_id())
    if live is not None:  # this server still has it (F5, a second tab): show that job, training or not
        jobs.slot().job = live
        return
    try:
        with st.spinner("Bringing your last run back…"):
            job = restored_job(session.runs[-1], table, session.runs[-2] if len(session.runs) > 1 else None)
    except tapeapp.TapeError as error:
        _note(str(error))
        return
    except Exception as error:  # noqa: BLE001  (the rest of the session still opens)
        LOG.exception("a kept run could not be brought back")
        _note(f"Run {session.runs[-1].number} could not be brought back ({type(error).__name__}); the rest of "
              "your work is here.")
        return
    job.source = current_source()
    jobs.slot().job = job
    live_jobs()[session_id()] = job


def restored_job(record: RunRecord, table: tapeapp.Table, previous: RunRecord | None = None) -> jobs.Job:
    """A kept run as a job on the page: the same split, weights, history and ending, no epoch trained."""
    from tapeapp.keep import rebuild_schema, restore_run

    schema = rebuild_schema(table.frame, record)
    run = restore_run(record, table.frame, schema, baselines=tapeapp.start_baselines)
    return jobs.restored(record, run, table, schema, previous)


def _use_table(source: TableSource) -> tapeapp.Table | None:
    """Make a kept table the one in use (a sample is picked again; a file's table is read from its bytes)."""
    try:
        table = source.read()
    except tapeapp.TapeError as error:
        _note(str(error))
        return None
    if source.sample:
        st.session_state[keys.SOURCE] = st.session_state[keys.SAMPLE_PICK] = source.sample
    else:
        st.session_state[keys.SOURCE] = "kept"
        st.session_state[keys.SAMPLE_PICK] = None
        st.session_state[keys.KEPT_TABLE] = table
    hold_source(source)
    return table


def apply_state(state: dict, table: tapeapp.Table | None) -> None:
    """The page's choices as they were kept: knobs, target, task, roles, the runs table, a lesson's plan."""
    from ui import lesson

    if isinstance(state.get("config"), dict):
        try:
            knobs.apply_config(tapeapp.TrainConfig.from_dict(state["config"]))
        except tapeapp.TapeError:
            _note("The knobs of this session could not be read back; they are back to their defaults.")
    if isinstance(state.get("runs"), list):
        st.session_state[keys.RUNS] = [row for row in state["runs"] if isinstance(row, dict)]
    if isinstance(state.get("lesson"), dict):
        lesson.use(lesson.Plan.from_dict(state["lesson"]))
    target = state.get("target")
    if table is None or not isinstance(target, str) or target not in map(str, table.frame.columns):
        return
    sha = table.info.sha256[:16]
    task = state.get("task") if state.get("task") in tapeapp.TASKS else "auto"
    st.session_state[keys.target(sha)] = target
    st.session_state[keys.task(sha, target)] = task or "auto"
    roles, plain = state.get("roles"), state.get("plain")
    chosen = {str(p[0]): str(p[1]) for p in roles if isinstance(p, list | tuple) and len(p) == 2} \
        if isinstance(roles, list) else {}
    kept_plain = [str(name) for name in plain] if isinstance(plain, list) else []
    if chosen or kept_plain:
        st.session_state[keys.base_roles(keys.roles(sha, target, task or "auto"))] = {"roles": chosen,
                                                                                     "plain": kept_plain}


def hold_source(source: TableSource) -> None:
    """Remember where the table in use came from (its bytes only when small; the store keeps the rest)."""
    held = source if source.sample or len(source.data) <= HELD_BYTES else None
    st.session_state[keys.TABLE_SOURCE] = held


def _identity(source: TableSource) -> str:
    return source.sample or source.sha256


def save_table(source: TableSource) -> None:
    """Keep the session's table in the store (this creates the session's entry)."""
    kept, sid = store(), session_id()
    if kept is None or not sid:
        return
    try:
        kept.save_table(sid, source)
    except tapeapp.TapeError as error:
        _note(str(error))
        return
    st.session_state[keys.SAVED_TABLE] = _identity(source)


def table_read(source: TableSource) -> None:
    """A file was uploaded and read: hold it, and keep it in the session's store entry."""
    hold_source(source)
    save_table(source)


def current_source() -> TableSource | None:
    """Where the table in use came from: a sample's key, or the file held (None when only the store has it)."""
    from tapeapp.keep import TableSource

    if st.session_state.get(keys.SOURCE) in tapeapp.SAMPLES:
        return TableSource.builtin(st.session_state[keys.SOURCE])
    return st.session_state.get(keys.TABLE_SOURCE)


def source_getter() -> Callable[[], TableSource | None]:
    """The table in use as a project packs it, for a download's maker (which runs without a session): what is held
    now, else the file read back from the store when the download is asked for."""
    held, kept, sid = current_source(), store(), session_id()
    if held is not None:
        return lambda: held
    return lambda: kept.load_table(sid) if kept is not None and sid else None


def page_state(table: tapeapp.Table | None, schema: tapeapp.Schema | None,
               config: tapeapp.TrainConfig | None) -> dict:
    """What the page keeps of itself (JSON): the table's source, knobs, target, task, roles, runs, a lesson."""
    from tapeapp.keep import schema_choices
    from ui import lesson

    state: dict = {"source": st.session_state.get(keys.SOURCE)}
    if config is not None:
        state["config"] = config.to_dict()
    if schema is not None:
        state.update(schema_choices(schema))
    state["runs"] = st.session_state.get(keys.RUNS, [])
    if (plan := lesson.current()) is not None:
        state["lesson"] = plan.to_dict()
    return state


def keep(table: tapeapp.Table | None, schema: tapeapp.Schema | None, config: tapeapp.TrainConfig | None) -> None:
    """Write the page's state when it changed, once the session has an entry (an upload or a run made it)."""
    kept, sid = store(), session_id()
    if kept is None or not sid or not kept.exists(sid):
        return
    state = page_state(table, schema, config)
    if state == st.session_state.get(keys.SAVED_STATE):
        return
    try:
        kept.save_state(sid, state)
    except tapeapp.TapeError as error:
        st.warning(md(error))
        return
    st.session_state[keys.SAVED_STATE] = state


def autosave(number: int, schema: tapeapp.Schema, extra: dict) -> Autosave | None:
    """The new run's checkpoints in the store (``ui.jobs.start``'s keeper); the table and state are kept first."""
    from tapeapp.keep import Autosave

    kept, sid = store(), session_id()
    if kept is None or not sid:
        return None
    source = current_source()
    if source is not None and st.session_state.get(keys.SAVED_TABLE) != _identity(source):
        save_table(source)
    if not kept.exists(sid):
        return None  # the store could not be written: said by save_table
    return Autosave(kept, sid, number, schema, dict(extra))


def started(job: jobs.Job) -> None:
    """A run was started in this tab: other tabs on the same link follow it from now on."""
    job.source = current_source()
    if session_id() and store() is not None:
        live_jobs()[session_id()] = job


def follow() -> None:
    """Show the job another tab on this link started (a newer run), so that two tabs never train at once."""
    sid = session_id()
    if not sid:
        return
    live = live_jobs().get(sid)
    mine = jobs.current()
    if live is not None and live is not mine and (mine is None or live.number >= mine.number):
        jobs.slot().job = live


def open_project(project: Project, source: TableSource, table: tapeapp.Table) -> None:
    """A project dropped on the uploader: its table (``source``: packed in it, or the file uploaded for it), state
    and run become this session's, and are kept like the session's own (called while the upload is read: the
    sample pills are drawn already, and were cleared by the upload)."""
    st.session_state[keys.SOURCE] = "kept"
    st.session_state[keys.KEPT_TABLE] = table
    hold_source(source)
    record = project.record
    st.session_state.pop(keys.SAVED_STATE, None)
    apply_state({**project.state, "config": record.config.to_dict(), "target": record.target,
                 "task": record.task, "roles": [list(p) for p in record.roles], "plain": list(record.plain)}, table)
    job = restored_job(record, table)
    job.source = current_source()
    jobs.slot().job = job
    st.session_state[keys.RUNS] = [jobs.run_row(job)]
    kept, sid = store(), session_id()
    if kept is None or not sid:
        return
    save_table(source)
    try:
        kept.save_record(sid, record)
    except tapeapp.TapeError as error:
        _note(str(error))
    live_jobs()[sid] = job


def read_upload(uploaded) -> tapeapp.Table | tapeapp.TapeError:
    """The section-1 upload (``ui.data.current_table``'s reader): a project file is opened; a table is read and kept
    in the session's store entry, or opens the project that was waiting for it."""
    from tapeapp.keep import TableSource

    data = uploaded.getvalue()
    if data.startswith(b"PK"):  # a zip: a project, or an Excel workbook
        from tapeapp.keep import is_project

        if is_project(data):
            from tapeapp.data import NoRoomYet

            try:
                with st.spinner("Opening your project…"):
                    return project_uploaded(data, uploaded.name)
            except NoRoomYet:
                raise  # not kept as the answer: "Read it again" tries once more
            except tapeapp.TapeError as error:
                return error
    table = data_reader.read_bytes(data, uploaded.name, sample=True)
    if not isinstance(table, tapeapp.Table):
        return table
    source = TableSource.upload(data, table.info)
    try:
        opened = pending_project(source)
    except tapeapp.TapeError as error:
        return error
    if opened is not None:
        return opened
    table_read(source)
    return table


def project_uploaded(data: bytes, name: str) -> tapeapp.Table:
    """A project file dropped on the uploader: its run opened (TapeError when it cannot be); a project saved without
    its table waits for that file (``pending_project``)."""
    from tapeapp.errors import quoted
    from tapeapp.keep import open_project as read_project

    project = read_project(data, name)
    if not project.table.available:
        st.session_state[keys.PENDING_PROJECT] = project
        raise tapeapp.TapeError(f"This project was saved without its table: upload {quoted(project.table.name)} (the "
                                "same file it was made from) to open it.")
    table = project.table.read()
    open_project(project, project.table, table)
    return table


def pending_project(source: TableSource) -> tapeapp.Table | None:
    """The project waiting for its table, opened with this upload when it is the same file; None otherwise (the
    upload is then a table of its own, and the project is forgotten with a note)."""
    from tapeapp.errors import quoted
    from tapeapp.keep import TableSource

    project = st.session_state.pop(keys.PENDING_PROJECT, None)
    if project is None:
        return None
    if source.sha256 != project.table.sha256:
        _note(f"This is not the file the project was made from ({quoted(project.table.name)}), so the project was "
              "not opened; your file is open as a new table.")
        return None
    same = TableSource(name=project.table.name, data=source.data, fraction=project.table.fraction)
    table = same.read()
    open_project(project, same, table)
    return table


def open_lesson(lesson_id: str | None, plan: Plan | None) -> None:
    """Once per session: a lesson link's plan, and for a stored lesson its table and setup."""
    from tapeapp.keep import valid_id
    from ui import lesson

    if keys.LESSON in st.session_state:
        return
    lesson.use(plan)
    if plan is not None or lesson_id is None:
        return
    kept = store()
    if kept is None or not valid_id(lesson_id):
        _note("This lesson link does not work on this server; ask your teacher for a new one.")
        return
    try:
        found = kept.load_lesson(lesson_id)
    except tapeapp.TapeError as error:
        _note(str(error))
        return
    if found is None:
        _note("This lesson is no longer kept on this server (lessons are kept for 7 days after they were last "
              "opened); ask your teacher for a new link.")
        return
    table = _use_table(found.table)
    if table is None:
        return
    if not found.table.sample:
        save_table(found.table)
    apply_state({**found.setup, "lesson": {**found.setup.get("lesson", {}), "lesson_id": lesson_id}}, table)


def lesson_link(plan: Plan, schema: tapeapp.Schema | None, config: tapeapp.TrainConfig) -> str | None:
    """The link to hand out: everything in it for a sample; else the table and setup kept under a lesson id."""
    from urllib.parse import urlencode

    from tapeapp.keep import schema_choices
    from ui import lesson

    source = source_getter()()
    if source is None:
        st.warning("This table is no longer on the server; upload it again to make a lesson of it.")
        return None
    if source.sample:
        params = {**knobs.link_params(config), "sample": source.sample}
        if schema is not None:
            params["target"] = schema.target
        params.update(plan.link_params())
    else:
        kept = store()
        if kept is None:
            st.warning("Lessons with your own table need the server's store, which is turned off here "
                       "(TAPEAPP_STORE=off); use a built-in sample, or hand out the project file instead.")
            return None
        setup = {"config": config.to_dict(), **(schema_choices(schema) if schema is not None else {}),
                 "lesson": plan.to_dict()}
        try:
            params = {"lesson": kept.save_lesson(source, setup)}
        except tapeapp.TapeError as error:
            st.warning(md(error))
            return None
    return lesson.page_url() + "?" + urlencode(params)
