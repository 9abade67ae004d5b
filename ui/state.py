"""The page's state between script runs, in one typed home: the only module that reads or writes Streamlit's session.

Streamlit keeps each browser session's values between the script runs its clicks start. The page's own values are
the fields of ``PageState`` below, each with its type, its default and why it is kept (a field's name is its key in
the session, so a test reads ``at.session_state["config"]``). Widgets keep their values in the session too, under
the keys named at the end of this module: ``widget`` reads one, ``set_widgets`` writes several before they are
drawn, ``widget_default`` gives one its first value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import streamlit as st

import tapeapp

if TYPE_CHECKING:
    from tapeapp.keep import Project, TableSource
    from ui.job import Job
    from ui.plan import Plan

T = TypeVar("T")


class Kept(Generic[T]):
    """One field of the page's state, kept in the session under the field's own name.

    ``new`` makes a fresh mutable default (a list, a box) the first time the field is read, and keeps it.
    """

    def __init__(self, default: T | None = None, *, new: Callable[[], T] | None = None) -> None:
        self.default, self.new, self.name = default, new, ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, state: object, owner: type | None = None) -> T:
        if state is None:
            return self  # type: ignore[return-value]  (the field itself, read from the class)
        if self.new is not None:
            return st.session_state.setdefault(self.name, self.new())
        return st.session_state.get(self.name, self.default)

    def __set__(self, state: object, value: T) -> None:
        st.session_state[self.name] = value

    def __delete__(self, state: object) -> None:
        st.session_state.pop(self.name, None)

    def is_set(self) -> bool:
        """Whether the session holds this field yet (some fields are decided once per session)."""
        return self.name in st.session_state


@dataclass(eq=False)
class Box(Generic[T]):
    """A value kept in a box under one key for the whole session.

    Streamlit keeps the previous script run's session values until the user's next interaction; a job stored directly
    would keep the last run's model alive that long. Replacing the job inside the box frees it at once.
    """

    value: T | None = None


@dataclass(frozen=True)
class Chosen:
    """The table in use: where it came from, what reading it gave, and the file as given (a project packs it).

    ``origin`` is "sample" (``key`` names it; its table comes from the shared cache), "upload" (``key`` is the
    uploader's file id; ``table`` is None until read, or ``problem`` says why there is none), "project" (an uploaded
    project file opened its run, with its table), "kept" (a session brought back) or "lesson".
    """

    origin: str
    key: str = ""
    table: tapeapp.Table | None = None
    problem: str = ""
    held: TableSource | None = None  # the file's bytes when small enough to hold; else the run store has them

    def source(self) -> TableSource | None:
        """The table as a project packs it: a sample by its key, a file by its bytes (None: only the store has it)."""
        return tapeapp.keep.TableSource.builtin(self.key) if self.origin == "sample" else self.held


class PageState:
    """Everything the page keeps of itself between script runs (widgets' values are kept under the keys below)."""

    # --- training
    training: Kept[Box[Job]] = Kept(new=Box)
    """The session's training job (running, or the last one ended)."""
    train_requested: Kept[bool] = Kept(False)
    """Train was clicked: the next script run starts a job."""
    train_error: Kept[str] = Kept("")
    """Why the last Train could not start; shown once."""
    runs: Kept[list[dict]] = Kept(new=list)
    """One row per finished or stopped run, for "Your runs in this session"."""
    baselines_pending: Kept[int | None] = Kept(None)
    """The run whose simpler models were still fitting when the results were drawn."""

    # --- the table
    chosen: Kept[Chosen | None] = Kept(None)
    """Where the table in use came from and what reading it gave (``ui.sources``; None: the default sample)."""
    upload_read: Kept[Chosen | None] = Kept(None)
    """The uploader's file as read, kept while the uploader holds it (a sample picked and dropped again brings it
    back without reading)."""
    data_error: Kept[str] = Kept("")
    """Why a sample could not be loaded; shown once."""
    predict_table: Kept[tuple[str, tapeapp.Table | tapeapp.TapeError] | None] = Kept(None)
    """The rows uploaded to predict, read once per file (its upload id, the table or why not)."""
    pending_project: Kept[Project | None] = Kept(None)
    """A project opened without its table, waiting for that file."""

    # --- the knobs and the link
    config: Kept[tapeapp.TrainConfig | None] = Kept(None)
    """The last valid knobs (a widget forgets its value on a script run that does not draw it)."""
    link_extras: Kept[dict[str, str]] = Kept(new=dict)
    """What the link asked for beside the knobs (sample, target, session, lesson), each used once."""
    link_problems: Kept[list[str]] = Kept(new=list)
    """The link's values that were ignored, and why."""
    slider_tops: Kept[dict[str, float]] = Kept(new=dict)
    """A slider's maximum, raised for the session when a link or a project asked for more."""
    lr_find_requested: Kept[bool] = Kept(False)
    """"Find a learning rate" was clicked: the next script run runs the finder."""
    lr_finding: Kept[tuple | None] = Kept(None)
    """(what the finding depends on, the LearningRateFinding)."""
    base_roles: Kept[dict[str, dict]] = Kept(new=dict)
    """Roles brought back (a kept session, a project, a lesson) per columns table: its editor starts there."""

    # --- the session kept on the server
    session_id: Kept[str | None] = Kept(None)
    """The id the run store keeps this session under (None when the store is off); decided once per session."""
    saved_state: Kept[dict | None] = Kept(None)
    """The page's state as last written to the store (written again only when it changes)."""
    saved_table: Kept[str | None] = Kept(None)
    """Which table the store holds for this session (a sample's key or the file's sha256)."""
    restore_notes: Kept[list[str]] = Kept(new=list)
    """What bringing the session back could not do, and what it did; shown once."""
    lesson: Kept[Plan | None] = Kept(None)
    """What a student's lesson shows, locks and hides; decided once per session."""

    # --- one case at a time
    edit_from: Kept[tuple | None] = Kept(None)
    """Where 'Try one row' starts: ("row", run number, the row's label), or None for typical values."""
    edit_picked: Kept[tuple | None] = Kept(None)
    """The last row picked in a table, so that the pick starts the editor once."""
    edit_typed: Kept[int | None] = Kept(None)
    """The last row number typed, likewise."""
    edit_loaded: Kept[tuple | None] = Kept(None)
    """The start the editor's values were last filled from."""


state = PageState()


def widget(key: str, default: Any = None) -> Any:
    """A widget's value as the session holds it (the widget may not be drawn in this script run)."""
    return st.session_state.get(key, default)


def set_widgets(values: Mapping[str, Any]) -> None:
    """Give widgets these values; before they are drawn in this script run (or from a callback)."""
    st.session_state.update(values)


def widget_default(key: str, value: Any) -> Any:
    """A widget's value, given ``value`` first when the session has none yet."""
    return st.session_state.setdefault(key, value)


def forget_widget(key: str) -> None:
    st.session_state.pop(key, None)


# --- widgets' keys (tests find widgets by these same strings: ``at.button(key="train")``) ------------------------
UPLOAD = "upload"
SAMPLE_PICK = "sample_pick"
READ_AGAIN = "read_again"
PRESET = "preset"
FIND_LR = "find_lr"
USE_LR = "use_lr"
TRAIN = "train"
STOP = "stop"
THRESHOLD = "threshold"
MAP_X = "map_x"
MAP_Y = "map_y"
PREDICT_UPLOAD = "predict_upload"
PREDICT_READ_AGAIN = "predict_read_again"
NEW_PREDICTIONS = "download_new_predictions"
LAYERS = "cfg_layers"
CONFUSION_PICK = "confusion_pick"  # the cell clicked on the confusion matrix
REGION_PICK = "region_pick"  # the rectangle dragged on predicted-against-actual
PICKED_ROWS = "picked_rows"  # the table of the rows behind the selection (a row picked there is tried)
MISTAKE_ROWS = "mistake_rows"
EDIT_ROW_NUMBER = "edit_row_number"
EDIT_TYPICAL = "edit_typical"
WEAK_COLUMN = "weak_column"
INCLUDE_TABLE = "include_table"
PROJECT_DOWNLOAD = "download_project"
REPORT_DOWNLOAD = "download_report"
LESSON_TEXT = "lesson_text"
LESSON_HIDE = "lesson_hide"
MAKE_LESSON = "make_lesson"


def knob(name: str) -> str:
    """The widget of one TrainConfig field (``cfg_epochs``)."""
    return f"cfg_{name}"


def width(layer: int) -> str:
    """The neurons of hidden layer ``layer`` (from 0)."""
    return f"cfg_width_{layer}"


def target(table_sha: str) -> str:
    """The column to predict, per table (a new upload starts from its own guess)."""
    return f"target_{table_sha}"


def task(table_sha: str, target_name: str) -> str:
    return f"task_{table_sha}_{target_name}"


def roles(table_sha: str, target_name: str, task_name: str) -> str:
    return f"roles_{table_sha}_{target_name}_{task_name}"


def lesson_knob(name: str) -> str:
    """The teacher's tick that lets students change the knob ``name``."""
    return f"lesson_knob_{name}"


def download(file_name: str) -> str:
    return f"download_{file_name.replace('.', '_')}"


def edit(position: int) -> str:
    """The input of the edited row's ``position``-th column in 'Try one row' (columns may have any name)."""
    return f"edit_{position}"


def apply(run_number: int, index: int, code: str) -> str:
    """An advice's Apply button."""
    return f"apply_{run_number}_{index}_{code}"
