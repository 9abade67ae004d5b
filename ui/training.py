"""Section 4, train and watch it learn: Train and Stop, then the live view of the job (progress, place in line, the
three curves) and how the run ended.

The job trains on its own thread (``ui.jobs``); the script that draws the page watches it here, redrawing after
epochs (throttled when epochs are very fast) until it ends. A rerun stops this script at its next page update and
the new one watches the same job; a closed tab stops the job.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

import tapeapp
from tapeapp import words
from ui import job as ui_job
from ui import jobs, line, session
from ui.safe import md, problem
from ui.state import STOP, TRAIN, state

if TYPE_CHECKING:
    from ui.learned import LearnedView
from ui.vega import baseline_marks, chart_specs

PROGRESS_EVERY = 0.15
CHARTS_EVERY = 0.5
DRAW_SHARE = 0.05  # redraws may take at most this share of the time (server side); the browser redraws too


def section(table: tapeapp.Table | None, schema: tapeapp.Schema | None, config: tapeapp.TrainConfig | None,
            job: ui_job.Job | None) -> LiveView | None:
    st.header("4. Train and watch it learn", divider="orange")
    if job is not None and job.running and job.stop_wanted:
        job.done.wait(ui_job.STOP_WAIT)  # Stop was pressed: the run ends within a compiled call, drawn ended
    requested = state.train_requested and not (job is not None and job.running)
    state.train_requested = False
    if requested and table and schema and config:
        try:
            job = jobs.start(table, schema, config, keeper=session.autosave)
            session.started(job)
        except Exception as error:  # noqa: BLE001
            state.train_error = problem(error, "preparing your table for training")
            st.rerun()
    running = job is not None and job.running
    train, stop, note = st.columns([1, 1, 6], vertical_alignment="center")
    train.button("Train", key=TRAIN, type="primary", on_click=jobs.request_train, width="stretch",
                 disabled=running or not (table and schema and config))
    stop.button("Stop", key=STOP, on_click=jobs.request_stop, disabled=not running or job.stop_wanted,
                width="stretch")
    note.caption("Training runs here, on this server: one GradientTape step per batch, the charts update after "
                 "epochs. Stop keeps the model from the last finished epoch.")
    if error := state.train_error:
        del state.train_error
        st.error(md(error))
    if job is None:
        return None
    jobs.record(job)
    if job.autosave is not None and job.autosave.problem:
        st.warning(md(job.autosave.problem))
    view = LiveView.create(running=running)
    view.draw_progress(job, None)
    if job.run.history or job.previous is not None:
        view.draw_charts(job)
    if not running:
        view.draw_end(job)
    return view


def watch(view: LiveView | None, learned: LearnedView | None, job: ui_job.Job | None) -> bool:
    """Watch the session's running job to its end, redrawing the curves and pictures above.

    Returns whether this pass drew the job running (Train disabled, Stop enabled): its results are then drawn right
    away, below, and the page is run once more afterwards so that the buttons show the run has ended. The job may
    end between the buttons and this call (a short run, a Stop): that too must end in a rerun, never in a page
    left at "running" with nothing running.
    """
    if view is None or job is None or not view.drawn_running:
        return False
    _watch_to_end(job, view, learned)
    view.draw_end(job)
    return True


@dataclass
class LiveView:
    """Placeholders drawn once per script run and filled again after epochs."""

    progress: st.delta_generator.DeltaGenerator
    waiting: st.delta_generator.DeltaGenerator
    loss: st.delta_generator.DeltaGenerator
    metric: st.delta_generator.DeltaGenerator
    grads: st.delta_generator.DeltaGenerator
    ending: st.delta_generator.DeltaGenerator
    drawn_running: bool = False  # the buttons above were drawn for a running job: this pass must see its end

    @classmethod
    def create(cls, running: bool = False) -> LiveView:
        progress, waiting = st.empty(), st.empty()
        left, right = st.columns(2, gap="medium")
        grads, explain = st.columns(2, gap="medium")
        with explain:
            st.markdown(READING_GUIDE)
        return cls(progress, waiting, left.empty(), right.empty(), grads.empty(), st.empty(), running)

    def draw_end(self, job: ui_job.Job) -> None:
        """How the run ended, under the charts (the same pass that trained draws it, before the results)."""
        with self.ending.container():
            end_message(job)

    def draw_waiting(self, job: ui_job.Job, place: tapeapp.train.queueing.Place | None) -> None:
        """Where this run stands in the line for the CPU, or nothing once it is its turn."""
        if place is None or place.position == 0:
            self.waiting.empty()
            return
        self.draw_progress(job, None)
        self.waiting.info(place.message(), icon="⏳")

    def draw_progress(self, job: ui_job.Job, seconds_per_epoch: float | None) -> None:
        run = job.run
        if not run.history and run.folds:  # a small table: cross-validation chooses the number of epochs first
            self.progress.progress(*fold_progress(run.folds[-1], job))
            return
        done = len(run.history)
        total = run.history[-1].epochs if run.history else run.config.epochs
        early = run.choice in ("inner", "validation")
        text = f"Epoch {done} / {total}" + (" · ends sooner once it stops improving" if early and job.running else "")
        place = job.place
        if job.running and job.stop_wanted:
            text += " · stopping…"
        elif job.running and place is not None and place.position > 0:
            text += f" · waiting for a turn: number {place.position} in line"
        elif job.running and seconds_per_epoch and done < total:
            text += f" · {'at most ' if early else ''}about {words.duration_text(seconds_per_epoch * (total - done))}" \
                    " left"
        if run.history:
            main = tapeapp.MAIN_METRIC[run.task]
            value = run.history[-1].validation.get(main)
            if value is not None and math.isfinite(value):
                text += f" · validation {main} {words.score_text(main, value)}"
            if early and run.kept_epoch and job.running:
                text += f" · best so far: epoch {run.kept_epoch}"
        self.progress.progress(min(1.0, done / max(total, 1)), text=text)

    def draw_charts(self, job: ui_job.Job) -> None:
        specs = chart_specs(job.run.history_frame(), job.previous, job.run.task,
                            job.run.config.epochs if job.running else None, baseline_marks(job.run))
        self.loss.vega_lite_chart(specs["loss"], width="stretch")
        self.metric.vega_lite_chart(specs["metric"], width="stretch")
        self.grads.vega_lite_chart(specs["grads"], width="stretch")


READING_GUIDE = """
**How to read these charts**

- **Loss** is what training lowers. The *train* line should go down. If the *validation* line turns back up
  while train keeps falling, the model is memorising the training rows (over-fitting): fewer epochs, dropout,
  an L2 penalty or early stopping help.
- **The score** is measured on validation rows the model never trains on: that is the honest number.
- **Gradient norms** show how strongly each layer is being changed. Lines sinking towards zero mean learning has
  stalled; lines shooting up mean the learning rate is too high.
- From your second run on, dashed and faded lines show the previous run on the same table, for comparison.
"""


def _watch_to_end(job: ui_job.Job, view: LiveView, learned=None) -> None:
    """Redraw the job as it trains until it ends (throttled when epochs are very fast).

    ``learned`` (the 'What the network learned' pictures) is redrawn with the curves, in the same time share. A
    StopException (Streamlit ending this script) stops the job only when its tab has gone; on a rerun the job goes
    on and the next script run watches it. A job another tab on the same link still watches goes on.
    """
    with job.changed:
        job.watchers += 1
    try:
        _watch(job, view, learned)
    except StopException:
        if jobs.page_closed():
            jobs.let_go(job)
        raise
    finally:
        with job.changed:
            job.watchers -= 1


def _watch(job: ui_job.Job, view: LiveView, learned) -> None:
    started, seen = time.perf_counter(), len(job.run.history)
    last_progress, last_chart = 0.0, time.perf_counter()  # charts after CHARTS_EVERY: a short run is drawn once
    chart_every, place, charted = CHARTS_EVERY, None, len(job.run.history)
    while job.running:
        job.wait_change(PROGRESS_EVERY)
        if job.place != place:
            place = job.place
            view.draw_waiting(job, place)
        now = time.perf_counter()
        done = len(job.run.history)
        if now - last_progress >= PROGRESS_EVERY:
            per_epoch = (now - started) / (done - seen) if done > seen else None
            view.draw_progress(job, per_epoch)  # also how Streamlit notices a Stop or a closed tab
            last_progress = now
        if done > charted and now - last_chart >= chart_every:
            view.draw_charts(job)
            charted = done
            if learned is not None and not line.others_waiting():
                learned.draw(job)  # the finished run is drawn finer at the end; while others wait, only then
            last_chart = time.perf_counter()
            chart_every = max(CHARTS_EVERY, (last_chart - now) / DRAW_SHARE)  # long runs draw longer charts
    view.draw_waiting(job, None)
    view.draw_progress(job, None)
    if job.run.history:
        view.draw_charts(job)
    jobs.record(job)


def fold_progress(fold, job: ui_job.Job) -> tuple[float, str]:
    """Cross-validation's progress (``loop.FoldUpdate``): its share done, and what it is doing in words."""
    share = ((fold.fold - 1) + fold.epoch / max(fold.epochs, 1)) / max(fold.folds, 1)
    text = (f"Choosing how many epochs to train: fold {fold.fold} of {fold.folds}, epoch {fold.epoch} (each fold "
            "trains on two thirds of the training rows until the other third stops improving)")
    if job.stop_wanted:
        text += " · stopping…"
    return min(1.0, share), text


def end_message(job: ui_job.Job) -> None:
    run = job.run
    if job.failure:
        st.error(md(job.failure))
        return
    message = run.message or tapeapp.STOP_REASONS.get(run.stopped_because, "")
    # a loss that overflowed still leaves a model (from the epoch before): a warning, and the results below
    {"finished": st.success, "early_stopping": st.success, "not_finite": st.warning}.get(
        run.stopped_because, st.info)(md(message))
    for warning in run.warnings:
        st.warning(md(warning))

