"""The page driven headless with Streamlit's AppTest, and read as a user reads it (Markdown escapes taken out)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from ui.job import Job

_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def resolved(text: str) -> str:
    """Markdown source with its backslash escapes resolved, as the renderer's text nodes hold it."""
    return _ESCAPED.sub(r"\1", text)


def plain(text: str) -> str:
    """Markdown source as read on the screen: ``people\\.csv`` reads ``people.csv`` (``ui.safe.md`` escapes text
    from users so that it is never Markdown, and puts invisible word joiners inside web and mail addresses)."""
    return resolved(text).replace("\u2060", "")


def seen(element) -> str:
    """An element's text as the user reads it."""
    return plain(str(element.value))


def texts(elements) -> str:
    """The text of several elements, one per line, as the user reads them."""
    return "\n".join(seen(e) for e in elements)


def page_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts_on(at: AppTest) -> dict[str, list[pd.DataFrame]]:
    """Each Altair chart on the page by its title, with the data sets its Vega-Lite spec carries."""
    out = {}
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title", {})
        frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]
        out[title.get("text") if isinstance(title, dict) else str(title)] = frames
    return out


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    """The last table on the page with this column (the page shows several: rows, runs, groups, predictions)."""
    return next(d.value for d in reversed(at.dataframe) if column in d.value.columns)


def job_of(at: AppTest) -> Job | None:
    """The session's training job (kept in a box, so that starting a new one frees the old one at once)."""
    return at.session_state["training"].value if "training" in at.session_state else None


def upload_to(at: AppTest, content: bytes, name: str) -> AppTest:
    at.file_uploader(key="upload").upload(name, content, "text/csv")
    return ok(at.run())


def train_on(at: AppTest, epochs: int = 3) -> AppTest:
    """Train ``epochs`` epochs, every one and the last kept (patience 0), so a test knows how many ran."""
    at.slider(key="cfg_epochs").set_value(epochs)
    at.slider(key="cfg_patience").set_value(0)
    ok(at.run())
    at.button(key="train").click()
    return ok(at.run())
