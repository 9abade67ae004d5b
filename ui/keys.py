"""Every key the page keeps in ``st.session_state``, named once: the page's own state and its widgets' keys.

Streamlit keeps a widget's value under its key, so both kinds live in the same place; tests find widgets by these
same strings (``at.button(key="train")``).
"""

from __future__ import annotations

# --- the page's own state ----------------------------------------------------------------------------------------
TRAINING = "training"  # ui.jobs.Slot: the session's training job
TRAIN_REQUESTED = "train_requested"  # Train was clicked: the next pass starts a job
TRAIN_ERROR = "train_error"  # why the last Train could not start, shown once
RUNS = "runs"  # one row per finished or stopped run, for "Your runs in this session"
SOURCE = "source"  # "upload", or the key of the built-in sample in use
UPLOAD_TABLE = "upload_table"  # (file id, Table or TapeError): the upload, read once
PREDICT_TABLE = "predict_table"  # the same for "Predict new rows"
DATA_ERROR = "data_error"  # why a sample could not be loaded, shown once
CONFIG = "config"  # the last valid TrainConfig (widgets forget values on runs that do not draw them)
LINK_EXTRAS = "link_extras"  # sample and target asked for by the link, used once
LINK_PROBLEMS = "link_problems"  # the link's values that were ignored, and why
LR_FIND_REQUESTED = "lr_find_requested"
LR_FINDING = "lr_finding"  # (what it depends on, LearningRateFinding)
BASELINES_PENDING = "baselines_pending"  # the run whose simpler models were still fitting when drawn
SESSION_ID = "session_id"  # the id the run store keeps this session under (None when the store is off)
SAVED_STATE = "saved_state"  # the page's state as last written to the store (written again only when it changes)
KEPT_TABLE = "kept_table"  # a Table brought back from the store, a project file or a lesson (source "kept")
TABLE_SOURCE = "table_source"  # the TableSource of the table in use, held when small (a project packs it)
SAVED_TABLE = "saved_table"  # which table the store holds for this session (a sample's key or the file's sha256)
RESTORE_NOTES = "restore_notes"  # what bringing the session back could not do, and what it did, shown once
PENDING_PROJECT = "pending_project"  # a project opened without its table, waiting for that file
LESSON = "lesson"  # ui.lesson.Plan: what a student's lesson shows, locks and hides

# --- widgets -----------------------------------------------------------------------------------------------------
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
EDIT_FROM = "edit_from"  # where 'Try one row' starts: ("row", run number, the row's label) or None (typical values)
EDIT_PICKED = "edit_picked"  # the last row picked in a table, so that the pick starts the editor once
EDIT_TYPED = "edit_typed"  # the last row number typed, likewise
EDIT_LOADED = "edit_loaded"  # the start the editor's values were last filled from
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


def slider_top(key: str) -> str:
    """A slider's maximum, raised for the session when a link asked for more."""
    return f"{key}_max"


def target(table_sha: str) -> str:
    """The column to predict, per table (a new upload starts from its own guess)."""
    return f"target_{table_sha}"


def task(table_sha: str, target_name: str) -> str:
    return f"task_{table_sha}_{target_name}"


def roles(table_sha: str, target_name: str, task_name: str) -> str:
    return f"roles_{table_sha}_{target_name}_{task_name}"


def base_roles(roles_key: str) -> str:
    """Roles brought back for one columns table (a kept session, a project, a lesson): the editor starts there."""
    return f"base_{roles_key}"


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
