"""A workbook that aborts calamine, uploaded in the real dashboard: refused in French, and the server goes on
serving (this session and the next request). Streamlit on a free port, Debian's Chromium, Playwright."""

from __future__ import annotations

import urllib.request

import pytest

from helpers import CANONICAL_HEADER, LYON_ROWS, shot
from test_workbook_safety import last_cell_bomb

pytestmark = pytest.mark.browser


def health(url: str) -> str:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as answer:
        return answer.read().decode()


def test_aborting_workbook_is_refused_and_the_dashboard_goes_on(server, page, tmp_path):
    bomb = tmp_path / "derniere-cellule.xlsx"
    bomb.write_bytes(last_cell_bomb())
    page.goto(f"{server}/import_fichiers")
    page.get_by_text("Fichiers à importer").wait_for(timeout=60_000)
    page.locator('input[type="file"]').set_input_files(str(bomb))
    page.get_by_text(" : ce fichier ne peut pas être importé").wait_for(timeout=60_000)
    problems = page.locator('[data-testid="stDataFrame"]:visible').first
    problems.locator('[data-testid^="glide-cell-"]').filter(
        has_text="Le fichier dépasse le nombre maximal de colonnes.").first.wait_for(state="attached",
                                                                                      timeout=30_000)
    assert page.get_by_text("Erreur inattendue").count() == 0
    shot(page, "import-classeur-hostile")
    assert health(server) == "ok"

    # The same session goes on: the hostile file is removed, a valid one is imported.
    page.get_by_role("button", name=f"Retirer {bomb.name}").click()  # Streamlit's « Remove », said in French
    page.get_by_text(" : ce fichier ne peut pas être importé").wait_for(state="detached",
                                                                                 timeout=30_000)
    valid = tmp_path / "indicateurs-lyon.csv"
    valid.write_bytes((CANONICAL_HEADER + "\n" + "\n".join(LYON_ROWS) + "\n").encode("cp1252"))
    page.locator('input[type="file"]').set_input_files(str(valid))
    page.get_by_text("format long canonique").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Importer 1 fichier").click()
    page.get_by_text("9 valeurs ajoutées").first.wait_for(timeout=60_000)

    page.get_by_role("link", name="Mon service").click()
    page.get_by_text("Niveau atteignable").wait_for(timeout=60_000)
    shot(page, "mon-service-apres-classeur-hostile")
    assert health(server) == "ok"
