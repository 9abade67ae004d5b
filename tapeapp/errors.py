"""The one exception type for mistakes a user can fix (a bad file, an unknown column, an impossible setting)."""


class TapeError(Exception):
    """A problem caused by the user's input, with a message a non-programmer understands.

    The page shows it with ``st.error`` and the CLI prints it as one ``error:`` line with exit status 2;
    anything else that escapes is a programming error and stays a traceback.
    """


def clipped(value: object, width: int = 40) -> str:
    """A value the user gave (a link's, a file's, a command's) as a message shows it: short and on one line."""
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def quoted(value: object) -> str:
    """``clipped``, in quotes."""
    return repr(clipped(value))
