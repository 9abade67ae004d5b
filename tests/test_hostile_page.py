"""Nothing from a table or a link is Markdown, and no link breaks the page (issue 17, goals 4 and 5), with AppTest.

A table whose names and values are Markdown, HTML and Streamlit directives pointing at another host, a file name
like them and a link full of them go through every section (upload, columns, knobs, training, results, new rows to
predict). Every text the page renders as Markdown (alerts, captions, labels, tooltips, metrics) is parsed as
CommonMark: no link, image or HTML from the table or the link may come out, and the page shows the text itself.
The browser test (test_browser.py) checks the same in chromium, with every request to another host intercepted.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

import tapeapp
from helpers.page import job_of, ok, page_app, plain, resolved, upload_to
from helpers.tables import EVIL, HOSTILE_LINK, TARGET, hostile_frame

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# GFM's autolink literals, as remark finds them: in text nodes, after escapes are resolved (escaping cannot stop them)
_BARE_URL = re.compile(r"(?i)(?:https?://|www\.|[-.\w+]@[-\w])")
_DIRECTIVE = re.compile(r"(?<!\\)(?::[a-z]+\[|:material/|(?<!\\)\$)")


def markdown_targets(source: str) -> list[str]:
    """Every address the page would link to, load or run from this Markdown: links, images, HTML, bare URLs."""
    found: list[str] = []

    def walk(tokens):
        for token in tokens:
            if token.type in ("link_open", "image"):
                found.append(str(token.attrs.get("href") or token.attrs.get("src")))
            if token.type in ("html_inline", "html_block"):
                found.append(token.content)
            if token.children:
                walk(token.children)

    walk(_PARSER.parse(source))
    text = resolved(source)
    found += [text[m.start():m.start() + 40] for m in _BARE_URL.finditer(text)]
    found += [source[m.start():m.start() + 40] for m in _DIRECTIVE.finditer(source)]
    return found


def rendered_texts(at) -> list[str]:
    """Every string the page hands Streamlit to render as Markdown: element bodies, labels, tooltips, metrics."""
    out = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "exception"):
        out += [str(e.value) for e in at.get(kind)]
    for kind in ("selectbox", "slider", "select_slider", "number_input", "button", "checkbox", "radio",
                 "multiselect", "text_input", "toggle", "metric", "download_button", "file_uploader", "expander"):
        for element in at.get(kind):
            proto = getattr(element, "proto", None)
            for field in ("label", "help"):
                value = getattr(element, field, None) or (getattr(proto, field, None) if proto is not None else None)
                if value:
                    out.append(str(value))
    return out


def _no_hostile_markdown(at) -> None:
    for text in rendered_texts(at):
        bad = [target for target in markdown_targets(text) if EVIL in target or "<" in target
               or target.startswith((":", "$"))]
        assert not bad, f"rendered as Markdown: {bad} in {text[:200]!r}"


def test_a_hostile_table_file_name_and_link_show_as_text_never_as_markdown():
    at = page_app()
    at.query_params.update(HOSTILE_LINK)
    ok(at.run())
    _no_hostile_markdown(at)
    shown = " ".join(plain(t) for t in rendered_texts(at))
    assert "from the link" in shown and f"[x](http://{EVIL}/)" in shown, "the bad link values are named, as text"
    assert at.slider(key="cfg_epochs").value == tapeapp.TrainConfig().epochs
    assert at.number_input(key="cfg_seed").value == 0

    name = f"![f](http://{EVIL}/f.png).csv"
    at = upload_to(at, hostile_frame().to_csv(index=False).encode(), name)
    _no_hostile_markdown(at)
    shown = " ".join(plain(t) for t in rendered_texts(at))
    assert name in shown, "the file name is shown, as text"

    at.slider(key="cfg_epochs").set_value(2)
    ok(at.run())
    at.button(key="train").click()
    ok(at.run())
    assert job_of(at) is not None and not job_of(at).running and job_of(at).run.history
    _no_hostile_markdown(at)
    shown = " ".join(plain(t) for t in rendered_texts(at))
    assert f"[yes](http://{EVIL}/y)" in shown or f"![no](http://{EVIL}/n.png)" in shown, "class names as text"

    rows = hostile_frame(10).drop(columns=[TARGET]).assign(**{f"extra [z](http://{EVIL}/z)": 1})
    at.file_uploader(key="predict_upload").upload("new.csv", rows.to_csv(index=False).encode(), "text/csv")
    ok(at.run())
    _no_hostile_markdown(at)
    assert any("Not used by the model" in plain(str(i.value)) for i in at.info)


def test_any_link_draws_the_page():
    for query in ({"epochs": "1e400"}, {"seed": "1e400"}, {"seed": "-1"}, {"hidden": ""}, {"batch_size": "1e9"},
                  {"learning_rate": "nan"}, {"val_fraction": "inf"}, {"sample": "x" * 3000},
                  {"target": f"![t](http://{EVIL}/)"}, {"": ""}, {"optimizer": "<script>alert(1)</script>"}):
        at = page_app()
        at.query_params.update(query)
        ok(at.run())
        assert at.header and not at.button(key="train").disabled, query
        _no_hostile_markdown(at)
