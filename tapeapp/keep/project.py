"""The project file: one zip with a run, its table and all its downloads, that reopens the run as it was (without
training again) on the page, and whose model ``python -m tapeapp predict PROJECT.zip DATA`` uses.

Its files (``FILES``; every one listed with its sha256 in ``manifest.json``)::

    manifest.json    tapeapp's version, the date, and the sha256 and size of every other file
    session.json     the page's state and the table's description (name, share of rows read, sample key, sha256)
    run.json         the run's record (``tapeapp.keep.records``): settings, schema choices, history, baselines, ...
    weights.npz      the network's weights and the optimizer's state, plain arrays
    model.keras      the model on raw columns (``tapeapp.keep.export``), for ``predict``
    config.json, history.csv, predictions.csv, importance.csv, reproduce.py   the usual downloads
    background.csv   training rows that explanations compare a row with (``tapeapp explain``)
    report.html      the report to hand in (``tapeapp.report.build``), when it was made
    data/<name>      the table as the user gave it (left out on request)

Opening one is guarded like a file from anyone: its entry count and declared sizes are checked before anything is
unpacked, only these names are accepted (nothing else, no folder, no path out of the archive), every file must
match the manifest, arrays are read without pickle and the model only in Keras' safe mode; anything else is one
plain sentence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tapeapp._tf import keras
from tapeapp.data import budget
from tapeapp.data.schema import Schema
from tapeapp.data.table import MAX_BYTES as TABLE_MAX_BYTES
from tapeapp.errors import TapeError, quoted
from tapeapp.explain.insight import importance as permutation_importance
from tapeapp.keep.export import BACKGROUND_FILE, export_files, load_model
from tapeapp.keep.records import (
    Damaged,
    RunRecord,
    TableSource,
    arrays_bytes,
    arrays_from_bytes,
    capture,
    plain,
    record_from_json,
    record_to_json,
)
from tapeapp.train.run import Run
from tapeapp.version import __version__

FORMAT, FORMAT_VERSION = "tapeapp project", 1
MANIFEST = "manifest.json"
FILES = ("manifest.json", "session.json", "run.json", "weights.npz", "model.keras", "config.json", "history.csv",
         "predictions.csv", "importance.csv", "reproduce.py", BACKGROUND_FILE, "report.html")
REQUIRED = frozenset({"manifest.json", "session.json", "run.json", "weights.npz", "model.keras"})
OPTIONAL = frozenset({BACKGROUND_FILE, "report.html"})  # written when the caller hands the frame or the report
DATA = "data/"
_DATA_NAME = re.compile(r"data/[A-Za-z0-9_()+=,-][A-Za-z0-9 ._()+=,-]{0,99}")
MAX_ENTRIES = 32  # a project has at most 13 files; a few more are named one by one when refused
MAX_JSON = 200_000_000  # a run.json of 10,000 epochs is about 5 MB
MAX_MEMBER = {"manifest.json": 1_000_000, "session.json": 50_000_000, "run.json": MAX_JSON,
              "weights.npz": 1_000_000_000, "model.keras": 1_000_000_000}
MAX_OTHER = 1_000_000_000  # the CSVs and reproduce.py
MAX_UNPACKED = 3_000_000_000  # everything together
MAX_ZIP_BYTES = MAX_UNPACKED  # the archive itself


@dataclass(frozen=True, eq=False)
class Project:
    """An opened project: what the page needs to bring the run back (``records.restore_run``) and the model file."""

    table: TableSource  # ``table.available`` is False when the file was left out: ask for it again
    state: dict
    record: RunRecord
    model_keras: bytes
    manifest: dict
    background_csv: bytes = b""  # absent from projects saved before explanations came


# ---------------------------------------------------------------------------------------------------- writing

def data_name(name: str) -> str:
    """Where the table goes in the archive: ``data/`` + its file name, made safe (no folders, plain characters)."""
    base = re.split(r"[/\\]", str(name))[-1]
    base = re.sub(r"[^A-Za-z0-9 ._()+=,-]", "_", base).lstrip(" .")[:100].rstrip() or "table"
    return DATA + base


def project_files(run: Run, schema: Schema, table: TableSource | None = None, *, state: dict | None = None,
                  number: int = 1, extra: dict | None = None, include_table: bool = True,
                  importance: pd.DataFrame | None = None, read_options: dict | None = None,
                  frame: pd.DataFrame | None = None, report: str | None = None,
                  background: pd.DataFrame | None = None) -> dict[str, bytes]:
    """Every file of the project, as bytes (the page never writes a user's data where another session could read
    it). ``importance`` is computed
    (``tapeapp.explain.insight.importance``) unless given; ``include_table=False`` leaves
    the table's file out (its name and sha256 stay, to recognise it when it is uploaded again). ``frame`` (the
    table read) adds background.csv, or ``background`` (``contributions.background_rows`` already drawn) does;
    ``report`` (``tapeapp.report.build.report_html``'s page) adds report.html."""
    if importance is None:
        importance = permutation_importance(run)
    table = table or TableSource(name="data.csv")
    files = export_files(run, source_name=table.name or "data.csv", read_options=read_options, frame=frame)
    if background is not None and frame is None:
        files[BACKGROUND_FILE] = background.to_csv(index=False).encode()
    if report is not None:
        files["report.html"] = report.encode()
    files["importance.csv"] = importance.to_csv(index=False).encode()
    record = capture(run, schema, number, extra)
    arrays = arrays_bytes(record.weights, record.optimizer_state)
    member = data_name(table.name) if include_table and table.data else None
    files["run.json"] = _json_bytes(record_to_json(record))
    files["weights.npz"] = arrays
    files["session.json"] = _json_bytes({"state": state or {}, "table": {**table.described(), "file": member}})
    if member:
        files[member] = table.data
    files[MANIFEST] = _json_bytes({
        "format": FORMAT, "format_version": FORMAT_VERSION, "tapeapp": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                  for name, data in sorted(files.items())},
    })
    return files


def project_zip(run: Run, schema: Schema, table: TableSource | None = None, **kwargs) -> bytes:
    """The project as one .zip (the page's download); the arguments are ``project_files``'s."""
    return zip_bytes(project_files(run, schema, table, **kwargs))


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """The files in one archive, deflated at level 1: a 50 MB CSV packs to 21 MB in 0.5 s (level 6: 17 MB, 3.5 s)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in FILES:
            if name in files:
                archive.writestr(name, files[name])
        for name in sorted(set(files) - set(FILES)):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def write_project(path: str | os.PathLike, run: Run, schema: Schema, table: TableSource | None = None,
                  **kwargs) -> list[Path]:
    """The command line's ``--out``: a ``.zip`` file, or a folder holding the same files (the table in data/)."""
    files = project_files(run, schema, table, **kwargs)
    out = Path(path)
    if out.suffix.lower() == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        part = out.with_name(out.name + ".part")
        part.write_bytes(zip_bytes(files))
        part.replace(out)
        return [out]
    written = []
    for name, data in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written


def _json_bytes(data: object) -> bytes:
    return json.dumps(plain(data), allow_nan=False, ensure_ascii=False, indent=1).encode()


# ---------------------------------------------------------------------------------------------------- opening

class _Refused(Exception):
    """Why a zip is refused, in words that finish the sentence of ``_sentence``."""

    def __init__(self, why: str, changed: bool = False) -> None:
        super().__init__(why)
        self.why, self.changed = why, changed


def _sentence(name: str, refused: _Refused) -> TapeError:
    if refused.changed:
        return TapeError(f"The project {quoted(name)} was changed after it was saved ({refused.why}), so it cannot "
                         "be opened; download it again from where it was made.")
    return TapeError(f"This zip ({quoted(name)}) is not a tapeapp project ({refused.why}), so it cannot be opened; "
                     "a project is the .zip made by \"Download the project\" or by train --out FILE.zip.")


def _entries_listed(data: bytes) -> int:
    """How many files a zip archive lists, from its end record, before ``zipfile`` builds an object per entry."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 12 > len(data):
        return -1
    return int.from_bytes(data[end + 10:end + 12], "little")


def is_project(data: bytes) -> bool:
    """Whether an upload looks like a project (a zip with tapeapp's manifest and run) rather than a zipped table:
    the page asks this before ``read_table``. Looking is cheap and unpacks nothing."""
    if not data.startswith(b"PK") or not 0 < _entries_listed(data) <= MAX_ENTRIES:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return False
    return {MANIFEST, "run.json"} <= names


def open_project(data: bytes, name: str = "project.zip") -> Project:
    """A project from its bytes, checked throughout (see the module's docstring); a TapeError says why not."""
    try:
        return _open(data)
    except _Refused as refused:
        raise _sentence(name, refused) from None


def _open(data: bytes) -> Project:
    if len(data) > MAX_ZIP_BYTES:
        raise _Refused(f"it is bigger than {MAX_ZIP_BYTES / 1e9:.0f} GB")
    if not data.startswith(b"PK"):
        raise _Refused("it is not a zip archive")
    listed = _entries_listed(data)
    if listed < 0:
        raise _Refused("it is not a whole zip archive")
    if listed > MAX_ENTRIES:
        raise _Refused(f"it holds {listed:,} files, more than a project has")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = _checked_members(archive.infolist())
            _check_room(sum(info.file_size for info in members))
            files = {info.filename: _read_member(archive, info) for info in members}
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, ValueError, RuntimeError):
        raise _Refused("it is damaged: its files cannot be unpacked") from None
    manifest = _checked_manifest(files)
    try:
        session = json.loads(files["session.json"])
        meta = session["table"]
        member = meta.get("file")
        if member is not None and member not in files:
            raise _Refused("the table it names is not in it")
        if member is None and any(n.startswith(DATA) for n in files):
            raise _Refused("it holds a table that its description does not name")
        table = TableSource.from_description({k: v for k, v in meta.items() if k != "file"},
                                             files[member] if member else b"")
        state = session["state"]
        if not isinstance(state, dict):
            raise Damaged("state")
        weights, optimizer = arrays_from_bytes(files["weights.npz"])
        record = record_from_json(json.loads(files["run.json"]), weights, optimizer)
    except (Damaged, ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        raise _Refused("its saved run cannot be read back") from None
    return Project(table=table, state=state, record=record, model_keras=files["model.keras"], manifest=manifest,
                   background_csv=files.get(BACKGROUND_FILE, b""))


def _checked_members(members: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    """Only tapeapp's names, each once, of sizes that fit, unencrypted: all decided before anything is unpacked."""
    names = [info.filename for info in members]
    for info in members:
        path = info.filename
        if path.startswith(("/", "\\")) or "\\" in path or ":" in path or ".." in path.split("/"):
            raise _Refused("a file in it points outside the archive")
        if path not in FILES and not _DATA_NAME.fullmatch(path):
            raise _Refused(f"it holds a file that tapeapp does not write, {quoted(path)}")
        if info.flag_bits & 0x1:
            raise _Refused("its files are encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused("its files are packed in a way tapeapp does not write")
        cap = MAX_MEMBER.get(path, TABLE_MAX_BYTES if path.startswith(DATA) else MAX_OTHER)
        if info.file_size > cap:
            raise _Refused(f"{quoted(path)} in it would unpack to {info.file_size / 1e6:,.0f} MB, more than a "
                           "project holds")
    if len(set(names)) != len(names):
        raise _Refused("it holds the same file twice")
    if sum(1 for n in names if n.startswith(DATA)) > 1:
        raise _Refused("it holds more than one table")
    if sum(info.file_size for info in members) > MAX_UNPACKED:
        raise _Refused(f"its files would unpack to more than {MAX_UNPACKED / 1e9:.0f} GB")
    missing = REQUIRED - set(names)
    if missing:
        raise _Refused(f"{quoted(sorted(missing)[0])} is missing from it")
    return members


def _check_room(unpacked: int) -> None:
    """A project is measured by what it unpacks to, like any file: one that fits on a quieter server waits
    (``NoRoomYet``), one too big for this server is refused, before anything is unpacked."""
    limit, used = budget.budget_bytes(), budget.process_bytes()
    if unpacked <= limit - used:
        return
    need, gb = budget.size_text(unpacked), budget.size_text
    if unpacked <= budget.QUIET_SHARE * limit:
        raise budget.NoRoomYet(f"The server is using most of its memory right now ({gb(used)} of {gb(limit)}, shared "
                               f"by everyone using this app), and opening this project takes about {need}. Your file "
                               "is kept: press \"Read it again\" in a minute, when other runs have finished.")
    raise TapeError(f"This project unpacks to about {need}, more than this server can open (its memory budget is "
                    f"{gb(limit)}, shared by everyone using this app). Save it without its table, or use a smaller "
                    "table.")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes: never more than its declared size (``zipfile`` stops there and checks the CRC)."""
    with archive.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ValueError("size differs from the declared one")
    return data


def _checked_manifest(files: dict[str, bytes]) -> dict:
    """The manifest, of tapeapp's format and a version this tapeapp reads, matching every other file exactly."""
    try:
        manifest = json.loads(files[MANIFEST])
        listed = manifest["files"]
        ok = (manifest.get("format") == FORMAT and isinstance(manifest.get("format_version"), int)
              and isinstance(listed, dict) and all(isinstance(v, dict) for v in listed.values()))
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise _Refused("its manifest is not tapeapp's")
    if manifest["format_version"] > FORMAT_VERSION:
        raise TapeError(f"This project was saved by a newer tapeapp ({quoted(manifest.get('tapeapp', '?'))}); "
                        f"update tapeapp (this is {__version__}) to open it.")
    present = set(files) - {MANIFEST}
    if set(listed) != present:
        changed = sorted(present ^ set(listed))[0]
        raise _Refused(f"{quoted(changed)} is not in its manifest" if changed in present
                       else f"{quoted(changed)} has been taken out", changed=True)
    for name in sorted(present):
        if (listed[name].get("sha256") != hashlib.sha256(files[name]).hexdigest()
                or listed[name].get("bytes") != len(files[name])):
            raise _Refused(f"{quoted(name)} does not match its manifest", changed=True)
    return manifest


# ---------------------------------------------------------------------------------------------------- the model

def open_project_file(path: str | os.PathLike) -> Project:
    """A project from a file, its size checked before it is read."""
    path = Path(path)
    if path.stat().st_size > MAX_ZIP_BYTES:
        raise _sentence(path.name, _Refused(f"it is bigger than {MAX_ZIP_BYTES / 1e9:.0f} GB"))
    return open_project(path.read_bytes(), path.name)


def model_from_project(path: str | os.PathLike) -> tuple[keras.Model, dict]:
    """The model of a project file, for ``predict``: the whole project checked, then the model loaded in Keras'
    safe mode with ``export.load_model``'s own checks."""
    return keras_model(open_project_file(path).model_keras)


def keras_model(model_keras: bytes) -> tuple[keras.Model, dict]:
    """A model.keras from memory, through ``export.load_model`` (a file name is what Keras reads)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "model.keras"
        target.write_bytes(model_keras)
        return load_model(target)


def is_project_file(path: str | os.PathLike) -> bool:
    """Whether a file is a project (a zip with tapeapp's manifest and run) rather than a model.keras, which is a zip
    too: told apart by what is inside, reading only the archive's directory."""
    with open(path, "rb") as handle:
        if not handle.read(4).startswith(b"PK"):
            return False
        handle.seek(max(0, Path(path).stat().st_size - 65_557))
        if not 0 < _entries_listed(handle.read()) <= MAX_ENTRIES:  # before zipfile builds an object per entry
            return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return False
    return MANIFEST in names and "run.json" in names


def load_predictor(path: str | os.PathLike) -> tuple[keras.Model, dict]:
    """What ``predict`` takes: a project .zip or a model.keras, told apart by what is inside."""
    path = Path(path)
    if not path.is_file():
        raise TapeError(f"There is no model or project file at {quoted(path)}.")
    return model_from_project(path) if is_project_file(path) else load_model(path)
