"""The page in a real browser: server start, first paint, Train -> first chart, epochs/s vs the CLI, server memory.

    python bench/page_speed.py                       # streamlit_app.py vs a one-line hello-world app
    python bench/page_speed.py --csv heart.csv --target HeartDisease --epochs 200
    python bench/page_speed.py --stub                # a small stand-in page built on tapeapp's API
    python bench/page_speed.py --quick               # fewer repeats and epochs: check that it runs
    python bench/page_speed.py --against 96e437e     # this checkout's page vs the page at another commit

Chromium (``/usr/bin/chromium``, headless) is driven by Playwright's sync API; each page open uses a fresh browser
context, i.e. a new Streamlit session. Times:

- server start -> healthy: ``streamlit run`` launched until ``/_stcore/health`` answers ``ok``;
- page open -> first paint: ``page.goto`` until the app's first element is visible (hello-world's text, tapeapp's
  title); "interactive" is until tapeapp's Train button can be clicked (hello-world: the same as first paint).
  The first open after a server start is reported apart from the median of the following ones;
- Train -> first chart: the click until the first Altair chart (``stVegaLiteChart``) beyond those on the page;
- epochs/s: from the page's progress text ("Epoch k / n", timed by a MutationObserver in the page) between the
  first epoch seen and the last; the CLI's from the timestamps of its per-epoch stderr lines, epoch 1 to n.
  Both leave out setup and the first (tracing) epoch;
- memory: VmRSS (and VmHWM, the peak) of the streamlit process and its children after the run finished.

With ``--against REF`` the script instead trains the same table on this checkout's page and on the page (and core)
at git commit REF, checked out in a temporary worktree: ``--rounds`` rounds, the two pages in turn with a fresh
server each, and prints the median epochs/s, Train -> first chart and Train -> finished of each and their ratios.

The table is uploaded through the page's file uploader; epochs come from the link (``?epochs=200``), which the
page reads into its TrainConfig, so the page and ``python -m tapeapp train DATA --epochs 200`` run the same setup.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    HEART_LIKE_TARGET,
    ROOT,
    cpu_seconds,
    descendants,
    git_head,
    heart_like,
    machine,
    mb,
    print_table,
    proc_status,
    tree_rss,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
HELLO = 'import streamlit as st\n\nst.write("Hello, world")\n'
FIRST_ELEMENT = "[data-testid='stMainBlockContainer'] [data-testid='stElementContainer']"
CHART = "[data-testid='stVegaLiteChart']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
DONE_TEXT = "Finished all"
MEMORY_BUDGET = 690e6

# A stand-in page with the same landmarks as streamlit_app.py (file uploader, Train/Stop, progress "Epoch k / n",
# Altair charts, the run's "Finished all ..." message), built on tapeapp's public API; for testing this script.
STUB = '''
import altair as alt
import pandas as pd
import streamlit as st

import tapeapp

st.title("tapeapp stub")
upload = st.file_uploader("Upload a table", key="upload")
train, stop = st.columns(2)
clicked = train.button("Train", key="train", disabled=upload is None)
stop.button("Stop", key="stop")
if upload is None:
    st.stop()
table = tapeapp.read_table(upload.getvalue(), upload.name)
schema = tapeapp.inspect_frame(table.frame)
config = tapeapp.TrainConfig.from_dict({k: v for k, v in st.query_params.to_dict().items() if k != "target"})
if clicked:
    run = tapeapp.start_run(table.frame, schema, config)
    progress, chart = st.empty(), st.empty()
    for update in run.epochs():
        progress.progress(update.epoch / update.epochs, text=f"Epoch {update.epoch} / {update.epochs}")
        history = run.history_frame()
        chart.altair_chart(alt.Chart(history).mark_line().encode(x="epoch", y="train_loss"))
    st.success(run.message)
'''

OBSERVER = """
() => {
  window.__marks = [];
  window.__charts = [];
  let last = -1, charts = document.querySelectorAll("%s").length;
  const look = () => {
    const t = performance.now();
    const n = document.querySelectorAll("%s").length;
    if (n !== charts) { charts = n; window.__charts.push([t, n]); }
    for (const bar of document.querySelectorAll("[data-testid='stProgress']")) {
      const m = (bar.innerText || "").match(/Epoch (\\d+) \\/ (\\d+)/);
      if (m && +m[1] !== last) { last = +m[1]; window.__marks.push([t, +m[1], +m[2]]); }
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
  return charts;
}
""".replace("%s", CHART)


@dataclass
class Server:
    name: str
    app: Path
    cwd: Path
    port: int
    process: subprocess.Popen | None = None
    starts: list[float] = field(default_factory=list)
    root: Path = ROOT  # where its tapeapp package is imported from

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float) -> float:
        self.stop()
        command = [sys.executable, "-m", "streamlit", "run", str(self.app), "--server.port", str(self.port),
                   "--server.headless", "true", "--browser.gatherUsageStats", "false",
                   "--server.fileWatcherType", "none"]
        started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        env={**os.environ, "PYTHONPATH": str(self.root)})
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # never let the pipe fill
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit for {self.app} exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "_stcore/health", timeout=1) as answer:
                    if answer.read().strip() == b"ok":
                        seconds = time.perf_counter() - started
                        self.starts.append(seconds)
                        return seconds
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"streamlit for {self.app} was not healthy after {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def memory(self) -> tuple[int, int, int]:
        """(resident now of the server and its children, of which anonymous, the server's own peak) in bytes."""
        pid = self.process.pid
        return tree_rss(pid), tree_rss(pid, "RssAnon"), proc_status("VmHWM", pid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------------- page measures

TRAIN_ENABLED = ("() => { const b = Array.from(document.querySelectorAll('button'))"
                 ".find(b => b.innerText.trim() === 'Train'); return !!b && !b.disabled; }")
TRAIN_SHOWN = ("() => Array.from(document.querySelectorAll('button')).some(b => b.innerText.trim() === 'Train')")


def open_page(browser, url: str, interactive: bool, timeout: float, stub: bool = False) -> tuple[float, float]:
    """Fresh context, open the page: (seconds to the first app element, seconds until interactive)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=timeout * 1000)
        page.wait_for_selector(FIRST_ELEMENT, state="visible", timeout=timeout * 1000)
        paint = time.perf_counter() - started
        ready = paint
        if interactive:
            page.wait_for_function(TRAIN_SHOWN if stub else TRAIN_ENABLED, timeout=timeout * 1000, polling=20)
            ready = time.perf_counter() - started
        return paint, ready
    finally:
        context.close()


def open_with_table(context, server: Server, csv: Path, target: str, epochs: int, timeout: float):
    """A new page in ``context`` with the link's epochs and target, the table uploaded and the target chosen."""
    page = context.new_page()
    page.goto(f"{server.url}?epochs={epochs}&target={target}", timeout=timeout * 1000)
    page.wait_for_selector(FIRST_ELEMENT, state="visible", timeout=timeout * 1000)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(csv))
    page.wait_for_selector(f"text={csv.name}", timeout=timeout * 1000)
    choose_target(page, target, timeout)
    return page


def train_in_page(browser, server: Server, csv: Path, target: str, epochs: int, timeout: float) -> dict:
    """Upload the table, click Train, and time the first chart and the epochs as the page shows them."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = open_with_table(context, server, csv, target, epochs, timeout)
        train = page.get_by_role("button", name="Train", exact=True).first
        train.wait_for(state="visible", timeout=timeout * 1000)
        _wait_idle(page, timeout)
        page.wait_for_function(TRAIN_ENABLED, timeout=timeout * 1000, polling=50)
        charts_before = page.evaluate(OBSERVER)
        server_pids = descendants(server.process.pid)
        browser_pids = descendants(os.getpid()) - server_pids - {os.getpid()}
        cpu_before = cpu_seconds(server_pids), cpu_seconds(browser_pids), time.perf_counter()
        clicked_at = page.evaluate("performance.now()")
        train.click()
        page.wait_for_function(f"() => document.querySelectorAll(\"{CHART}\").length > {charts_before}",
                               timeout=timeout * 1000, polling="raf")
        first_chart = (page.evaluate("performance.now()") - clicked_at) / 1000
        page.wait_for_selector(f"text={DONE_TEXT}", timeout=max(timeout, epochs * 2) * 1000)
        finished = (page.evaluate("performance.now()") - clicked_at) / 1000
        browser_pids |= descendants(os.getpid()) - descendants(server.process.pid) - {os.getpid()}
        cpu = (cpu_seconds(descendants(server.process.pid)) - cpu_before[0],
               cpu_seconds(browser_pids) - cpu_before[1], time.perf_counter() - cpu_before[2])
        charts = page.evaluate("window.__charts")
        if charts:
            first_chart = min(first_chart, (charts[0][0] - clicked_at) / 1000)
        marks = page.evaluate("window.__marks")
        _wait_idle(page, timeout)
        rss, anon, peak = server.memory()
    finally:
        context.close()
    marks = [m for m in marks if m[1] >= 1]  # "Epoch 0 / n" is drawn before the first epoch
    if len(marks) < 2:
        raise RuntimeError(f"saw {len(marks)} progress update(s) on the page; cannot time epochs")
    (t0, e0, total), (t1, e1, _) = marks[0], marks[-1]
    return {"first_chart_s": first_chart, "train_to_done_s": finished, "epochs": total,
            "epochs_per_s": (e1 - e0) / ((t1 - t0) / 1000), "epochs_timed": e1 - e0, "first_epoch_seen": e0,
            "rss": rss, "anon": anon, "peak": peak,
            "cpu_server_s": cpu[0], "cpu_browser_s": cpu[1], "cpu_wall_s": cpu[2]}


def choose_target(page, target: str, timeout: float) -> None:
    """Make sure the column to predict is ``target`` (the page guesses it; the link may have set it)."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="predict").first
    try:
        box.wait_for(state="visible", timeout=min(timeout, 30) * 1000)
    except Exception:  # noqa: BLE001  (the stub page has no target box)
        return
    if box.locator(f"text={target}").count():
        return
    box.click()
    page.keyboard.type(target)
    page.keyboard.press("Enter")
    _wait_idle(page, timeout)


def _wait_idle(page, timeout: float) -> None:
    """Until the script run is over: Streamlit marks the app 'notRunning' (checked twice, 150 ms apart)."""
    for _ in range(2):
        time.sleep(0.15)
        page.wait_for_selector(IDLE, timeout=timeout * 1000)


RESULTS_EPOCHS = 60  # the page's default run
CORE_TIMER = """
import statistics, sys, time
import tapeapp
table = tapeapp.read_table(sys.argv[1])
schema = tapeapp.inspect_frame(table.frame, target=sys.argv[2])
config = tapeapp.TrainConfig(epochs=int(sys.argv[3]))
times = []
for i in range(int(sys.argv[4]) + 1):  # the first is the warm-up: TensorFlow's first trace, lazy imports
    started = time.perf_counter()
    run = tapeapp.start_run(table.frame, schema, config)
    run.fit()
    tapeapp.evaluate(run)
    times.append(time.perf_counter() - started)
print(statistics.median(times[1:]))
"""


def core_seconds(csv: Path, target: str, epochs: int, repeats: int = 5) -> float:
    """The core's own time for the page's run in a warm process: prepare, every epoch, evaluation (median)."""
    out = subprocess.run([sys.executable, "-c", CORE_TIMER, str(csv), target, str(epochs), str(repeats)], cwd=ROOT,
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return float(out.stdout.strip().splitlines()[-1])


def results_in_page(browser, server: Server, csv: Path, target: str, runs: int, timeout: float) -> list[float]:
    """Train -> results ('Run k: predicting ...' under the results header) for runs 2..runs of one session; the
    first run warms the server as the core's warm-up run warms its process."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    seconds = []
    try:
        page = open_with_table(context, server, csv, target, RESULTS_EPOCHS, timeout)
        for number in range(1, runs + 1):
            _wait_idle(page, timeout)
            page.wait_for_function(TRAIN_ENABLED, timeout=timeout * 1000, polling=50)
            clicked = page.evaluate("performance.now()")
            page.get_by_role("button", name="Train", exact=True).first.click()
            page.get_by_text(f"Run {number}: predicting").first.wait_for(timeout=timeout * 1000)
            if number > 1:
                seconds.append((page.evaluate("performance.now()") - clicked) / 1000)
    finally:
        context.close()
    return seconds


def cli_speed(csv: Path, target: str, epochs: int) -> dict:
    """``python -m tapeapp train`` on the same file; epochs/s from the timestamps of its per-epoch stderr lines."""
    command = [sys.executable, "-u", "-m", "tapeapp", "train", str(csv), "--target", target, "--epochs", str(epochs)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stamps: dict[int, float] = {}
    for line in process.stderr:
        match = re.match(r"epoch (\d+)/(\d+)", line)
        if match:
            stamps[int(match.group(1))] = time.perf_counter()
    process.wait()
    total = time.perf_counter() - started
    if process.returncode != 0 or len(stamps) < 2:
        raise RuntimeError(f"{' '.join(command)} failed with {process.returncode}")
    first, last = min(stamps), max(stamps)
    return {"epochs_per_s": (last - first) / (stamps[last] - stamps[first]), "wall_s": total}


# ---------------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", default=str(ROOT / "streamlit_app.py"), help="the page to measure")
    parser.add_argument("--stub", action="store_true", help="measure a small stand-in page instead of --app")
    parser.add_argument("--csv", help="the table to train on (default: a generated heart-shaped table)")
    parser.add_argument("--target", help="its column to predict (with --csv)")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5, help="page opens per app (fresh browser context each)")
    parser.add_argument("--server-starts", type=int, default=3, help="server starts per app")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--result-runs", type=int, default=3, help="timed Train -> results runs (after a warm-up)")
    parser.add_argument("--against", metavar="REF", help="compare with the page at this git commit instead")
    parser.add_argument("--rounds", type=int, default=3, help="with --against: page runs per side")
    parser.add_argument("--quick", action="store_true",
                        help="2 opens, 1 start, 300 epochs (about a second): check that it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.server_starts, args.epochs, args.result_runs = 2, 1, min(args.epochs, 300), 1
    if args.csv and not args.target:
        parser.error("--csv needs --target")

    from playwright.sync_api import sync_playwright

    if args.against:
        return against(args)
    tmp = Path(tempfile.mkdtemp(prefix="tapeapp-page-"))
    (tmp / "hello.py").write_text(HELLO)
    if args.stub:
        (tmp / "stub_app.py").write_text(STUB)
    app = tmp / "stub_app.py" if args.stub else Path(args.app).resolve()
    if not app.exists():
        sys.exit(f"{app} does not exist yet; run with --stub to test this script against a stand-in page")
    if args.csv:
        csv, target = Path(args.csv).resolve(), args.target
    else:
        csv, target = tmp / "heart_like.csv", HEART_LIKE_TARGET
        heart_like().to_csv(csv, index=False)

    hello = Server("hello-world", tmp / "hello.py", tmp, free_port())
    ours = Server("tapeapp" + (" (stub)" if args.stub else ""), app, ROOT if not args.stub else tmp, free_port())
    opens: dict[str, list[tuple[float, float]]] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for server, interactive in ((hello, False), (ours, True)):
                for _ in range(args.server_starts):
                    seconds = server.start(args.timeout)
                    print(f"{server.name}: healthy after {seconds:.2f} s", file=sys.stderr, flush=True)
                opens[server.name] = [open_page(browser, server.url, interactive, args.timeout, args.stub)
                                      for _ in range(args.repeats)]
                print(f"{server.name}: opens {[(round(a, 2), round(b, 2)) for a, b in opens[server.name]]}",
                      file=sys.stderr, flush=True)
                if server is hello:
                    hello_rss = tree_rss(hello.process.pid)
                    hello.stop()
            idle_rss = tree_rss(ours.process.pid)
            page = train_in_page(browser, ours, csv, target, args.epochs, args.timeout)
            print(f"page run: {page}", file=sys.stderr, flush=True)
            results = results_in_page(browser, ours, csv, target, args.result_runs + 1, args.timeout)
            print(f"page Train -> results: {results}", file=sys.stderr, flush=True)
            browser.close()
        ours.stop()  # the CLI and the core run alone
        cli = cli_speed(csv, target, args.epochs)
        core = core_seconds(csv, target, RESULTS_EPOCHS)
        print(f"core warm run: {core:.3f} s", file=sys.stderr, flush=True)
        print(f"cli: {cli}", file=sys.stderr, flush=True)
    finally:
        hello.stop()
        ours.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    def warm(name: str, i: int) -> float:
        values = [o[i] for o in opens[name][1:]] or [opens[name][0][i]]
        return statistics.median(values)

    h, t = hello.name, ours.name
    paint_gap = warm(t, 0) - warm(h, 0)
    ratio = page["epochs_per_s"] / cli["epochs_per_s"]
    rows = [
        ["server start -> healthy, s (median)", f"{statistics.median(hello.starts):.2f}",
         f"{statistics.median(ours.starts):.2f}", "", ""],
        ["page open -> first paint, first open after start, s", f"{opens[h][0][0]:.2f}", f"{opens[t][0][0]:.2f}",
         "", ""],
        [f"page open -> first paint, median of next {max(args.repeats - 1, 1)}, s", f"{warm(h, 0):.2f}",
         f"{warm(t, 0):.2f}", "tapeapp within 0.5 s of hello", _ok(paint_gap <= 0.5) + f" ({paint_gap:+.2f} s)"],
        ["page open -> Train clickable, first / median of next, s", "-",
         f"{opens[t][0][1]:.2f} / {warm(t, 1):.2f}", "", ""],
        ["Train click -> first chart, s", "-", f"{page['first_chart_s']:.2f}", "<= 3 s",
         _ok(page["first_chart_s"] <= 3)],
        [f"Train click -> '{DONE_TEXT}' ({page['epochs']} epochs), s", "-", f"{page['train_to_done_s']:.2f}",
         "", f"CLI process: {cli['wall_s']:.2f} s"],
        ["epochs/s page (steady, epochs "
         f"{page['first_epoch_seen']}-{page['first_epoch_seen'] + page['epochs_timed']}) / CLI", "-",
         f"{page['epochs_per_s']:.0f} / {cli['epochs_per_s']:.0f} = {ratio:.2f}", ">= 0.9", _ok(ratio >= 0.9)],
        [f"Train -> results ({RESULTS_EPOCHS} epochs, warm; median of {len(results)}) page / core's own run, s", "-",
         f"{statistics.median(results):.2f} / {core:.2f} = {statistics.median(results) / core:.1f}x", "<= 1.5x",
         _ok(statistics.median(results) <= 1.5 * core)],
        ["CPU seconds from Train to finished: server / browser (wall)", "-",
         f"{page['cpu_server_s']:.1f} / {page['cpu_browser_s']:.1f} ({page['cpu_wall_s']:.1f} s wall, "
         f"{os.cpu_count()} CPUs)", "", ""],
        ["server RSS: idle after opens -> after the run (peak)", mb(hello_rss),
         f"{mb(idle_rss)} -> {mb(page['rss'])} ({mb(page['peak'])})", "fits ~690 MB",
         _ok(max(page["rss"], page["peak"]) <= MEMORY_BUDGET)],
        ["  of which anonymous (RssAnon; the rest is file-backed, mostly TensorFlow's .so)", "-",
         mb(page["anon"]), "", ""],
    ]
    data = csv.name if args.csv else "generated heart-shaped table (918 rows)"
    print(f"\n## page_speed: {app.name} vs a one-line hello-world; data {data}; {args.server_starts} server "
          f"start(s), {args.repeats} page opens per app; headless Chromium")
    print(f"{machine()}\n")
    print_table(rows, ["measure", "hello-world", t, "goal", "met?"])
    return 0


def against(args: argparse.Namespace) -> int:
    """This checkout's page and the page at ``args.against``, trained on the same table in turn."""
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="tapeapp-against-"))
    other = tmp / "other"
    subprocess.run(["git", "worktree", "add", "--detach", str(other), args.against], cwd=ROOT, check=True,
                   capture_output=True)
    if args.csv:
        csv, target = Path(args.csv).resolve(), args.target
    else:
        csv, target = tmp / "heart_like.csv", HEART_LIKE_TARGET
        heart_like().to_csv(csv, index=False)
    sides = {f"this checkout ({git_head()})": ROOT, f"at {args.against}": other}
    results: dict[str, list[dict]] = {name: [] for name in sides}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for i in range(args.rounds):
                for name, root in (sides.items() if i % 2 == 0 else reversed(sides.items())):
                    server = Server(name, root / "streamlit_app.py", root, free_port(), root=root)
                    try:
                        server.start(args.timeout)
                        open_page(browser, server.url, True, args.timeout)  # the first open warms the server
                        result = train_in_page(browser, server, csv, target, args.epochs, args.timeout)
                    finally:
                        server.stop()
                    results[name].append(result)
                    print(f"{name}: {result}", file=sys.stderr, flush=True)
            browser.close()
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    mine, theirs = (results[name] for name in sides)

    def med(runs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    rows = []
    for key, label in (("epochs_per_s", "epochs/s on the page (steady)"), ("first_chart_s", "Train -> first chart, s"),
                       ("train_to_done_s", f"Train -> '{DONE_TEXT}', s"), ("cpu_server_s", "server CPU seconds")):
        a, b = med(mine, key), med(theirs, key)
        rows.append([label, f"{a:.3g}", f"{b:.3g}", f"{a / b:.2f}"])
    data = csv.name if args.csv else "generated heart-shaped table (918 rows)"
    print(f"\n## page_speed --against {args.against}: {data}, {args.epochs} epochs, {args.rounds} rounds, median")
    print(f"{machine()}\n")
    print_table(rows, ["measure", *sides, "ratio"])
    return 0


def _ok(flag: bool) -> str:
    return "met" if flag else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
