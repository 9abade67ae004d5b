"""Section 7, use it and take it home: predictions for new rows, the downloads (each made when asked for), the project
file that opens the run again, and a report to hand in."""

from __future__ import annotations

import streamlit as st

import tapeapp
from ui import job as ui_job
from ui import session, sources
from ui.data import preview
from ui.safe import md, problem
from ui.state import (
    INCLUDE_TABLE,
    MAP_X,
    MAP_Y,
    NEW_PREDICTIONS,
    PREDICT_READ_AGAIN,
    PREDICT_UPLOAD,
    PROJECT_DOWNLOAD,
    REPORT_DOWNLOAD,
    download,
    widget,
)

DOWNLOADS = {
    "model.keras": ("The trained model (Keras), with the preprocessing inside: it takes your raw columns.",
                    "application/octet-stream"),
    "history.csv": ("Every epoch's scores and gradient norms, one row per epoch.", "text/csv"),
    "config.json": ("Every knob, the columns used and a fingerprint of the data.", "application/json"),
    "predictions.csv": ("The model's predictions for the validation rows, next to the true values.", "text/csv"),
    "reproduce.py": ("A short Python script that trains the same model again from your file.", "text/x-python"),
}


def section(job: ui_job.Job, state: dict, threshold: float) -> None:
    st.header("7. Use it and take it home", divider="orange")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Predict new rows**")
        uploaded = st.file_uploader("Rows to predict: the same columns (the target may be missing)",
                                    type=sources.UPLOAD_TYPES, key=PREDICT_UPLOAD)
        if uploaded is not None:
            predictions_for(job, uploaded)
    with right:
        st.markdown("**Take it home**")
        hand_over(job, state, threshold)
        for name, (why, mime) in DOWNLOADS.items():  # each file is made when it is first asked for
            st.download_button(name, ui_job.download(job, name), file_name=name, mime=mime, help=why,
                               on_click="ignore", key=download(name), width="stretch")


def hand_over(job: ui_job.Job, state: dict, threshold: float) -> None:
    """The project file (everything, to open again here or elsewhere) and the report to hand in."""
    if job.schema is None:
        return
    stem = (job.table_name or "run").rsplit(".", 1)[0]
    include = st.checkbox("Put the table in the project file", value=True, key=INCLUDE_TABLE,
                          help="Leave it out to share the model and results without the data; opening the project "
                               "then asks for the same file.")
    st.download_button("Download the project (.zip)",
                       ui_job.project_maker(job, state, include, session.source_getter()),
                       file_name=f"{stem}_run{job.number}.zip", mime="application/zip", on_click="ignore",
                       key=PROJECT_DOWNLOAD, type="primary", width="stretch",
                       help="The table, the settings, the model, the history, the predictions, which columns "
                            "matter and reproduce.py, with a manifest. Drop it on the uploader in section 1 to open "
                            "this run again, without training; `python -m tapeapp predict` takes it too.")
    axes = (widget(MAP_X), widget(MAP_Y))
    st.download_button("Download a report (.html)",
                       ui_job.report_maker(job, axes if all(axes) else None, threshold),
                       file_name=f"{stem}_run{job.number}_report.html", mime="text/html", on_click="ignore",
                       key=REPORT_DOWNLOAD, width="stretch",
                       help="One page to hand in: the table, the target, the knobs, the curves, the results, the "
                            "simpler models, the advice, the columns that matter, the decision map and a short "
                            "model card. It opens offline in any browser and loads nothing from anywhere.")


def predictions_for(job: ui_job.Job, uploaded) -> None:
    try:
        table = sources.rows_to_predict(uploaded)
        extra = job.run.unexpected_columns(table.frame)
        predicted = ui_job.predictions(job, table)
        notes = job.run.prediction_notes(table.frame)
    except Exception as error:  # noqa: BLE001
        st.error(md(problem(error, "predicting your rows")))
        if isinstance(error, tapeapp.data.NoRoomYet):
            st.button("Read it again", key=PREDICT_READ_AGAIN)
        return
    if extra:
        st.info(md(f"Not used by the model, so left out: {', '.join(map(str, extra))}."))
    for note in notes:
        st.info(md(note))
    st.dataframe(preview(predicted).join(preview(table.frame), suffixes=("", " (yours)")),
                 height=240, width="stretch")
    stem = (uploaded.name or "rows").rsplit(".", 1)[0]

    def whole_file() -> bytes:  # made on click: a million rows are not turned into CSV on every rerun
        return predicted.join(table.frame, suffixes=("", " (yours)")).to_csv(index=False).encode()

    st.download_button(f"Download predictions for {len(predicted):,} rows", whole_file,
                       file_name=f"{stem}_predictions.csv", mime="text/csv", key=NEW_PREDICTIONS,
                       on_click="ignore")


