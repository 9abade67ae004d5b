"""What the page may say: text from users shown as text (never as Markdown, a link, an image or a colour directive),
and every error in plain words.

Streamlit renders Markdown in ``st.markdown``, captions, alerts, metric and widget labels, tooltips and progress
text. A column named ``![x](http://host/t.png)`` would make every browser that opens the table fetch that
address, and ``[sign in again](http://host/)`` would be a link in the page's own box. Every string that comes
from a table, a file name or a link goes through ``md`` before such an element shows it.
"""

from __future__ import annotations

import logging
import re

import tapeapp

LOG = logging.getLogger("tapeapp.page")

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark: CommonMark can escape each
_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_JOINER = "\u2060"  # WORD JOINER: invisible, and no line break where it stands
# GFM's autolink literals (http://, https://, www., name@host) are found in the text after escapes are resolved
# (mdast-util-gfm-autolink-literal), so escaping cannot stop them: an invisible joiner inside each does.
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)")


def md(text: object) -> str:
    """``text`` escaped for Markdown: each ASCII punctuation mark behind a backslash, line breaks as spaces, and an
    invisible word joiner inside ``://``, ``www.`` and after ``@`` so that no address becomes a link.

    That turns off emphasis, links, images, autolinks, HTML, code spans, headings, lists, tables, Streamlit's
    ``:red[...]``, ``:emoji:`` and ``$maths$``, while the text reads the same.
    """
    text = _AUTOLINK.sub(_JOINER, _BREAKS.sub(" ", str(text)))
    return _PUNCTUATION.sub(r"\\\1", text)


def problem(error: Exception, doing: str) -> str:
    """What the page says about an error: a TapeError's own plain words; for anything else a short note.

    A file nobody foresaw must still get an answer on the page, not a traceback; the traceback goes to the server's
    log for whoever runs it.
    """
    if isinstance(error, tapeapp.TapeError):
        return str(error)
    LOG.error("unexpected error while %s", doing, exc_info=error)
    return (f"Something unexpected went wrong while {doing} ({type(error).__name__}). This is a fault in tapeapp, "
            "not in what you did; the details are in the server's log. Try again, or try the file saved as CSV.")
