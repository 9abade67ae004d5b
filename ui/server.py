"""Settings of the Streamlit server process that hosts every session, applied once per process."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

from streamlit.runtime.scriptrunner import script_runner

M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Ask glibc to keep at most a couple of malloc arenas (it makes up to eight per CPU, one per busy thread).

    Every session runs its script in its own thread; with an arena each, memory freed by one session stayed
    reserved in its arena: a class of 30 peaked at 1,451 MB, against 1,136 MB with two arenas (bench/classroom.py,
    the same as starting the server with MALLOC_ARENA_MAX=2). Elsewhere than glibc this does nothing.
    """
    name = ctypes.util.find_library("c")
    try:
        return bool(ctypes.CDLL(name).mallopt(M_ARENA_MAX, arenas)) if name else False
    except (OSError, AttributeError):
        return False


def keep_compiled_epochs() -> None:
    """Stop Streamlit from clearing Keras' session after every script run of every session.

    Streamlit calls ``keras.backend.clear_session()`` after each script run (for scripts that build a model at the
    top of the page). That clears TensorFlow's kernel cache for the whole process, so every running training, in
    every session, had to build its compiled epoch again at its next epoch: 0.15 s for a small table, after any
    click by anyone (measured with this page and a five-line app). tapeapp keeps its models and compiled epochs
    itself (``tapeapp.train.runners``), so only the matplotlib part of Streamlit's clean-up is kept.
    """
    def clean_up() -> None:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")

    script_runner._clean_problem_modules = clean_up
