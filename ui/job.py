"""A training job: the Run, the thread that trains it (waiting for its turns in the server's line, saving it as it
goes), how it is stopped, and what the page computed of it once ended.

The run trains on a background thread (``_train``), not in the script that drew the page: a Streamlit rerun (a
click anywhere, Stop itself) stops that script at its next page update, and a run tied to it would lose its
place or wait for it. The script only watches (``ui.training``): any rerun picks the same job up again, Stop is a
flag the run reads between its compiled calls (``Run.request_stop``), and a job nobody watches any more (a closed
tab) stops by itself. The thread takes the job's turns in the server's line (``ui.line``), between epochs and between
the compiled calls of a long epoch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import tapeapp
from tapeapp.train import ViewKey, Views, stopped_by_you
from ui.safe import problem

if TYPE_CHECKING:
    import pandas as pd

    from tapeapp.keep import Autosave, RunRecord, TableSource
    from tapeapp.train import Place, Ticket

LOG = logging.getLogger("tapeapp.page")
WAIT_POLL = 1.0  # at most this long between two looks at the line while waiting (woken at once when a seat frees)
UNWATCHED_SECONDS = 10.0  # a job no page has looked at for this long is stopped: its tab is gone
STOP_WAIT = 1.0  # how long a Stop click waits for the run to end before the page is drawn


@dataclass(eq=False)
class Job:
    """One training run as the page sees it: the Run, the thread training it, and results kept for drawing."""

    number: int
    run: tapeapp.Run
    previous: pd.DataFrame | None
    table_name: str
    read_options: dict
    ticket: Ticket | None = None
    previous_headline: dict | None = None
    views: Views = field(default_factory=Views)  # what the page computed of the ended run (the weights are fixed)
    failure: str = ""
    background: pd.DataFrame | None = None  # a seeded sample of training rows, to take single rows apart against
    schema: tapeapp.Schema | None = None  # the columns' roles it was started with (the project and report need it)
    table_info: tapeapp.TableInfo | None = None  # how its table was read (the report says it)
    autosave: Autosave | None = None  # keeps the run in the session's store as it trains (None: the store is off)
    source: TableSource | None = None  # its table as given, when held in memory (a project packs it)
    place: Place | None = None  # where it stands in line while it waits for a seat; None while training
    stop_wanted: bool = False
    recorded: bool = False
    watchers: int = 0  # script runs watching it now (two tabs on one link watch one job)
    watched: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    export_lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return not self.done.is_set()

    def notify(self) -> None:
        """Wake the page's watcher: the place in line changed, a stop was asked for, or the job ended."""
        with self.changed:
            self.changed.notify_all()

    def wait_change(self, timeout: float) -> None:
        """Wait for ``notify`` or ``timeout`` seconds, saying on the way in that a page is watching."""
        self.watched = time.monotonic()
        with self.changed:
            if not self.done.is_set():
                self.changed.wait(timeout)

    def stop(self) -> None:
        """Ask the run to stop; it ends within a compiled call (about a quarter of a second) and keeps the weights of
        its last finished epoch."""
        self.stop_wanted = True
        self.run.request_stop()
        self.notify()

    def unwatched(self) -> bool:
        return time.monotonic() - self.watched > UNWATCHED_SECONDS


IMPORTANCE: ViewKey[pd.DataFrame] = ViewKey("which columns matter")  # drawn by ui.learned, packed by downloads
ADVICE: ViewKey[list] = ViewKey("advice")  # shown by ui.verdict (a list of tapeapp.Advice), written into the report
EVALUATION: ViewKey[tapeapp.Evaluation] = ViewKey("scores on the validation rows")  # per decision threshold
FILES: ViewKey[dict] = ViewKey("the downloads' bytes")
PREDICTED: ViewKey[tuple] = ViewKey("predictions for uploaded rows")  # (the file's sha256, the predictions)


def kept_with(job: Job) -> dict:
    """What the store and a project keep beside a run, to show it again as the page showed it."""
    return {"table": job.table_name, "read_options": job.read_options}


def restored(record: RunRecord, run: tapeapp.Run, table: tapeapp.Table, schema: tapeapp.Schema,
             previous: RunRecord | None = None) -> Job:
    """A job for a run brought back from the store or a project: ended, nothing to train, already in the runs."""
    extra = record.extra
    job = Job(number=record.number, run=run, previous=None, table_name=str(extra.get("table") or table.info.name),
              read_options=dict(extra.get("read_options") or {}), failure=str(extra.get("failure") or ""),
              schema=schema, table_info=table.info, recorded=True)
    if previous is not None and previous.history and (previous.source_sha256, previous.target) == (
            record.source_sha256, record.target):
        job.previous = tapeapp.train.history_frame(previous.history)
    job.background = tapeapp.background_rows(run, table.frame)
    job.done.set()
    return job


def begin(job: Job) -> Job:
    """Start the job's training thread (it waits for a seat first)."""
    job.thread = threading.Thread(target=_train, args=(job,), name=f"tapeapp-train-{job.number}",
                                  daemon=True)
    job.thread.start()
    return job


def _train(job: Job) -> None:
    """The job's thread: wait for a seat, train epoch by epoch (kept in the store every few seconds), and always
    leave the line, keep the ended run and say it ended."""
    keeper = job.autosave
    if keeper is not None:
        keeper.store.mark_in_use(keeper.session_id)
    try:
        if _hold_back(job):
            job.run.stopped_because = "stopped"
            job.run.message = stopped_by_you(0, job.run.config.epochs)
        else:
            for _ in job.run.epochs(checkpoint=lambda: _hold_back(job)):
                if keeper is not None:  # the page looks at the run's history on its own schedule
                    keeper.after_epoch(job.run)
    except Exception as error:  # noqa: BLE001  (the page words it; the traceback goes to the server's log)
        job.failure = problem(error, "training")
    finally:
        if keeper is not None:
            _keep_ended(job, keeper)
        if job.ticket is not None:
            job.ticket.leave()
        job.place = None
        job.done.set()
        job.notify()


def _keep_ended(job: Job, keeper: Autosave) -> None:
    """Save the ended run (finished, stopped or failed) for a reload; a fault here never hides the run's own."""
    try:
        if job.failure:
            keeper.extra["failure"] = job.failure
        keeper.finish(job.run)
    except Exception:  # noqa: BLE001  (the run is still on the page; the log says why it was not kept)
        LOG.exception("the ended run could not be kept")
        keeper.problem = "This run could not be kept on the server; download the project to keep it."
    finally:
        keeper.store.release(keeper.session_id)


def _hold_back(job: Job) -> bool:
    """Asked before every epoch and between the compiled calls of a long one: True ends the run there.

    Waits here while others have the seats (the run's slice is over, or its turn has not come), telling the page
    where it stands; says stop when the user asked to or no page has watched the job for a while.
    """
    while True:
        if job.stop_wanted or job.unwatched():
            return True
        if job.ticket is None or job.ticket.try_train():
            if job.place is not None:
                job.place = None
                job.notify()
            return False
        place = job.ticket.place()
        if place != job.place:
            job.place = place
            job.notify()
        job.ticket.wait_turn(WAIT_POLL)


def evaluation(job: Job, threshold: float) -> tapeapp.Evaluation:
    """Scores on the validation rows, computed once per threshold."""
    return job.views.get_or_make(EVALUATION, lambda: tapeapp.evaluate(job.run, threshold), part=threshold)


def exports(job: Job) -> dict[str, bytes]:
    """All five downloads, built once per run, in memory (nothing is written where another session could read it).

    Called by the first click on a download button, on Streamlit's download thread, so it uses no ``st`` command.
    """
    with job.export_lock:
        return job.views.get_or_make(FILES, lambda: tapeapp.export_files(job.run, source_name=job.table_name,
                                                                         read_options=job.read_options))


def download(job: Job, name: str) -> Callable[[], bytes]:
    """The bytes of one download, made only when the user asks for it: finishing a run never waits for packing."""
    return lambda: exports(job)[name]


def project_maker(job: Job, state: dict, include_table: bool,
                  source: Callable[[], TableSource | None]) -> Callable[[], bytes]:
    """The project download's bytes, made on click (on Streamlit's download thread: no ``st`` command here).
    ``source`` gives the table when the job does not hold it (a big file, read back from the store)."""

    def make() -> bytes:
        table = job.source or source()
        extra = {**kept_with(job), **({"failure": job.failure} if job.failure else {})}
        return tapeapp.keep.project_zip(job.run, job.schema, table, state=state, number=job.number, extra=extra,
                           include_table=include_table, importance=job.views.get(IMPORTANCE),
                           read_options=job.read_options, background=job.background)

    return make


def report_maker(job: Job, axes: tuple[str, str] | None, threshold: float) -> Callable[[], bytes]:
    """The report's bytes, made on click from what the page shows (the columns that matter and the advice are
    reused when the page has them); the simpler models are taken as they are."""

    def make() -> bytes:
        return tapeapp.report.report_html(job.run, job.table_info, job.schema, importance=job.views.get(IMPORTANCE),
                           advice=job.views.get(ADVICE), axes=axes, threshold=threshold, wait=0).encode()

    return make


def predictions(job: Job, table: tapeapp.Table) -> pd.DataFrame:
    """Predictions for an uploaded table, once per file content."""
    held = job.views.get(PREDICTED)
    if held is None or held[0] != table.info.sha256:  # one file's predictions are held at a time
        held = job.views.put(PREDICTED, (table.info.sha256, job.run.predict(table.frame)))
    return held[1]
