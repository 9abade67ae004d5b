"""A careless or hostile visitor against one served page: peak memory against the budget, the health endpoint's
worst wait, and what the page said, case by case (issue 17).

    python bench/abuse.py                     # this checkout
    python bench/abuse.py --against fa34bb0   # the same cases on the page at another commit, in the same run
    python bench/abuse.py --only bomb,links   # some cases

Each case runs in a fresh Streamlit server (so each peak is its own) with the default memory budget
(TAPEAPP_MEMORY_BUDGET_MB, 2,400 MB unless set) and is driven in Debian's chromium by Playwright:

- ``bomb``: a 1 MB ``.csv.gz`` that unpacks to 480 MB, uploaded as the table;
- ``xfd``: a 0.5 MB ``.xlsx`` of 20,000 rows with one cell in column XFD;
- ``parquet``: a 1 MB Parquet file of 150 million rows;
- ``spaces``: a 20 kB CSV whose one cell is ``1``, 20,000 spaces, ``x``;
- ``columns``: a CSV of 100,001 columns;
- ``predict``: a small table trained for 3 epochs, then the bomb uploaded as "rows to predict";
- ``links``: links with Markdown and out-of-range values (``?dropout=[…](http://…)``, ``?epochs=1e400``, ...);
- ``stop``: 6 x 1024 neurons, batch 8, 8,000 rows; Stop pressed 3 s after Train, timed until Train is enabled.

While a case runs, one thread reads the server's resident memory (it and its children) every 20 ms and another
asks ``/_stcore/health`` every 50 ms and times each answer. A server that passes --kill-at MB is killed (the case
then says so): the old code's cases would otherwise take the machine with them.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from _common import ROOT, git_head, machine, print_table, tree_rss
from page_speed import CHROMIUM, CHROMIUM_ARGS, IDLE, Server, free_port

CASES = ("bomb", "xfd", "parquet", "spaces", "columns", "predict", "links", "stop")
LINKS = ("?dropout=%5Bsign%20in%5D(http://evil.test/)&epochs=1e400",
         "?seed=1e400&sample=%60x%60%5By%5D(http://evil.test/)",
         "?%5Bu%5D(http://evil.test/)=1&hidden=1e400&batch_size=nan")
TEXTS = ("[data-testid='stAlertContentError'], [data-testid='stAlertContentInfo'], "
         "[data-testid='stAlertContentWarning'], [data-testid='stException']")


def make_files(folder: Path) -> dict[str, Path]:
    """The hostile files, generated (a few seconds; the Parquet file writes 150 million rows of two int8 columns)."""
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = {"bomb": folder / "bomb.csv.gz", "xfd": folder / "wide.xlsx", "parquet": folder / "huge.parquet",
             "spaces": folder / "spaces.csv", "columns": folder / "wide100k.csv", "small": folder / "small.csv",
             "stop": folder / "eight_thousand.csv"}
    rows = b"1,2,3,4,5,6,7,8,9,0\n" * 100_000
    with gzip.open(files["bomb"], "wb", compresslevel=9) as handle:
        handle.write(b"a,b,c,d,e,f,g,h,i,target\n")
        for _ in range(240):
            handle.write(rows)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("data")
    rng = np.random.default_rng(0)
    sheet.append(["x", "y", "label"])
    for i in range(20_000):
        sheet.append([float(rng.normal()), int(rng.integers(0, 5)), "a" if i % 2 else "b"]
                     + ([None] * 16_380 + [1] if i == 0 else []))
    book.save(files["xfd"])
    batch = pa.table({"a": pa.array(np.zeros(5_000_000, "int8")), "target": pa.array(np.ones(5_000_000, "int8"))})
    with pq.ParquetWriter(files["parquet"], batch.schema, compression="zstd") as writer:
        for _ in range(30):
            writer.write_table(batch)
    files["spaces"].write_bytes(b"a,b\n1" + b" " * 20_000 + b"x,2\n3,4\n")
    with open(files["columns"], "w") as handle:
        handle.write(",".join([f"c{i}" for i in range(100_000)] + ["target"]) + "\n")
        for r in range(5):
            handle.write(",".join(str((i + r) % 7) for i in range(100_001)) + "\n")
    frame = pd.DataFrame({"x": rng.normal(size=400).round(3), "c": rng.choice(["p", "q"], 400)})
    frame["target"] = (frame["x"] > 0).astype(int)
    frame.to_csv(files["small"], index=False)
    wide = pd.DataFrame(rng.normal(size=(8_000, 10)).round(3), columns=[f"x{i}" for i in range(10)])
    wide["target"] = (wide["x0"] + wide["x1"] > 0).astype(int)
    wide.to_csv(files["stop"], index=False)
    return files


class Watch:
    """The server's memory (every 20 ms) and the health endpoint's answer times (every 50 ms) while a case runs."""

    def __init__(self, server: Server, kill_at_mb: float) -> None:
        self.server, self.kill_at = server, kill_at_mb * 1e6
        self.peak, self.worst, self.killed = 0, 0.0, False
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._memory, daemon=True),
                         threading.Thread(target=self._health, daemon=True)]

    def __enter__(self) -> Watch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(5)

    def _memory(self) -> None:
        while not self._done.is_set():
            try:
                rss = tree_rss(self.server.process.pid)
            except (OSError, ValueError, AttributeError):
                return
            self.peak = max(self.peak, rss)
            if rss > self.kill_at and self.server.process.poll() is None:
                self.killed = True
                self.server.process.kill()
                return
            time.sleep(0.02)

    def _health(self) -> None:
        while not self._done.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.server.url + "_stcore/health", timeout=30) as answer:
                    answer.read()
            except OSError:
                if self.server.process is None or self.server.process.poll() is not None:
                    return
            self.worst = max(self.worst, time.perf_counter() - started)
            time.sleep(0.05)


def _said(page) -> str:
    """What the page says in its alerts, shortened: the case's outcome as the visitor reads it."""
    boxes = page.locator(TEXTS)
    texts = [" ".join(boxes.nth(i).inner_text().split()) for i in range(min(boxes.count(), 4))]
    shown = re.search(r"([\d,]+) rows × ([\d,]+) columns", page.inner_text("body") or "")
    lead = f"table {shown.group(1)} x {shown.group(2)}; " if shown else ""
    return (lead + " | ".join(t[:110] for t in texts))[:240] or "(nothing said)"


def _idle(page, timeout: float = 600) -> None:
    for _ in range(2):
        time.sleep(0.2)
        page.wait_for_selector(IDLE, timeout=timeout * 1000)


def _upload(page, path: Path, uploader: int = 0) -> None:
    page.locator("input[type=file]").nth(uploader).set_input_files(str(path))
    page.wait_for_timeout(500)
    _idle(page)


def run_case(browser, server: Server, case: str, files: dict[str, Path], kill_at: float) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    outcome, extra = "", ""
    try:
        if case == "links":
            with Watch(server, kill_at) as watch:
                said = []
                for link in LINKS:
                    page.goto(server.url + link)
                    _idle(page)
                    said.append(_said(page))
                    if page.locator("[data-testid='stException']").count():
                        said.append("EXCEPTION SHOWN")
                    links = page.locator("a[href*='evil.test'], img[src*='evil.test']").count()
                    extra += f"{links} evil links; "
                outcome = " || ".join(s[:80] for s in said)
        else:
            link = {"stop": "?hidden=1024,1024,1024,1024,1024,1024&batch_size=8", "predict": "?epochs=3"}
            page.goto(server.url + link.get(case, ""))
            _idle(page)
            with Watch(server, kill_at) as watch:
                if case == "predict":
                    _upload(page, files["small"])
                    page.locator(".st-key-train button").click()
                    page.get_by_text("Finished all 3 epochs").wait_for(timeout=300_000)
                    _idle(page)
                    started = time.perf_counter()
                    _upload(page, files["bomb"], uploader=1)
                elif case == "stop":
                    _upload(page, files["stop"])
                    page.locator(".st-key-train button").click()
                    page.get_by_text("Loss (lower is better)").first.wait_for(timeout=300_000)
                    page.wait_for_timeout(3000)
                    started = time.perf_counter()
                    page.locator(".st-key-stop button").click()
                    page.wait_for_function("() => { const b = document.querySelector('.st-key-train button');"
                                           " return b && !b.disabled; }", timeout=600_000, polling=20)
                    extra = f"Stop -> Train enabled {time.perf_counter() - started:.2f} s; "
                    _idle(page)
                    extra += f"-> page idle {time.perf_counter() - started:.2f} s; "
                else:
                    started = time.perf_counter()
                    _upload(page, files[case])
                    extra = f"read in {time.perf_counter() - started:.1f} s; "
                outcome = _said(page)
    except Exception as error:  # noqa: BLE001  (a case that breaks the page is a result, not a crash of the bench)
        outcome = f"page failed: {type(error).__name__}: {str(error)[:120]}"
    finally:
        context.close()
    return {"case": case, "peak_mb": watch.peak / 1e6, "health_s": watch.worst,
            "killed": watch.killed, "outcome": (extra + outcome)[:260]}


def run_side(name: str, root: Path, cases: list[str], files: dict[str, Path], kill_at: float) -> list[dict]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for case in cases:
            server = Server(name, root / "streamlit_app.py", root, free_port(), root=root)
            server.start(120)
            try:
                result = run_case(browser, server, case, files, kill_at)
            finally:
                server.stop()
            result["side"] = name
            results.append(result)
            print(f"  {name} {case}: peak {result['peak_mb']:,.0f} MB, health {result['health_s']:.2f} s"
                  f"{' (killed)' if result['killed'] else ''}: {result['outcome'][:120]}", flush=True)
        browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REF", help="also run the cases on the page at this git commit")
    parser.add_argument("--only", help=f"comma-separated cases of {', '.join(CASES)}")
    parser.add_argument("--kill-at", type=float, default=6_000, help="kill a server past this many MB")
    args = parser.parse_args(argv)
    cases = [c for c in (args.only.split(",") if args.only else CASES) if c in CASES]
    budget = float(os.environ.get("TAPEAPP_MEMORY_BUDGET_MB", "2400"))
    tmp = Path(tempfile.mkdtemp(prefix="tapeapp-abuse-"))
    try:
        print(f"making the files in {tmp} ...", flush=True)
        files = make_files(tmp)
        sides = [(f"this checkout ({git_head()})", ROOT)]
        if args.against:
            other = tmp / "other"
            subprocess.run(["git", "worktree", "add", "--detach", str(other), args.against], cwd=ROOT, check=True,
                           capture_output=True)
            sides.append((f"at {args.against}", other))
        results = []
        for name, root in sides:
            results += run_side(name, root, cases, files, args.kill_at)
    finally:
        if args.against:
            subprocess.run(["git", "worktree", "remove", "--force", str(tmp / "other")], cwd=ROOT, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n## abuse: one fresh server per case, budget {budget:,.0f} MB; {machine()}")
    rows = [(r["side"], r["case"], f"{r['peak_mb']:,.0f}" + (" (killed)" if r["killed"] else ""),
             "yes" if r["peak_mb"] <= budget and not r["killed"] else "NO", f"{r['health_s']:.2f}",
             "yes" if r["health_s"] <= 0.5 else "NO", r["outcome"]) for r in results]
    print_table(rows, ["side", "case", "peak MB", "<= budget", "worst health s", "<= 0.5 s", "what happened"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
