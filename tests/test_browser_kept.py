"""Nothing lost (issue 19) in a real browser: F5, a new tab, a server restart (mid-run too), a closed tab, the
project file's round trip, a lesson link opened by a student, and the report opened with every request blocked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.browser import IDLE, Server, baselines_in, no_exception, patients_table, settled

pytestmark = [pytest.mark.browser, pytest.mark.slow]
METRIC = "[data-testid='stMetricValue']"


@pytest.fixture(scope="module")
def server(needs_browser):
    served = Server(seats=2).start()
    yield served
    served.stop()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("[data-testid='stFileUploaderDropzone']", timeout=60_000)
    settled(page)


def _train(page, url: str, table: Path, epochs: int) -> list[str]:
    """Open the page with ``epochs``, upload the table, train to the end; the headline scores as shown."""
    _open(page, f"{url}/?epochs={epochs}&patience=0")
    page.locator("input[type=file]").first.set_input_files(str(table))
    page.get_by_text("400 rows × 5 columns").wait_for(timeout=60_000)
    settled(page)
    page.locator(".st-key-train button").click()
    page.get_by_text(f"Finished all {epochs} epochs.").wait_for(timeout=120_000)
    page.get_by_text("5. Results").wait_for(timeout=60_000)
    settled(page)
    return _headline(page)


def _headline(page) -> list[str]:
    page.locator(METRIC).nth(2).wait_for(timeout=60_000)
    return page.locator(METRIC).all_inner_texts()[:3]


def _session(url: str) -> str:
    return re.search(r"[?&]s=([A-Za-z0-9_-]{32})", url).group(1)


def _runs_kept(server: Server, session: str) -> list[str]:
    folder = server.store / "sessions" / session / "runs"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_reload_and_a_new_tab_bring_the_results_back_without_training(server, page, browser, tmp_path):
    scores = _train(page, server.url, patients_table(tmp_path / "patients.csv"), 15)
    session = _session(page.url)
    assert _runs_kept(server, session) == ["000001"]
    page.reload()
    page.get_by_text("Finished all 15 epochs.").wait_for(timeout=60_000)
    assert _headline(page) == scores  # the same validation scores, to the digit
    assert page.get_by_text("patients.csv").count() >= 1 and page.locator(".st-key-train button").is_enabled()
    no_exception(page)
    other = browser.new_context(viewport={"width": 1200, "height": 1500}).new_page()
    try:
        _open(other, page.url)
        other.get_by_text("Finished all 15 epochs.").wait_for(timeout=60_000)
        assert _headline(other) == scores
    finally:
        other.context.close()
    assert _runs_kept(server, session) == ["000001"], "nothing was trained again"


def test_a_server_restart_brings_back_the_finished_run_and_the_one_it_interrupted(browser, needs_browser,
                                                                                    tmp_path):
    first = Server(seats=2).start()
    page = browser.new_context(viewport={"width": 1200, "height": 1500}).new_page()
    try:
        _train(page, first.url, patients_table(tmp_path / "patients.csv"), 5)
        session = _session(page.url)
        page.goto(f"{first.url}/?epochs=3000&patience=0&batch_size=8&s={session}")
        settled(page)
        page.locator(".st-key-train button").click()
        page.wait_for_function("() => /Epoch ([4-9]\\d|\\d{3,}) \\//.test(document.querySelector("
                               "\"[data-testid='stProgress']\")?.innerText || '')", timeout=120_000)
        page.wait_for_timeout(7_000)  # a checkpoint is written every 5 seconds
        first.kill()
        assert _runs_kept(first, session) == ["000001", "000002"]
        second = Server(seats=2, store=first.store).start()
        try:
            _open(page, f"{second.url}/?epochs=3000&patience=0&batch_size=8&s={session}")
            message = page.get_by_text(re.compile(r"This run was training when the server stopped: it is back as it "
                                                  r"was at epoch (\d+) of 3000"))
            message.wait_for(timeout=60_000)
            kept = int(re.search(r"epoch (\d+) of", message.inner_text()).group(1))
            assert 0 < kept < 3000
            page.get_by_text("5. Results").wait_for(timeout=60_000)
            assert page.locator(".st-key-train button").is_enabled() and page.get_by_text("patients.csv").count()
            no_exception(page)
        finally:
            second.stop()
    finally:
        page.context.close()
        first.stop()


def test_a_tab_closed_mid_run_leaves_the_run_kept_and_stopped(server, browser, tmp_path):
    page = browser.new_context(viewport={"width": 1200, "height": 1500}).new_page()
    _open(page, f"{server.url}/?epochs=3000&patience=0&batch_size=8")
    page.locator("input[type=file]").first.set_input_files(str(patients_table(tmp_path / "patients.csv")))
    page.get_by_text("400 rows × 5 columns").wait_for(timeout=60_000)
    settled(page)
    page.locator(".st-key-train button").click()
    page.wait_for_function("() => /Epoch [1-9]\\d* \\//.test(document.querySelector(\"[data-testid='stProgress']\")"
                           "?.innerText || '')", timeout=120_000)
    url = page.url
    page.context.close()  # the websocket goes with it
    again = browser.new_context(viewport={"width": 1200, "height": 1500}).new_page()
    try:
        again.wait_for_timeout(13_000)  # a run nobody watches stops itself after 10 s, and is kept as it ended
        _open(again, url)
        again.get_by_text(re.compile(r"Stopped|stopped")).first.wait_for(timeout=60_000)
        again.get_by_text("5. Results").wait_for(timeout=60_000)
        assert again.locator(".st-key-train button").is_enabled()
        no_exception(again)
    finally:
        again.context.close()


def test_the_project_file_opens_the_run_in_another_session(server, page, browser, tmp_path):
    scores = _train(page, server.url, patients_table(tmp_path / "patients.csv"), 8)
    with page.expect_download() as event:
        page.get_by_role("button", name="Download the project (.zip)").click()
    project = tmp_path / "project.zip"
    event.value.save_as(project)
    assert project.read_bytes()[:2] == b"PK"
    other = browser.new_context(viewport={"width": 1200, "height": 1500}).new_page()
    try:
        _open(other, server.url)
        other.locator("input[type=file]").first.set_input_files(str(project))
        other.get_by_text("Finished all 8 epochs.").wait_for(timeout=60_000)
        assert _headline(other) == scores and other.get_by_text("patients.csv").count() >= 1
        assert _session(other.url) != _session(page.url)
        no_exception(other)
    finally:
        other.context.close()


def test_a_student_opens_a_lesson_link_with_the_task_and_locked_knobs(server, page, browser):
    _open(page, f"{server.url}/?sample=iris&epochs=9")
    page.get_by_text("Make this a lesson").click()
    page.locator(".st-key-lesson_knob_dropout label").click()
    settled(page)
    page.locator(".st-key-lesson_text textarea").fill("Find the dropout that [wins](http://evil.example/) *now*.")
    page.locator(".st-key-lesson_text textarea").press("Tab")
    settled(page)
    page.get_by_role("button", name="Make the lesson link").click()
    page.locator("[data-testid='stCode']").first.wait_for(timeout=60_000)
    link = page.locator("[data-testid='stCode'] code").first.inner_text().strip()
    assert link.startswith(server.url) and "lesson_text=" in link and "sample=iris" in link
    student = browser.new_context(viewport={"width": 1200, "height": 1500}).new_page()
    try:
        _open(student, link)
        student.get_by_text("Your task").wait_for(timeout=60_000)
        shown = student.locator("[data-testid='stMain']").inner_text().replace("\u2060", "")  # joiners in addresses
        assert "Find the dropout that [wins](http://evil.example/) *now*." in shown  # as typed: text, not Markdown
        assert student.locator("a[href*='evil.example']").count() == 0
        assert student.locator(".st-key-cfg_dropout input[type=range]").is_enabled()
        assert student.locator(".st-key-cfg_batch_size input[type=range]").is_disabled()
        assert student.get_by_text("Make this a lesson").count() == 0
        assert _session(student.url) != _session(page.url)
        no_exception(student)
    finally:
        student.context.close()


def test_the_report_opens_offline_and_asks_for_nothing(server, page, browser, tmp_path):
    _train(page, server.url, patients_table(tmp_path / "patients.csv"), 6)
    baselines_in(page)
    with page.expect_download() as event:
        page.get_by_role("button", name="Download a report (.html)").click()
    report = tmp_path / "report.html"
    event.value.save_as(report)
    offline = browser.new_context(offline=True).new_page()
    asked = []

    def refuse(route):
        asked.append(route.request.url)
        route.abort()

    try:
        offline.route("**/*", refuse)
        offline.set_content(report.read_text(encoding="utf-8"), wait_until="load")
        offline.wait_for_timeout(1_000)
        assert not asked, f"the report asked for {asked[:5]}"
        text = offline.locator("body").inner_text()
        assert "patients.csv" in text and "outcome" in text and "Model card" in text
        assert offline.locator("svg").count() >= 3, "the charts are drawn inline"
    finally:
        offline.context.close()
    page.wait_for_selector(IDLE, timeout=60_000)
