"""A classroom on one server: N sessions upload a table and press Train at once; how long each waits, and memory.

    python bench/classroom.py --sessions 30            # 8 in headless Chromium, 22 over Streamlit's own protocol
    python bench/classroom.py --sessions 4 --browsers 2 --epochs 30
    python bench/classroom.py --csv heart.csv --target HeartDisease
    python bench/classroom.py --quick                  # 3 sessions, 1 browser, 5 epochs: check that it runs

One ``streamlit run streamlit_app.py`` serves every session. ``--browsers`` of them (default ``min(N, 8)``) are real
pages: one headless Chromium (``/usr/bin/chromium``, Playwright's async API), one browser context each, so each
has its own cookies and its own Streamlit session. The others are protocol clients: each opens the app's websocket
(``/_stcore/stream``) and speaks the frontend's protobuf messages (``BackMsg`` / ``ForwardMsg``) as the browser
does, so the session, its script runs, its training and its messages are real on the server; only the drawing is
missing. Both kinds run in one asyncio loop in this process.

The steps of one session, in either kind of client:

- open the app with ``?epochs=E&target=COL`` (``epochs`` only with ``--epochs``; the page reads its knobs from
  the link), upload the table through the file uploader, make sure the target box shows ``COL``, and wait until
  the script run is over and Train can be clicked ("setup");
- when every session is ready (and the server's CPU has gone quiet), all click Train at once;
- "Train -> first chart": from that session's click to the first Altair chart beyond those it already had (a
  browser counts ``stVegaLiteChart`` elements in the page; a protocol client waits for a ``vega_lite_chart``
  element at a place in the page where it had none before the click: the target's chart above is sent again by
  every script run);
- "Train -> results": from the click to the run's "Finished all ..." message or the "5. Results" header;
- errors: every exception element and every ``st.error`` box the session was shown (from its first page on), a
  setup step that failed, a session that never finished within ``--timeout``, a websocket that closed;
- a waiting line, when the page has one: the highest place shown in any text like "You are number 3 in line".

Browsers time themselves in the page (a MutationObserver stamps ``performance.now()``; the click is made from the
same script that stamps its time); protocol clients stamp ``time.perf_counter()`` on sending the click and on
receiving each message.

Server memory: a thread samples the resident memory (VmRSS) of the server process and all its children every
50 ms for the whole run and keeps the peak; VmHWM, the kernel's own peak for the server process, is shown next to
it. Server CPU: user + system seconds of the server's process tree from /proc.

Before the class, one session alone measures what a Train costs the server: a first session trains once to warm
the process up (TensorFlow's import, first tracing; not counted), closes, and then a second session alone trains
the same table, and the server's CPU seconds from its click to its results are "one session's server CPU". With
``cores`` CPUs the class cannot finish before ``N x that / cores``: the slowest session should see its results
within 1.3 times that. All sessions upload the same file, so the page's caches (the parsed table, the column
guess) serve all but the first: that is the classroom case too.

How the protocol client speaks Streamlit 1.67 (read from its server, ``web/server/starlette/``,
``runtime/app_session.py``, and the frontend's ``WebsocketConnection.tsx`` / ``DefaultStreamlitEndpoints.ts``):

- ``GET /_stcore/health`` sets the ``_streamlit_xsrf`` cookie. The websocket is opened with the subprotocols
  ``["streamlit", <that cookie>]`` (the server accepts the first, reads the second as the XSRF token), the cookie,
  and an ``Origin`` of the server itself; the connection is accepted with or without the token (it only guards
  the login cookie). The server declines websocket compression by default (``server.enableWebsocketCompression``
  is off), for browsers and this client alike;
- each script run is asked for with ``BackMsg.rerun_script``, a ``ClientState`` holding the query string (the
  page rewrites it; the client follows ``page_info_changed`` as the browser's address bar does), the page's hash
  from ``new_session``, and every widget value the client has set so far (widgets it never touched keep their
  values on the server); a click is one more ``WidgetState`` with ``trigger_value`` true for one run;
- widget ids are read from the ``delta`` messages (``new_element.button.id`` for the button labelled "Train", and
  the file uploader's and target box's ids): the app gives them keys, so ids stay the same across runs;
- ``ClientState.cached_message_hashes`` is left empty: the server then never sends a ``ref_hash`` reference to a
  message it thinks the client has cached, only whole messages;
- an upload is ``BackMsg.file_urls_request`` -> ``ForwardMsg.file_urls_response`` (a file id and
  ``/_stcore/upload_file/<session>/<file id>``), a multipart ``PUT`` of the file to that URL with the cookie and
  the same token in ``X-Xsrftoken``, and then a rerun whose uploader value is a ``FileUploaderState`` naming that
  file id;
- a run is over when the ``script_finished`` of the latest run (matched by ``metadata.run.script_run_id`` with
  its ``new_session``) has come, ``session_status_changed`` says no script is running, and no new run started
  within 0.2 s: the page's own ``st.rerun()`` (during and after training) starts runs the client did not ask
  for, each announced by a ``new_session`` message.

What a protocol client leaves out next to a browser: the drawing (and its CPU, which shares this machine with
the server), the browser's ``context_info`` (time zone, locale), the values of widgets it never touched, and the
message cache (a browser lists the hashes it holds; the server then sends references instead of repeated large
messages, such as the data preview).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    HEART_LIKE_TARGET,
    ROOT,
    cpu_seconds,
    descendants,
    heart_like,
    machine,
    mb,
    print_table,
    proc_status,
    tree_rss,
)
from page_speed import CHART, CHROMIUM, CHROMIUM_ARGS, DONE_TEXT, FIRST_ELEMENT, IDLE, TRAIN_ENABLED, Server, free_port

RESULTS_HEADER = "5. Results"
UPLOAD_LABEL = "Upload a table"
TARGET_LABEL = "Column to predict (the target)"
TRAIN_LABEL = "Train"
UPLOAD_INPUT = "[data-testid='stFileUploaderDropzoneInput']"
PLACE_IN_LINE = re.compile(r"(\d+)(?:st|nd|rd|th)?\s+in\s+line", re.IGNORECASE)
IN_LINE = re.compile(r"\bin\s+line\b", re.IGNORECASE)
EPOCHS = re.compile(r"Epoch (\d+) / (\d+)")
MEMORY_GOAL = 1.2e9
SLOWEST_GOAL = 1.3
SAMPLE_EVERY = 0.05
QUIET_SHARE = 0.1


@dataclass
class Outcome:
    """What one session saw; times in seconds."""

    name: str
    client: str
    setup_s: float | None = None
    first_chart_s: float | None = None
    results_s: float | None = None
    epochs: int | None = None
    errors: list[str] = field(default_factory=list)
    line_seen: bool = False
    place: int | None = None

    @property
    def finished(self) -> bool:
        return self.results_s is not None

    def error(self, text: str) -> None:
        text = " ".join(text.split())[:160]
        if text and text not in self.errors:
            self.errors.append(text)

    def saw_text(self, text: str) -> None:
        """Note a waiting-line message ("You are number 3 in line") and the highest place it showed."""
        if not IN_LINE.search(text):
            return
        self.line_seen = True
        for match in PLACE_IN_LINE.finditer(text):
            self.place = max(self.place or 0, int(match.group(1)))


# ---------------------------------------------------------------------------------------------------- server side

class MemorySampler:
    """Resident memory of the server and its children every ``every`` seconds, in a thread; keeps the peak.

    Children are named with their own peaks: a child forked from the server counts the pages it still shares
    with it a second time, until it execs or exits.
    """

    def __init__(self, pid: int, every: float = SAMPLE_EVERY) -> None:
        self.pid, self.every, self.peak, self.samples = pid, every, 0, 0
        self.children: dict[str, int] = {}  # a child's name (/proc/PID/comm) -> its peak VmRSS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid in descendants(self.pid):
                rss = proc_status("VmRSS", pid)
                total += rss
                if pid != self.pid and rss:
                    name = process_name(pid)
                    self.children[name] = max(self.children.get(name, 0), rss)
            self.peak = max(self.peak, total)
            self.samples += 1
            self._stop.wait(self.every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def server_cpu(server: Server) -> float:
    return cpu_seconds(descendants(server.process.pid))


def machine_busy_seconds() -> float:
    """CPU seconds all processes on this machine have used since boot (every CPU's non-idle time in /proc/stat)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def server_cores(server: Server) -> int:
    try:
        return len(os.sched_getaffinity(server.process.pid))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


async def wait_quiet(server: Server, timeout: float, window: float = 0.5) -> None:
    """Until the server's process tree used under QUIET_SHARE of one CPU over ``window`` s (or ``timeout``)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        before = server_cpu(server)
        await asyncio.sleep(window)
        if server_cpu(server) - before < QUIET_SHARE * window:
            return


# ---------------------------------------------------------------------------------------------------- protocol client

def xsrf_cookie(base: str) -> str:
    """The ``_streamlit_xsrf`` cookie the server sets on any page or health request (what a browser would hold)."""
    with urllib.request.urlopen(base + "_stcore/health", timeout=30) as answer:
        for header in answer.headers.get_all("set-cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == "_streamlit_xsrf":
                return rest.split(";", 1)[0]
    raise RuntimeError("the server set no _streamlit_xsrf cookie (is server.enableXsrfProtection off?)")


def put_file(url: str, name: str, data: bytes, xsrf: str, origin: str) -> None:
    """The frontend's upload: a multipart PUT holding one file, with the XSRF cookie and the same token as header."""
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
            f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": xsrf,
        "Cookie": f"_streamlit_xsrf={xsrf}", "Origin": origin})
    with urllib.request.urlopen(request, timeout=60) as answer:
        if answer.status not in (200, 204):
            raise RuntimeError(f"upload answered {answer.status}")


def element_text(element: Any) -> str:
    """The words an element shows (markdown, captions, alerts, headers, progress text), '' for others."""
    kind = element.WhichOneof("type")
    if kind in ("markdown", "alert", "heading", "text", "exception"):
        part = getattr(element, kind)
        return getattr(part, "body", "") or getattr(part, "message", "")
    if kind == "progress":
        return element.progress.text
    return ""


class ProtocolSession:
    """One Streamlit session driven over the app's websocket with the frontend's protobuf messages."""

    def __init__(self, name: str, base: str, query: str, table: Path, target: str, timeout: float) -> None:
        self.outcome = Outcome(name, "protocol")
        self.base, self.query, self.table, self.target, self.timeout = base, query, table, target, timeout
        self.ws: Any = None
        self.xsrf = ""
        self.session_id = ""
        self.page_hash = ""
        self.running = False
        self.runs_started = 0
        self.run_id = ""
        self.finished_runs: set[str] = set()
        self.closed = False
        self.widgets: dict[tuple[str, str], Any] = {}  # (element kind, label) -> that widget's latest proto
        self.states: dict[str, Any] = {}  # widget id -> the WidgetState this client set, sent with every rerun
        self.pending_urls: dict[str, asyncio.Future] = {}
        self.chart_places: set[tuple[int, ...]] = set()
        self.clicked_at: float | None = None
        self._news = asyncio.Event()
        self._reader: asyncio.Task | None = None

    # ------------------------------------------------------------------ connection

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self.xsrf = await asyncio.to_thread(xsrf_cookie, self.base)
        url = "ws" + self.base.removeprefix("http") + "_stcore/stream"
        self.ws = await connect(url, subprotocols=["streamlit", self.xsrf], origin=self.base.rstrip("/"),
                                additional_headers={"Cookie": f"_streamlit_xsrf={self.xsrf}"},
                                max_size=None, ping_interval=None, open_timeout=self.timeout)
        self._reader = asyncio.create_task(self._read(), name=f"read {self.outcome.name}")

    async def close(self) -> None:
        self.closed = True
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from websockets.exceptions import ConnectionClosed

        try:
            async for data in self.ws:
                message = ForwardMsg()
                message.ParseFromString(data)
                self._on_message(message, time.perf_counter())
                self._news.set()
        except ConnectionClosed as error:
            if not self.closed:
                self.outcome.error(f"websocket closed by the server ({error})")
        finally:
            if not self.closed and not self.outcome.finished:
                self.outcome.error("websocket closed before the results")
            self.closed = True
            self._news.set()

    # ------------------------------------------------------------------ messages from the server

    def _on_message(self, message: Any, now: float) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.runs_started += 1
            self.run_id = message.metadata.run.script_run_id
            self.page_hash = message.new_session.page_script_hash
            if message.new_session.initialize.session_id:
                self.session_id = message.new_session.initialize.session_id
        elif kind == "script_finished":
            self.finished_runs.add(message.metadata.run.script_run_id)
        elif kind == "session_status_changed":
            self.running = message.session_status_changed.script_is_running
        elif kind == "page_info_changed":
            self.query = message.page_info_changed.query_string
        elif kind == "file_urls_response":
            future = self.pending_urls.pop(message.file_urls_response.response_id, None)
            if future is not None and not future.done():
                future.set_result(message.file_urls_response)
        elif kind == "session_event" and message.session_event.HasField("script_compilation_exception"):
            problem = message.session_event.script_compilation_exception
            self.outcome.error(f"script error {problem.type}: {problem.message}")
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            self._on_element(message.delta.new_element, tuple(message.metadata.delta_path), now)

    def _on_element(self, element: Any, place: tuple[int, ...], now: float) -> None:
        from streamlit.proto.Alert_pb2 import Alert

        kind = element.WhichOneof("type")
        text = element_text(element)
        self.outcome.saw_text(text)
        if kind in ("button", "file_uploader", "selectbox"):
            widget = getattr(element, kind)
            self.widgets[(kind, widget.label)] = widget
        elif kind == "vega_lite_chart":
            if self.clicked_at is None:
                self.chart_places.add(place)
            elif self.outcome.first_chart_s is None and place not in self.chart_places:
                self.outcome.first_chart_s = now - self.clicked_at
        elif kind == "exception":
            self.outcome.error(f"exception {element.exception.type}: {element.exception.message}")
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            self.outcome.error(f"error box: {text}")
        elif kind == "progress" and (match := EPOCHS.search(text)):
            self.outcome.epochs = int(match.group(2))
        done = ((kind == "alert" and element.alert.format == Alert.SUCCESS and text.startswith(DONE_TEXT))
                or (kind == "heading" and text.startswith(RESULTS_HEADER)))
        if done and self.clicked_at is not None and self.outcome.results_s is None:
            self.outcome.results_s = now - self.clicked_at

    # ------------------------------------------------------------------ asking the server

    async def _send(self, message: Any) -> None:
        await self.ws.send(message.SerializeToString())

    async def _rerun(self, trigger: str | None = None) -> int:
        """Ask for a script run with every value this client set (and a click on ``trigger``); runs started before."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash
        state.widget_states.widgets.extend(self.states.values())
        if trigger is not None:
            click = state.widget_states.widgets.add()
            click.id = trigger
            click.trigger_value = True
        before = self.runs_started
        await self._send(message)
        return before

    async def _until(self, ready: Callable[[], bool], what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while not ready():
            if self.closed:
                raise ConnectionError(f"connection closed while waiting for {what}")
            self._news.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"no {what} within {self.timeout:.0f} s")
            try:
                await asyncio.wait_for(self._news.wait(), left)
            except TimeoutError:
                pass

    def _idle(self) -> bool:
        return self.run_id in self.finished_runs and not self.running

    async def _settle(self, runs_before: int) -> None:
        """Until the run asked for has started and every run since (the page's own st.rerun) is over."""
        await self._until(lambda: self.runs_started > runs_before, "script run")
        await self.until_quiet()

    async def until_quiet(self) -> None:
        """Until every script run of this session is over, the page's own st.rerun after the results included."""
        while True:
            await self._until(self._idle, "end of the script run")
            seen = self.runs_started
            await asyncio.sleep(0.2)
            if self._idle() and self.runs_started == seen:
                return

    def _widget(self, kind: str, label: str) -> Any:
        widget = self.widgets.get((kind, label))
        if widget is None:
            raise LookupError(f"the page showed no {kind} labelled {label!r} in {self.runs_started} script runs")
        return widget

    async def _upload(self) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        uploader = self._widget("file_uploader", UPLOAD_LABEL)
        request_id = uuid.uuid4().hex
        answer = asyncio.get_running_loop().create_future()
        self.pending_urls[request_id] = answer
        message = BackMsg()
        message.file_urls_request.request_id = request_id
        message.file_urls_request.session_id = self.session_id
        message.file_urls_request.file_names.append(self.table.name)
        await self._send(message)
        response = await asyncio.wait_for(answer, self.timeout)
        if response.error_msg or not response.file_urls:
            raise RuntimeError(f"no upload URL: {response.error_msg or 'empty answer'}")
        urls = response.file_urls[0]
        data = self.table.read_bytes()
        await asyncio.to_thread(put_file, self.base + urls.upload_url.lstrip("/"), self.table.name, data,
                                self.xsrf, self.base.rstrip("/"))
        state = WidgetState(id=uploader.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, self.table.name, len(data)
        info.file_urls.CopyFrom(urls)
        self.states[uploader.id] = state
        await self._settle(await self._rerun())

    async def _choose_target(self) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        box = self._widget("selectbox", TARGET_LABEL)
        if self.target not in box.options:
            raise LookupError(f"the table has no column {self.target!r} (it has {', '.join(box.options)})")
        shown = box.raw_value if box.HasField("raw_value") else (
            box.options[box.default] if box.HasField("default") else None)
        if box.id in self.states or shown == self.target:
            return
        self.states[box.id] = WidgetState(id=box.id, string_value=self.target)
        await self._settle(await self._rerun())

    # ------------------------------------------------------------------ the session's steps

    async def prepare(self) -> None:
        """Open the page, upload the table, choose the target, until Train can be clicked."""
        started = time.perf_counter()
        await self.connect()
        await self._settle(await self._rerun())
        await self._upload()
        await self._choose_target()
        if self._widget("button", TRAIN_LABEL).disabled:
            raise RuntimeError("Train is disabled after the upload")
        self.outcome.setup_s = time.perf_counter() - started

    async def train(self) -> None:
        """Click Train and wait for the results."""
        button = self._widget("button", TRAIN_LABEL)
        self.clicked_at = time.perf_counter()
        await self._rerun(trigger=button.id)
        await self._until(lambda: self.outcome.finished, "results")


# ---------------------------------------------------------------------------------------------------- browser client

OBSERVER = """
([chart, done, results]) => {
  const s = window.__classroom = {clicked: null, charts: 0, chart: null, done: null, errors: [], texts: [],
                                  epochs: null};
  const look = (records) => {
    const t = performance.now();
    for (const r of records) {
      const nodes = r.type === "characterData" ? [r.target] : Array.from(r.addedNodes);
      for (const n of nodes) {
        const text = n.textContent || "";
        if (/in\\s+line/i.test(text) && !s.texts.includes(text)) s.texts.push(text.slice(0, 300));
      }
    }
    const shown = (kind, e) => {
      const text = kind + (e.textContent || "").trim().slice(0, 300);
      if (!s.errors.includes(text)) s.errors.push(text);
    };
    for (const e of document.querySelectorAll("[data-testid='stException']")) {
      shown("exception ", e.querySelector("[data-testid='stExceptionMessage']") || e);
    }
    for (const e of document.querySelectorAll("[data-testid='stAlertContentError']")) {
      if (!e.closest("[data-testid='stException']")) shown("error box: ", e);  // an exception is drawn in one
    }
    for (const bar of document.querySelectorAll("[data-testid='stProgress']")) {
      const m = (bar.textContent || "").match(/Epoch (\\d+) \\/ (\\d+)/);
      if (m) s.epochs = +m[2];
    }
    if (s.clicked === null) return;
    if (s.chart === null && document.querySelectorAll(chart).length > s.charts) s.chart = t;
    if (s.done === null) {
      const ok = Array.from(document.querySelectorAll("[data-testid='stAlertContentSuccess']"))
        .some(a => (a.textContent || "").includes(done));
      const header = Array.from(document.querySelectorAll("h2"))
        .some(h => (h.textContent || "").trim().startsWith(results));
      if (ok || header) s.done = t;
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""

CLICK_TRAIN = """
([chart, label]) => {
  const s = window.__classroom;
  const button = Array.from(document.querySelectorAll("button")).find(b => b.innerText.trim() === label);
  if (!button || button.disabled) return false;
  s.charts = document.querySelectorAll(chart).length;
  s.clicked = performance.now();
  button.click();
  return true;
}
"""


class BrowserSession:
    """One page in its own browser context (its own cookies, so its own Streamlit session)."""

    def __init__(self, name: str, browser: Any, url: str, table: Path, target: str, timeout: float) -> None:
        self.outcome = Outcome(name, "Chromium")
        self.browser, self.url, self.table, self.target, self.timeout = browser, url, table, target, timeout
        self.context: Any = None
        self.page: Any = None

    async def prepare(self) -> None:
        started = time.perf_counter()
        ms = self.timeout * 1000
        self.context = await self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.set_default_timeout(ms)
        page = self.page = await self.context.new_page()
        await page.goto(self.url, timeout=ms)
        await page.wait_for_selector(FIRST_ELEMENT, state="visible", timeout=ms)
        await page.evaluate(OBSERVER, [CHART, DONE_TEXT, RESULTS_HEADER])
        await page.locator(UPLOAD_INPUT).first.set_input_files(str(self.table))
        await page.wait_for_selector(f"text={self.table.name}", timeout=ms)
        await self._choose_target()
        await page.get_by_role("button", name=TRAIN_LABEL, exact=True).first.wait_for(state="visible", timeout=ms)
        await self._wait_idle()
        await page.wait_for_function(TRAIN_ENABLED, timeout=ms, polling=100)
        self.outcome.setup_s = time.perf_counter() - started

    async def _choose_target(self) -> None:
        """As page_speed.choose_target: leave the box alone if it shows the target, else type the target into it."""
        box = self.page.locator("[data-testid='stSelectbox']").filter(has_text="predict").first
        await box.wait_for(state="visible", timeout=self.timeout * 1000)
        if await box.locator(f"text={self.target}").count():
            return
        await box.click()
        await self.page.keyboard.type(self.target)
        await self.page.keyboard.press("Enter")
        await self._wait_idle()

    async def _wait_idle(self) -> None:
        """Until Streamlit marks the app 'notRunning' (checked twice, 200 ms apart)."""
        for _ in range(2):
            await asyncio.sleep(0.2)
            await self.page.wait_for_selector(IDLE, timeout=self.timeout * 1000)

    async def train(self) -> None:
        page = self.page
        if not await page.evaluate(CLICK_TRAIN, [CHART, TRAIN_LABEL]):
            raise RuntimeError("Train was not clickable")
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        try:
            await page.wait_for_function("() => window.__classroom.done !== null", timeout=self.timeout * 1000,
                                         polling=250)
        except PlaywrightTimeout:
            raise TimeoutError(f"no results within {self.timeout:.0f} s") from None
        finally:
            self._collect(await page.evaluate("window.__classroom"))

    async def collect(self) -> None:
        """Errors and waiting-line texts seen so far (also for a session whose setup failed)."""
        if self.page is not None and not self.page.is_closed():
            self._collect(await self.page.evaluate("window.__classroom || null"))

    def _collect(self, state: dict | None) -> None:
        if not state:
            return
        for text in state["errors"]:
            self.outcome.error(text)
        for text in state["texts"]:
            self.outcome.saw_text(text)
        self.outcome.epochs = state["epochs"] or self.outcome.epochs
        if state["clicked"] is not None:
            if state["chart"] is not None:
                self.outcome.first_chart_s = (state["chart"] - state["clicked"]) / 1000
            if state["done"] is not None:
                self.outcome.results_s = (state["done"] - state["clicked"]) / 1000

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()


# ---------------------------------------------------------------------------------------------------- the class

Session = ProtocolSession | BrowserSession


@dataclass
class Measures:
    """Everything the report prints: the sessions' outcomes and the server's CPU and memory figures."""

    where: str = ""
    cores: int = 1
    solo: Outcome | None = None
    warm_up: Outcome | None = None
    solo_cpu_s: float = 0.0
    solo_whole_cpu_s: float = 0.0
    class_cpu_s: float = 0.0
    class_wall_s: float = 0.0
    clients_cpu_s: float = 0.0
    others_cpu_s: float = 0.0
    idle_cpu_s: float = 0.0
    idle_rss: int = 0
    peak_rss: int = 0
    hwm: int = 0
    rss_after: int = 0
    rss_samples: int = 0
    children: dict[str, int] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)


async def step(session: Session, action: str) -> bool:
    """Run ``prepare`` or ``train``; an exception becomes one of the session's errors."""
    try:
        await getattr(session, action)()
        return True
    except Exception as error:  # noqa: BLE001  (any failure is a finding to report, not a crash)
        what = "setup" if action == "prepare" else "training"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if isinstance(error, TimeoutError) or "Timeout" in type(error).__name__:
            reason = f"timed out ({reason})"
        session.outcome.error(f"{what}: {reason}")
        return False
    finally:
        if isinstance(session, BrowserSession):
            try:
                await session.collect()
            except Exception:  # noqa: BLE001  (a page that died has nothing more to say)
                pass


async def alone(name: str, server: Server, query: str, table: Path, target: str, timeout: float
                ) -> tuple[Outcome, float, float]:
    """One session by itself on the server: its outcome, the server's CPU seconds from Train to results, and from
    Train until the session's page is quiet (the views drawn after the results and the page's last pass)."""
    session = ProtocolSession(name, server.url, query, table, target, timeout)
    try:
        if not await step(session, "prepare"):
            return session.outcome, 0.0, 0.0
        await wait_quiet(server, timeout)
        before = server_cpu(server)
        if not await step(session, "train"):
            return session.outcome, 0.0, 0.0
        to_results = server_cpu(server) - before
        await session.until_quiet()
        return session.outcome, to_results, server_cpu(server) - before
    finally:
        await session.close()


async def run_class(args: argparse.Namespace, server: Server, table: Path, target: str, measures: Measures
                    ) -> None:
    from playwright.async_api import async_playwright

    query = f"epochs={args.epochs}&target={target}" if args.epochs else f"target={target}"
    measures.idle_rss = tree_rss(server.process.pid)
    measures.warm_up, _, _ = await alone("warm-up (alone, not counted)", server, query, table, target, args.timeout)
    measures.solo, measures.solo_cpu_s, measures.solo_whole_cpu_s = await alone(
        "solo (alone)", server, query, table, target, args.timeout)
    log(f"solo: Train -> results {seconds(measures.solo.results_s)} s, {measures.solo_cpu_s:.2f} server CPU s "
        f"({measures.solo_whole_cpu_s:.2f} s until its page was quiet)")
    async with async_playwright() as pw:
        browser = None
        if args.browsers:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        sessions: list[Session] = [
            BrowserSession(f"browser {i + 1}", browser, f"{server.url}?{query}", table, target, args.timeout)
            for i in range(args.browsers)]
        sessions += [ProtocolSession(f"protocol {i + 1}", server.url, query, table, target, args.timeout)
                     for i in range(args.sessions - args.browsers)]
        try:
            ready = await asyncio.gather(*(step(s, "prepare") for s in sessions))
            log(f"ready: {sum(ready)} of {len(sessions)}")
            await wait_quiet(server, args.timeout)
            server_pids = descendants(server.process.pid)
            client_pids = descendants(os.getpid()) - server_pids
            cpu, clients, busy = server_cpu(server), cpu_seconds(client_pids), machine_busy_seconds()
            started = time.perf_counter()
            await asyncio.gather(*(step(s, "train") for s, ok in zip(sessions, ready) if ok))
            measures.class_wall_s = time.perf_counter() - started
            measures.class_cpu_s = server_cpu(server) - cpu
            client_pids |= descendants(os.getpid()) - descendants(server.process.pid)
            measures.clients_cpu_s = cpu_seconds(client_pids) - clients
            busy = machine_busy_seconds() - busy
            measures.others_cpu_s = busy - measures.class_cpu_s - measures.clients_cpu_s
            measures.idle_cpu_s = max(measures.cores * measures.class_wall_s - busy, 0.0)
            measures.rss_after = tree_rss(server.process.pid)
        finally:
            await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
            if browser is not None:
                await browser.close()
    measures.outcomes = [s.outcome for s in sessions]


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------- report

def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def session_rows(outcomes: list[Outcome]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        place = "-" if not o.line_seen else (str(o.place) if o.place else "shown, no number")
        rows.append([o.name, o.client, seconds(o.setup_s), seconds(o.first_chart_s), seconds(o.results_s), place,
                     "; ".join(o.errors) or "-"])
    return rows


def spread_row(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: -"
    return (f"{name}: median {statistics.median(values):.1f} s, fastest {min(values):.1f} s, slowest "
            f"{max(values):.1f} s")


def goal_rows(args: argparse.Namespace, m: Measures) -> list[list[str]]:
    finished = [o for o in m.outcomes if o.finished]
    with_errors = [o for o in m.outcomes if o.errors]
    all_ok = len(finished) == len(m.outcomes) and not with_errors
    slowest = max((o.results_s for o in finished), default=None)
    cores, peak, hwm = m.cores, m.peak_rss, m.hwm
    ideal = args.sessions * m.solo_cpu_s / cores
    if not m.solo_cpu_s:
        slow_measured, slow_ok = "no figure for one session alone (it failed)", False
    elif slowest is None or len(finished) < len(m.outcomes):
        slow_measured, slow_ok = (f"{len(m.outcomes) - len(finished)} session(s) never finished"
                                  + (f"; slowest finished {slowest:.1f} s" if slowest else "")), False
    else:
        slow_measured = f"{slowest:.1f} s = {slowest / ideal:.2f} x {ideal:.1f} s"
        slow_ok = slowest <= SLOWEST_GOAL * ideal
    if args.sessions < cores:
        slow_measured += f" (with fewer sessions than the {cores} CPUs, this bound is below one session's own time)"
    whole = args.sessions * m.solo_whole_cpu_s / cores
    whole_row = [f"the same against a session's whole server CPU (Train until its page is quiet: the views after "
                 f"the results, the last pass) = {args.sessions} x {m.solo_whole_cpu_s:.2f} s / {cores} = "
                 f"{whole:.1f} s",
                 f"{slowest:.1f} s = {slowest / whole:.2f} x {whole:.1f} s" if slowest and whole else "-",
                 f"<= {SLOWEST_GOAL} x = {SLOWEST_GOAL * whole:.1f} s",
                 _ok(bool(slowest and whole and all_ok and slowest <= SLOWEST_GOAL * whole))]
    return [
        ["every session finishes, no error",
         f"{len(finished)} of {len(m.outcomes)} finished, {len(with_errors)} with errors", "all, none", _ok(all_ok)],
        ["peak server memory (RSS of server + children, sampled every 50 ms)",
         f"{mb(peak)} (server's VmHWM {mb(hwm)})", f"<= {mb(MEMORY_GOAL)}", _ok(max(peak, hwm) <= MEMORY_GOAL)],
        [f"slowest session, Train -> results, vs N x one session's server CPU / cores = {args.sessions} x "
         f"{m.solo_cpu_s:.2f} s / {cores} = {ideal:.1f} s", slow_measured,
         f"<= {SLOWEST_GOAL} x = {SLOWEST_GOAL * ideal:.1f} s", _ok(slow_ok)],
        whole_row,
    ]


def report(args: argparse.Namespace, data: str, m: Measures) -> None:
    print(f"\n## classroom: {args.sessions} session{'s' * (args.sessions != 1)} on one server ({args.browsers} in "
          f"headless Chromium, {args.sessions - args.browsers} over Streamlit's websocket protocol); {data}; "
          f"{m.solo.epochs if m.solo and m.solo.epochs else '?'} epochs"
          f"{' (from the link)' if args.epochs else ' (the page default)'}; all click Train at once")
    print(f"{m.where}; load average at the end {' '.join(f'{v:.1f}' for v in os.getloadavg())}\n")
    solo = [o for o in (m.warm_up, m.solo) if o is not None]
    print_table(session_rows(solo + m.outcomes),
                ["session", "client", "setup s", "Train -> first chart s", "Train -> results s", "place in line",
                 "errors"])
    finished = [o for o in m.outcomes if o.finished]
    print("\n" + spread_row("Train -> first chart", [o.first_chart_s for o in m.outcomes if o.first_chart_s])
          + "; " + spread_row("Train -> results", [o.results_s for o in finished]) + "\n")
    print_table([
        ["one session alone: server CPU seconds, Train -> results", f"{m.solo_cpu_s:.2f} s"],
        ["one session alone: server CPU seconds, Train -> its page quiet", f"{m.solo_whole_cpu_s:.2f} s"],
        ["the class: server CPU seconds, first click -> last result (wall)",
         f"{m.class_cpu_s:.1f} s ({m.class_wall_s:.1f} s wall; {m.class_cpu_s / max(m.class_wall_s, 1e-9):.2f} of "
         f"{m.cores} CPUs busy; {m.class_cpu_s / max(len(finished), 1):.2f} s per finished session)"],
        ["the class: clients' CPU seconds (Chromium + this script) over the same time", f"{m.clients_cpu_s:.1f} s"],
        ["the class: other processes' CPU seconds over the same time (this machine is shared)",
         f"{max(m.others_cpu_s, 0.0):.1f} s; the CPUs were idle for {m.idle_cpu_s:.1f} of {m.cores} x "
         f"{m.class_wall_s:.1f} s"],
        ["server RSS: idle after start -> peak (sampled) -> after the class",
         f"{mb(m.idle_rss)} -> {mb(m.peak_rss)} -> {mb(m.rss_after)} ({m.rss_samples} samples)"],
        ["server's child processes seen (peak RSS each)",
         ", ".join(f"{name} {mb(rss)}" for name, rss in sorted(m.children.items())) or "none"],
    ], ["measure", "value"])
    print()
    print_table(goal_rows(args, m), ["goal", "measured", "target", "met?"])


def _ok(flag: bool) -> str:
    return "met" if flag else "MISSED"


# ---------------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", default=str(ROOT / "streamlit_app.py"), help="the page to measure")
    parser.add_argument("--sessions", type=int, default=30, help="sessions training at once (default 30)")
    parser.add_argument("--browsers", type=int, help="of which real Chromium pages (default min(N, 8))")
    parser.add_argument("--csv", help="the table to train on (default: a generated heart-shaped table)")
    parser.add_argument("--target", help="its column to predict (with --csv)")
    parser.add_argument("--epochs", type=int, help="epochs, passed in the link (default: the page's default)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds any one wait may take, setup steps and Train -> results (default 900)")
    parser.add_argument("--quick", action="store_true", help="3 sessions, 1 browser, 5 epochs: check that it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.sessions, args.browsers, args.epochs = 3, 1, args.epochs or 5
    if args.csv and not args.target:
        parser.error("--csv needs --target")
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    args.browsers = min(args.sessions, 8 if args.browsers is None else max(args.browsers, 0))

    tmp = Path(tempfile.mkdtemp(prefix="tapeapp-classroom-"))
    if args.csv:
        table, target, data = Path(args.csv).resolve(), args.target, Path(args.csv).name
    else:
        table, target = tmp / "heart_like.csv", HEART_LIKE_TARGET
        heart_like().to_csv(table, index=False)
        data = "generated heart-shaped table (918 rows)"
    measures = Measures(where=machine())
    server = Server("tapeapp", Path(args.app).resolve(), ROOT, free_port())
    try:
        log(f"server healthy after {server.start(args.timeout):.1f} s")
        measures.cores = server_cores(server)
        sampler = MemorySampler(server.process.pid)
        try:
            asyncio.run(run_class(args, server, table, target, measures))
        finally:
            measures.peak_rss = sampler.stop()
            measures.rss_samples, measures.children = sampler.samples, sampler.children
        measures.hwm = proc_status("VmHWM", server.process.pid)
    finally:
        server.stop()
        for path in tmp.iterdir():
            path.unlink()
        tmp.rmdir()
    report(args, f"{data}, target {target}", measures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
