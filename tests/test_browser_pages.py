"""Each page opened by its URL as the very first request to a freshly started server, in Debian's Chromium:
the tab's title, the page's title and the navigation are exactly the frame's (ui/frame.py).

Until st.navigation has run once in a server process, Streamlit routes a page URL with its legacy « pages/
folder » mode, which would list the page scripts themselves, without sections. One server per page, all
started at once on copies of one small demonstration base, so that each page gets the first request of its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

from helpers import HEADLESS, PROJECT, chromium, new_page, start_server, stop_server, wait_listening
from ui import frame

pytestmark = pytest.mark.browser

# The address of each page, as users bookmark it: the default page at the root, the others by script name.
URLS = {
    "pages/mon_service.py": "/",
    "pages/comparaison.py": "/comparaison",
    "pages/import_fichiers.py": "/import_fichiers",
    "pages/donnees.py": "/donnees",
    "pages/referentiel.py": "/referentiel",
    "pages/methode.py": "/methode",
    "pages/acces.py": "/acces",
}
PAGES = [(script, title) for pages in frame.SECTIONS.values() for script, title, _ in pages]
SETTLE_S = 30

# What the browser shows: tab title, page titles (h1), the sidebar navigation read section by section from its
# headers and links (their text only, not the names of their Material icons), and every navigation link of the
# document with its address and whether it is the current page.
SHOWN = """() => {
    const text = element => (element.querySelector('[data-testid="stMarkdownContainer"]') || element)
        .innerText.trim();
    const headers = [...document.querySelectorAll('[data-testid="stNavSectionHeader"]')];
    return {
        tab: document.title,
        h1: [...document.querySelectorAll('h1')].map(h => h.innerText.trim()),
        sections: headers.map(header => [text(header), [...header.parentElement.querySelectorAll(
            '[data-testid="stSidebarNavLink"]')].map(text)]),
        links: [...document.querySelectorAll('[data-testid="stSidebarNavLink"]')].map(
            link => [text(link), new URL(link.href).pathname, link.getAttribute('aria-current') === 'page']),
    };
}"""


# A page whose title is longer than its name in the menu (the question would be cut in the sidebar).
TITLES = {"pages/methode.py": "Comment est calculé mon niveau ?"}


def expected(script: str, title: str) -> dict:
    return {
        "tab": frame.TITLE,
        "h1": [TITLES.get(script, title)],
        "sections": [[section, [t for _, t, _ in pages]] for section, pages in frame.SECTIONS.items()],
        "links": [[t, URLS[s], s == script] for pages in frame.SECTIONS.values() for s, t, _ in pages],
    }


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    """A small demonstration base, loaded by the command line the README gives."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    subprocess.run([sys.executable, "-m", "indicators", "demo", "--structures", "20", "--db", str(path)],
                   cwd=PROJECT, check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def servers(demo_base):
    """A fresh server per page, each on its own copy of the base, started together; none has had a request."""
    started = {}
    try:
        for script in URLS:
            copy = demo_base.with_name(f"{script.split('/')[-1]}.duckdb")
            shutil.copyfile(demo_base, copy)
            started[script] = start_server(copy, options=HEADLESS)
        yield started
    finally:
        for process, _ in started.values():
            stop_server(process)


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def test_every_page_of_the_frame_has_an_address():
    assert list(URLS) == [script for script, _ in PAGES]


@pytest.mark.parametrize("script, title", PAGES, ids=[URLS[script] for script, _ in PAGES])
def test_a_page_opened_first_on_a_fresh_server_has_its_title_and_the_whole_navigation(servers, browser,
                                                                                       script, title):
    url = wait_listening(*servers[script], timeout_s=180)  # eight servers start at once on two cores
    page = new_page(browser)
    page.goto(url + URLS[script])
    want = expected(script, title)
    deadline = time.monotonic() + SETTLE_S
    shown = page.evaluate(SHOWN)
    while shown != want and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        shown = page.evaluate(SHOWN)
    assert shown == want
    assert page.url == url + URLS[script]  # still the address asked for
    page.context.close()
