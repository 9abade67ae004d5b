"""The run store: a session's table, settings and runs kept on the server as they happen, so that F5, a new tab, a
laptop that slept or a restarted server bring them back without training again.

A session is a folder named by an unguessable id (``new_id``: 192 bits from ``secrets``), which the page keeps in
the URL; an id is checked against a strict pattern before it ever becomes a path, and no function lists, logs or
puts in a message the ids kept (only ``new_id`` and ``save_lesson`` hand out the one just made). Layout
(``TAPEAPP_STORE``, else ``$XDG_CACHE_HOME``/``~/.cache`` + ``tapeapp/store``; private to the server's user)::

    sessions/<id>/              its modification time is the session's last use
        table.json              the table's name, the share of rows read, a sample's key, sha256; names the blob
        table-<token>.bin       the file's bytes as uploaded (absent for a built-in sample)
        state.json              what the page keeps (knobs, target, task, roles, ...)
        runs/000003/run.json    a ``RunRecord`` (``tapeapp.keep.records``); names its weights file
        runs/000003/weights-<token>.npz
    lessons/<id>/table.json, table-<token>.bin, setup.json
    tmp/                        files being written, renamed into place when complete
    trash/                      entries being removed

Every write goes to ``tmp/`` first and is renamed into place; a JSON file that names its blob is written after the
blob and is the moment of truth, so a reader sees the old entry or the new one, never half of one. One lock per
store folder serialises the renames of every thread of the server process. The store keeps to a size budget
(``TAPEAPP_STORE_MB``, default 2,000) by removing the sessions used longest ago, and forgets entries unused for
``TAPEAPP_STORE_DAYS`` (default 7) days; a session in use is never removed (``in_use``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from tapeapp.data.schema import Schema
from tapeapp.errors import TapeError
from tapeapp.keep.records import (
    Damaged,
    RunRecord,
    TableSource,
    arrays_bytes,
    arrays_from_bytes,
    baselines_to_json,
    capture,
    plain,
    record_from_json,
    record_to_json,
)
from tapeapp.train.run import Run

STORE_ENV, MB_ENV, DAYS_ENV = "TAPEAPP_STORE", "TAPEAPP_STORE_MB", "TAPEAPP_STORE_DAYS"
DEFAULT_MB = 2_000
DEFAULT_DAYS = 7
OFF = ("off", "none", "no")  # TAPEAPP_STORE=off keeps nothing on disk (``open_store`` returns None)
IN_USE_SECONDS = 600  # a session touched this recently is in use: an open page touches it at every rerun
CHECKPOINT_SECONDS = 5.0  # a training run's weights and history are saved this often (not every epoch)
COST_SHARE = 20  # ... and no sooner than 20 times as long as the last checkpoint took
TEMP_SECONDS = 3600  # a file in tmp/ older than this was left by a crash
ID_BYTES = 24  # secrets.token_urlsafe(24): 32 characters, 192 bits
_ID = re.compile(r"[A-Za-z0-9_-]{32}")
_RUN_FOLDER = re.compile(r"[0-9]{6}")
MAX_RUN_NUMBER = 999_999
KINDS = ("sessions", "lessons")
_JSON_MAX = 200_000_000  # a run.json of 10,000 epochs is about 5 MB


def new_id() -> str:
    """A fresh session or lesson id: unguessable, URL-safe, 32 characters."""
    return secrets.token_urlsafe(ID_BYTES)


def valid_id(text: object) -> bool:
    """Whether ``text`` has the shape of an id (and so is safe as a folder name): 32 of A-Z a-z 0-9 _ -."""
    return isinstance(text, str) and _ID.fullmatch(text) is not None


def check_id(text: object) -> str:
    """``text`` if it is an id; a TapeError otherwise, before anything touches the disk."""
    if not valid_id(text):
        raise TapeError("The code in this link is not valid (it may have been cut short when it was copied), so "
                        "there is nothing to bring back; start again from the page's own address.")
    return text  # type: ignore[return-value]


def default_root() -> Path:
    """``TAPEAPP_STORE``, else the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``) + tapeapp/store."""
    chosen = os.environ.get(STORE_ENV, "").strip()
    if chosen and chosen.lower() not in OFF:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tapeapp" / "store"


def _env_number(name: str, default: float) -> float:
    """A positive number from the environment, else the default (the style of ``TAPEAPP_MEMORY_BUDGET_MB``)."""
    text = os.environ.get(name, "").strip()
    return float(text) if text.replace(".", "", 1).isdigit() and float(text) > 0 else default


def open_store() -> RunStore | None:
    """The server's store as the environment sets it up, or None when ``TAPEAPP_STORE=off``."""
    if os.environ.get(STORE_ENV, "").strip().lower() in OFF:
        return None
    return RunStore()


class StoreUnavailable(TapeError):
    """The store's folder cannot be written (full, read-only): the work goes on, but is not being kept."""


def _unavailable() -> StoreUnavailable:
    return StoreUnavailable("Your work cannot be kept on this server right now (its storage cannot be written); "
                            "it goes on, but download the project to keep it.")


@dataclass(frozen=True, eq=False)
class Session:
    """A session as it was kept: its table, the page's state and its runs; ``problems`` says, in plain sentences,
    what could not be read back (a damaged run is left out, the rest is here)."""

    table: TableSource | None
    state: dict
    runs: tuple[RunRecord, ...]
    problems: tuple[str, ...] = ()

    def run(self, number: int) -> RunRecord | None:
        return next((r for r in self.runs if r.number == number), None)


@dataclass(frozen=True, eq=False)
class Lesson:
    """A teacher's prepared exercise: a table and the setup the page starts from."""

    table: TableSource
    setup: dict


_LOCKS: dict[str, threading.RLock] = {}
_IN_USE: dict[str, Counter] = {}
_REGISTRY = threading.Lock()


def _shared(root: Path) -> tuple[threading.RLock, Counter]:
    """One lock and one in-use count per store folder, shared by every ``RunStore`` on it in this process."""
    key = os.path.abspath(root)
    with _REGISTRY:
        return _LOCKS.setdefault(key, threading.RLock()), _IN_USE.setdefault(key, Counter())


class RunStore:
    """Sessions, their runs and lessons on disk: atomic writes, a size budget, expiry (see the module docstring)."""

    def __init__(self, root: str | os.PathLike | None = None, budget_bytes: int | None = None,
                 max_age_days: float | None = None, in_use_seconds: float = IN_USE_SECONDS) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.budget_bytes = int(budget_bytes if budget_bytes is not None else _env_number(MB_ENV, DEFAULT_MB) * 1e6)
        days = max_age_days if max_age_days is not None else _env_number(DAYS_ENV, DEFAULT_DAYS)
        self.max_age_seconds = float(days) * 86_400
        self.in_use_seconds = float(in_use_seconds)
        self._lock, self._in_use = _shared(self.root)

    # -------------------------------------------------------------------------------------------- paths

    def _entry(self, kind: str, entry_id: object) -> Path:
        return self.root / kind / check_id(entry_id)

    def _session(self, session_id: object) -> Path:
        return self._entry("sessions", session_id)

    def _prepare_root(self) -> None:
        for part in ("", "tmp", "trash", *KINDS):
            (self.root / part).mkdir(mode=0o700, parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Any OSError while writing is the server's storage, said once in plain words."""
        try:
            yield
        except OSError:
            raise _unavailable() from None

    def _temp(self, data: bytes) -> Path:
        """``data`` in a new private file under tmp/, flushed to disk: ready to be renamed into place."""
        fd, name = tempfile.mkstemp(dir=self.root / "tmp", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name)

    # ------------------------------------------------------------------------------------------ sessions

    def exists(self, session_id: str) -> bool:
        return self._session(session_id).is_dir()

    def touch(self, session_id: str) -> None:
        """Say the session is being used now (the page calls this at every rerun: it keeps it from eviction)."""
        path = self._session(session_id)
        with contextlib.suppress(OSError):
            os.utime(path)

    def save_table(self, session_id: str, table: TableSource) -> None:
        """Keep the session's table as the user gave it (replacing the one kept before), then keep to the budget."""
        self._save_table(self._session(session_id), table)
        self.tidy(keep=session_id)

    def _save_table(self, folder: Path, table: TableSource) -> None:
        with self._writing():
            self._prepare_root()
            blob = f"table-{secrets.token_hex(8)}.bin" if table.data else None
            staged = self._temp(table.data) if blob else None
            meta = self._temp(_json_bytes({**table.described(), "file": blob}))
            self._publish(folder, staged, blob, meta, "table.json", "table-*.bin", touched=folder)

    def save_state(self, session_id: str, state: Mapping) -> None:
        """Keep what the page owns (JSON: knobs, target, task, roles, the link's extras, a lesson's id, ...)."""
        folder = self._session(session_id)
        with self._writing():
            self._prepare_root()
            staged = self._temp(_json_bytes(state))
            with self._lock:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.replace(staged, folder / "state.json")
                os.utime(folder)

    def save_run(self, session_id: str, number: int, run: Run, schema: Schema, extra: Mapping | None = None) -> None:
        """Keep a run that has ended (or the latest state of one still training), then keep to the budget.

        Baselines still being fitted are added to the kept run when they arrive.
        """
        self._save_captured(session_id, capture(run, schema, number, extra), run.baselines_future)
        self.tidy(keep=session_id)

    def checkpoint_run(self, session_id: str, number: int, run: Run, schema: Schema,
                       extra: Mapping | None = None) -> None:
        """Keep a run still training, as it is after its last finished epoch: call it from the training thread
        between epochs, every few seconds (``Autosave``). It comes back stopped at that epoch, and says so."""
        self._save_captured(session_id, capture(run, schema, number, extra), run.baselines_future)

    def _save_captured(self, session_id: str, record: RunRecord, baselines: Future | None) -> None:
        self.save_record(session_id, record)
        if record.baselines is None and baselines is not None:
            self._when_baselines_arrive(session_id, record.number, baselines)

    def save_record(self, session_id: str, record: RunRecord) -> None:
        """Keep a run record as it is (a run captured earlier, or one opened from a project file)."""
        if not 1 <= record.number <= MAX_RUN_NUMBER:
            raise ValueError(f"run numbers go from 1 to {MAX_RUN_NUMBER}")
        folder = self._session(session_id)
        with self._writing():
            self._prepare_root()
            blob = f"weights-{secrets.token_hex(8)}.npz"
            arrays = arrays_bytes(record.weights, record.optimizer_state)
            staged = self._temp(arrays)
            meta = self._temp(_json_bytes({**record_to_json(record),
                                           "weights": {"file": blob, "sha256": _sha256(arrays)}}))
            self._publish(folder / "runs" / f"{record.number:06d}", staged, blob, meta, "run.json", "weights-*.npz",
                          touched=folder)

    def _publish(self, folder: Path, staged: Path | None, blob: str | None, meta: Path, meta_name: str,
                 blobs: str, touched: Path) -> None:
        """Move a staged blob in, then the JSON that names it, then drop the blobs it replaced: a reader finds the
        old pair or the new one, never a JSON naming a blob that is not there yet."""
        with self._lock:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if staged is not None:
                os.replace(staged, folder / blob)
            os.replace(meta, folder / meta_name)
            for old in folder.glob(blobs):
                if old.name != blob:
                    old.unlink(missing_ok=True)
            os.utime(touched)

    def _when_baselines_arrive(self, session_id: str, number: int, future: Future) -> None:
        """Add the baselines to the kept run once they are fitted (from the worker that fitted them; at once if they
        arrived while the record was being written without them)."""
        folder = self._session(session_id) / "runs" / f"{number:06d}"

        def arrived(done: Future) -> None:
            if done.cancelled() or done.exception() is not None:
                return
            with self._lock, contextlib.suppress(OSError, ValueError):
                data = json.loads((folder / "run.json").read_bytes())
                if data.get("baselines") is None:
                    data["baselines"] = baselines_to_json(done.result())
                    os.replace(self._temp(_json_bytes(data)), folder / "run.json")

        future.add_done_callback(arrived)

    def delete_run(self, session_id: str, number: int) -> None:
        self._remove(self._session(session_id) / "runs" / f"{int(number):06d}")

    def delete_session(self, session_id: str) -> None:
        """Forget a session now (the page's "forget my work" button)."""
        self._remove(self._session(session_id))

    def load_table(self, session_id: str) -> TableSource | None:
        """Only the session's table (for a download made long after it was uploaded); None when none is kept."""
        folder = self._session(session_id)
        with self._lock:
            if not (folder / "table.json").exists():
                return None
            try:
                return _read_table(folder)
            except (Damaged, OSError):
                return None

    def load_session(self, session_id: str) -> Session | None:
        """The session as it was kept, or None when there is none by that id (never kept, expired or evicted).

        A damaged part is left out and said in ``Session.problems``; the rest opens.
        """
        folder = self._session(session_id)
        with self._lock:
            if not folder.is_dir():
                return None
            with contextlib.suppress(OSError):
                os.utime(folder)
            problems: list[str] = []
            table = None
            if (folder / "table.json").exists():
                try:
                    table = _read_table(folder)
                except (Damaged, OSError):
                    problems.append("The table of this session could not be read back (its saved copy is "
                                    "damaged); open it again.")
            state: dict = {}
            if (folder / "state.json").exists():
                try:
                    state = _read_json(folder / "state.json")
                    if not isinstance(state, dict):
                        raise Damaged("state")
                except (Damaged, OSError):
                    state = {}
                    problems.append("The settings of this session could not be read back; they are back to "
                                    "their defaults.")
            runs, damaged = [], []
            for path in sorted((folder / "runs").glob("*")) if (folder / "runs").is_dir() else []:
                if not _RUN_FOLDER.fullmatch(path.name):
                    continue
                try:
                    runs.append(_read_run(path))
                except _DamagedPart as part:
                    damaged.append((int(path.name), part.what))
        others = "; the other runs are here." if runs else "."
        problems += [f"Run {number} could not be read back ({_DAMAGED_WORDS[what]}){others}"
                     for number, what in damaged]
        return Session(table=table, state=state, runs=tuple(runs), problems=tuple(problems))

    # ------------------------------------------------------------------------------------------- lessons

    def save_lesson(self, table: TableSource, setup: Mapping) -> str:
        """Keep a teacher's exercise (a table, or a sample's key, and the page's setup); its id goes in the link."""
        lesson_id = new_id()
        folder = self._entry("lessons", lesson_id)
        with self._writing():
            self._prepare_root()
            staged = self._temp(_json_bytes(setup))
            self._save_table(folder, table)
            with self._lock:
                os.replace(staged, folder / "setup.json")
        self.tidy(keep=lesson_id)
        return lesson_id

    def load_lesson(self, lesson_id: str) -> Lesson | None:
        """The exercise, or None when there is none by that id; a damaged one is a plain TapeError."""
        folder = self._entry("lessons", lesson_id)
        with self._lock:
            if not folder.is_dir():
                return None
            with contextlib.suppress(OSError):
                os.utime(folder)
            try:
                table, setup = _read_table(folder), _read_json(folder / "setup.json")
                if not isinstance(setup, dict):
                    raise Damaged("setup")
            except (Damaged, OSError):
                raise TapeError("This lesson could not be read back (its saved copy is damaged); ask your teacher "
                                "for a new link.") from None
        return Lesson(table=table, setup=setup)

    # ----------------------------------------------------------------------------------- in use and budget

    def mark_in_use(self, session_id: str) -> None:
        """Keep a session from eviction and expiry until ``release`` (counted: mark and release in pairs)."""
        check_id(session_id)
        with self._lock:
            self._in_use[session_id] += 1

    def release(self, session_id: str) -> None:
        check_id(session_id)
        with self._lock:
            self._in_use[session_id] -= 1
            if self._in_use[session_id] <= 0:
                del self._in_use[session_id]

    def in_use(self, entry_id: str, last_use: float | None = None, now: float | None = None) -> bool:
        """Marked by this process, or used within the last ``in_use_seconds`` (an open page, a training run)."""
        if self._in_use.get(entry_id, 0) > 0:
            return True
        if last_use is None:
            last_use = max((_mtime(self._entry(kind, entry_id)) for kind in KINDS), default=0.0)
        return (time.time() if now is None else now) - last_use < self.in_use_seconds

    def entry_bytes(self, session_id: str) -> int:
        """A session's size on disk (its files' sizes)."""
        return _tree_bytes(self._session(session_id))

    def total_bytes(self) -> int:
        return sum(size for *_, size in self._entries())

    def _entries(self) -> list[tuple[float, str, str, int]]:
        """(last use, kind, id, bytes) of every kept session and lesson: internal, never handed out."""
        out = []
        for kind in KINDS:
            base = self.root / kind
            if not base.is_dir():
                continue
            for path in base.iterdir():
                if valid_id(path.name) and path.is_dir():
                    out.append((_mtime(path), kind, path.name, _tree_bytes(path)))
        return out

    def evict(self, keep: str | None = None, now: float | None = None) -> int:
        """Remove the entries used longest ago until the store fits its budget; never ``keep`` nor one in use.
        Returns how many were removed (the store may stay over budget when everything left is in use)."""
        now = time.time() if now is None else now
        removed = 0
        with self._lock:
            entries = sorted(self._entries())
            total = sum(size for *_, size in entries)
            for last_use, kind, entry_id, size in entries:
                if total <= self.budget_bytes:
                    break
                if entry_id == keep or self.in_use(entry_id, last_use, now):
                    continue
                self._remove(self.root / kind / entry_id)
                total -= size
                removed += 1
        return removed

    def expire(self, now: float | None = None) -> int:
        """Remove the entries unused for longer than the maximum age (none marked in use); how many were."""
        now = time.time() if now is None else now
        removed = 0
        with self._lock:
            for last_use, kind, entry_id, _ in self._entries():
                if now - last_use > self.max_age_seconds and self._in_use.get(entry_id, 0) <= 0:
                    self._remove(self.root / kind / entry_id)
                    removed += 1
        return removed

    def tidy(self, keep: str | None = None) -> None:
        """Expire, keep to the budget, and clear what crashed writes left in tmp/ and trash/."""
        with contextlib.suppress(OSError, StoreUnavailable):
            self.expire()
            self.evict(keep=keep)
            cutoff = time.time() - TEMP_SECONDS
            for stale in (self.root / "tmp").glob("*.part"):
                if _mtime(stale) < cutoff:
                    stale.unlink(missing_ok=True)
            for left in (self.root / "trash").glob("*"):
                shutil.rmtree(left, ignore_errors=True)

    def _remove(self, path: Path) -> None:
        """Move out of sight at once (a rename), then delete: a half-deleted entry never looks like one."""
        with self._lock:
            if not path.exists():
                return
            with self._writing():
                (self.root / "trash").mkdir(mode=0o700, parents=True, exist_ok=True)
                gone = self.root / "trash" / secrets.token_hex(8)
                os.replace(path, gone)
        shutil.rmtree(gone, ignore_errors=True)


@dataclass(eq=False)
class Autosave:
    """Checkpoints of one training run, every ``every`` seconds rather than every epoch (a 10 ms epoch would write
    100 times a second): call ``after_epoch`` from the training thread after each epoch, ``finish`` when it ends.

    A checkpoint that takes long (0.4 s for a 6 x 1024 network's 42 MB of weights and optimizer state) waits at
    least ``COST_SHARE`` times its own duration before the next, so saving never takes more than 1/20 of training.
    A store that cannot be written does not stop the training: ``problem`` then holds the sentence to show.
    """

    store: RunStore
    session_id: str
    number: int
    schema: Schema
    extra: dict = field(default_factory=dict)
    every: float = CHECKPOINT_SECONDS
    last: float = field(default_factory=time.monotonic)
    cost: float = 0.0  # seconds the last checkpoint took
    problem: str = ""

    def after_epoch(self, run: Run) -> bool:
        """Checkpoint if the last one is old enough; whether it did."""
        if time.monotonic() - self.last < max(self.every, COST_SHARE * self.cost):
            return False
        started = time.monotonic()
        try:
            self.store.checkpoint_run(self.session_id, self.number, run, self.schema, self.extra)
        except StoreUnavailable as error:
            self.problem = str(error)
            return False
        finally:
            self.last = time.monotonic()
            self.cost = self.last - started
        return True

    def finish(self, run: Run) -> None:
        """Keep the ended run (finished, stopped, failed: as it is)."""
        try:
            self.store.save_run(self.session_id, self.number, run, self.schema, self.extra)
        except StoreUnavailable as error:
            self.problem = str(error)


# ------------------------------------------------------------------------------------------------ reading back

_DAMAGED_WORDS = {"model": "its saved model is damaged", "record": "its saved settings and history are damaged"}


class _DamagedPart(Exception):
    """Which part of a run could not be read: its 'record' (run.json) or its 'model' (the weights)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _json_bytes(data: object) -> bytes:
    return json.dumps(plain(data), allow_nan=False, ensure_ascii=False).encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_json(path: Path) -> object:
    if path.stat().st_size > _JSON_MAX:
        raise Damaged(path.name)
    try:
        return json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise Damaged(path.name) from None


def _blob(folder: Path, name: object, prefix: str, suffix: str) -> Path:
    """A blob named by a JSON file: only a name of the store's own shape, inside the same folder."""
    if not (isinstance(name, str) and re.fullmatch(rf"{prefix}-[0-9a-f]{{16}}{re.escape(suffix)}", name)):
        raise Damaged("blob name")
    return folder / name


def _read_table(folder: Path) -> TableSource:
    meta = _read_json(folder / "table.json")
    if not isinstance(meta, dict):
        raise Damaged("table.json")
    name = meta.get("file")
    data = _blob(folder, name, "table", ".bin").read_bytes() if name is not None else b""
    return TableSource.from_description(meta, data)


def _read_run(folder: Path) -> RunRecord:
    try:
        data = _read_json(folder / "run.json")
        weights = data["weights"]
        path = _blob(folder, weights["file"], "weights", ".npz")
    except (Damaged, OSError, TypeError, KeyError):
        raise _DamagedPart("record") from None
    try:
        arrays = path.read_bytes()
        if _sha256(arrays) != weights.get("sha256"):
            raise Damaged("weights")
        network, optimizer = arrays_from_bytes(arrays)
    except (Damaged, OSError):
        raise _DamagedPart("model") from None
    try:
        return record_from_json(data, network, optimizer)
    except Damaged:
        raise _DamagedPart("record") from None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _tree_bytes(path: Path) -> int:
    total = 0
    try:
        with os.scandir(path) as items:
            for item in items:
                if item.is_dir(follow_symlinks=False):
                    total += _tree_bytes(Path(item.path))
                elif item.is_file(follow_symlinks=False):
                    total += item.stat(follow_symlinks=False).st_size
    except OSError:
        pass
    return total
