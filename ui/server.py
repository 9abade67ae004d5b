"""Settings of the Streamlit server process that hosts every session, applied once per process."""

from __future__ import annotations

import sys

from streamlit.runtime.scriptrunner import script_runner


def keep_compiled_epochs() -> None:
    """Stop Streamlit from clearing Keras' session after every script run of every session.

    Streamlit calls ``keras.backend.clear_session()`` after each script run (for scripts that build a model at the
    top of the page). That clears TensorFlow's kernel cache for the whole process, so every running training, in
    every session, had to build its compiled epoch again at its next epoch: 0.15 s for a small table, after any
    click by anyone (measured with this page and a five-line app). tapeapp keeps its models and compiled epochs
    itself (``tapeapp.runners``), so only the matplotlib part of Streamlit's clean-up is kept.
    """
    def clean_up() -> None:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")

    script_runner._clean_problem_modules = clean_up
