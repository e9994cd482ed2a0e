"""What tests share besides fixtures: the project's folder, the canonical CSV header and gold values, files
written by the tests, counts and snapshots of the database, and the real server driven in Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

CANONICAL_HEADER = ("code_structure;nom_structure;reseau;code_indicateur;debut_periode;fin_periode;valeur;"
                    "numerateur;denominateur;effectif")

# One value per indicator (valeur, numérateur, dénominateur, effectif), each at « or »:
#   attente_guichet 8 min ≤ 10 ; decroche 950/1000 = 95 % ≥ 90 ; delai_courriels 1,5 ≤ 2 ;
#   delai_courriers 5 ≤ 7 ; delais_annonces 970/1000 = 97 % ≥ 95 ; demarches_en_ligne_8 170/200 = 85 % ≥ 80
#   (n = 200 ≥ 100) ; publication_resultats oui ; satisfaction_globale 184/200 = 92 % ≥ 90 (n = 200 ≥ 100).
GOLD = {
    "attente_guichet": ("8", "", "", "500"),
    "decroche": ("95", "950", "1000", ""),
    "delai_courriels": ("1,5", "", "", "200"),
    "delai_courriers": ("5", "", "", "100"),
    "delais_annonces": ("97", "970", "1000", ""),
    "demarches_en_ligne_8": ("85", "170", "200", ""),
    "publication_resultats": ("oui", "", "", ""),
    "satisfaction_globale": ("92", "184", "200", "200"),
}

# One structure at bronze on « decroche » (84,49 %), and S-CAEN with a single value: the browser tests' upload.
LYON_ROWS = [
    "S-LYON;Accueil de Lyon – Œuvre €;CAF;decroche;2025-01-01;2025-01-31;84,49;8449;10000;",
    "S-LYON;Accueil de Lyon – Œuvre €;CAF;attente_guichet;2025-01-01;2025-01-31;5;;;100",
    "S-LYON;Accueil de Lyon – Œuvre €;CAF;delai_courriels;2025-01-01;2025-01-31;1,5;;;40",
    "S-LYON;Accueil de Lyon – Œuvre €;CAF;delai_courriers;2025-01-01;2025-01-31;5;;;40",
    "S-LYON;Accueil de Lyon – Œuvre €;CAF;delais_annonces;2025-01-01;2025-01-31;96;96;100;",
    "S-LYON;Accueil de Lyon – Œuvre €;CAF;demarches_en_ligne_8;2025-01-01;2025-03-31;85;170;200;",
    "S-LYON;Accueil de Lyon – Œuvre €;CAF;publication_resultats;2025-01-01;2025-01-31;oui;;;",
    "S-LYON;Accueil de Lyon – Œuvre €;CAF;satisfaction_globale;2025-01-01;2025-03-31;92;184;200;200",
    "S-CAEN;Accueil de Caen;CAF;decroche;2025-01-01;2025-01-31;95;950;1000;",
]

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = PROJECT / "test-output" / "screenshots"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def count(con, sql: str, params=None) -> int:
    return con.cursor().execute(sql, params or []).fetchall()[0][0]


def snapshot(con) -> dict:
    """Everything users could see change, to prove a refused import changed nothing."""
    cur = con.cursor()
    tables = ("observation", "observation_history", "structure", "structure_history", "import_batch",
              "extra_indicator")
    return {t: sorted(map(repr, cur.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8-sig", newline: str = "\n") -> Path:
    path.write_bytes(newline.join(lines + [""]).encode(encoding))
    return path


def canonical(path: Path, rows: list[str], encoding: str = "utf-8-sig") -> Path:
    return write_csv(path, [CANONICAL_HEADER, *rows], encoding)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database: Path, cwd: Path = PROJECT, options=()) -> tuple[subprocess.Popen, int]:
    """``streamlit run app.py`` on a free port and ``database``, not yet answering (see ``wait_healthy``)."""
    port = free_port()
    env = {**os.environ, "INDICATEURS_DB": str(database), "PYTHONPATH": str(PROJECT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(PROJECT / "app.py"), "--server.port", str(port), *options],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, port


def answers(process: subprocess.Popen, address: str, timeout_s: float, pause_s: float = 0.2) -> bool:
    """Whether ``address`` answers 200 before ``timeout_s`` while ``process`` (the server behind it) lives."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if urllib.request.urlopen(address, timeout=2).status == 200:
                return True
        except OSError:
            time.sleep(pause_s)
    return False


def wait_healthy(process: subprocess.Popen, port: int, timeout_s: float = 60) -> str:
    """The server's address once its health check answers; the server is killed if it never does."""
    url = f"http://127.0.0.1:{port}"
    if answers(process, f"{url}/_stcore/health", timeout_s):
        return url
    process.kill()
    process.wait()
    raise AssertionError("Streamlit n'a pas démarré")


def wait_listening(process: subprocess.Popen, port: int, timeout_s: float = 60) -> str:
    """The server's address once it accepts connections, without sending it any request (so that a test's
    first page is its first request); the server is killed if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    raise AssertionError("Streamlit n'a pas démarré")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


HEADLESS = ("--server.headless", "true", "--browser.gatherUsageStats", "false")


@contextmanager
def served(database: Path):
    """The dashboard served headless on its own port and ``database``; yields its address."""
    process, port = start_server(database, options=HEADLESS)
    try:
        yield wait_healthy(process, port)
    finally:
        stop_server(process)


@contextmanager
def chromium():
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium de Debian absent : apt-get install chromium (fait par .ci/run)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser):
    """A page in a context of its own (no cookie or storage shared), French locale, wide window."""
    return browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR").new_page()


@contextmanager
def chromium_page():
    """A page of Debian's Chromium driven by Playwright."""
    with chromium() as browser:
        yield new_page(browser)

def shot(page, name: str) -> None:
    """A full-page screenshot in test-output/screenshots, once the page has settled."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def administrator(name: str):
    """An administrator known by ``name`` alone (no provider), for domain tests that check what the history says."""
    from indicators import rights

    return rights.Access(rights.Person(name), frozenset({rights.ADMIN}))


def open_app_page(page: str):
    """app.py in Streamlit's AppTest, switched to ``page`` and run once, without an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PROJECT / "app.py"), default_timeout=120)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at
