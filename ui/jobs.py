"""A training job's life on the page: started, trained on a thread of its own, stopped, recorded, freed.

The run trains on a background thread (``_train``), not in the script that drew the page: a Streamlit rerun (a
click anywhere, Stop itself) stops that script at its next page update, and a run tied to it would lose its
place or wait for it. Here the script only watches (``ui.live``): any rerun picks the same job up again, Stop is a
flag the run reads between its compiled calls (``Run.request_stop``), and a job nobody watches any more (a closed
tab) stops by itself. The thread also takes the job's turns in the server's line (``tapeapp.train.queueing``), between
epochs and between the compiled calls of a long epoch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import streamlit as st

import tapeapp
from tapeapp import words
from tapeapp.train import stopped_by_you
from ui import keys

if TYPE_CHECKING:
    import pandas as pd

    from tapeapp.keep import Autosave, RunRecord, TableSource
    from tapeapp.train import Place, Ticket, TrainingQueue

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
    evaluations: dict = field(default_factory=dict)
    files: dict[str, bytes] | None = None
    predicted: dict = field(default_factory=dict)
    views: dict = field(default_factory=dict)
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


@dataclass(eq=False)
class Slot:
    """The session's training job, in a box kept under one key for the whole session.

    Streamlit keeps the previous script run's session values until the user's next interaction; a job stored
    directly would keep the last run's model alive that long. Replacing the job inside the box frees it at once.
    """

    job: Job | None = None


def slot() -> Slot:
    return st.session_state.setdefault(keys.TRAINING, Slot())


def current() -> Job | None:
    return slot().job


def busy() -> bool:
    """Whether the knobs must stay still: a run is starting, or running and not being stopped."""
    job = current()
    return bool(st.session_state.get(keys.TRAIN_REQUESTED)) or (job is not None and job.running and not job.stop_wanted)


def request_train() -> None:
    st.session_state[keys.TRAIN_REQUESTED] = True


def request_stop() -> None:
    """The Stop button's callback: runs first thing in the script run the click starts."""
    job = current()
    if job is not None:
        job.stop()


@st.cache_resource(show_spinner=False)
def training_queue() -> TrainingQueue:
    """One line for every session of this server: runs take turns for the CPUs (``TAPEAPP_SEATS`` sets how many
    train at once; default one per CPU)."""
    from tapeapp.train import TrainingQueue

    seats = os.environ.get("TAPEAPP_SEATS", "").strip()
    return TrainingQueue(seats=int(seats) if seats.isdigit() and int(seats) > 0 else None)


def others_waiting() -> bool:
    """Whether other runs wait for a seat: then the live pictures wait for the end, and the CPU goes to training."""
    return training_queue().snapshot()["waiting"] > 0


def start(table: tapeapp.Table, schema: tapeapp.Schema, config: tapeapp.TrainConfig,
          problem: Callable[[Exception, str], str],
          keeper: Callable[[int, tapeapp.Schema, dict], Autosave | None] = lambda *_: None) -> Job:
    """Everything before epoch 1 (may raise TapeError), then the training thread; a comparable previous run is kept
    to draw faded. ``problem`` words an unforeseen error for the page (``ui.data.problem``); ``keeper`` gives the
    run's ``Autosave`` (``ui.session.autosave``) from its number, schema and what the page keeps with it."""
    old = current()
    from tapeapp.features import inputs_estimate

    allowed = tapeapp.data.allowance(len(table.frame), inputs_estimate(schema))  # TapeError: no room at all
    run = tapeapp.start_run(table.frame, schema, config, source_sha256=table.info.sha256,
                            baselines=tapeapp.start_baselines,
                            max_rows=allowed.rows if allowed.rows < len(table.frame) else None)
    info = table.info
    if old is not None and old.running:
        old.stop()
        old.done.wait(STOP_WAIT)
    kept = old is not None and bool(old.run.history) and _comparable(old.run, run)
    job = Job(
        number=(old.number + 1) if old else 1, run=run,
        previous=old.run.history_frame() if kept else None, table_name=info.name or "data.csv",
        previous_headline=evaluation(old, 0.5).headline if kept else None,
        read_options={"delimiter": info.delimiter, "encoding": info.encoding, "decimal": info.decimal,
                      "header": info.header},
        ticket=training_queue().join(f"run {(old.number + 1) if old else 1}"),
    )
    from tapeapp.explain import background_rows

    job.background = background_rows(run, table.frame)
    job.schema, job.table_info = schema, info
    job.autosave = keeper(job.number, schema, kept_with(job))
    if old is not None:
        record(old)
    slot().job = job
    return begin(job, problem)


def kept_with(job: Job) -> dict:
    """What the store and a project keep beside a run, to show it again as the page showed it."""
    return {"table": job.table_name, "read_options": job.read_options}


def restored(record: RunRecord, run: tapeapp.Run, table: tapeapp.Table, schema: tapeapp.Schema,
             previous: RunRecord | None = None) -> Job:
    """A job for a run brought back from the store or a project: ended, nothing to train, already in the runs."""
    import pandas as pd

    from tapeapp.explain import background_rows

    extra = record.extra
    job = Job(number=record.number, run=run, previous=None, table_name=str(extra.get("table") or table.info.name),
              read_options=dict(extra.get("read_options") or {}), failure=str(extra.get("failure") or ""),
              schema=schema, table_info=table.info, recorded=True)
    if previous is not None and previous.history and (previous.source_sha256, previous.target) == (
            record.source_sha256, record.target):
        job.previous = pd.DataFrame([u.row() for u in previous.history])
    job.background = background_rows(run, table.frame)
    job.done.set()
    return job


def begin(job: Job, problem: Callable[[Exception, str], str]) -> Job:
    """Start the job's training thread (it waits for a seat first)."""
    job.thread = threading.Thread(target=_train, args=(job, problem), name=f"tapeapp-train-{job.number}",
                                  daemon=True)
    job.thread.start()
    return job


def _comparable(old: tapeapp.Run, new: tapeapp.Run) -> bool:
    """Only a run on the same table, target and task is drawn behind the new one and used for score changes."""
    return (old.source_sha256, old.target, old.task) == (new.source_sha256, new.target, new.task)


def _train(job: Job, problem: Callable[[Exception, str], str]) -> None:
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


def record(job: Job) -> None:
    """Add an ended run to the session's comparison table, once (called from the script, which owns the session)."""
    if job.running or job.recorded:
        return
    job.recorded = True
    if job.run.history:
        st.session_state.setdefault(keys.RUNS, []).append(run_row(job))


def ended_by(job: Job) -> str:
    """Why the run ended, in words."""
    run = job.run
    return "stopped by an error" if job.failure else tapeapp.STOP_REASONS.get(run.stopped_because,
                                                                               run.stopped_because)


def kept_by(job: Job) -> str:
    """Which epoch the model keeps, who chose it, and what training cost in seconds, in one or two sentences."""
    run = job.run
    if not run.history:
        return ""
    seconds = sum(u.seconds for u in run.history)
    folds = sum(f.seconds for f in run.folds)
    cost = f"Training took {words.duration_text(seconds + folds)}" + (
        f" ({words.duration_text(folds)} of it choosing the number of epochs)." if folds else ".")
    choice, kept = run.choice, run.kept_epoch
    if run.chosen_epochs:
        return (f"3-fold cross-validation on the training rows chose {run.chosen_epochs} epochs; the model trained "
                f"that long on all the training rows and keeps the last. {cost}")
    if choice == "inner":
        return (f"The model keeps epoch {kept}: its best on the {run.config.inner_fraction:.0%} of the training rows "
                f"held back to choose it (the validation rows only score it). {cost}")
    if choice == "validation":
        return (f"The model keeps epoch {kept}: its best on the validation rows, so their score is a little "
                f"optimistic. {cost}")
    return f"The model keeps its last epoch. {cost}"


def run_row(job: Job) -> dict:
    run, config = job.run, job.run.config
    summary = run.summary()
    main = tapeapp.MAIN_METRIC[run.task]
    return {
        "run": job.number, "table": job.table_name, "target": run.target, "task": run.task,
        "layers": "-".join(map(str, config.hidden)), "activation": config.activation, "optimizer": config.optimizer,
        "learning rate": config.learning_rate, "batch": config.batch_size,
        "epochs run": f"{summary['epochs_run']} of {run.history[-1].epochs if run.history else config.epochs}",
        "kept epoch": run.kept_epoch,
        "stopped because": ended_by(job),
        f"train {main}": summary["train"].get(main), f"validation {main}": summary["validation"].get(main),
        "validation loss": summary["validation"].get("loss"),
    }


def page_closed() -> bool:
    """Whether the browser tab of the running script has gone (rather than the script being rerun).

    Streamlit stops a session's script both when its tab closes and, with fast reruns, when a click starts a new
    script run; only the first leaves the session inactive (``Runtime.is_active_session``). The check may race the
    server marking the session gone, so it looks again for a moment; a job left running by a miss stops by itself
    once nobody has watched it for UNWATCHED_SECONDS.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return True
    runtime = Runtime.instance()
    for _ in range(4):
        if not runtime.is_active_session(ctx.session_id):
            return True
        time.sleep(0.05)
    return False


def let_go(job: Job) -> None:
    """The tab is gone: stop the run now (unless another tab on the same link watches it too) and drop the
    session's hold on it (its seat and memory are freed)."""
    if job.watchers <= 1:
        job.stop()
        job.done.wait(STOP_WAIT)
    if slot().job is job:
        slot().job = None


def evaluation(job: Job, threshold: float) -> tapeapp.Evaluation:
    """Scores on the validation rows, computed once per threshold."""
    if threshold not in job.evaluations:
        job.evaluations[threshold] = tapeapp.evaluate(job.run, threshold)
    return job.evaluations[threshold]


def exports(job: Job) -> dict[str, bytes]:
    """All five downloads, built once per run, in memory (nothing is written where another session could read it).

    Called by the first click on a download button, on Streamlit's download thread, so it uses no ``st`` command.
    """
    with job.export_lock:
        if job.files is None:
            job.files = tapeapp.export_files(job.run, source_name=job.table_name, read_options=job.read_options)
        return job.files


def download(job: Job, name: str) -> Callable[[], bytes]:
    """The bytes of one download, made only when the user asks for it: finishing a run never waits for packing."""
    return lambda: exports(job)[name]


def project_maker(job: Job, state: dict, include_table: bool,
                  source: Callable[[], TableSource | None]) -> Callable[[], bytes]:
    """The project download's bytes, made on click (on Streamlit's download thread: no ``st`` command here).
    ``source`` gives the table when the job does not hold it (a big file, read back from the store)."""

    def make() -> bytes:
        from tapeapp.keep import project_zip

        table = job.source or source()
        extra = {**kept_with(job), **({"failure": job.failure} if job.failure else {})}
        return project_zip(job.run, job.schema, table, state=state, number=job.number, extra=extra,
                           include_table=include_table, importance=job.views.get(("importance",)),
                           read_options=job.read_options, background=job.background)

    return make


def report_maker(job: Job, axes: tuple[str, str] | None, threshold: float) -> Callable[[], bytes]:
    """The report's bytes, made on click from what the page shows (the columns that matter and the advice are
    reused when the page has them); the simpler models are taken as they are."""

    def make() -> bytes:
        from tapeapp.report import report_html

        return report_html(job.run, job.table_info, job.schema, importance=job.views.get(("importance",)),
                           advice=job.views.get("advice"), axes=axes, threshold=threshold, wait=0).encode()

    return make


def predictions(job: Job, table: tapeapp.Table) -> pd.DataFrame:
    """Predictions for an uploaded table, once per file content."""
    key = table.info.sha256
    if key not in job.predicted:
        job.predicted = {key: job.run.predict(table.frame)}
    return job.predicted[key]
