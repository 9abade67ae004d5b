"""Fixtures shared by the tests: the tables of ``helpers.tables``, the page driven headless (``helpers.page``) and
the command line run in a process of its own (``helpers.cli``). No test needs the internet or ../shared data."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import cli as cli_runner
from helpers import page as page_driver
from helpers.tables import make_binary, make_dates, make_multiclass, make_regression  # noqa: F401  (re-exported)


def pytest_collection_modifyitems(items) -> None:
    """A test that starts another Python pays TensorFlow's import (~5 s) each time: it is slow as well."""
    for item in items:
        if item.get_closest_marker("subprocess") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def binary_frame() -> pd.DataFrame:
    return make_binary()


@pytest.fixture
def multiclass_frame() -> pd.DataFrame:
    return make_multiclass()


@pytest.fixture
def regression_frame() -> pd.DataFrame:
    return make_regression()


@pytest.fixture
def apptest():
    """The page, fresh for a test, driven by Streamlit's AppTest (see ``helpers.page``)."""
    return page_driver.page_app()


@pytest.fixture
def run_cli():
    """Run ``python -m tapeapp`` with these arguments; a CompletedProcess (see ``helpers.cli``)."""
    return cli_runner.cli
