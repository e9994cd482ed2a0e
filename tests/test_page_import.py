"""The Import page through Streamlit's AppTest, driving the real app on a real DuckDB file: upload, preview,
validation report, import, « déjà importé », refusal and replace, undo, template downloads."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from helpers import CANONICAL_HEADER, count, open_app_page
from indicators import db
from indicators.export import CSV_LINE_END
from indicators.import_files import problems_csv, template_csv, template_xlsx

PAGE = "pages/import_fichiers.py"

GOOD_ROWS = [
    "S1;Accueil Évry – 5 € la copie;CAF;decroche;2025-01-01;2025-01-31;85,3;853;1000;",
    "S2;Accueil Caen;Urssaf;delai_courriels;01/01/2025;31/01/2025;3,5;;;40",
]


def csv_bytes(rows: list[str], encoding: str = "cp1252") -> bytes:
    return "\r\n".join([CANONICAL_HEADER, *rows, ""]).encode(encoding)


GOOD = csv_bytes(GOOD_ROWS)
BAD = csv_bytes([
    "S1;Accueil Lyon;CAF;decroche;2025-01-01;2025-01-31;120;;;",
    "S1;Accueil Lyon;CAF;satisfaction_globale;31/02/2025;2025-03-31;80;;;",
    "S2;Accueil Caen;CAF;decroche;2025-01-01;2025-01-31;=1+1;;;",
], "utf-8-sig")


def open_page() -> AppTest:
    return open_app_page(PAGE)


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    for name, content in files:
        at.file_uploader[0].upload(name, content, "text/csv")
    at.run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label.startswith(label)]
    assert found, f"pas de bouton « {label} » parmi {[b.label for b in at.button]}"
    return found[0]


def click(at: AppTest, label: str) -> AppTest:
    button(at, label).click()
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def problems_table(at: AppTest):
    tables = [d.value for d in at.dataframe if "problème" in d.value.columns]
    assert tables, "pas de rapport de validation"
    return tables[0]


def test_empty_database_shows_the_page_without_history(db_path):
    at = open_page()
    assert at.title[0].value == "Import"
    assert "Aucun import pour l'instant." in at.caption.values
    assert len(at.file_uploader) == 1 and at.file_uploader[0].accept_multiple_files
    assert set(at.file_uploader[0].allowed_type) >= {".csv", ".txt", ".xlsx", ".xls", ".ods"}
    assert not at.error and not at.dataframe
    assert not [b for b in at.button if b.label.startswith("Importer")]


def test_template_downloads_are_the_canonical_layout(db_path):
    at = open_page()
    csv_button, xlsx_button = at.download_button[0], at.download_button[1]
    assert (csv_button.label, xlsx_button.label) == ("Modèle vide (CSV)", "Modèle vide (Excel)")
    assert "UTF-8 avec BOM" in csv_button.help and "en-tête en gras" in xlsx_button.help
    # The bytes the buttons offer, from the function the page calls; one CSV line ending for every export.
    assert template_csv() == ("\ufeff" + CANONICAL_HEADER + CSV_LINE_END).encode("utf-8")
    sheet = load_workbook(io.BytesIO(template_xlsx())).active
    assert [c.value for c in sheet[1]] == CANONICAL_HEADER.split(";")
    assert all(c.font.bold for c in sheet[1]) and sheet.freeze_panes == "A2"


def test_good_windows_1252_file_is_previewed_then_imported(db_path):
    at = upload(open_page(), ("valeurs été.csv", GOOD))
    shown = texts(at.markdown)
    assert "format long canonique" in shown and "Windows-1252" in shown and "point-virgule" in shown
    assert "**Lignes lues** : 2" in shown and "Fichier valide" in shown
    preview = at.dataframe[0].value
    assert list(preview["source_line"]) == [2, 3]
    assert list(preview["value"]) == ["85,3", "3,5"]
    assert list(preview["denominator"]) == ["1\u202f000", ""]
    assert not at.error
    importer_button = button(at, "Importer")
    assert importer_button.label == "Importer 1 fichier" and not importer_button.disabled

    at = click(at, "Importer")
    assert any("importé (import n°1)" in s and "2 valeurs ajoutées" in s and "0 remplacée" in s
               for s in at.success.values), at.success.values
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM observation") == 2
    assert count(con, "SELECT count(*) FROM structure WHERE name = 'Accueil Évry – 5 € la copie'") == 1
    assert count(con, "SELECT value * 10 FROM observation WHERE indicator_code = 'decroche'") == 853
    # The uploader starts empty again: nothing left to import; the history lists the import.
    assert not [b for b in at.button if b.label.startswith("Importer")]
    history = at.dataframe[0].value
    assert list(history["filename"]) == ["valeurs été.csv"] and list(history["status"]) == ["importé"]
    assert list(history["layout"]) == ["format long canonique"]


def test_bad_file_lists_every_problem_in_french_and_cannot_be_imported(db_path):
    at = upload(open_page(), ("mauvais.csv", BAD))
    assert any("3 problèmes" in e for e in at.error.values), at.error.values
    problems = problems_table(at)
    assert list(problems.columns) == ["fichier", "feuille", "ligne", "colonne", "valeur trouvée", "problème",
                                      "attendu"]
    assert list(problems["ligne"]) == ["2", "3", "4"]  # text: a problem of the whole file has an empty line
    assert set(problems["fichier"]) == {"mauvais.csv"}
    by_line = problems.set_index("ligne")
    assert by_line.loc["2", "valeur trouvée"] == "120" and by_line.loc["2", "colonne"] == "valeur"
    assert by_line.loc["2", "problème"] == "Un taux doit être compris entre 0 et 100."
    assert by_line.loc["3", "valeur trouvée"] == "31/02/2025"
    assert by_line.loc["3", "problème"] == "Cette date n'existe pas."
    assert button(at, "Importer").disabled
    report = [b for b in at.download_button if b.label == "Télécharger le rapport (CSV)"]
    assert len(report) == 1
    text = problems_csv(problems).decode("utf-8")  # the report's bytes, from the table the page shows
    assert text.startswith("\ufefffichier;feuille;ligne;colonne;valeur trouvée;problème;attendu")
    assert "'=1+1" in text and ";=1+1" not in text
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM observation") == 0
    assert count(con, "SELECT count(*) FROM import_batch") == 0


def test_one_bad_file_blocks_the_whole_upload(db_path):
    at = upload(open_page(), ("bon.csv", GOOD), ("mauvais.csv", BAD))
    assert button(at, "Importer").disabled
    assert any("corrigez les fichiers" in c for c in at.caption.values)


def test_same_file_twice_is_already_imported(db_path):
    at = click(upload(open_page(), ("valeurs.csv", GOOD)), "Importer")
    at = upload(at, ("copie.csv", GOOD))
    assert any("déjà importé (import n°1)" in i for i in at.info.values), at.info.values
    assert button(at, "Importer").label == "Importer 0 fichier" and button(at, "Importer").disabled
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM import_batch") == 1


def test_same_content_twice_in_one_upload_is_imported_once(db_path):
    at = upload(open_page(), ("a.csv", GOOD), ("b.csv", GOOD))
    assert any("Même contenu que « a.csv »" in i for i in at.info.values)
    at = click(at, "Importer 1 fichier")
    assert count(db.connect(db_path), "SELECT count(*) FROM import_batch") == 1


def test_two_files_are_imported_together(db_path):
    other = csv_bytes(["S3;Accueil Pau;CAF;decroche;2025-02-01;2025-02-28;90;;;"])
    at = click(upload(open_page(), ("a.csv", GOOD), ("b.csv", other)), "Importer 2 fichiers")
    assert len(at.success) == 2
    assert count(db.connect(db_path), "SELECT count(*) FROM observation") == 3


def test_restated_value_is_refused_until_replace_is_ticked(db_path):
    at = click(upload(open_page(), ("a.csv", GOOD)), "Importer")
    changed = csv_bytes(["S1;Accueil Évry;CAF;decroche;2025-01-01;2025-01-31;90;900;1000;"])
    at = upload(at, ("correction.csv", changed))
    at = click(at, "Importer")
    assert any("refusé" in e for e in at.error.values), at.error.values
    problems = problems_table(at)
    assert list(problems["ligne"]) == ["2"]
    assert problems["problème"].str.contains("déjà enregistrée").all()
    assert any("Remplacer les valeurs déjà enregistrées" in i for i in at.info.values)
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM import_batch") == 1

    # The checked report was not spoiled by the refusal: tick « Remplacer » and import again.
    at.checkbox[0].check()
    at.run()
    assert not button(at, "Importer").disabled
    at = click(at, "Importer")
    assert any("1 remplacée" in s for s in at.success.values), at.success.values
    assert count(con, "SELECT value FROM observation WHERE indicator_code = 'decroche'") == 90
    assert count(con, "SELECT count(*) FROM observation_history") == 1


def test_rate_scale_choice_prepares_again(db_path):
    small = csv_bytes(["S1;Accueil;CAF;decroche;2025-01-01;2025-01-31;0,853;;;"])
    at = upload(open_page(), ("proportions.csv", small))
    assert list(at.dataframe[0].value["value"]) == ["85,3"]
    assert at.warning, "la conversion automatique doit être signalée"
    at.radio[0].set_value("0-100")
    at.run()
    assert list(at.dataframe[0].value["value"]) == ["0,853"]


def test_undo_from_the_history_removes_the_rows(db_path):
    at = click(upload(open_page(), ("a.csv", GOOD)), "Importer")
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM observation") == 2
    at = click(at, "Annuler l'import")
    assert any("Annuler l'import n°1" in w for w in at.warning.values)
    assert count(con, "SELECT count(*) FROM observation") == 2  # nothing before the confirmation
    at = click(at, "Confirmer l'annulation")
    assert any("Import n°1 (a.csv) annulé" in s for s in at.success.values), at.success.values
    assert count(con, "SELECT count(*) FROM observation") == 0
    assert list(at.dataframe[0].value["status"]) == ["annulé"]
    assert "Aucun import en vigueur à annuler." in at.caption.values


def test_undo_can_be_called_off(db_path):
    at = click(upload(open_page(), ("a.csv", GOOD)), "Importer")
    at = click(click(at, "Annuler l'import"), "Ne pas annuler")
    assert not at.warning
    assert count(db.connect(db_path), "SELECT count(*) FROM observation") == 2


def test_undo_refused_says_which_import_to_undo_first(db_path):
    at = click(upload(open_page(), ("a.csv", GOOD)), "Importer")
    at = upload(at, ("b.csv", csv_bytes(["S1;Accueil Évry;CAF;decroche;2025-01-01;2025-01-31;90;;;"])))
    at.checkbox[0].check()
    at.run()
    at = click(at, "Importer")
    at.selectbox[0].set_value(1)
    at.run()
    at = click(click(at, "Annuler l'import"), "Confirmer l'annulation")
    assert any("annulez d'abord l'import n°2" in e for e in at.error.values), at.error.values
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM import_batch WHERE status = 'importe'") == 2
    assert count(con, "SELECT value FROM observation WHERE indicator_code = 'decroche'") == 90


def test_workbook_shows_its_sheet_and_can_be_imported(db_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Janvier"
    book.active.append(CANONICAL_HEADER.split(";"))
    book.active.append(["S1", "Accueil", "CAF", "decroche", "2025-01-01", "2025-01-31", 85.3, None, None, None])
    content = io.BytesIO()
    book.save(content)
    at = upload(open_page(), ("valeurs.xlsx", content.getvalue()))
    assert "**Feuille** : Janvier" in texts(at.markdown)
    at = click(at, "Importer")
    assert at.success and count(db.connect(db_path), "SELECT count(*) FROM observation") == 1


@pytest.mark.parametrize("name, content, rule", [
    ("vide.csv", b"", "Le fichier est vide."),
    ("entete.csv", csv_bytes([]), "ne contient qu'une ligne d'en-tête"),
    ("abime.xlsx", b"PK\x03\x04 pas un classeur", "endommagé ou illisible"),
])
def test_unreadable_files_are_explained_not_crashed(db_path, name, content, rule):
    at = upload(open_page(), (name, content))
    assert problems_table(at)["problème"].str.contains(rule, regex=False).any()
    assert button(at, "Importer").disabled


def test_undo_newest_then_oldest(db_path):
    at = click(upload(open_page(), ("a.csv", GOOD)), "Importer")
    other = csv_bytes(["S1;Accueil Évry;CAF;decroche;2025-02-01;2025-02-28;88;;;"])
    at = click(upload(at, ("b.csv", other)), "Importer")
    assert at.selectbox[0].value == 2
    at = click(click(at, "Annuler l'import"), "Confirmer l'annulation")
    assert at.selectbox[0].value == 1 and len(at.selectbox[0].options) == 1
    at = click(click(at, "Annuler l'import"), "Confirmer l'annulation")
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM observation") == 0
    assert count(con, "SELECT count(*) FROM structure") == 0
    assert list(at.dataframe[0].value["status"]) == ["annulé", "annulé"]
