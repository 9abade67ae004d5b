"""The one exception type for mistakes a user can fix (a bad file, an unknown column, an impossible setting)."""


class TapeError(Exception):
    """A problem caused by the user's input, with a message a non-programmer understands.

    The page shows it with ``st.error`` and the CLI prints it as one ``error:`` line with exit status 2;
    anything else that escapes is a programming error and stays a traceback.
    """
