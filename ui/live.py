"""Training on the page: the Run and its epoch generator kept per user in session state, so reruns never lose it.

A click on Stop reruns the script, which interrupts the running one between two epochs (Streamlit checks for
reruns whenever the page is updated). The generator is left suspended at a finished epoch; the new run closes it,
which keeps the model of that epoch. Any other rerun simply picks the generator up again and keeps training.
"""

from __future__ import annotations

import copy
import json
import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

import tapeapp

if TYPE_CHECKING:
    import pandas as pd

PROGRESS_EVERY = 0.15
WAIT_POLL = 1.0  # at most this long between two page updates while waiting (woken at once when a seat frees)
CHARTS_EVERY = 0.5
DRAW_SHARE = 0.05  # redraws may take at most this share of the time (server side); the browser redraws too
CHART_EPOCHS = 500  # points per line in the live charts; 7 layers' gradient lines stay under Altair's 5,000 rows


@dataclass(eq=False)
class Job:
    """One training run as the page sees it: the Run, its live generator (None once ended) and cached results."""

    number: int
    run: "tapeapp.Run"
    updates: Iterator | None
    previous: pd.DataFrame | None
    table_name: str
    read_options: dict
    lock: threading.Lock = field(default_factory=threading.Lock)
    export_lock: threading.Lock = field(default_factory=threading.Lock)
    previous_headline: dict | None = None
    evaluations: dict = field(default_factory=dict)
    files: dict[str, bytes] | None = None
    predicted: dict = field(default_factory=dict)
    views: dict = field(default_factory=dict)
    failure: str = ""
    ticket: "tapeapp.queueing.Ticket | None" = None

    @property
    def running(self) -> bool:
        return self.updates is not None


@dataclass(eq=False)
class Slot:
    """The session's training job, in a box kept under one key for the whole session.

    Streamlit keeps the previous script run's session values until the user's next interaction; a job stored
    directly would keep the last run's model alive that long. Replacing the job inside the box frees it at once.
    """

    job: Job | None = None


def slot() -> Slot:
    return st.session_state.setdefault("training", Slot())


def current() -> Job | None:
    return slot().job


def busy() -> bool:
    """Whether the knobs must stay still: a run is starting, or running and not being stopped."""
    job = current()
    state = st.session_state
    return bool(state.get("train_requested")) or (job is not None and job.running and not state.get("stop_requested"))


def request_train() -> None:
    st.session_state["train_requested"] = True


def request_stop() -> None:
    st.session_state["stop_requested"] = True


def start(table: "tapeapp.Table", schema: "tapeapp.Schema", config: "tapeapp.TrainConfig") -> Job:
    """Everything before epoch 1 (may raise TapeError); a comparable previous run is kept to draw faded."""
    from tapeapp import budget

    old = current()
    allowed = budget.allowance(len(table.frame), budget.inputs_estimate(schema))  # TapeError: no room at all
    run = tapeapp.start_run(table.frame, schema, config, source_sha256=table.info.sha256, baselines=True,
                            max_rows=allowed.rows if allowed.rows < len(table.frame) else None)
    info = table.info
    if old and old.running:
        finish(old)
    kept = old is not None and bool(old.run.history) and _comparable(old.run, run)
    job = Job(
        number=(old.number + 1) if old else 1, run=run, updates=run.epochs(),
        previous=old.run.history_frame() if kept else None, table_name=info.name or "data.csv",
        previous_headline=evaluation(old, 0.5).headline if kept else None,
        read_options={"delimiter": info.delimiter, "encoding": info.encoding, "decimal": info.decimal,
                      "header": info.header},
    )
    job.ticket = training_queue().join(f"run {job.number}")
    slot().job = job
    return job


def others_waiting() -> bool:
    """Whether other runs wait for a seat: then the live pictures wait for the end, and the CPU goes to training."""
    return training_queue().snapshot()["waiting"] > 0


@st.cache_resource(show_spinner=False)
def training_queue() -> "tapeapp.queueing.TrainingQueue":
    """One line for every session of this server: runs take turns for the CPUs (``TAPEAPP_SEATS`` sets how many
    train at once; default one per CPU)."""
    from tapeapp.queueing import TrainingQueue

    seats = os.environ.get("TAPEAPP_SEATS", "").strip()
    return TrainingQueue(seats=int(seats) if seats.isdigit() and int(seats) > 0 else None)


def _comparable(old: "tapeapp.Run", new: "tapeapp.Run") -> bool:
    """Only a run on the same table, target and task is drawn behind the new one and used for score changes."""
    return (old.source_sha256, old.target, old.task) == (new.source_sha256, new.target, new.task)


def finish(job: Job, failure: str = "") -> None:
    """End the generator (keeping the last finished epoch's model) and add the run to the comparison table.

    ``failure`` is the plain message when training broke off with an error rather than by Stop.
    """
    with job.lock:
        if job.updates is None:
            return
        job.updates.close()
        job.updates = None
        job.failure = failure
    if job.ticket is not None:
        job.ticket.leave()
    if job.run.history:
        st.session_state.setdefault("runs", []).append(run_row(job))


def run_row(job: Job) -> dict:
    run, config = job.run, job.run.config
    summary = run.summary()
    main = tapeapp.MAIN_METRIC[run.task]
    ended = "stopped by an error" if job.failure else tapeapp.STOP_REASONS.get(run.stopped_because, run.stopped_because)
    return {
        "run": job.number, "table": job.table_name, "target": run.target, "task": run.task,
        "layers": "-".join(map(str, config.hidden)), "activation": config.activation, "optimizer": config.optimizer,
        "learning rate": config.learning_rate, "batch": config.batch_size,
        "epochs run": f"{summary['epochs_run']} of {config.epochs}",
        "stopped because": ended,
        f"train {main}": summary["train"].get(main), f"validation {main}": summary["validation"].get(main),
        "validation loss": summary["validation"].get("loss"),
    }


def evaluation(job: Job, threshold: float) -> "tapeapp.Evaluation":
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


def predictions(job: Job, table: "tapeapp.Table") -> pd.DataFrame:
    """Predictions for an uploaded table, once per file content."""
    key = table.info.sha256
    if key not in job.predicted:
        job.predicted = {key: job.run.predict(table.frame)}
    return job.predicted[key]


def next_update(job: Job):
    """One more epoch, or None when the run has ended; the lock keeps two script threads from sharing it."""
    with job.lock:
        if job.updates is None:
            return None
        return next(job.updates, None)


@dataclass
class LiveView:
    """Placeholders drawn once per script run and filled again after epochs."""

    progress: st.delta_generator.DeltaGenerator
    waiting: st.delta_generator.DeltaGenerator
    loss: st.delta_generator.DeltaGenerator
    metric: st.delta_generator.DeltaGenerator
    grads: st.delta_generator.DeltaGenerator
    ending: st.delta_generator.DeltaGenerator
    heartbeat: st.delta_generator.DeltaGenerator

    @classmethod
    def create(cls) -> "LiveView":
        progress, waiting = st.empty(), st.empty()
        left, right = st.columns(2, gap="medium")
        grads, explain = st.columns(2, gap="medium")
        with explain:
            st.markdown(READING_GUIDE)
        return cls(progress, waiting, left.empty(), right.empty(), grads.empty(), st.empty(), st.empty())

    def draw_end(self, job: Job) -> None:
        """How the run ended, under the charts (the same pass that trained draws it, before the results)."""
        with self.ending.container():
            end_message(job)

    def keep_alive(self) -> None:
        """A tiny page update while waiting: Streamlit notices a Stop or a closed tab only when the page updates."""
        self.heartbeat.empty()

    def draw_waiting(self, job: Job, place: "tapeapp.queueing.Place | None") -> None:
        """Where this run stands in the line for the CPU, or nothing once it is its turn."""
        if place is None or place.position == 0:
            self.waiting.empty()
            return
        done = len(job.run.history)
        self.progress.progress(min(1.0, done / max(job.run.config.epochs, 1)),
                               text=f"Epoch {done} / {job.run.config.epochs} · waiting for a turn: number "
                                    f"{place.position} in line")
        self.waiting.info(place.message(), icon="⏳")

    def draw_progress(self, job: Job, seconds_per_epoch: float | None) -> None:
        run = job.run
        done, total = len(run.history), run.config.epochs
        text = f"Epoch {done} / {total}"
        if job.running and seconds_per_epoch and done < total:
            text += f" · about {_duration(seconds_per_epoch * (total - done))} left"
        if run.history:
            main = tapeapp.MAIN_METRIC[run.task]
            value = run.history[-1].validation.get(main)
            if value is not None and math.isfinite(value):
                text += f" · validation {main} {_fmt(main, value)}"
        self.progress.progress(min(1.0, done / max(total, 1)), text=text)

    def draw_charts(self, job: Job) -> None:
        specs = chart_specs(job.run.history_frame(), job.previous, job.run.task,
                            job.run.config.epochs if job.running else None, baseline_marks(job.run))
        self.loss.vega_lite_chart(specs["loss"], width="stretch")
        self.metric.vega_lite_chart(specs["metric"], width="stretch")
        self.grads.vega_lite_chart(specs["grads"], width="stretch")


def baseline_marks(run: "tapeapp.Run") -> dict[str, float]:
    """The simpler models' validation score in the run's main metric, once they are fitted (else nothing)."""
    ready = run.baselines
    if ready is None:
        return {}
    main = tapeapp.MAIN_METRIC[run.task]
    return {name: score.validation.get(main) for name, score in ready.scores.items() if not score.error}


_TEMPLATES: dict[tuple, dict] = {}  # a live chart's shape -> its spec without the rows; shared by sessions
_TEMPLATES_LOCK = threading.Lock()
TEMPLATES_KEPT = 64


def chart_specs(history: pd.DataFrame, previous: pd.DataFrame | None, task: str, total: int | None,
                baselines: dict[str, float] | None = None) -> dict:
    """The three live charts as Vega-Lite specs, each drawn from at most CHART_EPOCHS epochs of every line.

    Altair builds each chart once per shape (task, length, previous run, baselines, layers) and later refreshes
    only swap the rows in: building a chart costs ~20 ms, filling one a fraction of a millisecond.
    """
    from tapeapp import charts  # Altair: imported on first use, after the page's first paint

    history, previous = thin_epochs(history), None if previous is None else thin_epochs(previous)
    main = tapeapp.MAIN_METRIC[task]
    marks = tuple(sorted((k, v) for k, v in (baselines or {}).items() if v is not None and math.isfinite(v)))
    shape = (task, total, None if total else (len(history), _last_epoch(history)),
             None if previous is None else (len(previous), _last_epoch(previous)), marks,
             tuple(c for c in history.columns if c.startswith("grad_norm_")))
    builders = {"loss": lambda: charts.loss_chart(history, previous, total, data_name="loss_rows"),
                "metric": lambda: charts.metric_chart(history, main, previous, total, dict(marks),
                                                      data_name="metric_rows"),
                "grads": lambda: charts.grad_norm_chart(history, total, data_name="grads_rows")}
    rows = {"loss": charts.curve_rows(history, "loss", previous), "metric": charts.curve_rows(history, main, previous),
            "grads": charts.grad_norm_rows(history)}
    specs = {}
    for name, build in builders.items():
        with _TEMPLATES_LOCK:
            template = _TEMPLATES.get((name, *shape))
        if template is None:
            template = live_spec(build(), name)
            with _TEMPLATES_LOCK:  # sessions train in their own threads
                _TEMPLATES[(name, *shape)] = template
                while len(_TEMPLATES) > TEMPLATES_KEPT:
                    del _TEMPLATES[next(iter(_TEMPLATES))]
        specs[name] = spec_with_rows(template, {f"{name}_rows": rows[name]})
    return specs


def _last_epoch(history: pd.DataFrame) -> int:
    return int(history["epoch"].iloc[-1]) if len(history) and "epoch" in history else 0


def thin_epochs(history: pd.DataFrame, keep: int | None = None) -> pd.DataFrame:
    """Every n-th epoch (and always the last) of a long run: the curves look the same, and each update stays small.

    A run of thousands of epochs would otherwise send every point again after each epoch, and its gradient chart
    (one line per layer) would pass Altair's 5,000-row limit and stop the page.
    """
    keep = keep or CHART_EPOCHS
    if len(history) <= keep:
        return history
    step = -(-len(history) // keep)
    rows = list(range(0, len(history) - 1, step)) + [len(history) - 1]
    return history.iloc[rows]


def spec_of(chart) -> dict:
    """The Altair chart's Vega-Lite spec, without Altair's default size (the page sizes its charts itself)."""
    spec = chart.to_dict(validate=False)  # built by tapeapp.charts and checked by its tests; validating costs 1/3
    config = spec.get("config", {})
    if config.get("view") == {"continuousWidth": 300, "continuousHeight": 300}:
        del config["view"]
        if not config:
            del spec["config"]
    return spec


def show(place, chart) -> None:
    """Draw an Altair chart from its unvalidated spec (``spec_of``): the page's charts come from tapeapp.charts."""
    place.vega_lite_chart(spec_of(chart), width="stretch")


def spec_with_rows(template: dict, frames: dict) -> dict:
    """A spec built once (its data named, not included) with this refresh's rows: Streamlit sends the frames as
    Arrow, and building the chart again with Altair, the slow part of a refresh, is skipped."""
    spec = copy.deepcopy(template)
    spec["datasets"] = {**frames, **spec.get("datasets", {})}  # the rows first, then any the chart carries
    return spec


def live_spec(chart, name: str) -> dict:
    """The Altair chart's Vega-Lite spec with its data under fixed names instead of content hashes.

    Between two epochs only the data changes then, so the browser swaps the rows into the chart it already has
    instead of building it again: smoother to watch, and much less work for a small machine.
    """
    spec = spec_of(chart)
    text = json.dumps(spec)
    for i, old in enumerate(spec.get("datasets", {})):
        text = text.replace(f'"{old}"', f'"{name}_{i}"')
    return json.loads(text)


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


def train_live(job: Job, view: LiveView, learned=None) -> None:
    """Pull epochs until the run ends, updating the page as it goes (throttled when epochs are very fast).

    Before each epoch the run asks for its turn (``training_queue``); while others train it shows its place in the
    line. ``learned`` (the 'What the network learned' pictures) is redrawn with the curves, in the same time share.
    """
    try:
        _train_live(job, view, learned)
    except StopException:  # the session is ending (its tab was closed): free the run now, not when it expires
        finish(job)
        if slot().job is job:
            slot().job = None
        raise


def _train_live(job: Job, view: LiveView, learned) -> None:
    trained, done_before = 0.0, len(job.run.history)
    last_progress, last_chart = 0.0, time.perf_counter()  # charts after CHARTS_EVERY: a short run is drawn once
    chart_every, waited, shown = CHARTS_EVERY, False, ""
    while job.running:
        if job.ticket is not None and not job.ticket.try_train():
            place = job.ticket.place()
            if not waited or place.message() != shown:  # a page update is also when Streamlit notices Stop
                view.draw_waiting(job, place)
                shown = place.message()
            waited = True
            job.ticket.wait_turn(WAIT_POLL)
            view.keep_alive()
            continue
        if waited:
            view.draw_waiting(job, None)
            waited = False
        started = time.perf_counter()
        if (update := next_update(job)) is None:
            break
        now = time.perf_counter()
        trained += now - started
        per_epoch = trained / max(1, len(job.run.history) - done_before)
        if now - last_progress >= PROGRESS_EVERY or update.stop_reason:
            view.draw_progress(job, per_epoch)
            last_progress = now
        if now - last_chart >= chart_every or update.stop_reason:
            view.draw_charts(job)
            if learned is not None and not update.stop_reason and not others_waiting():
                learned.draw(job)  # the finished run is drawn finer at the end; while others wait, only then
            last_chart = time.perf_counter()
            chart_every = max(CHARTS_EVERY, (last_chart - now) / DRAW_SHARE)  # long runs draw longer charts
    finish(job)


def end_message(job: Job) -> None:
    run = job.run
    if job.failure:
        st.error(job.failure)
        return
    message = run.message or tapeapp.STOP_REASONS.get(run.stopped_because, "")
    # a loss that overflowed still leaves a model (from the epoch before): a warning, and the results below
    {"finished": st.success, "early_stopping": st.success, "not_finite": st.warning}.get(
        run.stopped_because, st.info)(message)
    for warning in run.warnings:
        st.warning(warning)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(max(1, round(seconds)), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _fmt(metric: str, value: float) -> str:
    return f"{value:.1%}" if metric in ("accuracy", "auc") else f"{value:.4g}"
