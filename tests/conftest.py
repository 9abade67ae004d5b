"""Fixtures shared by the tests: the tables of ``helpers.tables``, the page driven headless (``helpers.page``) and
the command line run in a process of its own (``helpers.cli``). No test needs the internet or any file outside the
repository."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from helpers import browser as browser_driver
from helpers import cli as cli_runner
from helpers import page as page_driver
from helpers.tables import make_binary, make_dates, make_multiclass, make_regression  # noqa: F401  (re-exported)


def pytest_collection_modifyitems(items) -> None:
    """A test that starts another Python pays TensorFlow's import (~5 s) each time: it is slow as well."""
    for item in items:
        if item.get_closest_marker("subprocess") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def private_store(tmp_path_factory, monkeypatch):
    """Every test keeps sessions in a store of its own (never the user's cache folder), so none sees another's."""
    monkeypatch.setenv("TAPEAPP_STORE", str(tmp_path_factory.mktemp("store")))


@pytest.fixture(autouse=True, scope="session")
def roomy_test_process():
    """The memory budget guards a server; this process is the test runner, which holds every test's TensorFlow graphs
    and grows past the 2.4 GB default over the suite. Tests of the budget set their own (env or monkeypatch); the
    servers the browser tests start keep the default (``helpers.browser.Server``). Session-wide, so that module
    fixtures that read tables have it too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TAPEAPP_MEMORY_BUDGET_MB", "1000000")
        yield


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


@pytest.fixture(scope="module")
def needs_browser():
    """Skip without a browser, or fail when TAPEAPP_REQUIRE_BROWSER=1 says one must be there."""
    missing = browser_driver.MISSING
    if missing and os.environ.get("TAPEAPP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"TAPEAPP_REQUIRE_BROWSER=1, but {missing}.", pytrace=False)
    if missing:
        pytest.skip(missing)


@pytest.fixture(scope="module")
def browser(needs_browser):
    with browser_driver.sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=browser_driver.CHROMIUM, args=browser_driver.LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser):
    """A page in its own browser context: its own cookies and storage, so its own Streamlit session."""
    context = browser.new_context(viewport={"width": 1200, "height": 1500})
    opened = context.new_page()
    opened.set_default_timeout(60_000)  # under load a redraw can take longer than Playwright's 30 s; tests wait for
    yield opened                        # the page's own state (settled) before acting
    context.close()
