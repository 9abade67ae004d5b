"""How long the report (report.html, issue 19 goal 4) takes and how big it is, and what vl-convert adds to a process.

    python bench/report_speed.py            # heart-shaped, 60 columns, a long history and a big network
    python bench/report_speed.py --quick    # tiny sizes: check that it runs

First, in this process: importing ``vl_convert`` (time, resident memory) and its first drawing, which starts its
JavaScript engine (V8 inside the extension). Then for each table, trained with the default knobs and the simpler
models: the first report (it computes importance, the decision map and advice itself), a second one with the
page's importance handed in (what the download button will do), how much of that is drawing charts, and the size.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from _common import HEART_LIKE_TARGET, heart_like, machine, print_table, proc_status, wide_chunk


def _mb(value: int) -> str:
    return f"{value / 1e6:,.0f}"


def vl_convert_cost() -> list[list[str]]:
    """Import and first drawing of vl-convert, after tapeapp's own imports (Altair, TensorFlow) are paid."""
    import altair as alt

    from tapeapp.report import charts  # noqa: F401  (Altair and pandas in memory first: count only vl-convert)

    before = proc_status("VmRSS")
    started = time.perf_counter()
    import vl_convert

    imported, after_import = time.perf_counter() - started, proc_status("VmRSS")
    chart = alt.Chart(pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})).mark_line().encode(x="x:Q", y="y:Q")
    started = time.perf_counter()
    vl_convert.vegalite_to_svg(chart.to_dict(), allowed_base_urls=[])
    first, after_first = time.perf_counter() - started, proc_status("VmRSS")
    started = time.perf_counter()
    for _ in range(5):
        vl_convert.vegalite_to_svg(chart.to_dict(), allowed_base_urls=[])
    again = (time.perf_counter() - started) / 5
    return [["import vl_convert", f"{imported * 1000:,.0f}", _mb(after_import - before)],
            ["first drawing (starts its engine)", f"{first * 1000:,.0f}", _mb(after_first - after_import)],
            ["a small chart, warm", f"{again * 1000:,.0f}", _mb(proc_status("VmRSS") - after_first)]]


def measure(name: str, frame: pd.DataFrame, target: str, **knobs) -> list[str]:
    import tapeapp
    from tapeapp.explain import insight
    from tapeapp.report import build as report
    from tapeapp.report import sections

    table = tapeapp.read_table(frame.to_csv(index=False).encode(), name=f"{name}.csv")
    schema = tapeapp.inspect_frame(table.frame, target=target)
    run = tapeapp.start_run(table.frame, schema, tapeapp.TrainConfig(**knobs), baselines=tapeapp.start_baselines)
    started = time.perf_counter()
    run.fit()
    trained = time.perf_counter() - started
    run.wait_baselines()
    drawing = [0.0]
    draw = sections.svg

    def timed_svg(*args, **kwargs):
        begun = time.perf_counter()
        try:
            return draw(*args, **kwargs)
        finally:
            drawing[0] += time.perf_counter() - begun

    sections.svg = timed_svg
    try:
        started = time.perf_counter()
        page = report.report_html(run, table.info, schema)
        first = time.perf_counter() - started
        importance = insight.importance(run, rows=sections.importance_rows(run))
        drawing[0] = 0.0
        started = time.perf_counter()
        page = report.report_html(run, table.info, schema, importance=importance)
        second = time.perf_counter() - started
    finally:
        sections.svg = draw
    return [name, f"{len(run.history):,} epochs in {trained:,.1f} s", f"{first:,.2f}", f"{second:,.2f}",
            f"{drawing[0]:,.2f}", f"{page.count('<svg'):,}", f"{len(page.encode()) / 1024:,.0f}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    quick = args.quick
    cost = vl_convert_cost()
    rows = [measure("heart-shaped (918 x 12)", heart_like(), HEART_LIKE_TARGET, epochs=2 if quick else 60),
            measure("wide (5,000 x 60)", wide_chunk(500 if quick else 5_000, 60), "target",
                    epochs=2 if quick else 60),
            measure("long history (300 x 12, 2,000 epochs)", heart_like(300), HEART_LIKE_TARGET,
                    epochs=20 if quick else 2_000, batch_size=300),
            measure("big network (2,000 x 60, 6 x 1024)", wide_chunk(300 if quick else 2_000, 60), "target",
                    epochs=1, hidden=(1024,) * 6, batch_size=256)]
    print("\n## report_speed: report.html for a trained run\n")
    print(f"{machine()}\n")
    print_table(cost, ["vl-convert", "ms", "resident memory added, MB"])
    print()
    print_table(rows, ["table", "trained", "first report, s", "with the page's importance, s", "of which charts, s",
                       "charts", "size, KB"])
    print(f"\npeak resident memory of this process: {_mb(proc_status('VmHWM'))} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
