"""Nothing lost (issue 19) on the page, headless: a kept session comes back without training, a project file opens
its run again, a lesson link locks knobs and shows its task, and a damaged entry is said while the rest opens."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from helpers.page import job_of, ok, page_app, plain, texts, train_on, upload_to
from helpers.tables import make_binary

pytestmark = pytest.mark.slow


def _csv() -> bytes:
    return make_binary(n=120).to_csv(index=False).encode()


def _forget_live_jobs() -> None:
    """As after a server restart: this process no longer holds any job, only the store does."""
    from ui import session

    session.live_jobs().clear()


def _trained(content: bytes | None = None, epochs: int = 3):
    at = ok(page_app().run())
    if content is not None:
        at = upload_to(at, content, "people.csv")
    at = train_on(at, epochs)
    job = job_of(at)
    assert job.done.wait(120)
    return ok(at.run()), job


def _no_training(monkeypatch) -> None:
    monkeypatch.setattr("tapeapp.train.run.Run.epochs", lambda *a, **k: pytest.fail("a kept run was trained again"))


def _reopened(session_id: str):
    at = page_app()
    at.query_params["s"] = session_id
    return ok(at.run())


def test_a_kept_session_comes_back_without_training(monkeypatch):
    at, job = _trained(_csv())
    session_id = at.query_params["s"]
    assert len(session_id) == 32 and at.query_params["epochs"] == "3"
    headline = [m.value for m in at.metric]
    runs = at.session_state["runs"]
    _forget_live_jobs()
    _no_training(monkeypatch)
    back = _reopened(session_id)
    restored = job_of(back)
    assert restored is not None and restored is not job and not restored.running
    assert [m.value for m in back.metric] == headline
    assert back.session_state["runs"] == runs and back.session_state["chosen"].origin == "kept"
    assert "people.csv" in texts(back.markdown) and back.query_params["s"] == session_id
    assert back.selectbox(key=[k for k in back.session_state if str(k).startswith("target_")][0]).value == "target"
    assert restored.run.predict(restored.run.prepared.raw_val).equals(job.run.predict(job.run.prepared.raw_val))
    assert texts(back.warning) == texts(at.warning)  # the same advice and notes, nothing about the store


def test_a_second_tab_on_the_link_shows_the_same_job():
    at, job = _trained()
    other = _reopened(at.query_params["s"])
    assert job_of(other) is job


def test_a_link_to_no_kept_session_starts_a_new_one():
    from tapeapp.keep.store import new_id

    made_elsewhere = new_id()
    at = _reopened(made_elsewhere)
    assert at.session_state["session_id"] != made_elsewhere
    assert "Nothing is kept under this link" in texts(at.warning)


def test_a_damaged_run_is_said_and_the_rest_opens():
    at, _ = _trained(_csv())
    session_id = at.query_params["s"]
    at = train_on(at, 2)
    assert job_of(at).done.wait(120)
    ok(at.run())
    from ui import session

    folder = Path(session.store().root) / "sessions" / session_id / "runs" / "000002"
    weights = next(folder.glob("weights-*.npz"))
    weights.write_bytes(weights.read_bytes()[:100])  # a truncated model file
    _forget_live_jobs()
    back = _reopened(session_id)
    assert "Run 2 could not be read back (its saved model is damaged); the other runs are here." in texts(back.warning)
    assert job_of(back).number == 1 and back.session_state["chosen"].origin == "kept"


def test_the_project_file_opens_the_run_again(monkeypatch):
    from ui import job as job_module

    at, job = _trained(_csv())
    assert at.get("download_button")  # the page offers it; its maker is what the button calls
    labels = [plain(b.proto.label) for b in at.get("download_button")]
    assert "Download the project (.zip)" in labels and "Download a report (.html)" in labels
    project = job_module.project_maker(job, {"knobs": "kept"}, True, lambda: None)()
    with zipfile.ZipFile(io.BytesIO(project)) as archive:
        assert "data/people.csv" in archive.namelist() and "background.csv" in archive.namelist()
    _no_training(monkeypatch)
    fresh = upload_to(ok(page_app().run()), project, "people_run1.zip")
    opened = job_of(fresh)
    assert opened is not None and not opened.running and opened.number == job.number
    assert [m.value for m in fresh.metric] == [m.value for m in at.metric]
    assert not fresh.error and "people.csv" in texts(fresh.markdown)
    _forget_live_jobs()
    assert job_of(_reopened(fresh.query_params["s"])).number == job.number  # and it is kept like any session


def test_a_project_without_its_table_asks_for_that_file():
    from ui import job as job_module

    content = _csv()
    at, job = _trained(content)
    project = job_module.project_maker(job, {}, False, lambda: None)()
    fresh = upload_to(ok(page_app().run()), project, "bare.zip")
    assert "This project was saved without its table: upload 'people.csv'" in texts(fresh.error)
    fresh = upload_to(fresh, content, "people.csv")
    assert job_of(fresh) is not None and job_of(fresh).number == job.number
    assert [m.value for m in fresh.metric] == [m.value for m in at.metric]


def test_a_sample_lesson_link_locks_the_knobs_and_shows_the_task():
    at = page_app()
    at.query_params.update({"sample": "iris", "epochs": "7", "lesson_text": "Beat 90% **now** [x](http://h/)",
                            "lesson_knobs": "epochs,learning_rate"})
    ok(at.run())
    task = texts(at.info)
    assert "Beat 90% **now** [x](http://h/)" in task  # plain text: the stars and the link are shown, not drawn
    assert at.slider(key="cfg_epochs").value == 7 and not at.slider(key="cfg_epochs").disabled
    assert at.select_slider(key="cfg_learning_rate").disabled is False
    assert at.slider(key="cfg_dropout").disabled and at.selectbox(key="preset").disabled
    assert "lesson_text" in at.query_params
    assert set(at.query_params["lesson_knobs"].split(",")) == {"epochs", "learning_rate"}
    assert not [e for e in at.expander if plain(e.label) == "Make this a lesson"]


def test_a_lesson_with_an_uploaded_table_is_kept_under_its_own_id():
    teacher = upload_to(ok(page_app().run()), _csv(), "class.csv")
    teacher.checkbox(key="lesson_knob_dropout").check()
    teacher.checkbox(key="lesson_knob_learning_rate").uncheck()
    teacher.radio(key="lesson_hide").set_value("hidden")
    teacher.text_area(key="lesson_text").input("Find the best dropout.")
    ok(teacher.run())
    teacher.button(key="make_lesson").click()
    ok(teacher.run())
    link = teacher.code[-1].value
    assert "?lesson=" in link and "class.csv" not in link and "Find" not in link
    student = page_app()
    student.query_params["lesson"] = link.split("lesson=")[1]
    ok(student.run())
    assert "Find the best dropout." in texts(student.info) and "class.csv" in texts(student.markdown)
    assert not student.slider(key="cfg_dropout").disabled
    assert not [s for s in student.get("select_slider") if s.key == "cfg_learning_rate"]  # hidden
    assert student.session_state["session_id"] != teacher.session_state["session_id"]
    student.button(key="train").click()  # the teacher's knobs: patience is hidden from the student
    ok(student.run())
    assert job_of(student).done.wait(300)
    _forget_live_jobs()
    back = _reopened(ok(student.run()).query_params["s"])
    assert "Find the best dropout." in texts(back.info) and job_of(back) is not None


def test_with_the_store_off_nothing_is_kept(monkeypatch):
    monkeypatch.setenv("TAPEAPP_STORE", "off")
    at, job = _trained()
    assert "s" not in at.query_params and job.autosave is None
    assert "kept" not in texts(at.warning) and "storage" not in texts(at.warning)
