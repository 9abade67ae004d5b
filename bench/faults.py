"""Faults survived, measured (issue 19, goal 5): the served page in chromium, through what a classroom server meets.

    python bench/faults.py            # each fault once, on a heart-shaped table
    python bench/faults.py --quick    # shorter runs

1. **Server killed mid-run** (SIGKILL: nothing saved on the way out), then started again on the same store: how many
   epochs the run had reached, at which epoch it came back (checkpoints every 5 s), and how long the page took to
   show the session again.
2. **Tab closed mid-run** (the websocket goes with it): how long until the run stopped itself and was kept, and that
   opening the link again shows it stopped.
3. **A full store**: a store whose budget is already used by older sessions; one more session trains and is kept,
   the oldest are evicted, and the time a save takes then.
4. **A truncated model file**: that run is reported missing in plain words, the session opens with the rest.

Needs chromium and Playwright (see the README); nothing here touches the user's own store.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from _common import HEART_LIKE_TARGET, ROOT, heart_like, machine, print_table

sys.path.insert(0, str(ROOT / "tests"))
from helpers.browser import CHROMIUM, LAUNCH_ARGS, Server, settled  # noqa: E402  (after the path is set)

PROGRESS = "[data-testid='stProgress']"


def _epoch(page) -> int:
    found = re.search(r"Epoch (\d+) /", page.locator(PROGRESS).first.inner_text())
    return int(found.group(1)) if found else 0


def _session(url: str) -> str:
    return re.search(r"[?&]s=([A-Za-z0-9_-]{32})", url).group(1)


def _open(page, url: str) -> float:
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("[data-testid='stFileUploaderDropzone']", timeout=60_000)
    settled(page)
    return time.perf_counter() - started


def _start_training(page, url: str, table: Path) -> None:
    _open(page, url)
    page.locator("input[type=file]").first.set_input_files(str(table))
    page.get_by_text("rows × 12 columns").wait_for(timeout=60_000)
    settled(page)
    page.locator(".st-key-train button").click()
    page.wait_for_function(f"() => /Epoch [1-9]\\d* \\//.test(document.querySelector(\"{PROGRESS}\")?.innerText"
                           " || '')", timeout=120_000)


def killed_mid_run(browser, table: Path, seconds: float) -> list[tuple]:
    first = Server().start()
    page = browser.new_page(viewport={"width": 1200, "height": 1500})
    try:
        _start_training(page, f"{first.url}/?epochs=3000&patience=0&batch_size=8", table)
        page.wait_for_timeout(seconds * 1000)
        reached, url = _epoch(page), page.url
        first.kill()
        second = Server(store=first.store).start()
        try:
            opened = _open(page, url.replace(first.url, second.url))
            message = page.get_by_text(re.compile(r"it is back as it was at epoch (\d+) of 3000"))
            message.wait_for(timeout=60_000)
            back = int(re.search(r"epoch (\d+) of", message.inner_text()).group(1))
            page.get_by_text("5. Results").wait_for(timeout=60_000)
            shown = time.perf_counter()
            settled(page)
            return [("server killed after", f"{seconds:.0f} s of training"), ("epoch reached", reached),
                    ("epoch back after the restart", back), ("epochs lost", reached - back),
                    ("page open -> session shown", f"{opened:.1f} s"),
                    ("then settled", f"{time.perf_counter() - shown:.1f} s later")]
        finally:
            second.stop()
    finally:
        page.close()
        first.stop()


def closed_mid_run(browser, table: Path) -> list[tuple]:
    server = Server().start()
    try:
        page = browser.new_context(viewport={"width": 1200, "height": 1500}).new_page()
        _start_training(page, f"{server.url}/?epochs=3000&patience=0&batch_size=8", table)
        url, session = page.url, _session(page.url)
        closed = time.perf_counter()
        page.context.close()
        record = server.store / "sessions" / session / "runs" / "000001" / "run.json"
        while time.perf_counter() - closed < 60:
            if record.exists() and json.loads(record.read_text()).get("running") is False:
                break
            time.sleep(0.2)
        kept_after = time.perf_counter() - closed
        data = json.loads(record.read_text())
        again = browser.new_page(viewport={"width": 1200, "height": 1500})
        _open(again, url)
        again.get_by_text("5. Results").wait_for(timeout=60_000)
        shown = again.get_by_text(re.compile("Stopped")).count() > 0
        again.close()
        return [("tab closed mid-run -> run stopped and kept", f"{kept_after:.1f} s"),
                ("kept as", f"{data['stopped_because']} after {len(data['history'])} epochs"),
                ("link opened again shows it stopped", "yes" if shown else "NO")]
    finally:
        server.stop()


def full_store(table_frame, sessions: int) -> list[tuple]:
    from tapeapp import TrainConfig, inspect_frame, start_run
    from tapeapp.keep.store import RunStore, new_id

    root = Path(tempfile.mkdtemp(prefix="tapeapp-full-"))
    schema = inspect_frame(table_frame, target=HEART_LIKE_TARGET)
    run = start_run(table_frame, schema, TrainConfig(epochs=2)).fit()
    filler = RunStore(root, budget_bytes=10**12, in_use_seconds=0)
    for _ in range(sessions):
        filler.save_run(new_id(), 1, run, schema)
    size = filler.total_bytes()
    budget = int(size * 0.9)
    store = RunStore(root, budget_bytes=budget, in_use_seconds=0)
    newest = new_id()
    store.mark_in_use(newest)
    started = time.perf_counter()
    store.save_run(newest, 1, run, schema)
    save = time.perf_counter() - started
    kept = store.load_session(newest)
    left = sum(1 for p in (root / "sessions").iterdir())
    return [("store filled with", f"{sessions} sessions, {size / 1e6:.1f} MB; budget set to 90 % of that"),
            ("one more session saved in", f"{save * 1000:.0f} ms (eviction included)"),
            ("sessions left", f"{left} (the newest kept: {'yes' if kept and kept.runs else 'NO'})"),
            ("store size after", f"{store.total_bytes() / 1e6:.1f} MB <= {budget / 1e6:.1f} MB")]


def truncated_model(table_frame) -> list[tuple]:
    from tapeapp import TrainConfig, inspect_frame, start_run
    from tapeapp.keep.store import RunStore, new_id

    store = RunStore(Path(tempfile.mkdtemp(prefix="tapeapp-bad-")))
    schema = inspect_frame(table_frame, target=HEART_LIKE_TARGET)
    session = new_id()
    for number in (1, 2):
        store.save_run(session, number, start_run(table_frame, schema, TrainConfig(epochs=2)).fit(), schema)
    weights = next((store.root / "sessions" / session / "runs" / "000002").glob("weights-*.npz"))
    weights.write_bytes(weights.read_bytes()[:100])
    opened = store.load_session(session)
    return [("runs back", [r.number for r in opened.runs]), ("said", " ".join(opened.problems))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(machine())
    frame = heart_like(918)
    table = Path(tempfile.mkdtemp()) / "heart_like.csv"
    frame.to_csv(table, index=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        print("\n## 1. Server killed mid-run, started again on the same store\n")
        print_table(killed_mid_run(browser, table, 8 if args.quick else 17), ["", "measured"])
        print("\n## 2. Tab closed mid-run\n")
        print_table(closed_mid_run(browser, table), ["", "measured"])
        browser.close()
    print("\n## 3. A full store\n")
    print_table(full_store(frame, 5 if args.quick else 30), ["", "measured"])
    print("\n## 4. A truncated model file\n")
    print_table(truncated_model(frame), ["", "measured"])


if __name__ == "__main__":
    main()
