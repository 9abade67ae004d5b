"""tapeapp's page: bring a table, choose what to predict, set the knobs, and watch a GradientTape loop learn it.

It reads top to bottom as the user meets it, one short function per section. Everything that learns or measures
lives in ``tapeapp``; this file only draws, and turns every TapeError into a plain ``st.error``. Only light modules
are imported at the top (no pandas, Altair or TensorFlow), so the title and the uploader appear at once; the
charts module is imported where it is first needed, after them.
"""

from __future__ import annotations

import math
import threading

import streamlit as st

import tapeapp
from tapeapp import words
from tapeapp.data import NoRoomYet
from ui import cases as ui_cases
from ui import data as ui_data
from ui import jobs as ui_jobs
from ui import keys
from ui import knobs as ui_knobs
from ui import learned as ui_learned
from ui import lesson as ui_lesson
from ui import live as ui_live
from ui import rate_finder as ui_rate_finder
from ui import server as ui_server
from ui import session as ui_session
from ui import verdict as ui_verdict
from ui.safe import md
from ui.templates import show

LOG_COLUMN = "log if skewed"
DOWNLOADS = {
    "model.keras": ("The trained model (Keras), with the preprocessing inside: it takes your raw columns.",
                    "application/octet-stream"),
    "history.csv": ("Every epoch's scores and gradient norms, one row per epoch.", "text/csv"),
    "config.json": ("Every knob, the columns used and a fingerprint of the data.", "application/json"),
    "predictions.csv": ("The model's predictions for the validation rows, next to the true values.", "text/csv"),
    "reproduce.py": ("A short Python script that trains the same model again from your file.", "text/x-python"),
}

st.set_page_config(page_title="tapeapp · TensorFlow Playground for your own table", page_icon="🧪",
                   layout="wide")


@st.cache_resource(show_spinner=False)
def warm_up_in_background() -> threading.Thread:
    """Import TensorFlow once per process while the user looks at the data, so the first Train does not wait."""
    ui_server.keep_compiled_epochs()
    ui_server.limit_malloc_arenas()
    thread = threading.Thread(target=tapeapp.warm_up, name="tapeapp-warm-up", daemon=True)
    thread.start()
    return thread


def data_section(busy: bool) -> tapeapp.Table | None:
    st.header("1. Your data", divider="orange")
    st.file_uploader(
        "Upload a table", type=ui_data.UPLOAD_TYPES, key=keys.UPLOAD, on_change=ui_data.on_upload_changed,
        disabled=busy, help="CSV or TSV (any delimiter, encoding and decimal comma are detected), Excel .xlsx or "
                            "Parquet; .gz compressed is fine. One row per example, one column per measurement. "
                            "A project file (.zip) saved by tapeapp opens its run again.")
    st.session_state.setdefault(keys.SAMPLE_PICK, ui_data.DEFAULT_SAMPLE)
    st.pills("…or try a built-in sample with one click", list(tapeapp.SAMPLES), key=keys.SAMPLE_PICK,
             format_func=lambda key: tapeapp.SAMPLES[key].title, on_change=ui_data.on_sample_picked,
             disabled=busy, help="Ready-made tables; all but the heart table work offline.")
    if error := st.session_state.pop(keys.DATA_ERROR, None):
        st.error(md(error))
    try:
        table = ui_data.current_table(read=ui_session.read_upload)
    except Exception as error:  # noqa: BLE001  (every failure gets plain words; see ui_data.problem)
        st.error(md(ui_data.problem(error, "reading your table")))
        if isinstance(error, NoRoomYet):
            st.button("Read it again", key=keys.READ_AGAIN)  # a rerun tries to read the kept file again
        return None
    if ui_data.source() in tapeapp.SAMPLES:
        st.markdown(tapeapp.SAMPLES[ui_data.source()].description)
    st.markdown(ui_data.describe(table.info))
    if table.info.notes:
        st.info("**What was changed while reading the file**\n" + "".join(f"\n- {md(n)}" for n in table.info.notes))
    preview = ui_data.preview(table.frame)
    st.dataframe(preview, height=220, width="stretch")
    st.caption(f"The first {len(preview):,} of {len(table.frame):,} rows.")
    return table


def inspect_section(table: tapeapp.Table, busy: bool) -> tapeapp.Schema | None:
    st.header("2. What to predict", divider="orange")
    sha = table.info.sha256[:16]
    try:
        guess = ui_data.guess_schema(table.info.sha256, table.frame)
    except Exception as error:  # noqa: BLE001
        st.error(md(ui_data.problem(error, "looking at your columns")))
        return None
    columns = [str(c) for c in table.frame.columns]
    wanted = ui_knobs.link_extra("target")
    st.session_state.setdefault(keys.target(sha), wanted if wanted in columns else guess.target)
    left, right = st.columns([2, 3], gap="large")
    with left:
        target = st.selectbox("Column to predict (the target)", columns, key=keys.target(sha), disabled=busy,
                              help="The answer the model should learn to give. Every other column it uses is an "
                                   "input (a 'feature').")
        task = st.selectbox("Kind of prediction", list(words.TASK_CHOICES), format_func=words.TASK_CHOICES.get,
                            key=keys.task(sha, target), disabled=busy,
                            help="Classes (yes/no, or one of several labels) or a number. The app guesses from the "
                                 "target column; change it if the guess is wrong.")
        try:
            schema = guess.with_target(target)
            schema = schema if task == "auto" else schema.with_task(task)
        except Exception as error:  # noqa: BLE001
            st.error(md(ui_data.problem(error, f"looking at '{target}'")))
            return None
        st.markdown(f"**{words.TASK_LABELS[schema.task]}** — {md(schema.task_reason)}")
    with right:
        from tapeapp.report import charts

        show(st, charts.target_chart(table.frame[target], schema.task == "regression", target))
    for warning in schema.warnings:
        st.warning(md(warning))
    return roles_editor(schema, keys.roles(sha, target, task), busy)


def roles_editor(schema: tapeapp.Schema, key: str, busy: bool) -> tapeapp.Schema | None:
    """The columns as the app understood them; the user may switch inputs between used and ignored, and keep a
    skewed number as it is (no signed log)."""
    st.markdown("**The columns** — switch a column's *role* to `ignored` to leave it out, or back to `feature`; "
                "untick *log if skewed* to keep a number as it is.")
    if base := st.session_state.get(keys.base_roles(key)):  # choices brought back: the editor starts from them
        try:
            schema = schema.with_roles(base.get("roles", {})).with_plain(base.get("plain", []))
        except Exception:  # noqa: BLE001  (choices that no longer fit this table: start from the guess)
            st.session_state.pop(keys.base_roles(key), None)
    frame = schema.to_frame()
    numbers = (frame["kind"] == "numeric").tolist()
    frame.insert(frame.columns.get_loc("role") + 1, LOG_COLUMN,
                 [name not in schema.plain if number else None for name, number in zip(frame["name"], numbers)])
    edited = st.data_editor(
        frame, key=key, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(frame)),
        disabled=True if busy else [c for c in frame.columns if c not in ("role", LOG_COLUMN)],
        column_config={
            "name": "Column", "kind": "Kind", "missing": "Missing", "distinct": "Distinct values",
            "examples": "Examples", "reason": st.column_config.TextColumn("Why this role", width="large"),
            "role": st.column_config.SelectboxColumn(
                "Role", options=["feature", "ignored", "target"], required=True,
                help="feature: the model learns from it. ignored: left out. The target is chosen above."),
            LOG_COLUMN: st.column_config.CheckboxColumn(
                "Log if skewed",
                help="Numbers only. When the training rows of this column are strongly skewed (counts, money, "
                     "visits), the model sees sign(x)·log(1 + |x|/s) and whether it is zero; the results' "
                     "preprocessing table says which columns it was and why."),
        })
    changes, target_touched = ui_data.role_changes(frame, edited, schema.target)
    if target_touched:
        st.info("To predict another column, choose it in the box above; roles here are feature or ignored.")
    plain = [name for name, number, log in zip(frame["name"], numbers, edited[LOG_COLUMN]) if number and not log]
    try:
        schema = schema.with_roles(changes) if changes else schema
        return schema.with_plain(plain) if tuple(plain) != schema.plain else schema
    except Exception as error:  # noqa: BLE001
        st.error(md(ui_data.problem(error, "changing the roles")))
        return None


def knobs_section(table: tapeapp.Table | None, schema: tapeapp.Schema | None,
                  busy: bool) -> tapeapp.TrainConfig | None:
    st.header("3. Knobs", divider="orange")
    config = ui_knobs.knobs_section(schema.task if schema else "binary", busy, can_find=schema is not None)
    ui_rate_finder.result_section(table, schema, config, use=ui_knobs.apply_changes)
    if config is not None and table is not None and ui_lesson.current() is None:
        ui_lesson.section(config, lambda plan: ui_session.lesson_link(plan, schema, config))
    return config


def train_section(table: tapeapp.Table | None, schema: tapeapp.Schema | None,
                  config: tapeapp.TrainConfig | None, job: ui_jobs.Job | None) -> ui_live.LiveView | None:
    st.header("4. Train and watch it learn", divider="orange")
    if job is not None and job.running and job.stop_wanted:
        job.done.wait(ui_jobs.STOP_WAIT)  # Stop was pressed: the run ends within a compiled call, drawn ended
    requested = st.session_state.pop(keys.TRAIN_REQUESTED, False) and not (job is not None and job.running)
    if requested and table and schema and config:
        try:
            job = ui_jobs.start(table, schema, config, ui_data.problem, keeper=ui_session.autosave)
            ui_session.started(job)
        except Exception as error:  # noqa: BLE001
            st.session_state[keys.TRAIN_ERROR] = ui_data.problem(error, "preparing your table for training")
            st.rerun()
    running = job is not None and job.running
    train, stop, note = st.columns([1, 1, 6], vertical_alignment="center")
    train.button("Train", key=keys.TRAIN, type="primary", on_click=ui_jobs.request_train, width="stretch",
                 disabled=running or not (table and schema and config))
    stop.button("Stop", key=keys.STOP, on_click=ui_jobs.request_stop, disabled=not running or job.stop_wanted,
                width="stretch")
    note.caption("Training runs here, on this server: one GradientTape step per batch, the charts update after "
                 "epochs. Stop keeps the model from the last finished epoch.")
    if error := st.session_state.pop(keys.TRAIN_ERROR, None):
        st.error(md(error))
    if job is None:
        return None
    ui_jobs.record(job)
    if job.autosave is not None and job.autosave.problem:
        st.warning(md(job.autosave.problem))
    view = ui_live.LiveView.create(running=running)
    view.draw_progress(job, None)
    if job.run.history or job.previous is not None:
        view.draw_charts(job)
    if not running:
        view.draw_end(job)
    return view


def watch_training(view: ui_live.LiveView | None, learned: ui_learned.LearnedView | None,
                   job: ui_jobs.Job | None) -> bool:
    """Watch the session's running job to its end, redrawing the curves and pictures above.

    Returns whether this pass drew the job running (Train disabled, Stop enabled): its results are then drawn right
    away, below, and the page is run once more afterwards so that the buttons show the run has ended. The job may
    end between the buttons and this call (a short run, a Stop): that too must end in a rerun, never in a page
    left at "running" with nothing running.
    """
    if view is None or job is None or not view.drawn_running:
        return False
    ui_live.watch(job, view, learned)
    view.draw_end(job)
    return True


def results_section(job: ui_jobs.Job) -> tuple[float, object]:
    """The scores, the charts (a cell or region picked on them is the user's selection), the simpler models and
    advice; returns the decision threshold and the selection, for the section after."""
    st.header("5. Results", divider="orange")
    run = job.run
    epochs = f"{len(run.history)} epoch" + ("" if len(run.history) == 1 else "s")
    st.caption(f"Run {job.number}: predicting **{md(run.target)}**, scored on the "
               f"{run.summary()['rows']['validation']:,} validation rows the model never trained on ({epochs}, "
               f"{ui_jobs.ended_by(job)}). {ui_jobs.kept_by(job)}")
    threshold = 0.5
    if run.task == "binary":
        positive = md(run.prepared.target_encoder.classes_[1])
        threshold = st.slider(
            f"Decision threshold: call a row '{positive}' when the model is at least this sure", 0.05, 0.95, 0.5,
            0.05, key=keys.THRESHOLD, help=f"Lower it to catch more '{positive}' rows (with more false alarms); raise "
                                        "it to make fewer false alarms (and miss more). The confusion matrix and the "
                                        "scores follow; the curves show every threshold at once.")
    evaluation = ui_jobs.evaluation(job, threshold)
    headline_metrics(evaluation, job.previous_headline)
    if warning := tapeapp.no_better_than_guessing(evaluation, run.target, advice=ui_verdict.advice_of(job)):
        st.warning(md(warning))
    if run.task == "regression":
        from tapeapp.report import charts

        left, right = st.columns(2, gap="large")
        picked = left.altair_chart(charts.predicted_actual_chart(evaluation.points, run.target, pickable=True),
                                   width="stretch", on_select="rerun", key=keys.REGION_PICK)
        show(right, charts.residual_chart(evaluation.points, run.target))
    else:
        picked = classification_charts(evaluation)
    ui_verdict.compare_section(job)
    ui_verdict.advice_section(job)
    with st.expander("What the preprocessing learned from the training rows"):
        st.dataframe(run.prepared.preprocessor.summary(), hide_index=True, width="stretch")
    runs_table()
    return threshold, picked


def cases_section(job: ui_jobs.Job, threshold: float, picked) -> None:
    """Why did it say that: the rows behind the picked number, one row taken apart, the weakest groups."""
    st.header(ui_cases.HEADER, divider="orange")
    st.caption("Why did it say that? The rows behind a number, one row taken apart, and the groups of rows where "
               "the model is weakest.")
    for part, doing in ((lambda: ui_cases.behind_the_numbers(job, threshold, picked), "listing those rows"),
                        (lambda: ui_cases.try_one_row(job, job.background), "taking the row apart"),
                        (lambda: ui_cases.weak_groups(job, threshold), "scoring the groups")):
        try:
            part()
        except Exception as error:  # noqa: BLE001  (each part words its own trouble; the others still draw)
            st.warning(md(ui_data.problem(error, doing)))


def runs_table() -> None:
    st.subheader("Your runs in this session")
    st.caption("Every run you finished or stopped, to compare the knobs you changed with the scores they gave.")
    runs = st.session_state.get(keys.RUNS, [])
    scores = {c: st.column_config.NumberColumn(format="%.3f") for row in runs for c in row
              if c.startswith(("train ", "validation "))}
    st.dataframe(runs, hide_index=True, width="stretch", column_config=scores)


def headline_metrics(evaluation: tapeapp.Evaluation, previous: dict | None) -> None:
    columns = st.columns(len(evaluation.headline))
    for column, (key, value) in zip(columns, evaluation.headline.items()):
        label, why = words.METRICS.get(key, (key, ""))
        before = (previous or {}).get(key)
        delta = words.score_text(key, value - before) if _finite(before) and _finite(value) else None
        column.metric(label, words.score_text(key, value), delta=delta, help=why, border=True,
                      delta_color="inverse" if key in words.LOWER_IS_BETTER else "normal",
                      delta_description="vs. previous run" if delta else None)


def classification_charts(evaluation: tapeapp.Evaluation):
    """The confusion matrix (a click picks a cell), ROC and PR curves and the per-class table; returns the pick."""
    from tapeapp.report import charts

    matrix, roc, pr = st.columns(3, gap="medium")
    picked = matrix.altair_chart(charts.confusion_chart(evaluation.confusion, pickable=True), width="stretch",
                                 on_select="rerun", key=keys.CONFUSION_PICK)
    if len(evaluation.roc):
        show(roc, charts.roc_chart(evaluation.roc))
        show(pr, charts.pr_chart(evaluation.pr))
    st.markdown("**Per class** — *precision*: of the rows called this class, the share that were; *recall*: of "
                "the rows that were this class, the share found.")
    share = {name: st.column_config.ProgressColumn(name, format="percent", min_value=0.0, max_value=1.0)
             for name in ("precision", "recall", "f1")}
    st.dataframe(evaluation.per_class, hide_index=True, width="stretch",
                 column_config=share | {"support": st.column_config.NumberColumn("rows", format="%d")})
    return picked


def use_section(job: ui_jobs.Job, state: dict, threshold: float) -> None:
    st.header("7. Use it and take it home", divider="orange")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Predict new rows**")
        uploaded = st.file_uploader("Rows to predict: the same columns (the target may be missing)",
                                    type=ui_data.UPLOAD_TYPES, key=keys.PREDICT_UPLOAD)
        if uploaded is not None:
            predictions_for(job, uploaded)
    with right:
        st.markdown("**Take it home**")
        hand_over(job, state, threshold)
        for name, (why, mime) in DOWNLOADS.items():  # each file is made when it is first asked for
            st.download_button(name, ui_jobs.download(job, name), file_name=name, mime=mime, help=why,
                               on_click="ignore", key=keys.download(name), width="stretch")


def hand_over(job: ui_jobs.Job, state: dict, threshold: float) -> None:
    """The project file (everything, to open again here or elsewhere) and the report to hand in."""
    if job.schema is None:
        return
    stem = (job.table_name or "run").rsplit(".", 1)[0]
    include = st.checkbox("Put the table in the project file", value=True, key=keys.INCLUDE_TABLE,
                          help="Leave it out to share the model and results without the data; opening the project "
                               "then asks for the same file.")
    st.download_button("Download the project (.zip)",
                       ui_jobs.project_maker(job, state, include, ui_session.source_getter()),
                       file_name=f"{stem}_run{job.number}.zip", mime="application/zip", on_click="ignore",
                       key=keys.PROJECT_DOWNLOAD, type="primary", width="stretch",
                       help="The table, the settings, the model, the history, the predictions, which columns "
                            "matter and reproduce.py, with a manifest. Drop it on the uploader in section 1 to open "
                            "this run again, without training; `python -m tapeapp predict` takes it too.")
    axes = (st.session_state.get(keys.MAP_X), st.session_state.get(keys.MAP_Y))
    st.download_button("Download a report (.html)",
                       ui_jobs.report_maker(job, axes if all(axes) else None, threshold),
                       file_name=f"{stem}_run{job.number}_report.html", mime="text/html", on_click="ignore",
                       key=keys.REPORT_DOWNLOAD, width="stretch",
                       help="One page to hand in: the table, the target, the knobs, the curves, the results, the "
                            "simpler models, the advice, the columns that matter, the decision map and a short "
                            "model card. It opens offline in any browser and loads nothing from anywhere.")


def predictions_for(job: ui_jobs.Job, uploaded) -> None:
    try:
        table = ui_data.rows_to_predict(uploaded)
        extra = job.run.unexpected_columns(table.frame)
        predicted = ui_jobs.predictions(job, table)
        notes = job.run.prediction_notes(table.frame)
    except Exception as error:  # noqa: BLE001
        st.error(md(ui_data.problem(error, "predicting your rows")))
        if isinstance(error, NoRoomYet):
            st.button("Read it again", key=keys.PREDICT_READ_AGAIN)
        return
    if extra:
        st.info(md(f"Not used by the model, so left out: {', '.join(map(str, extra))}."))
    for note in notes:
        st.info(md(note))
    st.dataframe(ui_data.preview(predicted).join(ui_data.preview(table.frame), suffixes=("", " (yours)")),
                 height=240, width="stretch")
    stem = (uploaded.name or "rows").rsplit(".", 1)[0]

    def whole_file() -> bytes:  # made on click: a million rows are not turned into CSV on every rerun
        return predicted.join(table.frame, suffixes=("", " (yours)")).to_csv(index=False).encode()

    st.download_button(f"Download predictions for {len(predicted):,} rows", whole_file,
                       file_name=f"{stem}_predictions.csv", mime="text/csv", key=keys.NEW_PREDICTIONS,
                       on_click="ignore")


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def link_extras(table: tapeapp.Table | None, schema: tapeapp.Schema | None) -> dict[str, str]:
    """The parts of the setup that are not knobs: which sample, the target when it is not the guess, the session's
    id and the lesson."""
    extras = {**ui_session.link_params(), **ui_lesson.link_params()}
    if ui_data.source() in tapeapp.SAMPLES and ui_data.source() != ui_data.DEFAULT_SAMPLE:
        extras["sample"] = ui_data.source()
    if table is not None and schema is not None:
        if schema.target != ui_data.guess_schema(table.info.sha256, table.frame).target:
            extras["target"] = schema.target
    return extras


def main() -> None:
    st.title("TensorFlow Playground for your own table")
    st.caption("Bring a table, choose the column to predict, set the knobs, and watch a small neural network "
               "learn it epoch by epoch: a hand-written TensorFlow GradientTape loop, running live.")
    ui_knobs.load_link()
    lesson_id, plan = ui_knobs.link_extra("lesson"), ui_lesson.Plan.from_link(ui_knobs.link_extras(ui_lesson.PARAMS))
    sample = ui_knobs.link_extra("sample")
    if not ui_session.resume(ui_knobs.link_extra(ui_session.PARAM)):  # a kept session comes back as it was
        ui_session.open_lesson(lesson_id, plan)
        ui_data.use_sample_from_link(sample)
    for note in ui_session.notes():
        st.warning(md(note))
    ui_lesson.show_task()
    busy = ui_jobs.busy()
    table = data_section(busy)
    warm_up_in_background()
    schema = inspect_section(table, busy) if table is not None else None
    config = knobs_section(table, schema, busy)
    if config is not None:
        ui_knobs.sync_link(config, link_extras(table, schema))
    ui_session.keep(table, schema, config)
    job = ui_jobs.current()
    view = train_section(table, schema, config, job)
    job = ui_jobs.current()
    learned = ui_learned.learned_section(job)
    ended = watch_training(view, learned, job)
    if job is not None and not job.running and job.run.history:
        threshold, picked = results_section(job)
        cases_section(job, threshold, picked)
        use_section(job, ui_session.page_state(table, schema, config), threshold)
    if learned is not None:
        learned.finish(job)
    if ended:
        st.rerun()


try:
    main()
except Exception as error:  # noqa: BLE001  (a fault nobody foresaw: plain words here, the details in the log)
    st.error(md(ui_data.problem(error, "drawing this page")))
