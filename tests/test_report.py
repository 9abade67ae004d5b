"""The report to hand in (issue 19, goal 4): every section for every task, nothing that leaves the file, nothing from
the user's table that the browser would run, the run's own numbers, and a report even for runs that went wrong."""

from __future__ import annotations

import gzip
import re
import sys
from datetime import datetime
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import tapeapp
from helpers.tables import (
    EVIL,
    HOSTILE_NAMES,
    TARGET,
    hostile_frame,
    make_binary,
    make_dates,
    make_multiclass,
    make_regression,
)
from tapeapp.explain import insight
from tapeapp.report import build as report
from tapeapp.report import markup, sections
from tapeapp.words import score_text, setting_text

SECTION_IDS = [key for key, _, _ in sections.SECTIONS]
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
LINKING = ("href", "src", "xlink:href", "action", "formaction", "poster", "background", "srcset", "data")


class Page(HTMLParser):
    """A report taken apart: every start tag with its attributes, the text, and each section's text and tags."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.sections: dict[str, list[str]] = {}
        self.metrics: dict[str, str] = {}
        self._section: str | None = None
        self._metric: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, name: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((name, attributes))
        if name == "section":
            self._section = attributes.get("id")
            self.sections[self._section] = []
        if self._section:
            self.sections[self._section].append(f"<{name}>")
        if "data-metric" in attributes:
            self._metric = attributes["data-metric"]

    def handle_endtag(self, name: str) -> None:
        if name == "td":
            self._metric = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._section:
            self.sections[self._section].append(data)
        if self._metric:
            self.metrics[self._metric] = self.metrics.get(self._metric, "") + data

    def section(self, key: str) -> str:
        return " ".join(self.sections[key])


def _table(frame: pd.DataFrame, name: str = "table.csv") -> tapeapp.Table:
    return tapeapp.read_table(frame.to_csv(index=False).encode(), name=name)


def _run(frame: pd.DataFrame, target: str, baselines: bool = True, **knobs) -> tuple[tapeapp.Run, tapeapp.Table,
                                                                                     tapeapp.Schema]:
    table = _table(frame, f"{target}.csv")
    schema = tapeapp.inspect_frame(table.frame, target=target)
    run = tapeapp.start_run(table.frame, schema, tapeapp.TrainConfig(**{"epochs": 6, "patience": 0, **knobs}),
                            baselines=tapeapp.start_baselines if baselines else None)
    return run.fit(), table, schema


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple]:
    made = {"binary": _run(make_binary(), "target"), "multiclass": _run(make_multiclass(), "species"),
            "regression": _run(make_regression(), "price", optimizer="adam", learning_rate=0.01)}
    return {task: (run, table, schema, report.report_html(run, table.info, schema))
            for task, (run, table, schema) in made.items()}


def _outside(page: Page) -> list[str]:
    """Every way the page could reach outside itself: elements that load or run things, links that are not
    #fragments or data: URIs, url(...) to anything but a #fragment, event handlers."""
    found = []
    for name, attrs in page.tags:
        if name in ("script", "link", "iframe", "img", "object", "embed", "image", "base", "form", "audio", "video",
                    "foreignobject"):
            found.append(f"<{name}>")
        for key, value in attrs.items():
            value = value.strip().lower()
            if key.startswith("on"):
                found.append(f"{name} {key}=")
            if key in LINKING and not value.startswith(("#", "data:")):
                found.append(f"{name} {key}={value[:60]}")
            if re.search(r"url\((?!#)", value) or "@import" in value:
                found.append(f"{name} {key}={value[:60]}")
            if key == "http-equiv" and value == "refresh":
                found.append("meta refresh")
    styles = "".join(text for text in page.text if "{" in text)
    if re.search(r"url\(|@import", styles):
        found.append("url( or @import in a style sheet")
    return found


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_section_is_there_with_its_charts_for_every_task(runs, task):
    run, _, _, text = runs[task]
    page = Page(text)
    assert list(page.sections) == SECTION_IDS
    for key in ("curves", "results", "importance", "map"):
        assert "<svg>" in page.sections[key], f"{key} has no chart"
    assert "could not be written" not in text
    assert "This chart is left out" not in text
    assert {"a"} <= {name for name, _ in page.tags} and all(
        attrs["href"] == f"#{key}" for (name, attrs), key in zip([t for t in page.tags if t[0] == "a"], SECTION_IDS))
    card = page.section("card")
    assert "Who is missing from these rows?" in card and "What happens when it is wrong?" in card
    assert run.target in page.section("target")


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_nothing_in_the_report_reaches_outside_the_file(runs, task):
    text = runs[task][3]
    page = Page(text)
    assert _outside(page) == []
    policy = [a["content"] for name, a in page.tags if name == "meta" and a.get("http-equiv") ==
              "Content-Security-Policy"]
    assert policy and "default-src 'none'" in policy[0]
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids)), "two charts share an SVG id: one would clip or fill the other"
    assert text.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_numbers_are_the_runs_own_in_the_pages_words(runs, task):
    run, table, schema, text = runs[task]
    page = Page(text)
    headline = tapeapp.evaluate(run).headline
    assert page.metrics == {key: score_text(key, value) for key, value in headline.items()}
    assert f"{table.info.rows:,} rows × {table.info.columns:,} columns" in page.section("table")
    assert f"Training used {len(run.prepared.y_train):,} rows" in page.section("table")
    assert tapeapp.compare_with_baselines(run) in page.section("comparison")
    knobs = page.section("knobs")
    assert setting_text(run.config.learning_rate) in knobs and "64-64 (2 layers)" in knobs and "6 (6 ran)" in knobs
    main = tapeapp.MAIN_METRIC[run.task]
    assert score_text(main, headline[main]) in page.section("card")


def test_advice_says_what_it_would_change():
    frame = make_binary(300)
    run, table, schema = _run(frame, "target", optimizer="sgd", learning_rate=50.0, momentum=0.9, epochs=8)
    advice = tapeapp.diagnose(run)
    assert advice, "a learning rate of 50 must draw advice"
    page = Page(report.report_html(run, table.info, schema, advice=advice))
    said = page.section("advice")
    assert advice[0].message in said
    assert f"Would change: {tapeapp.words.changes_text(dict(advice[0].changes))}." in said


def test_a_hostile_table_file_name_and_title_are_shown_as_text_and_never_run_or_linked():
    frame = hostile_frame()
    frame[SCRIPT] = np.random.default_rng(1).normal(size=len(frame))
    frame[BREAKOUT] = np.random.default_rng(2).choice([SCRIPT, BREAKOUT, f"[v](http://{EVIL}/v)"], len(frame))
    name = f'{BREAKOUT}{SCRIPT}[x](http://{EVIL}/).csv'
    table = tapeapp.read_table(frame.to_csv(index=False).encode(), name=name)
    schema = tapeapp.inspect_frame(table.frame, target=TARGET)
    run = tapeapp.start_run(table.frame, schema, tapeapp.TrainConfig(epochs=3),
                            baselines=tapeapp.start_baselines).fit()
    text = report.report_html(run, table.info, schema, axes=(SCRIPT, BREAKOUT), title=f"{SCRIPT} {BREAKOUT}")
    page = Page(text)
    assert _outside(page) == []
    assert not any(name in ("script", "img") for name, _ in page.tags)
    assert not any(key.startswith("on") for _, attrs in page.tags for key in attrs)
    assert not any(EVIL in value for _, attrs in page.tags for value in attrs.values()), \
        "the other host may only appear as text"
    assert "This chart is left out" not in text and "could not be written" not in text
    words = " ".join(page.text)
    for shown in (SCRIPT, BREAKOUT, TARGET, name, HOSTILE_NAMES[1]):
        assert shown in words, f"{shown!r} must be shown, as text"
    svg_text = " ".join(page.section("map").split("<svg>", 1)[1:])
    assert SCRIPT in svg_text and BREAKOUT in svg_text, "the map's axis titles are the columns' names, as text"


def test_a_stopped_run_without_baselines_still_gives_a_whole_report():
    frame = make_binary()
    table = _table(frame)
    schema = tapeapp.inspect_frame(table.frame, target="target")
    run = tapeapp.start_run(table.frame, schema, tapeapp.TrainConfig(epochs=50))
    for update in run.epochs():
        if update.epoch == 2:
            run.request_stop()
    assert run.stopped_because == "stopped"
    page = Page(report.report_html(run, table.info, schema))
    assert list(page.sections) == SECTION_IDS
    assert "Stopped by you after 2 of 50 epochs." in page.section("curves")
    assert "The model keeps the weights of its last epoch, 2." in page.section("curves")
    assert "No simpler models were fitted for this run." in page.section("comparison")
    assert "Stopped by you" in page.section("card")
    assert "<svg>" in page.section("results")


@pytest.mark.parametrize("how", ["zero epochs", "failed", "not a number"])
def test_runs_that_went_wrong_still_give_a_report_that_says_so(how):
    frame = make_binary()
    table = _table(frame)
    schema = tapeapp.inspect_frame(table.frame, target="target")
    knobs = {"zero epochs": {"epochs": 0}, "failed": {"epochs": 3},
             "not a number": {"epochs": 20, "optimizer": "sgd", "learning_rate": 100.0}}[how]
    run = tapeapp.start_run(table.frame, schema, tapeapp.TrainConfig(**knobs))
    if how == "failed":  # an error before the first epoch ended: nothing trained, the reason kept
        run.stopped_because, run.message = "failed", "Training broke off with an error after 0 of 3 epochs."
    else:
        run.fit()
    text = report.report_html(run, table.info, schema)
    page = Page(text)
    assert list(page.sections) == SECTION_IDS
    assert _outside(page) == []
    assert "could not be written" not in text
    if how == "not a number":
        assert run.stopped_because == "not_finite"
        assert "learning rate" in page.section("advice")
        assert "stopped being a finite number" in page.section("curves")
    else:
        assert run.message in page.section("curves")
        assert "No epoch finished" in page.section("results")


def test_the_kept_epoch_is_the_one_early_stopping_kept():
    run, table, schema = _run(make_binary(300, seed=2), "target", baselines=False, epochs=200, patience=3,
                              cv_below=0, optimizer="adam", learning_rate=0.03)
    said = re.search(r"best weights, from epoch (\d+)", run.message)
    assert said, run.message
    assert sections.kept_epoch(run) == int(said.group(1))
    page = Page(report.report_html(run, table.info, schema))
    assert f"The model keeps the weights of epoch {said.group(1)} (the dotted black line)." in page.section("curves")


def test_a_date_column_the_reading_notes_and_the_pages_importance_are_used():
    frame = make_dates()
    table = tapeapp.read_table(gzip.compress(frame.to_csv(index=False).encode()), name="seasons.csv.gz")
    assert table.info.notes
    schema = tapeapp.inspect_frame(table.frame, target="season")
    run = tapeapp.start_run(table.frame, schema, tapeapp.TrainConfig(epochs=4)).fit()
    given = pd.DataFrame({"column": ["when", "noise"], "importance": [0.4321, 0.0123], "std": [0.05, 0.01]})
    page = Page(report.report_html(run, table.info, schema, importance=given, axes=("noise", "when")))
    for note in table.info.notes:
        assert note in page.section("table")
    assert "43.2%" in page.section("importance") and "1.2%" in page.section("importance")
    assert "<svg>" in page.section("map")
    assert "date" in page.section("columns")


def test_many_classes_and_long_tables_are_cut_and_say_so():
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=(n, 2))
    label = np.array([f"class {i:02d}" for i in range(25)])[rng.permutation(n) % 25]
    run, table, schema = _run(pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "kind": label}), "kind", baselines=False,
                              epochs=2)
    page = Page(report.report_html(run, table.info, schema))
    results = page.section("results")
    assert f"The {sections.MAX_CLASSES} most common of the 25 classes are shown" in results
    assert f"The first {sections.MAX_CLASSES} of 25 classes (the most common) are shown." in results
    cut = markup.table(["n"], [[i] for i in range(markup.MAX_ROWS + 50)], what="columns")
    assert cut.count("<tr>") == markup.MAX_ROWS + 1 and f"The first {markup.MAX_ROWS:,} of 250 columns" in cut


def test_without_vl_convert_the_report_says_so_in_place_of_each_chart(runs, monkeypatch):
    run, table, schema, _ = runs["binary"]
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # import fails
    text = report.report_html(run, table.info, schema, importance=insight.importance(run, repeats=1),
                              created=datetime(2024, 5, 6, 7, 8))
    page = Page(text)
    assert list(page.sections) == SECTION_IDS and "<svg>" not in " ".join(page.sections["results"])
    assert "needs the vl-convert-python package" in page.section("curves")
    assert "Written 2024-05-06 07:08" in " ".join(page.text)


@pytest.mark.parametrize("drawing", [
    '<svg><script>alert(1)</script></svg>',
    '<svg><g onload="alert(1)"></g></svg>',
    '<svg><image href="http://evil.test/i.png"/></svg>',
    '<svg><path fill="url(http://evil.test/#x)"/></svg>',
    '<svg><path style="fill:red"/></svg>',
    '<svg><foreignObject><div>x</div></foreignObject></svg>',
])
def test_an_svg_with_more_than_shapes_and_text_is_refused(drawing):
    check = markup._SvgCheck()
    check.feed(drawing)
    assert not check.safe
    plain = markup._SvgCheck()
    plain.feed('<svg><defs><clipPath id="c1-clip1"><path d="M0,0h1v1Z"/></clipPath></defs>'
               '<g clip-path="url(#c1-clip1)"><text>&lt;script&gt;</text></g></svg>')
    assert plain.safe


def test_one_input_column_and_a_rare_class_are_said_plainly():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "t": ["common"] * 194 + ["rare"] * 6})
    run, table, schema = _run(frame, "t", baselines=False, epochs=3)
    page = Page(report.report_html(run, table.info, schema))
    assert "The decision map needs two input columns; this model learns from only one." in page.section("map")
    card = page.section("card")
    assert "The rarest class, 'rare', has" in card and "It finds fewer than half of the 'rare' rows" in card
