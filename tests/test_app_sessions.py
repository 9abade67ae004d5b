"""Many users at once: Streamlit runs one script per browser session, all in one process.

Two AppTest sessions train different uploads at the same time and each sees only its own table, target, model and
history; ten runs in one session release the earlier models; and an upload and a training run leave no file in
the temporary directory or the working directory (an upload lives only in that session's memory).
"""

from __future__ import annotations

import gc
import os
import tempfile
import threading
import time
import weakref
from pathlib import Path
from unittest.mock import MagicMock

import numpy as np
import pandas as pd
import pytest

import tapeapp  # noqa: E402  (test_app puts the project on sys.path)
from helpers.page import ROOT, charts_on, job_of, ok, page_app, seen, table_with, upload_to
from ui import job as ui_job  # noqa: E402
from ui import jobs as ui_jobs  # noqa: E402
from ui import training as ui_training  # noqa: E402
from ui.state import Box  # noqa: E402


def _garden(n: int = 160) -> pd.DataFrame:
    """Session A's table: predict 'bloom' (yes/no) from plant measurements."""
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"sunlight": rng.uniform(0, 12, n).round(1), "water_ml": rng.integers(50, 500, n),
                          "soil": rng.choice(["clay", "sand", "loam"], n)})
    frame["bloom"] = np.where(frame["sunlight"] * 30 + frame["water_ml"] * 0.5 > 300, "yes", "no")
    return frame


def _engines(n: int = 200) -> pd.DataFrame:
    """Session B's table: predict 'fuel_use' (a number) from engine data; no column name is shared with A."""
    rng = np.random.default_rng(22)
    frame = pd.DataFrame({"cylinders": rng.choice([4, 6, 8], n), "mass_kg": rng.uniform(900, 2500, n).round(0),
                          "gearbox": rng.choice(["manual", "automatic"], n)})
    frame["fuel_use"] = (frame["mass_kg"] * 0.004 + frame["cylinders"] * 0.6 + rng.normal(0, 0.3, n)).round(2)
    return frame


def _everything_shown(at) -> str:
    """All text the page shows, with the column names of its tables and the data of its charts."""
    parts = [seen(e) for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in at.get(kind)]
    parts += [str(list(d.value.columns)) + d.value.to_csv() for d in at.dataframe]
    parts += [str(frames) + title for title, frames in charts_on(at).items()]
    parts += [s.label + str(s.options) for s in at.selectbox]
    return "\n".join(parts)


_SETUP = threading.Lock()


def _session(name: str, frame: pd.DataFrame, epochs: int, ready: threading.Barrier, out: dict) -> None:
    try:
        with _SETUP:  # set-up one session at a time; the training passes below overlap
            at = upload_to(ok(page_app().run()), frame.to_csv(index=False).encode(), f"{name}.csv")
            target_key = next(k for k in at.session_state if str(k).startswith("target_"))
            at.selectbox(key=target_key).set_value(frame.columns[-1])  # the answer is the last column here
            at = ok(at.run())
            at.slider(key="cfg_epochs").set_value(epochs)
            at.slider(key="cfg_patience").set_value(0)  # every epoch trained: the test counts them
            at.select_slider(key="cfg_batch_size").set_value(8)  # slower epochs, so the two runs surely overlap
            ok(at.run())
        at.button(key="train").click()
        ready.wait(timeout=60)
        started = time.monotonic()
        ok(at.run())
        out[name] = (at, started, time.monotonic())
    except BaseException as error:  # noqa: BLE001  (handed to the main thread)
        out[name] = error
        ready.abort()


@pytest.fixture
def one_runtime(monkeypatch):
    """One Runtime for sessions that run at once, as a real server has.

    AppTest installs a mock Runtime (and the ``global.appTest`` option) for each run and removes it when the run
    ends, which would pull it from under another session still running. Here both sessions share one.
    """
    from streamlit import config
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.runtime import Runtime
    from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
    from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    import tapeapp._tf  # noqa: F401  (its guard makes ast.parse take turns: both sessions compile the page at once)

    shared = MagicMock(spec=Runtime)
    shared.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    shared.dataframe_source_mgr = DataframeSourceManager()
    shared.cache_storage_manager = MemoryCacheStorageManager()
    shared.bidi_component_registry = BidiComponentManager()
    monkeypatch.setattr(app_test, "Runtime", type("PerRunRuntimeIgnored", (), {"_instance": None}))
    monkeypatch.setattr(Runtime, "_instance", shared)
    before = config.get_option("global.appTest")
    config.set_option("global.appTest", True)
    yield shared
    config.set_option("global.appTest", before)


@pytest.mark.slow
def test_two_sessions_training_at_once_never_see_each_other(one_runtime):
    ready, out = threading.Barrier(2), {}
    threads = [threading.Thread(target=_session, args=("garden", _garden(), 4, ready, out)),
               threading.Thread(target=_session, args=("engines", _engines(), 6, ready, out))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    for result in out.values():
        if isinstance(result, BaseException):
            raise result
    (garden, g0, g1), (engines, e0, e1) = out["garden"], out["engines"]
    assert g0 < e1 and e0 < g1, "the two runs trained at the same time"

    mine = {"garden": ("bloom", {"sunlight", "water_ml", "soil"}, 4, garden),
            "engines": ("fuel_use", {"cylinders", "mass_kg", "gearbox"}, 6, engines)}
    for name, (target, columns, epochs, at) in mine.items():
        other_target, other_columns, _, _ = mine["engines" if name == "garden" else "garden"]
        job = job_of(at)
        assert job.run.target == target and set(job.run.prepared.features) == columns
        assert len(job.run.history) == epochs and job.table_name == f"{name}.csv"
        assert f"Finished all {epochs} epochs." in [seen(s) for s in at.success]
        (loss,) = charts_on(at)["Loss (lower is better)"]
        assert loss.groupby("split")["epoch"].max().tolist() == [epochs, epochs]
        assert set(loss["run"]) == {"this run"}, "no 'previous run' from the other session"
        runs = table_with(at, "epochs run")
        assert runs["target"].tolist() == [target] and runs["table"].tolist() == [f"{name}.csv"]
        shown = _everything_shown(at)
        assert target in shown
        for word in (other_target, *other_columns, "engines.csv" if name == "garden" else "garden.csv"):
            assert word not in shown, f"session {name} shows {word!r} of the other session"
    assert job_of(garden).run.model is not job_of(engines).run.model


class _Rerun(Exception):
    """Stands in for the exception Streamlit raises at the page's next update when a rerun was asked for."""


def _iris_job(epochs: int, ticket=None) -> ui_job.Job:
    """A job as the page starts one: the run prepared, its thread training (after its ticket's turn, if any)."""
    table = tapeapp.load_sample("iris")
    run = tapeapp.start_run(table.frame, tapeapp.inspect_frame(table.frame),
                            tapeapp.TrainConfig(epochs=epochs, hidden=(8,), patience=0))
    job = ui_job.Job(number=1, run=run, previous=None, table_name="iris", read_options={}, ticket=ticket)
    return ui_job.begin(job)


def _epochs_done(job: ui_job.Job, at_least: int) -> None:
    deadline = time.monotonic() + 60
    while len(job.run.history) < at_least and job.running and time.monotonic() < deadline:
        time.sleep(0.01)


def _watch_until_epoch(job: ui_job.Job, epoch: int, interruption: type[BaseException], monkeypatch) -> None:
    """Watch the job with a view that Streamlit interrupts (``interruption`` raised) once ``epoch`` is drawn."""

    class Interrupted:
        def draw_progress(self, job, seconds):
            if len(job.run.history) >= epoch:
                raise interruption()

        def draw_charts(self, job):
            pass

        def draw_waiting(self, job, place):
            pass

    monkeypatch.setattr(ui_training, "PROGRESS_EVERY", 0.01)  # each epoch drawn, without a loop that spins
    ui_training._watch_to_end(job, Interrupted())


@pytest.mark.slow
def test_a_rerun_that_interrupts_the_page_loses_no_epoch_and_the_next_one_watches_on(monkeypatch):
    job = _iris_job(300)
    with pytest.raises(_Rerun):  # the first script run's view: the rerun lands while it draws epoch 3 or later
        _watch_until_epoch(job, 3, _Rerun, monkeypatch)
    assert len(job.run.history) >= 3 and (job.running or job.run.stopped_because == "finished"), \
        "a page interrupted mid-run does not end the run"
    at = page_app()
    at.session_state["training"] = Box(job)
    ok(at.run())
    assert [u.epoch for u in job.run.history] == list(range(1, 301))
    assert "Finished all 300 epochs." in [seen(s) for s in at.success]
    (loss,) = charts_on(at)["Loss (lower is better)"]
    assert sorted(loss[loss["split"] == "train"]["epoch"]) == list(range(1, 301))


def test_a_closed_tab_stops_its_run_frees_it_and_gives_up_its_turn(monkeypatch):
    """Streamlit stops a session's script when its browser tab goes away: the run ends there and then."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from tapeapp.train.queueing import TrainingQueue

    queue = TrainingQueue(seats=1)
    job = _iris_job(10_000, ticket=queue.join("closing tab"))
    run = job.run
    waiting = queue.join("next student")
    box = Box(job)
    monkeypatch.setattr(ui_jobs, "slot", lambda: box)

    with pytest.raises(StopException):  # the tab closes while epoch 3 (or a later one) is drawn
        _watch_until_epoch(job, 3, StopException, monkeypatch)
    assert not job.running and run.stopped_because == "stopped" and len(run.history) >= 3
    assert run.runner is None, "the compiled epoch went back to the pool"
    assert box.value is None, "the session no longer holds the run"
    assert waiting.try_train(), "the next student's turn came at once"
    freed = weakref.ref(run)
    del job, run
    gc.collect()
    assert freed() is None, "nothing on the server keeps the closed tab's run"


def test_a_job_nobody_watches_stops_by_itself(monkeypatch):
    """A tab that went away without the page noticing (the script was between two updates) still frees its run."""
    monkeypatch.setattr(ui_job, "UNWATCHED_SECONDS", 0.3)
    job = _iris_job(10_000)
    assert job.done.wait(30), "the run stopped once no page had looked at it for a while"
    assert job.run.stopped_because == "stopped" and job.run.runner is None


@pytest.mark.slow
def test_ten_runs_in_one_session_release_the_earlier_runs(one_runtime):
    """With a Runtime, as on a server, so the download buttons' deferred files (which hold their run) count too."""
    at = page_app()
    at.query_params.update({"epochs": "1", "hidden": "8"})
    at = upload_to(ok(at.run()), _garden(80).to_csv(index=False).encode(), "garden.csv")
    models, runs, jobs = [], [], []
    for _ in range(10):
        at.button(key="train").click()
        ok(at.run())
        job = job_of(at)
        assert job.run.stopped_because == "finished"
        models.append(weakref.ref(job.run.model))
        runs.append(weakref.ref(job.run))
        jobs.append(weakref.ref(job))
        del job
    gc.collect()
    alive = [i + 1 for i, ref in enumerate(runs) if ref() is not None]
    assert alive == [10], f"runs {alive} are still held"
    assert [i + 1 for i, ref in enumerate(jobs) if ref() is not None] == [10]
    assert [i + 1 for i, ref in enumerate(models) if ref() is not None] == [10], "earlier models are freed"
    runs = table_with(at, "epochs run")
    assert runs["run"].tolist() == list(range(1, 11)) and (runs["epochs run"] == "1 of 1").all()
    assert len(one_runtime.media_file_mgr._deferred_callables) == 7, "only the last run's seven downloads"


def _listing(folder: Path) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def test_an_upload_and_a_run_leave_no_file_behind(tmp_path, monkeypatch):
    """Watch the temporary directory and the working directories while a session uploads, trains and scores.

    The temporary directory is this test's own (``tempfile`` hands it to everything in this process), so that other
    programs writing to the system's while the suite runs are not taken for the page's files."""
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.setenv("TMPDIR", str(private))
    marker = "zanzibar_7d1f"  # a word only this upload contains
    frame = _garden().rename(columns={"soil": marker})
    folders = {Path(tempfile.gettempdir()), Path.cwd(), ROOT, ROOT / "tests"}
    assert Path(tempfile.gettempdir()) == private
    before = {folder: _listing(folder) for folder in folders}
    written: set[Path] = set()
    done = threading.Event()

    def watch():
        while not done.is_set():
            for folder in folders:
                written.update(folder / name for name in _listing(folder) - before[folder])
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        at = upload_to(ok(page_app().run()), frame.to_csv(index=False).encode(), "private.csv")
        at.slider(key="cfg_epochs").set_value(3)
        at.slider(key="cfg_patience").set_value(0)
        ok(at.run())
        at.button(key="train").click()
        ok(at.run())
        assert "Finished all 3 epochs." in [seen(s) for s in at.success]
        at.file_uploader(key="predict_upload").upload("more.csv", frame.head(5).to_csv(index=False).encode())
        ok(at.run())
        assert not at.error
    finally:
        done.set()
        watcher.join()
    # TensorFlow's autograph writes the code of the training loop (never data) to temporary .py files once per
    # process; everything else is a file that should not be there.
    unexpected = sorted(str(p) for p in written if not (p.name.startswith("__autograph_generated_file")
                                                      and p.suffix == ".py"))
    assert unexpected == [], unexpected
    for path in written:
        if path.is_file():
            assert marker not in path.read_text(errors="replace"), f"{path} holds the upload"


def test_downloads_are_made_on_request_in_memory():
    at = upload_to(ok(page_app().run()), _engines(60).to_csv(index=False).encode(), "engines.csv")
    at.slider(key="cfg_epochs").set_value(2)
    ok(at.run())
    at.button(key="train").click()
    ok(at.run())
    job = job_of(at)
    assert job.views.get(ui_job.FILES) is None, "finishing a run does not wait for the downloads to be packed"
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Download the project (.zip)", "Download a report (.html)", "model.keras", "history.csv",
                      "config.json", "predictions.csv", "reproduce.py"]
    history = ui_job.download(job, "history.csv")()
    assert history.decode().count("\n") == 3 and job.views.get(ui_job.FILES) is not None
    assert ui_job.download(job, "model.keras")()[:2] == b"PK"


def _budget(monkeypatch, used: float, room_rows: int = 0, inputs: int = 1) -> None:
    """A server that holds ``used`` bytes now, with room for ``room_rows`` rows of ``inputs`` numbers besides."""
    from tapeapp.data import budget

    monkeypatch.setattr(budget, "process_bytes", lambda: int(used))
    total = used + budget.RUN_OVERHEAD + room_rows * inputs * budget.BYTES_PER_INPUT
    monkeypatch.setattr(budget, "budget_bytes", lambda: int(total))


def test_a_server_at_its_memory_budget_refuses_a_new_run_in_plain_words(monkeypatch):
    at = upload_to(ok(page_app().run()), _garden(300).to_csv(index=False).encode(), "garden.csv")
    _budget(monkeypatch, used=2.39e9, room_rows=-3_000_000)
    at.button(key="train").click()
    ok(at.run())
    assert any("using most of its memory right now" in seen(e) for e in at.error)
    assert job_of(at) is None, "no run was started"


def test_an_upload_too_big_for_the_memory_left_waits_unread_and_is_read_when_asked_again(monkeypatch):
    from tapeapp.data import budget
    from tapeapp.data.text_layout import sniff_text

    content = _garden(300).to_csv(index=False).encode()
    layout = sniff_text(content)
    need = budget.text_need(len(content), layout.rows_in(len(content)), len(layout.names))  # reading's peak
    monkeypatch.setattr(budget, "budget_bytes", lambda: int(1e9))
    monkeypatch.setattr(budget, "process_bytes", lambda: int(1e9 - 0.9 * need))  # room for 90% of it
    at = upload_to(ok(page_app().run()), content, "garden.csv")
    assert any("most of its memory right now" in seen(e) and "Your file is kept" in seen(e) for e in at.error), \
        [seen(e) for e in at.error]
    assert "upload_read" not in at.session_state, "nothing was read"
    monkeypatch.setattr(budget, "process_bytes", lambda: int(1e9 - need))
    at.button(key="read_again").click()
    ok(at.run())
    assert not at.error
    assert any("300 rows" in seen(m) for m in at.markdown)


def test_a_table_too_big_for_the_memory_left_trains_on_a_sample_and_says_so(monkeypatch):
    frame = _garden(3_000)
    at = upload_to(ok(page_app().run()), frame.to_csv(index=False).encode(), "garden.csv")
    at.slider(key="cfg_epochs").set_value(1)
    ok(at.run())

    from tapeapp.features.prepare import inputs_estimate

    inputs = inputs_estimate(_job_schema(at))
    _budget(monkeypatch, used=1.0e9, room_rows=1_500, inputs=inputs)
    at.button(key="train").click()
    ok(at.run())
    run = job_of(at).run
    assert len(run.prepared.y_train) + len(run.prepared.y_val) == 1_500
    assert any("trains on a random 1,500 of them" in seen(w) for w in at.warning)


def _job_schema(at) -> tapeapp.Schema:
    """The schema the page would train with: the guessed target of the uploaded table."""
    table = at.session_state["upload_read"].table
    return tapeapp.inspect_frame(table.frame)
