"""Browser fixtures: one daemon with the real queue and the tiny model, one headless chromium
(Debian's, through Playwright's `executable_path`) for the whole module."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.process import DaemonProcess, running_daemon
from tests.conftest import CHECK_ANSWERS_ENV
from tests.queue.conftest import link_base_models, shared_base_models

__all__ = ["shared_base_models"]

CHROMIUM = Path(os.environ.get("LORABOT_TEST_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="module")
def web_daemon(
    tmp_path_factory: pytest.TempPathFactory, shared_base_models: Path
) -> Iterator[DaemonProcess]:
    """A `lorabot daemon` that runs the queue, on a fresh DATA_DIR."""
    data_dir = tmp_path_factory.mktemp("web-daemon")
    link_base_models(data_dir, shared_base_models)
    env = {**CHECK_ANSWERS_ENV, "LORABOT_LEASE_SECONDS": "15"}
    with running_daemon(data_dir, env=env) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless chromium; the suite is skipped, saying why, where it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM} (scripts/chromium.sh installs Debian's)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the suite saves its screenshots (printed, so a run shows where they are)."""
    folder = tmp_path_factory.mktemp("web-screenshots")
    print(f"\nweb dashboard screenshots: {folder}")
    return folder
