"""How tapeapp scales with rows: read + inspect + prepare time, epoch speed vs model.fit, and peak memory.

    python bench/scale.py                          # 1k, 10k, 100k, 1M rows x 30 columns
    python bench/scale.py --max-rows 100000        # stop at 100k
    python bench/scale.py --sizes 1000,50000       # any sizes
    python bench/scale.py --quick                  # tiny sizes, to check the script runs
    python bench/scale.py --sizes 1M --profile      # also cProfile read/inspect/prepare of the 1M child
    python bench/scale.py --page                   # the page: upload 10-190 MB CSVs and train, server memory
    python bench/scale.py --page --page-mb 10,50   # chosen file sizes (MiB)

Each size is written as a CSV to a temporary folder (20 number columns, some missing; 9 text columns with 2-20
levels; a 0/1 target) and measured in a fresh Python process, so its peak memory (VmHWM, the kernel's
high-water mark of resident memory) is its own. In that process TensorFlow is imported first (the page imports
it in the background while the user picks a file), then: read_table, inspect_frame, start_run (split +
preprocessing fitted on the training rows + model), tapeapp's epochs at batch 1024 (default preset otherwise:
standard scaling, one-hot, 40 % validation), then model.fit at batch 1024 on the same prepared matrices.
A thread samples VmRSS every 5 ms to give each phase's own peak. tapeapp's seconds per epoch are wall time between
two updates as a consumer sees them; "loop's own" is EpochUpdate.seconds (the compiled epoch call).

With ``--page`` it measures the page instead (issue 13, goal 3): for each file size one fresh ``streamlit run``
server (the project's own config: 200 MB upload limit, memory budget from ``TAPEAPP_MEMORY_BUDGET_MB``) and one
headless chromium page; the server's resident memory (its process tree, sampled every 50 ms) is noted once the
page has trained the built-in sample once (a warm server, as in a class: first traces and imports done) and
before the upload ("before"), then the CSV is uploaded, inspected (the target chosen) and trained
for two epochs to results. It prints the peak above "before" as a multiple of the file's size (goal: <= 3x for
10-200 MB) and the server's absolute peak (goal: <= 2.5 GB for the largest), and whether the page trained on a
sample of the rows (the memory budget's answer for tables that do not fit).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import machine, mb, median_after_warmup, print_table, proc_status, write_wide_csv

BATCH = 1024
DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)


# ---------------------------------------------------------------------------------------------------- the child

class RssSampler:
    """Samples VmRSS every few milliseconds in a thread, so each phase's own peak is known (not just the end)."""

    def __init__(self, every: float = 0.005) -> None:
        self.every, self.current, self.peaks = every, 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.phase = "import"
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            rss = proc_status("VmRSS")
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)
            self._stop.wait(self.every)

    def enter(self, phase: str) -> None:
        rss = proc_status("VmRSS")
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)
        self.phase = phase
        self.peaks[phase] = rss

    def stop(self) -> dict[str, int]:
        self.enter("end")
        self._stop.set()
        self._thread.join()
        return self.peaks


def child(csv: str, epochs: int, fit_epochs: int, profile: str | None, trace: bool) -> dict:
    """Measure one table in this (fresh) process and return the numbers as a dict."""
    sampler = RssSampler()
    out: dict = {"csv_bytes": os.path.getsize(csv)}
    started = time.perf_counter()
    import tapeapp._tf  # noqa: F401  TensorFlow, as the page's warm-up does
    from tapeapp import TrainConfig, inspect_frame, read_table, start_run

    out["import_s"] = time.perf_counter() - started
    out["baseline"] = proc_status("VmRSS")

    profiler = None
    if profile:
        import cProfile
        import tracemalloc

        if trace:
            tracemalloc.start(12)
        profiler = cProfile.Profile()
        profiler.enable()

    sampler.enter("read")
    t = time.perf_counter()
    table = read_table(csv)
    out["read_s"] = time.perf_counter() - t
    sampler.enter("inspect")
    t = time.perf_counter()
    schema = inspect_frame(table.frame, target="target")
    out["inspect_s"] = time.perf_counter() - t
    sampler.enter("prepare")
    t = time.perf_counter()
    config = TrainConfig(batch_size=BATCH, epochs=epochs, seed=0)
    run = start_run(table.frame, schema, config)
    out["prepare_s"] = time.perf_counter() - t
    if profiler is not None:
        profiler.disable()
        snapshot = tracemalloc.take_snapshot() if trace else None
        if trace:
            tracemalloc.stop()
        _write_profile(profile, profiler, snapshot)

    p = run.prepared
    out.update(rows=len(table.frame), train_rows=len(p.y_train), val_rows=len(p.y_val), inputs=p.x_train.shape[1],
               task=run.task, features=len(run.prepared.features),
               matrices_bytes=p.x_train.nbytes + p.x_val.nbytes)
    sampler.enter("epoch 1")
    seconds, loop_seconds, last, update = [], [], time.perf_counter(), None
    for update in run.epochs():
        now = time.perf_counter()
        seconds.append(now - last)
        loop_seconds.append(update.seconds)
        last = now
        sampler.enter("epochs 2+")
    out["epoch_s"] = seconds
    out["tapeapp_s"] = median_after_warmup(seconds)
    out["tapeapp_loop_s"] = median_after_warmup(loop_seconds)
    out["tapeapp_val_accuracy"] = update.validation.get("accuracy") if update else None
    out["peak_tapeapp"] = proc_status("VmHWM")

    sampler.enter("model.fit")
    out["fit_s"], out["fit_val_accuracy"] = _fit(run, fit_epochs)
    out["peak_fit"] = proc_status("VmHWM")
    out["phase_peaks"] = sampler.stop()
    return out


def _fit(run, epochs: int) -> tuple[float, float]:
    """model.fit on the very matrices tapeapp trained on: the same network (a fresh clone), RMSprop 1e-3, batch."""
    import keras

    p = run.prepared
    if run.task != "binary":
        raise SystemExit(f"scale.py compares binary classifiers; the target here is {run.task}")
    keras.utils.set_random_seed(0)  # tapeapp turns on op determinism, which wants a global seed for fit's shuffle
    model = keras.models.clone_model(run.model)
    model.compile(optimizer=keras.optimizers.RMSprop(run.config.learning_rate),
                  loss=keras.losses.BinaryCrossentropy(), metrics=[keras.metrics.BinaryAccuracy(name="accuracy")])
    seconds: list[float] = []

    class Times(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.t)

    history = model.fit(p.x_train, p.y_train, batch_size=BATCH, epochs=epochs, verbose=0,
                        validation_data=(p.x_val, p.y_val), callbacks=[Times()])
    return median_after_warmup(seconds), float(history.history["val_accuracy"][-1])


def _write_profile(path: str, profiler, snapshot) -> None:
    import io
    import pstats

    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)
    if snapshot is None:
        Path(path).write_text(buffer.getvalue())
        return
    buffer.write("\n\ntracemalloc: Python allocations still alive after read+inspect+prepare, top 15 by size\n")
    for stat in snapshot.statistics("traceback")[:15]:
        buffer.write(f"\n{stat.size / 1e6:8.1f} MB in {stat.count} blocks\n")
        frames = [f for f in stat.traceback.format() if "/tapeapp/" in f or "bench/" in f] or stat.traceback.format()
        buffer.write("\n".join(frames[-8:]) + "\n")
    Path(path).write_text(buffer.getvalue())


# ---------------------------------------------------------------------------------------------------- the parent

def measure(csv: Path, args: argparse.Namespace, profile: Path | None) -> dict:
    command = [sys.executable, __file__, "--child", str(csv), "--epochs", str(args.epochs),
               "--fit-epochs", str(args.fit_epochs)]
    if profile:
        command += ["--profile-out", str(profile)] + (["--tracemalloc"] if args.tracemalloc else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"measuring {csv.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


PHASES = ("read", "inspect", "prepare", "epoch 1", "epochs 2+", "model.fit")


def report(results: list[dict], args: argparse.Namespace) -> None:
    print(f"\n## scale: {args.columns} columns, batch {BATCH}, tapeapp {args.epochs} epochs / model.fit "
          f"{args.fit_epochs} epochs (median after the first); default preset (one-hot, standard scaling)")
    print(f"{machine()}\n")
    rows = []
    for r in results:
        ours, theirs = r["train_rows"] / r["tapeapp_s"], r["train_rows"] / r["fit_s"]
        peak, base = r["peak_tapeapp"], r["baseline"]
        rows.append([
            f"{r['rows']:,}", mb(r["csv_bytes"]),
            f"{r['read_s']:.2f} / {r['inspect_s']:.2f} / {r['prepare_s']:.2f}",
            f"{r['tapeapp_s']:.3f} ({r['tapeapp_loop_s']:.3f})", f"{ours:,.0f}", f"{theirs:,.0f}",
            f"{ours / theirs:.2f}", mb(peak), f"{peak / r['csv_bytes']:.1f}", mb(peak - base),
            f"{(peak - base) / r['csv_bytes']:.1f}",
            f"{r['tapeapp_val_accuracy'] * 100:.1f} / {r['fit_val_accuracy'] * 100:.1f}",
        ])
    print_table(rows, ["rows", "CSV", "read / inspect / prepare s", "tapeapp s/epoch (loop's own)",
                       "tapeapp samples/s", "fit samples/s", "tapeapp / fit", "peak RSS", "peak / CSV",
                       "peak - baseline", "(peak - baseline) / CSV", "val acc % tapeapp / fit"])

    print(f"\nPeak RSS within each phase (baseline = Python + TensorFlow + pandas imported, "
          f"{mb(results[0]['baseline'])}); training matrices = x_train + x_val as float32:")
    print_table([[f"{r['rows']:,}", mb(r["csv_bytes"]), mb(r["matrices_bytes"]), str(r["inputs"])]
                 + [mb(r["phase_peaks"].get(ph, 0)) for ph in PHASES] for r in results],
                ["rows", "CSV", "matrices", "inputs"] + list(PHASES))

    print("\nCost per row (1.0 = the same per-row cost as the size before: linear growth):")
    lines, before = [], None
    for r in results:
        setup = (r["read_s"] + r["inspect_s"] + r["prepare_s"]) / r["rows"]
        epoch = r["tapeapp_s"] / r["train_rows"]
        memory = (r["peak_tapeapp"] - r["baseline"]) / r["rows"]
        ratio = (lambda now, then: f" (x{now / then:.2f})" if then else "")
        lines.append([f"{r['rows']:,}", f"{setup * 1e6:.1f}" + ratio(setup, before and before[0]),
                      f"{epoch * 1e6:.2f}" + ratio(epoch, before and before[1]),
                      f"{memory:,.0f}" + ratio(memory, before and before[2])])
        before = (setup, epoch, memory)
    print_table(lines, ["rows", "read+inspect+prepare us/row", "tapeapp epoch us/train row",
                        "peak above baseline bytes/row"])

    largest = max(results, key=lambda r: r["rows"])
    peak_ratio = largest["peak_tapeapp"] / largest["csv_bytes"]
    above = (largest["peak_tapeapp"] - largest["baseline"]) / largest["csv_bytes"]
    speed_ratio = largest["fit_s"] / largest["tapeapp_s"]
    print(f"\nGoals at {largest['rows']:,} rows:")
    print(f"- [{'met' if peak_ratio <= 3 else 'MISSED'}] peak RSS <= 3x the CSV size: {peak_ratio:.2f}x "
          f"({mb(largest['peak_tapeapp'])} for a {mb(largest['csv_bytes'])} CSV; {above:.2f}x counting only "
          "memory above the TensorFlow baseline)")
    print(f"- [{'met' if speed_ratio >= 1 else 'MISSED'}] samples/s >= model.fit's: {speed_ratio:.2f}x")


# ---------------------------------------------------------------------------------------------------- the page

PAGE_MB = (10, 50, 100, 190)  # MiB; 190 rather than 200 keeps the file under the 200 MB upload limit
BYTES_PER_ROW = 169  # of write_wide_csv's 30-column rows, measured: 1M rows = 169 MB
PAGE_EPOCHS = 2


def page_memory(csv: Path, columns: int, timeout: float) -> dict:
    """One fresh server and page: its memory before the upload, and its peak while reading, inspecting, training."""
    from classroom import MemorySampler
    from playwright.sync_api import sync_playwright

    from _common import ROOT
    from page_speed import CHROMIUM, CHROMIUM_ARGS, IDLE, Server, _wait_idle, choose_target, free_port

    server = Server("tapeapp", ROOT / "streamlit_app.py", ROOT, free_port())
    server.start(timeout)
    out: dict = {"csv_bytes": csv.stat().st_size}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.url}?epochs={PAGE_EPOCHS}&target=target", timeout=timeout * 1000)
            page.wait_for_selector("[data-testid='stFileUploaderDropzoneInput']", state="attached",
                                   timeout=timeout * 1000)
            _wait_idle(page, timeout)
            page.locator(".st-key-train button").click()  # warm-up on the built-in sample: first traces, imports
            page.get_by_text(re.compile(r"Run 1: predicting")).first.wait_for(timeout=timeout * 1000)
            _wait_idle(page, timeout)
            time.sleep(1.0)
            out["before"] = sampled_rss(server.process.pid)
            sampler = MemorySampler(server.process.pid)
            started = time.perf_counter()
            page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(csv))
            page.get_by_text(re.compile(rf"rows × {columns} columns")).first.wait_for(timeout=timeout * 1000)
            choose_target(page, "target", timeout)
            _wait_idle(page, timeout)
            out["read_s"] = time.perf_counter() - started
            out["peak_read"] = sampler.peak
            started = time.perf_counter()
            page.locator(".st-key-train button").click()
            page.get_by_text(re.compile(r"Run 2: predicting")).first.wait_for(timeout=timeout * 1000)
            _wait_idle(page, timeout)
            out["train_s"] = time.perf_counter() - started
            text = page.locator("[data-testid='stMain']").inner_text()
            out["sampled"] = bool(re.search(r"trains on a\s+random [\d,]+ of them", text))
            out["errors"] = [e.inner_text()[:200] for e in page.locator(
                "[data-testid='stException'], [data-testid='stAlertContentError']").all()]
            page.wait_for_selector(IDLE, timeout=timeout * 1000)
            out["peak"] = sampler.stop()
            out["after"] = sampled_rss(server.process.pid)
            browser.close()
    finally:
        server.stop()
    return out


def sampled_rss(pid: int) -> int:
    """Resident memory of a process and its children now, in bytes."""
    from _common import tree_rss

    return tree_rss(pid)


def page_report(results: list[dict]) -> None:
    print(f"\n## scale on the page: upload a {results[0]['columns']}-column CSV, choose the target, train "
          f"{PAGE_EPOCHS} epochs to results; one fresh server per size")
    print(f"{machine()}\n")
    rows = []
    for r in results:
        above = r["peak"] - r["before"]
        rows.append([mb(r["csv_bytes"]), f"{r['rows']:,}", mb(r["before"]), mb(r["peak_read"]), mb(r["peak"]),
                     mb(above), f"{above / r['csv_bytes']:.1f}x", "yes" if r["sampled"] else "no",
                     f"{r['read_s']:.1f} / {r['train_s']:.1f}", "; ".join(r["errors"]) or "none"])
    print_table(rows, ["CSV", "rows", "server before upload", "peak reading + inspecting", "peak to results",
                       "peak above before", "above / CSV (goal <= 3x)", "trained on a sample",
                       "upload+inspect / train s", "errors"])
    largest = max(results, key=lambda r: r["csv_bytes"])
    worst = max(results, key=lambda r: (r["peak"] - r["before"]) / r["csv_bytes"])
    ratio = (worst["peak"] - worst["before"]) / worst["csv_bytes"]
    print("\nGoals (issue 13, goal 3):")
    print(f"- [{'met' if ratio <= 3 else 'MISSED'}] peak above the server's level before the upload <= 3x the "
          f"file's size at every size: worst {ratio:.1f}x (at {mb(worst['csv_bytes'])})")
    print(f"- [{'met' if largest['peak'] <= 2.5e9 and not largest['errors'] else 'MISSED'}] the "
          f"{mb(largest['csv_bytes'])} CSV read, inspected and trained with the server <= 2.5 GB: peak "
          f"{largest['peak'] / 1e9:.2f} GB{', on a sample of its rows' if largest['sampled'] else ''}")


def run_pages(args: argparse.Namespace, folder: Path) -> int:
    sizes = [float(x) for x in args.page_mb.split(",")] if args.page_mb else list(PAGE_MB)
    results = []
    for size in sizes:
        rows = int(size * 2 ** 20 / BYTES_PER_ROW)
        csv = folder / f"wide_{rows}x{args.columns}.csv"
        if not csv.exists():
            write_wide_csv(csv, rows, args.columns)
        r = page_memory(csv, args.columns, timeout=600)
        r.update(rows=rows, columns=args.columns)
        results.append(r)
        print(f"{mb(r['csv_bytes'])}: before {mb(r['before'])}, peak {mb(r['peak'])}, "
              f"{(r['peak'] - r['before']) / r['csv_bytes']:.1f}x, sampled {r['sampled']}, errors {r['errors']}",
              file=sys.stderr, flush=True)
        if not args.keep:
            csv.unlink()
    page_report(results)
    return 0


def parse_sizes(text: str) -> list[int]:
    return [int(float(s.replace("_", "").replace("k", "e3").replace("M", "e6"))) for s in text.split(",") if s]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="comma-separated row counts (1k, 10k, 1M work too)")
    parser.add_argument("--max-rows", type=float, default=None, help="leave out sizes above this")
    parser.add_argument("--columns", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=3, help="tapeapp epochs per size (first is a warm-up)")
    parser.add_argument("--fit-epochs", type=int, default=3, help="model.fit epochs per size (first is a warm-up)")
    parser.add_argument("--quick", action="store_true", help="1k and 5k rows, 2 epochs: check that it runs")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile read+inspect+prepare of the largest size (written next to the CSVs)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="with --profile: also list live Python allocations (slows prepare many times)")
    parser.add_argument("--keep", help="write the CSVs (and profiles) to this folder and keep them")
    parser.add_argument("--page", action="store_true",
                        help="measure the page's server instead: upload CSVs of --page-mb MiB and train them")
    parser.add_argument("--page-mb", help="with --page: comma-separated file sizes in MiB (default 10,50,100,190)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", dest="profile_out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.epochs, args.fit_epochs, args.profile_out, args.tracemalloc)))
        return 0

    if args.page:
        folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tapeapp-scale-"))
        folder.mkdir(parents=True, exist_ok=True)
        return run_pages(args, folder)
    sizes = parse_sizes(args.sizes) if args.sizes else list(DEFAULT_SIZES)
    if args.quick:
        sizes, args.epochs, args.fit_epochs = [1_000, 5_000], 2, 2
    if args.max_rows:
        sizes = [s for s in sizes if s <= args.max_rows]
    if not sizes:
        parser.error("no sizes left to measure")
    if args.epochs < 2 or args.fit_epochs < 2:
        parser.error("--epochs and --fit-epochs must be at least 2 (the first is a warm-up)")
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tapeapp-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for rows in sorted(sizes):
            csv = folder / f"wide_{rows}x{args.columns}.csv"
            if not csv.exists():
                t = time.perf_counter()
                write_wide_csv(csv, rows, args.columns)
                print(f"wrote {csv.name} ({mb(csv.stat().st_size)}) in {time.perf_counter() - t:.1f} s",
                      file=sys.stderr, flush=True)
            profile = folder / f"profile_{rows}.txt" if args.profile and rows == max(sizes) else None
            r = measure(csv, args, profile)
            results.append(r)
            print(f"{rows:>9,} rows: setup {r['read_s'] + r['inspect_s'] + r['prepare_s']:.2f} s, "
                  f"{r['tapeapp_s']:.3f} s/epoch (fit {r['fit_s']:.3f}), peak {mb(r['peak_tapeapp'])}",
                  file=sys.stderr, flush=True)
            if profile:
                print(f"profile written to {profile}", file=sys.stderr)
    finally:
        if not args.keep:
            for f in folder.glob("*.csv"):
                f.unlink()
            if not any(folder.iterdir()):
                folder.rmdir()
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
