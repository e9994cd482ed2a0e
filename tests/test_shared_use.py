"""Many people at once on one base: the command line importing beside open sessions, three sessions uploading at
the same moment, and the dashboard killed during an upload. The real server (``streamlit run app.py``), Debian's
Chromium, a DuckDB file and CSV files written here."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpers import HEADLESS, LYON_ROWS, PROJECT, canonical, chromium, new_page, served, snapshot, start_server, \
    stop_server, wait_healthy
from indicators import db, importer, rights
from indicators.text import format_count

pytestmark = pytest.mark.browser

# Watches the page for its whole life, so that a message shown for a moment between two checks is not missed:
# Streamlit's exception box, an error alert or the « base occupée » warning (window.__errors), and the message
# of an upload that waits for another (window.__waited).
RECORDER = """
window.__errors = [];
window.__waited = false;
const watched = [['exception', '[data-testid="stException"]'], ['erreur', '[data-testid="stAlertContentError"]']];
new MutationObserver(() => {
  const note = (what) => { if (!window.__errors.includes(what)) window.__errors.push(what); };
  for (const [name, selector] of watched) {
    const found = document.querySelector(selector);
    // The level banner « Niveau atteignable : aucun niveau » is drawn as an error alert: content, not a failure.
    if (found && !found.textContent.startsWith('Niveau atteignable')) note(`${name} : ${found.textContent}`);
  }
  const text = document.body ? document.body.textContent : '';
  if (text.includes('occupée par un autre programme')) note('base occupée');
  if (text.includes('Un autre import est en cours')) window.__waited = true;
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def watched_page(browser):
    """A page of its own context (a session of its own) that records every message it ever shows."""
    page = new_page(browser)
    page.add_init_script(RECORDER)
    return page


def errors(page) -> list[str]:
    return page.evaluate("window.__errors")


def waited(page) -> bool:
    return page.evaluate("window.__waited")


def seeded_base(path: Path, tmp_path: Path) -> Path:
    """A base holding S-LYON and S-CAEN (one import), closed again so that the server may open it."""
    con = db.connect(path)
    importer.import_path(con, canonical(tmp_path / "lyon.csv", LYON_ROWS), rights.COMMAND_LINE)
    db.close(path)
    return path


def base_snapshot(path: Path) -> dict:
    con = db.connect(path)
    try:
        return snapshot(con)
    finally:
        db.close(path)


def command_line(*args: str) -> subprocess.Popen:
    """``python -m indicators …``, the real command, in its own process."""
    return subprocess.Popen([sys.executable, "-m", "indicators", *args], cwd=PROJECT, text=True,
                            env={**os.environ, "PYTHONPATH": str(PROJECT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@contextmanager
def served_process(database: Path):
    """The dashboard served as helpers.served serves it, yielding its process too (to kill it) with its address."""
    process, port = start_server(database, options=HEADLESS)
    try:
        yield process, wait_healthy(process, port)
    finally:
        if process.poll() is None:
            stop_server(process)


def kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL to the server and to any process it started (none today, but none may outlive it)."""
    children = [int(pid) for task in Path(f"/proc/{process.pid}/task").iterdir()
                for pid in (task / "children").read_text().split()]
    for pid in [process.pid, *children]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def upload(page, url: str, path: Path) -> None:
    """On the Import page, set ``path`` in the file input and wait until the page has checked it."""
    page.goto(f"{url}/import_fichiers")
    page.get_by_text("Fichiers à importer").wait_for(timeout=60_000)
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text("format long canonique").first.wait_for(timeout=60_000)
    expect(page.get_by_role("button", name="Importer 1 fichier")).to_be_enabled(timeout=60_000)
    # The script's run over: a click now is the session's next run, not lost in this one.
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=60_000)


def new_structures(prefix: str, n: int) -> list[tuple[str, float]]:
    """``n`` structures unknown to the base, each with one « decroche » value: (code, value)."""
    return [(f"{prefix}{i:06d}", float(80 + i % 20)) for i in range(n)]


def rows_of(values: list[tuple[str, float]]) -> list[str]:
    return [f"{code};Structure {code};CAF;decroche;2025-01-01;2025-01-31;{value:g};;;" for code, value in values]


def spaced(text: str) -> str:
    """French thousands (a narrow no-break space) as the browser's text gives them back: a space."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def structures_metric(page, label: str):
    return page.locator('[data-testid="stMetric"]').filter(has_text=label).locator('[data-testid="stMetricValue"]')


def rerun_on(page, link: str, settled: str) -> None:
    """A click in the sidebar's navigation: the same session runs its script again."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=link).click()
    page.get_by_text(settled).first.wait_for(timeout=30_000)


def test_command_line_imports_ten_files_beside_two_open_sessions(tmp_path):
    base = seeded_base(tmp_path / "base.duckdb", tmp_path)
    files = [canonical(tmp_path / f"nouvelle-{i:02d}.csv", rows_of([(f"S-N{i:02d}", 80.0 + i)]))
             for i in range(1, 11)]
    with served(base) as url, chromium() as browser:
        registry, director = watched_page(browser), watched_page(browser)
        registry.goto(f"{url}/donnees")
        expect(structures_metric(registry, "Structures")).to_have_text("2", timeout=60_000)
        director.goto(url)
        director.get_by_text("Niveau atteignable").wait_for(timeout=60_000)

        # The director walks between two pages (each click a run of the session) while each import runs.
        walk = itertools.cycle([("Comparaison", "Répartition des niveaux"), ("Mon service", "Niveau atteignable")])
        for number, path in enumerate(files, start=1):
            importing = command_line("import", str(path), "--db", str(base))
            deadline = time.monotonic() + 60
            while importing.poll() is None and time.monotonic() < deadline:
                rerun_on(director, *next(walk))
            out, err = importing.communicate(timeout=60)
            assert importing.returncode == 0, err  # never « base utilisée »
            assert f"{path.name} : importé" in out
            # The next run of the open page shows the new structure: S-LYON, S-CAEN and « number » new ones.
            rerun_on(registry, "Structures et imports", "Historique des imports")
            expect(structures_metric(registry, "Structures")).to_have_text(str(2 + number), timeout=30_000)

        rerun_on(director, "Structures et imports", "Historique des imports")
        for page in (registry, director):
            expect(structures_metric(page, "Structures")).to_have_text("12", timeout=30_000)
            expect(structures_metric(page, "Imports en vigueur")).to_have_text("11", timeout=30_000)  # 1 + 10
            assert errors(page) == []

    con = db.connect(base)
    try:
        stored = con.cursor().execute("SELECT structure_code, value FROM observation WHERE structure_code LIKE "
                                      "'S-N%' ORDER BY 1").fetchall()
    finally:
        db.close(base)
    assert stored == [(f"S-N{i:02d}", 80.0 + i) for i in range(1, 11)]


def test_three_sessions_uploading_at_the_same_moment_all_land_unmixed(tmp_path):
    base = tmp_path / "base.duckdb"
    sent = {name: new_structures(prefix, n) for name, prefix, n in
            (("envoi-a.csv", "A", 20_000), ("envoi-b.csv", "B", 30_000), ("envoi-c.csv", "C", 40_000))}
    with served(base) as url, chromium() as browser:
        pages = {name: watched_page(browser) for name in sent}
        for name, page in pages.items():
            upload(page, url, canonical(tmp_path / name, rows_of(sent[name])))
        # The three clicks at the same instant (the pages share the machine's clock), not one after the other.
        at = next(iter(pages.values())).evaluate("Date.now()") + 1_500
        for page in pages.values():
            page.evaluate("""(at) => setTimeout(() => {
                window.__clicked = [...document.querySelectorAll('button')]
                    .filter((b) => b.textContent.includes('Importer 1 fichier') && !b.disabled)
                    .map((b) => { b.click(); return Date.now(); });
            }, at - Date.now())""", at)
        for name, page in pages.items():
            page.wait_for_function("window.__clicked !== undefined")
            assert len(page.evaluate("window.__clicked")) == 1
            said = page.get_by_text(f"{name} : importé (import n°").first
            said.wait_for(timeout=60_000)
            # Each session says its own file's count, never another's.
            assert spaced(format_count(len(sent[name]), "valeur ajoutée")) in spaced(said.inner_text())
            assert errors(page) == []
        # The first click takes the write; at least one of the two others waits for it, and says so.
        assert any(waited(page) for page in pages.values())

    history = command_line("history", "--format", "json", "--db", str(base))
    out, err = history.communicate(timeout=60)
    assert history.returncode == 0, err
    imports = json.loads(out)
    assert sorted((i["filename"], i["rows_added"], i["status"]) for i in imports) == [
        (name, len(values), "importe") for name, values in sent.items()]
    con = db.connect(base)
    try:
        for name, values in sent.items():
            prefix = values[0][0][0]
            stored = con.cursor().execute(
                "SELECT o.structure_code, o.value, b.filename FROM observation o JOIN import_batch b "
                "ON b.id = o.import_id WHERE o.structure_code LIKE $prefix || '%' ORDER BY 1",
                {"prefix": prefix}).fetchall()
            assert stored == [(code, value, name) for code, value in values]
    finally:
        db.close(base)


def test_dashboard_killed_during_an_upload_leaves_the_base_as_before(tmp_path):
    base = seeded_base(tmp_path / "base.duckdb", tmp_path)
    before = base_snapshot(base)
    # 300,000 new structures: about a second of writing on two cores, long enough to be killed in the middle.
    big = canonical(tmp_path / "gros.csv", rows_of(new_structures("K", 300_000)))
    with served_process(base) as (process, url), chromium() as browser:
        page = new_page(browser)
        upload(page, url, big)
        page.get_by_role("button", name="Importer 1 fichier").click()
        # Said just before the transaction opens.
        page.get_by_text("Écriture dans la base").wait_for(timeout=60_000)
        kill_hard(process)
    assert process.returncode == -signal.SIGKILL
    # DuckDB replays only committed work: the base opens, as it was.
    assert base_snapshot(base) == before
