"""The session's training job: started from the page's choices, stopped, recorded in the runs table, let go when its
tab has gone (``ui.job`` is the job itself and its thread)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

import tapeapp
from tapeapp import words
from ui.job import STOP_WAIT, Job, begin, evaluation, kept_with
from ui.line import training_queue
from ui.state import Box, state

if TYPE_CHECKING:
    from tapeapp.keep import Autosave


def slot() -> Box[Job]:
    """The session's training job, in its box (replacing the job frees the old one at once)."""
    return state.training


def current() -> Job | None:
    return slot().value


def busy() -> bool:
    """Whether the knobs must stay still: a run is starting, or running and not being stopped."""
    job = current()
    return state.train_requested or (job is not None and job.running and not job.stop_wanted)


def request_train() -> None:
    state.train_requested = True


def request_stop() -> None:
    """The Stop button's callback: runs first thing in the script run the click starts."""
    job = current()
    if job is not None:
        job.stop()


def start(table: tapeapp.Table, schema: tapeapp.Schema, config: tapeapp.TrainConfig,
          keeper: Callable[[int, tapeapp.Schema, dict], Autosave | None] = lambda *_: None) -> Job:
    """Everything before epoch 1 (may raise TapeError), then the training thread; a comparable previous run is kept
    to draw faded. ``keeper`` gives the run's ``Autosave`` (``ui.session.autosave``) from its number, schema and what
    the page keeps with it."""
    old = current()
    inputs = tapeapp.features.inputs_estimate(schema)
    allowed = tapeapp.data.allowance(len(table.frame), inputs)  # TapeError: no room at all
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
    job.background = tapeapp.background_rows(run, table.frame)
    job.schema, job.table_info = schema, info
    job.autosave = keeper(job.number, schema, kept_with(job))
    if old is not None:
        record(old)
    slot().value = job
    return begin(job)


def _comparable(old: tapeapp.Run, new: tapeapp.Run) -> bool:
    """Only a run on the same table, target and task is drawn behind the new one and used for score changes."""
    return (old.source_sha256, old.target, old.task) == (new.source_sha256, new.target, new.task)


def record(job: Job) -> None:
    """Add an ended run to the session's comparison table, once (called from the script, which owns the session)."""
    if job.running or job.recorded:
        return
    job.recorded = True
    if job.run.history:
        state.runs.append(run_row(job))


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
    if slot().value is job:
        slot().value = None


