"""The real path: the app served by Streamlit, driven in Debian's Chromium by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import PROJECT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = PROJECT / "test-output" / "screenshots"

# Without Debian's chromium these fail on purpose (.ci/run installs it); `pytest -m "not browser"` skips them.
pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """Streamlit serving app.py headless on a free port, on its own empty database."""
    port = free_port()
    env = {**os.environ, "INDICATEURS_DB": str(tmp_path / "app.duckdb"), "PYTHONPATH": str(PROJECT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(PROJECT / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("Streamlit n'a pas démarré")
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium de Debian absent : apt-get install chromium (fait par .ci/run)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
        yield page
        browser.close()


def test_first_run_loads_demo_data_and_lists_structures(server, page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(server)
    page.get_by_text("La base est vide").wait_for(timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "accueil-base-vide.png"), full_page=True)
    page.get_by_role("button", name="Charger les données de démonstration").click()
    page.get_by_text("Historique des imports").wait_for(timeout=120_000)
    metric = page.locator('[data-testid="stMetricValue"]').first
    assert metric.inner_text() == "300"
    assert page.get_by_text("Structures", exact=True).first.is_visible()
    tables = page.locator('[data-testid="stDataFrame"]')
    tables.first.wait_for(timeout=30_000)
    assert tables.count() == 2
    page.locator('[data-testid="stDataFrame"] canvas').first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # the grid paints its canvas after it is attached
    page.screenshot(path=str(SCREENSHOTS / "accueil-demo.png"), full_page=True)
