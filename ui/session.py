"""The session kept on the server (``tapeapp.keep``'s run store): its id in the link, its table, the page's state and
its runs saved as they happen, and all of it brought back, without training again, after a reload, in a new tab,
after the laptop slept or the server restarted.

The id is made here (``tapeapp.keep.new_id``) and only ever read back from the link: an id nobody made on this server
starts a new session instead of being adopted, so that nobody can hand someone a link to a session they watch. Nothing
is written for a visitor who only looks at a sample: the first upload or the first Train creates the entry.

What this module brings back (a kept session's table, a lesson's, a project's) it hands to ``ui.sources``, which
decides the table in use; it never decides it itself.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import streamlit as st

import tapeapp
from tapeapp.errors import quoted
from ui import job as ui_job
from ui import jobs, lesson, link
from ui.plan import Plan
from ui.safe import md
from ui.state import roles, set_widgets, state, target, task

if TYPE_CHECKING:
    from tapeapp.keep import Autosave, Project, RunRecord, RunStore, Session, TableSource

LOG = logging.getLogger("tapeapp.page")
PARAM = "s"  # the link's parameter holding the session's id
STORE_ENV = "TAPEAPP_STORE"  # as ``tapeapp.keep.store.STORE_ENV`` (a test checks), read without importing it
HELD_BYTES = 20_000_000  # an upload this small is held in memory for the project download; a bigger one is read back
Brought = tuple["tapeapp.Table", "TableSource"]  # a table brought back, and the file it was read from


@st.cache_resource(show_spinner=False)
def _store(setting: str) -> RunStore | None:
    """One store per server (``setting`` is ``TAPEAPP_STORE``: tests point each at a folder of their own)."""
    del setting
    return tapeapp.keep.open_store()


def store() -> RunStore | None:
    return _store(os.environ.get(STORE_ENV, ""))


@st.cache_resource(show_spinner=False)
def live_jobs() -> weakref.WeakValueDictionary:
    """The job each kept session is showing, across the server's browser sessions: a second tab on the same link
    watches the run the first one trains instead of starting another. Weak: a job nobody shows is freed."""
    return weakref.WeakValueDictionary()


def session_id() -> str | None:
    return state.session_id


def link_params() -> dict[str, str]:
    """What the link carries for the session (its id), beside the knobs."""
    return {PARAM: session_id()} if session_id() and store() is not None else {}


def resume(wanted: str | None) -> tuple[bool, Brought | None]:
    """Once per browser session: bring back the session the link names, or start a new one. Says whether a session
    came back, and its table (for ``ui.sources``). Later passes follow a newer job another tab on the link started,
    and mark the session as in use."""
    kept = store()
    if type(state).session_id.is_set():
        follow()
        if kept is not None and session_id() and kept.exists(session_id()):
            kept.touch(session_id())
        return False, None
    if kept is None:
        state.session_id = None
        return False, None
    if tapeapp.keep.valid_id(wanted) and kept.exists(wanted):
        state.session_id = wanted
        try:
            session = kept.load_session(wanted)
        except tapeapp.TapeError as error:
            _note(str(error))
            return False, None
        return (True, bring_back(session)) if session is not None else (False, None)
    state.session_id = tapeapp.keep.new_id()
    if wanted:
        _note("Nothing is kept under this link any more (work is kept for 7 days after it was last opened, and "
              "the oldest goes first when the server's room is full): this is a new session.")
    return False, None


def _note(text: str) -> None:
    state.restore_notes.append(text)


def notes() -> list[str]:
    """What bringing the work back said (a damaged run, a table that could not be read), shown once."""
    said = list(state.restore_notes)
    del state.restore_notes
    return said


def bring_back(session: Session) -> Brought | None:
    """The session's state and latest run on the page again (a damaged part is said and left out); its table is
    returned for ``ui.sources`` to put in use."""
    for problem in session.problems:
        _note(problem)
    table = _read(session.table) if session.table is not None else None
    if table is not None:
        state.saved_table = _identity(session.table)
    apply_state({k: v for k, v in session.state.items() if k != "config"}, table)  # the link holds the knobs
    if table is None:
        return None
    brought = (table, session.table)
    if not session.runs:
        return brought
    live = live_jobs().get(session_id())
    if live is not None:  # this server still has it (F5, a second tab): show that job, training or not
        jobs.slot().value = live
        return brought
    try:
        with st.spinner("Bringing your last run back…"):
            job = restored_job(session.runs[-1], table, session.runs[-2] if len(session.runs) > 1 else None)
    except tapeapp.TapeError as error:
        _note(str(error))
        return brought
    except Exception as error:  # noqa: BLE001  (the rest of the session still opens)
        LOG.exception("a kept run could not be brought back")
        _note(f"Run {session.runs[-1].number} could not be brought back ({type(error).__name__}); the rest of "
              "your work is here.")
        return brought
    job.source = held(session.table)
    jobs.slot().value = job
    live_jobs()[session_id()] = job
    return brought


def restored_job(record: RunRecord, table: tapeapp.Table, previous: RunRecord | None = None) -> ui_job.Job:
    """A kept run as a job on the page: the same split, weights, history and ending, no epoch trained."""
    schema = tapeapp.keep.rebuild_schema(table.frame, record)
    run = tapeapp.keep.restore_run(record, table.frame, schema, baselines=tapeapp.start_baselines)
    return ui_job.restored(record, run, table, schema, previous)


def _read(source: TableSource) -> tapeapp.Table | None:
    """A kept table read again (a sample is loaded by its key); None, with a note, when it cannot be."""
    try:
        return source.read()
    except tapeapp.TapeError as error:
        _note(str(error))
        return None


def apply_state(kept: dict, table: tapeapp.Table | None) -> None:
    """The page's choices as they were kept: knobs, target, task, roles, the runs table, a lesson's plan."""
    if isinstance(kept.get("config"), dict):
        try:
            link.apply_config(tapeapp.TrainConfig.from_dict(kept["config"]))
        except tapeapp.TapeError:
            _note("The knobs of this session could not be read back; they are back to their defaults.")
    if isinstance(kept.get("runs"), list):
        state.runs = [row for row in kept["runs"] if isinstance(row, dict)]
    if isinstance(kept.get("lesson"), dict):
        lesson.use(Plan.from_dict(kept["lesson"]))
    column = kept.get("target")
    if table is None or not isinstance(column, str) or column not in map(str, table.frame.columns):
        return
    sha = table.info.sha256[:16]
    chosen_task = kept.get("task") if kept.get("task") in tapeapp.TASKS else "auto"
    set_widgets({target(sha): column, task(sha, column): chosen_task or "auto"})
    kept_roles, plain = kept.get("roles"), kept.get("plain")
    chosen = {str(p[0]): str(p[1]) for p in kept_roles if isinstance(p, list | tuple) and len(p) == 2} \
        if isinstance(kept_roles, list) else {}
    kept_plain = [str(name) for name in plain] if isinstance(plain, list) else []
    if chosen or kept_plain:
        state.base_roles[roles(sha, column, chosen_task or "auto")] = {"roles": chosen, "plain": kept_plain}


def held(source: TableSource) -> TableSource | None:
    """The file as given when small enough to hold for the project download (a bigger one is read back from the
    store when that download is asked for); a sample is always held, by its key."""
    return source if source.sample or len(source.data) <= HELD_BYTES else None


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
    state.saved_table = _identity(source)


def keep_table(source: TableSource) -> TableSource | None:
    """A file was uploaded and read: keep it in the session's store entry; what the page holds of it."""
    save_table(source)
    return held(source)


def current_source() -> TableSource | None:
    """Where the table in use came from: a sample's key, or the file held (None when only the store has it)."""
    chosen = state.chosen
    return chosen.source() if chosen is not None else tapeapp.keep.TableSource.builtin("breast_cancer")


def source_getter() -> Callable[[], TableSource | None]:
    """The table in use as a project packs it, for a download's maker (which runs without a session): what is held
    now, else the file read back from the store when the download is asked for."""
    now, kept, sid = current_source(), store(), session_id()
    if now is not None:
        return lambda: now
    return lambda: kept.load_table(sid) if kept is not None and sid else None


def page_state(table: tapeapp.Table | None, schema: tapeapp.Schema | None,
               config: tapeapp.TrainConfig | None) -> dict:
    """What the page keeps of itself (JSON): the table's source, knobs, target, task, roles, runs, a lesson."""
    chosen = state.chosen
    kept: dict = {"source": (chosen.key if chosen.origin == "sample" else chosen.origin) if chosen else None}
    if config is not None:
        kept["config"] = config.to_dict()
    if schema is not None:
        kept.update(tapeapp.keep.schema_choices(schema))
    kept["runs"] = list(state.runs)  # a copy: the saved state must not change when a run is added
    if (plan := lesson.current()) is not None:
        kept["lesson"] = plan.to_dict()
    return kept


def keep(table: tapeapp.Table | None, schema: tapeapp.Schema | None, config: tapeapp.TrainConfig | None) -> None:
    """Write the page's state when it changed, once the session has an entry (an upload or a run made it)."""
    kept, sid = store(), session_id()
    if kept is None or not sid or not kept.exists(sid):
        return
    now = page_state(table, schema, config)
    if now == state.saved_state:
        return
    try:
        kept.save_state(sid, now)
    except tapeapp.TapeError as error:
        st.warning(md(error))
        return
    state.saved_state = now


def autosave(number: int, schema: tapeapp.Schema, extra: dict) -> Autosave | None:
    """The new run's checkpoints in the store (``ui.jobs.start``'s keeper); the table and state are kept first."""
    kept, sid = store(), session_id()
    if kept is None or not sid:
        return None
    source = current_source()
    if source is not None and state.saved_table != _identity(source):
        save_table(source)
    if not kept.exists(sid):
        return None  # the store could not be written: said by save_table
    return tapeapp.keep.Autosave(kept, sid, number, schema, dict(extra))


def started(job: ui_job.Job) -> None:
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
        jobs.slot().value = live


def open_project(project: Project, source: TableSource, table: tapeapp.Table) -> None:
    """A project dropped on the uploader: its state and run become this session's, kept like the session's own
    (called while the upload is read; its table, ``source``, is put in use by ``ui.sources``)."""
    record = project.record
    del state.saved_state
    apply_state({**project.state, "config": record.config.to_dict(), "target": record.target,
                 "task": record.task, "roles": [list(p) for p in record.roles], "plain": list(record.plain)}, table)
    job = restored_job(record, table)
    job.source = held(source)
    jobs.slot().value = job
    state.runs = [jobs.run_row(job)]
    kept, sid = store(), session_id()
    if kept is None or not sid:
        return
    save_table(source)
    try:
        kept.save_record(sid, record)
    except tapeapp.TapeError as error:
        _note(str(error))
    live_jobs()[sid] = job


def open_project_upload(data: bytes, name: str) -> tuple[tapeapp.Table, TableSource | None]:
    """A project file dropped on the uploader: its run opened, and its table with what the page holds of it
    (TapeError when it cannot be opened); a project saved without its table waits for that file."""
    project = tapeapp.keep.open_project(data, name)
    if not project.table.available:
        state.pending_project = project
        raise tapeapp.TapeError(f"This project was saved without its table: upload {quoted(project.table.name)} (the "
                                "same file it was made from) to open it.")
    table = project.table.read()
    open_project(project, project.table, table)
    return table, held(project.table)


def pending_project(source: TableSource) -> tapeapp.Table | None:
    """The project waiting for its table, opened with this upload when it is the same file; None otherwise (the
    upload is then a table of its own, and the project is forgotten with a note)."""
    project = state.pending_project
    if project is None:
        return None
    del state.pending_project
    if source.sha256 != project.table.sha256:
        _note(f"This is not the file the project was made from ({quoted(project.table.name)}), so the project was "
              "not opened; your file is open as a new table.")
        return None
    same = tapeapp.keep.TableSource(name=project.table.name, data=source.data, fraction=project.table.fraction)
    table = same.read()
    open_project(project, same, table)
    return table


def open_lesson(lesson_id: str | None, plan: Plan | None) -> Brought | None:
    """Once per session: a lesson link's plan, and for a stored lesson its setup and its table (for ``ui.sources``)."""
    if type(state).lesson.is_set():
        return None
    lesson.use(plan)
    if plan is not None or lesson_id is None:
        return None
    kept = store()
    if kept is None or not tapeapp.keep.valid_id(lesson_id):
        _note("This lesson link does not work on this server; ask your teacher for a new one.")
        return None
    try:
        found = kept.load_lesson(lesson_id)
    except tapeapp.TapeError as error:
        _note(str(error))
        return None
    if found is None:
        _note("This lesson is no longer kept on this server (lessons are kept for 7 days after they were last "
              "opened); ask your teacher for a new link.")
        return None
    table = _read(found.table)
    if table is None:
        return None
    if not found.table.sample:
        save_table(found.table)
    apply_state({**found.setup, "lesson": {**found.setup.get("lesson", {}), "lesson_id": lesson_id}}, table)
    return table, found.table


def lesson_link(plan: Plan, schema: tapeapp.Schema | None, config: tapeapp.TrainConfig) -> str | None:
    """The link to hand out: everything in it for a sample; else the table and setup kept under a lesson id."""
    source = source_getter()()
    if source is None:
        st.warning("This table is no longer on the server; upload it again to make a lesson of it.")
        return None
    if source.sample:
        params = {**link.link_params(config), "sample": source.sample}
        if schema is not None:
            params["target"] = schema.target
        params.update(plan.link_params())
    else:
        kept = store()
        if kept is None:
            st.warning("Lessons with your own table need the server's store, which is turned off here "
                       "(TAPEAPP_STORE=off); use a built-in sample, or hand out the project file instead.")
            return None
        setup = {"config": config.to_dict(), **(tapeapp.keep.schema_choices(schema) if schema is not None else {}),
                 "lesson": plan.to_dict()}
        try:
            params = {"lesson": kept.save_lesson(source, setup)}
        except tapeapp.TapeError as error:
            st.warning(md(error))
            return None
    return lesson.page_url() + "?" + urlencode(params)
