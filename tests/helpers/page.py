"""Reading the page as a user reads it: Streamlit elements' text with the page's Markdown escapes taken out."""

from __future__ import annotations

import re

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
