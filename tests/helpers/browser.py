"""The page served and driven in Debian's chromium with Playwright: what every browser test shares.

Without chromium or Playwright the browser tests are skipped, with the reason; with ``TAPEAPP_REQUIRE_BROWSER=1`` (as
CI sets) they fail instead, so a broken setup cannot pass unseen (``conftest.needs_browser``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
if os.environ.get("TAPEAPP_CHROMIUM"):  # a path to use; a path that does not exist acts out a missing browser
    CHROMIUM = os.environ["TAPEAPP_CHROMIUM"] if Path(os.environ["TAPEAPP_CHROMIUM"]).exists() else None
else:
    CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()),
                    shutil.which("chromium"))
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHART = "[data-testid='stVegaLiteChart'], [data-testid='stArrowVegaLiteChart']"
UPLOAD_LIMIT_MB = 1  # the served page's limit here, so a file over it is small enough to make in a test

try:
    from playwright import sync_api
except ImportError:
    sync_api = None
MISSING = ("Playwright is not installed (pip install playwright)" if sync_api is None
           else "chromium is not installed (apt-get install chromium)" if CHROMIUM is None else None)
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run`` in a process of its own, on a run store of its own (or the one given: a restart)."""

    def __init__(self, seats: int = 2, store: Path | None = None) -> None:
        self.seats = seats
        self.store = store or Path(tempfile.mkdtemp(prefix="tapeapp-store-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", "--server.maxUploadSize", str(UPLOAD_LIMIT_MB)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            env={**{k: v for k, v in os.environ.items() if k != "TAPEAPP_MEMORY_BUDGET_MB"},  # a server's own budget
                 "TAPEAPP_SEATS": str(self.seats), "TAPEAPP_STORE": str(self.store)})
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=1).read() == b"ok":
                    return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    pytest.fail("the Streamlit server never became healthy")
                time.sleep(0.1)

    def kill(self) -> None:
        """As a crash or Community Cloud's restart would: no chance to save anything."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def serve(seats: int) -> Iterator[str]:
    """A served page for a module's tests (a fixture's body): its URL, then stopped."""
    server = Server(seats).start()
    try:
        yield server.url
    finally:
        server.stop()


def patients_table(path: Path) -> Path:
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame({"age": rng.integers(20, 80, n), "score": rng.normal(size=n).round(3),
                          "group": rng.choice(["a", "b", "c"], n), "load": rng.uniform(0, 5, n).round(2)})
    frame["outcome"] = np.where(frame["score"] + 0.02 * frame["age"] + rng.normal(0, 0.5, n) > 1, "yes", "no")
    frame.to_csv(path, index=False)
    return path


def settled(page) -> None:
    """Until the page's script runs are over: idle, and still idle a moment later (a click's rerun may not have
    begun when the page is first seen idle). Acting on a page that is still redrawing is what made a click wait for a
    button that was about to be redrawn or enabled, and time out under load."""
    for _ in range(2):
        page.wait_for_selector(IDLE, timeout=120_000)
        page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=120_000)


def baselines_in(page) -> None:
    """Until the simpler models are fitted and drawn: their arrival reruns the whole page once (which closes an open
    drop-down), so a test that opens one waits for that first."""
    page.wait_for_function("() => !document.body.innerText.includes('The simpler models are still being fitted')",
                           timeout=120_000, polling=200)
    settled(page)


def no_exception(page) -> None:
    shown = page.locator("[data-testid='stException']")
    assert shown.count() == 0, shown.first.inner_text()
