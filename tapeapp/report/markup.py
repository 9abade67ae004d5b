"""HTML written safely for the report: every value escaped unless this module wrote it, and charts as inline SVG
that hold only shapes and text (drawn by vl-convert with no network)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from typing import Any

CHART_WIDTH = 480  # px in the SVG; the page scales it to its column
MAX_ROWS = 200  # rows of the columns table (and of any other long table) shown


class Safe(str):
    """Text already written as HTML by this module, so it is not escaped twice."""


_VOID = frozenset({"meta", "br", "hr"})


def esc(value: object) -> Safe:
    """Any value as HTML text: escaped unless this module wrote it."""
    return value if isinstance(value, Safe) else Safe(html.escape(str(value), quote=True))


def tag(element: str, /, *children: object, **attrs: object) -> Safe:
    """An element with escaped attributes (``cls`` is ``class``, ``_`` is ``-``) and escaped children (except Safe
    ones)."""
    attributes = "".join(f' {"class" if k == "cls" else k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items()
                         if v is not None)
    if element in _VOID:
        return Safe(f"<{element}{attributes}>")
    return Safe(f"<{element}{attributes}>{''.join(esc(c) for c in children)}</{element}>")


def join(parts: Iterable[object], sep: str = "") -> Safe:
    return Safe(sep.join(esc(p) for p in parts))


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Iterable[int] = (),
          limit: int = MAX_ROWS, what: str = "rows") -> Safe:
    """A plain table of escaped cells, cut at ``limit`` rows with a note saying how many were left out."""
    rows = list(rows)
    right = set(numeric)
    head = tag("tr", *(tag("th", h) for h in headers))
    body = [tag("tr", *(tag("td", cell, cls="num" if i in right else None) for i, cell in enumerate(row)))
            for row in rows[:limit]]
    note = tag("p", f"The first {limit:,} of {len(rows):,} {what} are shown.", cls="note") if len(rows) > limit \
        else ""
    return join([tag("table", tag("thead", head), tag("tbody", *body)), note])


def bullets(items: Iterable[object]) -> Safe:
    items = list(items)
    return tag("ul", *(tag("li", item) for item in items)) if items else Safe("")


_NUMBER = re.compile(r"-?\d+\.\d+")
_SHAPE = re.compile(r'(\s(?:d|transform)=")([^"]*)"')
_IDS = re.compile(r'(\sid="|url\(#|href="#)([^")]+)')
_RGB = re.compile(r'fill="rgb\((\d+), ?(\d+), ?(\d+)\)"')
_SVG_TAGS = frozenset({"svg", "g", "path", "rect", "line", "text", "tspan", "defs", "clippath", "lineargradient",
                       "radialgradient", "stop", "circle", "ellipse", "polygon", "polyline", "title", "desc"})


class _SvgCheck(HTMLParser):
    """Whether an SVG holds only shapes and text: no script, no event handler, no link or style leaving the file."""

    def __init__(self) -> None:
        super().__init__()
        self.safe = True

    def handle_starttag(self, name: str, attrs: list[tuple[str, str | None]]) -> None:
        if name not in _SVG_TAGS:
            self.safe = False
        for key, value in attrs:
            value = (value or "").strip().lower()
            if key.startswith("on") or key in ("src", "style") or (key.endswith("href") and not value.startswith("#")):
                self.safe = False
            if "url(" in value and not re.fullmatch(r"url\(#[\w.-]+\)", value):
                self.safe = False

    handle_startendtag = handle_starttag


def _static(spec: Any, inside_encoding: bool = False) -> Any:
    """A Vega-Lite spec without tooltips (a picture has no mouse): smaller, and no row values in ARIA labels."""
    if isinstance(spec, dict):
        return {k: _static(v, k == "encoding") for k, v in spec.items() if not (inside_encoding and k == "tooltip")}
    if isinstance(spec, list):
        return [_static(v) for v in spec]
    return spec


def svg(chart, number: int, width: int = CHART_WIDTH) -> Safe:
    """A chart of ``tapeapp.report.charts`` as inline SVG: drawn by vl-convert with no network, ids made unique in the
    report, coordinates rounded to 0.1 px; a note instead when vl-convert is missing or the SVG is not plain."""
    try:
        import vl_convert  # optional: without it the report says which charts it left out
    except ImportError:
        return tag("p", "This chart is left out: drawing charts into the report needs the vl-convert-python "
                        "package.", cls="note")
    spec = _static(chart.properties(width=width).to_dict())
    spec["config"] = {**spec.get("config", {}), "aria": False}
    drawn = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
    drawn = _SHAPE.sub(lambda m: m.group(1) + _NUMBER.sub(lambda n: f"{float(n.group()):.1f}", m.group(2)) + '"',
                       drawn)
    drawn = _IDS.sub(lambda m: f"{m.group(1)}c{number}-{m.group(2)}", drawn)
    drawn = _RGB.sub(lambda m: 'fill="#' + "".join(f"{int(c):02x}" for c in m.groups()) + '"', drawn)
    check = _SvgCheck()
    check.feed(drawn)
    if not check.safe or not drawn.lstrip().startswith("<svg"):
        return tag("p", "This chart is left out: its drawing held something other than shapes and text.",
                   cls="note")
    return Safe(drawn)


