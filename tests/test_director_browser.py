"""A director's own spreadsheet, from the file to the level, in Debian's Chromium: the workbook has a title row
and no structure column; the page asks which structure, recognises every header, asks about an unknown column of
numbers once, remembers the answer for next month's file, and Mon service shows the structure's own 12 months."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook

from helpers import shot
from indicators.text import format_count

pytestmark = pytest.mark.browser

HEADERS = ["Mois", "Appels reçus", "Appels décrochés", "Taux de décroché (%)",
           "Délai moyen de réponse aux courriels (jours)", "Satisfaction (%)", "Nombre de répondants"]
BUSY = """() => [...document.querySelectorAll('[data-testid="stStatusWidget"], [data-stale="true"]')].length"""


def director_workbook(year: int, months: int = 12, extra: str | None = None) -> bytes:
    """« Tableau de bord qualité — CAF de l'Ain »: a title row, a blank row, the headers, a row per month (the
    month as a date cell, as a spreadsheet stores it)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Tableau de bord"
    sheet.append(["Tableau de bord qualité — CAF de l'Ain"])
    sheet.append([])
    sheet.append(HEADERS + ([extra] if extra else []))
    for month in range(1, months + 1):
        received, answered = 1000 + 10 * month, 880 + 5 * month
        sheet.append([datetime(year, month, 1), received, answered, round(100 * answered / received, 1),
                      3.5 + month / 20, 82 + month / 10, 200 + month] + ([12 + month % 3] if extra else []))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def settle(page) -> None:
    calm = 0
    while calm < 2:
        calm = 0 if page.evaluate(BUSY) else calm + 1
        page.wait_for_timeout(300)


def choose(page, label: str, text: str, new: bool = False) -> None:
    """Pick ``text`` in the selectbox labelled ``label``; ``new``: typed, as a new option."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label)
    box.locator("input").click()
    if new:
        box.locator("input").fill(text)
        page.keyboard.press("Enter")
    else:
        page.get_by_role("option", name=text).first.click()
    settle(page)


def upload(page, path) -> None:
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text("Mise en page détectée").first.wait_for(timeout=60_000)
    settle(page)


def import_now(page, values: int) -> None:
    """Import, and read the summary: ``values`` values added (the server holds the database file)."""
    page.get_by_role("button", name="Importer 1 fichier").click()
    page.get_by_text(format_count(values, "valeur ajoutée")).first.wait_for(timeout=60_000)
    settle(page)


def test_director_spreadsheet_from_file_to_level(server, page, tmp_path):
    files = {name: tmp_path / f"{name}.xlsx" for name in ("2025", "2024", "2026")}
    files["2025"].write_bytes(director_workbook(2025))
    files["2024"].write_bytes(director_workbook(2024, extra="Effectif agents"))
    files["2026"].write_bytes(director_workbook(2026, months=10, extra="Effectif agents"))

    # 1. No structure column: the page asks; every header is recognised (no column question).
    page.goto(f"{server}/import_fichiers")
    page.get_by_text("Fichiers à importer").wait_for(timeout=60_000)
    upload(page, files["2025"])
    assert page.get_by_text("Ce fichier concerne la structure :").is_visible()
    assert page.get_by_text("Colonnes à préciser").count() == 0
    choose(page, "Ce fichier concerne la structure", "CAF-AIN", new=True)
    page.get_by_label("Nom de CAF-AIN").fill("CAF de l'Ain")
    page.keyboard.press("Enter")
    settle(page)
    choose(page, "Réseau de CAF-AIN", "CAF", new=True)
    page.get_by_text("Fichier valide").wait_for(timeout=30_000)
    shot(page, "directeur-1-structure-choisie")
    import_now(page, 36)

    # 2. An unknown column of numbers: not valid until it is mapped (here to the survey's sample size).
    upload(page, files["2024"])
    page.get_by_text("« Effectif agents » correspond à :").wait_for(timeout=30_000)
    assert page.get_by_text("Fichier valide").count() == 0
    # The structure chosen for the previous file is proposed again.
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Ce fichier concerne")
    assert picker.get_by_role("combobox").input_value() == "CAF-AIN – CAF de l'Ain"
    choose(page, "« Effectif agents » correspond à", "Satisfaction globale : effectif")
    page.get_by_text("Fichier valide").wait_for(timeout=30_000)
    shot(page, "directeur-2-colonne-associee")
    import_now(page, 36)
    page.get_by_text("Correspondances de colonnes enregistrées").wait_for(timeout=30_000)

    # 3. Next file with the same headers: the saved mapping applies with a note, nothing to map.
    upload(page, files["2026"])
    page.get_by_text("Correspondance des colonnes enregistrée").first.wait_for(timeout=30_000)
    page.get_by_text("Fichier valide").wait_for(timeout=30_000)
    import_now(page, 30)

    # 4. Mon service: the structure's level, over its own 12 months (up to October 2026).
    page.get_by_role("link", name="Mon service").click()
    page.get_by_text("Niveau atteignable").wait_for(timeout=60_000)
    settle(page)
    body = page.locator("body").inner_text()
    assert "CAF-AIN – CAF de l'Ain" in body and "CAF ·" in body  # named, in its network
    assert "nan" not in body.split()
    assert "novembre 2025" in body and "octobre 2026" in body, body[:2000]
    shot(page, "directeur-3-mon-service")
