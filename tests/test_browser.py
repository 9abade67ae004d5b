"""The page in a real browser: upload, Train, watch the charts grow, Stop mid-run, and keep a screenshot.

AppTest cannot click Stop while a script runs, draw a chart or open two sessions against one server; these tests
serve the app and drive Debian's chromium with Playwright. Without chromium or Playwright they are skipped, with the
reason; with ``TAPEAPP_REQUIRE_BROWSER=1`` (as CI sets) they fail instead, so a broken setup cannot pass unseen.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.browser import (
    CHART,
    IDLE,
    ROOT,
    UPLOAD_LIMIT_MB,
    baselines_in,
    no_exception,
    patients_table,
    serve,
    settled,
    sync_api,
)

EPOCHS = 3000
SCREENSHOT = ROOT / "docs" / "screenshot.png"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(needs_browser):
    yield from serve(seats=2)


@pytest.fixture(scope="module")
def one_seat_server(needs_browser):
    """A server that trains one run at a time: the second student waits in line."""
    yield from serve(seats=1)


def _epoch(page) -> int:
    text = page.locator("[data-testid='stProgress']").first.inner_text()
    return int(re.search(r"Epoch (\d+) /", text).group(1))


def _choose(page, key: str, option: str) -> None:
    """Pick ``option`` in the select box with ``key`` (a key ending in ``*`` matches its start: the target's box is
    keyed by its table). A click on a box scrolled under the page's sticky header does not open it (the list stays
    shut), so the keyboard opens it when the click did not."""
    where = f"[class*='st-key-{key[:-1]}']" if key.endswith("*") else f".st-key-{key}"
    box = page.locator(f"{where} [role=combobox]")
    box.scroll_into_view_if_needed()
    box.click()
    if box.get_attribute("aria-expanded") != "true":
        box.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()


def test_upload_train_watch_stop_and_screenshot(server, page, tmp_path):
    page.goto(f"{server}/?epochs={EPOCHS}&patience=0")
    page.wait_for_selector("[data-testid='stFileUploaderDropzone']", timeout=60_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    page.locator("input[type=file]").first.set_input_files(str(patients_table(tmp_path / "patients.csv")))
    page.get_by_text("400 rows × 5 columns").wait_for(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    no_exception(page)

    clicked = time.perf_counter()
    page.locator(".st-key-train button").click()
    page.get_by_text("Loss (lower is better)").first.wait_for(timeout=120_000)
    print(f"Train -> first loss chart {time.perf_counter() - clicked:.2f}s")
    page.wait_for_function("() => /Epoch [1-9]\\d* \\//.test(document.querySelector(\"[data-testid='stProgress']\")"
                           "?.innerText || '')", timeout=60_000)
    first = _epoch(page)
    page.wait_for_function(f"() => {{ const m = /Epoch (\\d+) \\//.exec(document.querySelector("
                           f"\"[data-testid='stProgress']\")?.innerText || ''); return m && +m[1] > {first + 5}; }}",
                           timeout=60_000)
    assert _epoch(page) > first, "the progress did not move"
    assert page.locator(CHART).count() >= 3
    assert page.locator(".st-key-cfg_epochs input[type=range]").is_disabled(), "knobs must be still while training"

    page.locator(".st-key-stop button").click()
    message = page.get_by_text(re.compile(r"Stopped by you after \d+ of \d+ epochs"))
    message.wait_for(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    done = int(re.search(r"after (\d+) of", message.inner_text()).group(1))
    assert 0 < done < EPOCHS
    page.get_by_text("5. Results").wait_for(timeout=60_000)
    page.locator("[data-testid='stMetric']").nth(2).wait_for(timeout=30_000)  # its code loads on first use
    page.locator("[data-testid='stDownloadButton']").nth(4).wait_for(timeout=60_000)
    no_exception(page)

    baselines_in(page)
    _choose(page, "preset", "Tutorial")
    settled(page)
    page.locator(".st-key-train button:not([disabled])").click()
    page.get_by_text("Finished all 60 epochs.").wait_for(timeout=120_000)
    settled(page)
    page.get_by_text("5. Results").wait_for(timeout=60_000)
    page.get_by_text("previous run").first.wait_for(timeout=30_000)  # the stopped run, drawn faded behind
    for title in ("Decision map", "Inside the last hidden layer", "Which columns matter"):
        page.get_by_text(title, exact=True).first.wait_for(timeout=30_000)  # drawn by Vega in the browser
    baselines_in(page)
    page.get_by_text("One step under the tape").click()
    page.get_by_text("apply_gradients").first.wait_for(timeout=30_000)
    page.get_by_text("One step under the tape").click()
    no_exception(page)

    settled(page)
    _choose(page, "map_x", "group")
    settled(page)
    page.get_by_text("The model's answer as group and").first.wait_for(timeout=30_000)
    no_exception(page)

    page.set_viewport_size({"width": 1200, "height": 2300})
    page.locator("h2", has_text="4. Train and watch it learn").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1_000)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size < 700_000


# --- many users, Stop in epoch 1, a file over the limit ----------------------------------------------------------

def _open_and_upload(page, url: str, path: Path, shape: str) -> None:
    page.goto(url)
    page.wait_for_selector("[data-testid='stFileUploaderDropzone']", timeout=60_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.get_by_text(shape).wait_for(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    no_exception(page)


def _ward(path: Path, n: int = 400) -> Path:
    """The first user's table: a yes/no question about hospital stays."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"heart_rate": rng.integers(50, 120, n), "blood_pressure": rng.normal(130, 15, n).round(),
                          "ward": rng.choice(["north", "south", "east"], n)})
    frame["readmitted"] = np.where(frame["heart_rate"] + rng.normal(0, 10, n) > 85, "yes", "no")
    frame.to_csv(path, index=False)
    return path


def _orchard(path: Path, n: int = 300) -> Path:
    """The second user's table: a number to predict, and no column name shared with the patients table."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"tree_age": rng.integers(2, 40, n), "rain_mm": rng.uniform(300, 900, n).round(0),
                          "variety": rng.choice(["gala", "elstar", "boskoop"], n)})
    frame["harvest_kg"] = (frame["tree_age"] * 3 + frame["rain_mm"] * 0.05 + rng.normal(0, 4, n)).round(1)
    frame.to_csv(path, index=False)
    return path


def _main_text(page) -> str:
    """Everything the page shows as text, chart titles, axes and legends included (Vega draws SVG text)."""
    return page.locator("[data-testid='stMain']").inner_text()


def _progress(page) -> tuple[int, int] | None:
    bar = page.locator("[data-testid='stProgress']")
    found = re.search(r"Epoch (\d+) / (\d+)", bar.first.inner_text()) if bar.count() else None
    return (int(found.group(1)), int(found.group(2))) if found else None


def test_two_users_train_at_once_and_each_sees_only_their_own(server, browser, tmp_path):
    users = {"readmitted": (_ward(tmp_path / "ward.csv"), "400 rows × 4 columns",
                            ["heart_rate", "blood_pressure", "ward.csv"]),
             "harvest_kg": (_orchard(tmp_path / "orchard.csv"), "300 rows × 4 columns",
                            ["tree_age", "rain_mm", "variety", "orchard.csv"])}
    contexts = {target: browser.new_context(viewport={"width": 1200, "height": 1500}) for target in users}
    try:
        pages = {target: context.new_page() for target, context in contexts.items()}
        for target, (path, shape, _) in users.items():
            # enough epochs (a few seconds at a few ms each) that the two runs surely overlap
            _open_and_upload(pages[target], f"{server}/?epochs=1500&patience=0&batch_size=8", path, shape)
            _choose(pages[target], "target_*", target)  # the answer is the last column of both tables
            settled(pages[target])
        for page in pages.values():
            page.locator(".st-key-train button").click()
        both_running, deadline = False, time.monotonic() + 90
        while not both_running and time.monotonic() < deadline:
            states = [_progress(page) for page in pages.values()]
            both_running = all(state and 0 < state[0] < state[1] for state in states)
            time.sleep(0.05)
        assert both_running, "the two sessions never trained at the same time"
        for target, page in pages.items():
            page.get_by_text("Finished all 1500 epochs.").wait_for(timeout=120_000)
            page.wait_for_selector(IDLE, timeout=60_000)
            page.locator("[data-testid='stMetricLabel']", has_text="Accuracy" if target == "readmitted" else "R²") \
                .wait_for(timeout=60_000)
            page.locator(CHART).nth(5).wait_for(timeout=60_000)  # target, 3 live and the result charts drawn
            page.locator("[data-testid='stDownloadButton']").nth(4).wait_for(timeout=60_000)  # the page's end
            no_exception(page)
        for target, page in pages.items():
            other, (_, _, other_columns) = next((t, u) for t, u in users.items() if t != target)
            text = _main_text(page)
            assert f"Run 1: predicting {target}" in text and f"What '{target}' looks like" in text
            for word in (other, *other_columns):
                assert word not in text, f"the page predicting {target} shows {word!r}"
    finally:
        for context in contexts.values():
            context.close()


def test_stop_in_the_first_epoch(server, page, tmp_path):
    """Stop pressed while epoch 1 still runs ends the run at once: after 0 or 1 epochs, with no error."""
    path = tmp_path / "many.csv"
    rng = np.random.default_rng(3)
    n = 20_000  # with 8 rows a batch, epoch 1 takes a while
    frame = pd.DataFrame({"a": rng.normal(size=n).round(3), "b": rng.normal(size=n).round(3)})
    frame["label"] = np.where(frame["a"] + frame["b"] > 0, "up", "down")
    frame.to_csv(path, index=False)
    _open_and_upload(page, f"{server}/?epochs=40&patience=0&batch_size=8", path, "20,000 rows × 3 columns")
    page.locator(".st-key-train button").click()
    page.locator(".st-key-stop button:not([disabled])").wait_for(timeout=60_000)
    clicked = time.monotonic()
    page.locator(".st-key-stop button").click()
    message = page.get_by_text(re.compile(r"Stopped by you after \d+ of 40 epochs"))
    message.wait_for(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    print(f"Stop -> stopped {time.monotonic() - clicked:.2f}s: {message.inner_text()}")
    assert re.search(r"after [01] of 40", message.inner_text())
    assert not page.locator(".st-key-train button").is_disabled(), "the next run can start"
    no_exception(page)


def test_the_table_stays_after_the_uploads_bytes_are_let_go(server, page, tmp_path):
    """Streamlit reports a released upload as a DeletedFile on the next rerun; the table read from it must stay."""
    _open_and_upload(page, server, patients_table(tmp_path / "patients.csv"), "400 rows × 5 columns")
    page.wait_for_timeout(1_000)
    for preset in ("Quick look", "Careful"):
        page.locator(".st-key-preset [role=combobox]").click()
        page.keyboard.type(preset)
        page.keyboard.press("Enter")
        sync_api.expect(page.locator(".st-key-preset input")).to_have_value(preset, timeout=30_000)
        page.wait_for_selector(IDLE, timeout=60_000)
        errors = page.locator("[data-testid='stAlertContentError']")
        assert errors.count() == 0, errors.first.inner_text()
        assert page.get_by_text("400 rows × 5 columns").count() == 1
    no_exception(page)


def test_a_file_over_the_upload_limit_is_refused_in_words(server, page, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * (UPLOAD_LIMIT_MB * 1024 * 1024 // 4 + 1000))
    page.goto(server)
    page.wait_for_selector(IDLE, timeout=120_000)
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.get_by_text(re.compile(rf"File must be {UPLOAD_LIMIT_MB}(\.0)? ?MB or smaller")).wait_for(timeout=30_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    assert page.get_by_text("569 rows × 31 columns").count() == 1, "the sample stays in use"
    no_exception(page)


def test_with_one_seat_the_second_student_waits_in_line_and_sees_their_place(one_seat_server, browser, tmp_path):
    contexts = [browser.new_context(viewport={"width": 1200, "height": 1500}) for _ in range(2)]
    try:
        first, second = (context.new_page() for context in contexts)
        _open_and_upload(first, f"{one_seat_server}/?epochs=3000&patience=0&batch_size=8", _ward(tmp_path / "ward.csv"),
                         "400 rows × 4 columns")
        _open_and_upload(second, f"{one_seat_server}/?epochs=5&patience=0", _orchard(tmp_path / "orchard.csv"),
                         "300 rows × 4 columns")
        first.locator(".st-key-train button").click()
        first.wait_for_function("() => /Epoch [1-9]/.test(document.querySelector(\"[data-testid='stProgress']\")"
                                "?.innerText || '')", timeout=60_000)
        second.locator(".st-key-train button").click()
        second.get_by_text(re.compile(r"You are number 1 in line")).wait_for(timeout=60_000)
        assert "waiting for a turn" in second.locator("[data-testid='stProgress']").first.inner_text()
        assert _progress(second)[0] == 0, "no epoch before its turn"
        first.locator(".st-key-stop button").click()
        second.get_by_text("Finished all 5 epochs.").wait_for(timeout=90_000)
        no_exception(first)
        no_exception(second)
    finally:
        for context in contexts:
            context.close()


# --- Stop at any moment, and a table and a link that try to be Markdown (issue 17) --------------------------------

@pytest.fixture(scope="module")
def cold_server(needs_browser):
    """A server just started: TensorFlow not imported, nothing traced, when the first Train comes."""
    yield from serve(seats=2)


def _stop_at_random_moments(page, url: str, table: Path, presses: int, seed: int) -> list[float]:
    """Train, wait a random moment (before the first epoch, while tracing, mid-run), Stop; each time the page must be
    usable again: Train enabled, the script idle and the run said to be stopped. Returns Stop -> usable times."""
    rng = np.random.default_rng(seed)
    _open_and_upload(page, url, table, "400 rows × 5 columns")
    times = []
    for press in range(presses):
        page.locator(".st-key-train button:not([disabled])").click()
        page.locator(".st-key-stop button:not([disabled])").wait_for(timeout=120_000)
        page.wait_for_timeout(float(rng.uniform(0, 2_500)))
        clicked = time.monotonic()
        page.locator(".st-key-stop button").click()
        try:
            page.wait_for_function("() => { const b = document.querySelector('.st-key-train button');"
                                   " return b && !b.disabled; }", timeout=30_000, polling=20)
            page.wait_for_selector(IDLE, timeout=30_000)
        except sync_api.TimeoutError:
            pytest.fail(f"press {press}: the page stuck at {_progress(page)} with Train disabled")
        times.append(time.monotonic() - clicked)
        page.get_by_text(re.compile(r"Stopped by you after \d+ of 3000 epochs")).wait_for(timeout=30_000)
        no_exception(page)
    return times


@pytest.mark.parametrize("which", ["cold", "warm"])
def test_stop_pressed_at_twenty_random_moments_never_sticks(which, request, browser, tmp_path):
    url = request.getfixturevalue("cold_server" if which == "cold" else "server")
    context = browser.new_context(viewport={"width": 1200, "height": 1500})
    try:
        times = _stop_at_random_moments(context.new_page(), f"{url}/?epochs=3000&patience=0",
                                        patients_table(tmp_path / "p.csv"), 20, seed=7 if which == "cold" else 8)
    finally:
        context.close()
    print(f"{which} server: Stop -> usable median {np.median(times):.2f}s, slowest {max(times):.2f}s")


def test_a_table_and_a_link_full_of_markdown_make_no_request_elsewhere(server, page, tmp_path):
    from helpers.tables import EVIL, HOSTILE_LINK, hostile_frame

    elsewhere = []

    def route(request_route):
        if request_route.request.url.startswith(server):
            request_route.continue_()
        else:
            elsewhere.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    query = "&".join(f"{urllib.parse.quote(k)}={urllib.parse.quote(v)}" for k, v in HOSTILE_LINK.items())
    page.goto(f"{server}/?{query}&epochs=2&patience=0")
    page.wait_for_selector(IDLE, timeout=120_000)
    name = tmp_path / f"![f](http:__{EVIL}_f.png).csv"
    hostile_frame().to_csv(name, index=False)
    page.locator("input[type=file]").first.set_input_files(str(name))
    page.get_by_text("120 rows × 7 columns").wait_for(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    page.locator(".st-key-train button").click()
    page.get_by_text("Finished all 2 epochs.").wait_for(timeout=120_000)
    page.get_by_text("5. Results").wait_for(timeout=60_000)
    page.locator("[data-testid='stDownloadButton']").nth(4).wait_for(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    page.get_by_text("One step under the tape").click()
    rows = hostile_frame(10).assign(**{f"extra [z](http://{EVIL}/z)": 1})
    rows_path = tmp_path / "rows.csv"
    rows.to_csv(rows_path, index=False)
    page.locator("input[type=file]").nth(1).set_input_files(str(rows_path))
    page.get_by_text("Not used by the model").wait_for(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    page.wait_for_timeout(1_000)
    no_exception(page)
    assert not elsewhere, f"requests to other hosts: {elsewhere[:5]}"
    made = page.locator(f"a[href*='{EVIL}'], img[src*='{EVIL}'], [style*='{EVIL}'], iframe, script[src*='{EVIL}']")
    assert made.count() == 0, made.first.evaluate("e => e.outerHTML")
    assert page.get_by_text(f"[Your session expired: sign in again](http://{EVIL}/)").count() >= 1, \
        "the column name is shown as the text it is"


# --- one case at a time (issue 21) ----------------------------------------------------------------------------------

CASES_SHOT = ROOT / "docs" / "one_case.png"


def test_a_click_on_the_confusion_matrix_lists_its_rows_and_one_is_taken_apart(server, page, tmp_path):
    page.goto(f"{server}/?epochs=12&patience=0")
    page.wait_for_selector(IDLE, timeout=120_000)
    page.locator("input[type=file]").first.set_input_files(str(patients_table(tmp_path / "patients.csv")))
    page.get_by_text("400 rows × 5 columns").wait_for(timeout=60_000)
    settled(page)
    page.locator(".st-key-train button").click()
    page.get_by_text("Finished all 12 epochs.").wait_for(timeout=120_000)
    page.get_by_text("6. One case at a time").wait_for(timeout=60_000)
    baselines_in(page)
    matrix = page.locator(".st-key-confusion_pick")
    matrix.scroll_into_view_if_needed()
    page.get_by_text("Confusion matrix", exact=True).first.wait_for(timeout=30_000)
    plot = matrix.locator("canvas, svg.marks").first
    box = plot.bounding_box()
    # the cells fill the plot between its axes: the lower right quarter of the drawing is (actual yes, predicted yes)
    page.mouse.click(box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.62)
    caption = page.get_by_text(re.compile(r"\d+ validation rows? in your selection"))
    caption.wait_for(timeout=60_000)
    settled(page)
    no_exception(page)
    listed = int(re.search(r"([\d,]+) validation row", caption.inner_text()).group(1).replace(",", ""))
    assert listed > 0

    number = page.locator(".st-key-edit_row_number input")
    number.scroll_into_view_if_needed()
    number.fill("3")
    number.press("Enter")
    page.get_by_text(re.compile(r"Starting from (row 3\.|typical values)")).wait_for(timeout=60_000)
    settled(page)
    page.get_by_text("Where the model is weak", exact=True).wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"pushed (towards|away from) 'outcome = ")).first.wait_for(timeout=30_000)
    no_exception(page)
    page.set_viewport_size({"width": 1200, "height": 2000})
    page.locator("h2", has_text="6. One case at a time").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1_000)
    page.screenshot(path=str(CASES_SHOT))
