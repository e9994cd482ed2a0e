"""The director's own spreadsheet (issue 10): a title row, a blank row, the headers and twelve months as date cells,
without a structure column. Its headers read by meaning; the command line's --structure, --colonne,
--ignorer-colonne, --nom and --reseau; the column mapping remembered for the next file with the same headers; the
rights; the Import page's questions in AppTest. Real .xlsx and .csv files, written here, on a real DuckDB file."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
from openpyxl import Workbook
from streamlit.testing.v1 import AppTest

from helpers import count, open_app_page, snapshot, write_csv
from indicators import db, grants, importer, layouts, mappings, rights
from indicators.columns import Choices, candidates, fingerprint, meaning_key, target_label
from indicators.referentiel import REFERENTIEL_DIR, load_default, load_referentiel_file
from indicators.text import markdown_literal
from ui.import_assistant import IGNORE

HEADERS = ["Mois", "Appels reçus", "Appels décrochés", "Taux de décroché (%)",
           "Délai moyen de réponse aux courriels (jours)", "Satisfaction (%)", "Nombre de répondants"]
AGENTS = "Effectif agents"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTHS = range(1, 13)
# What the director adds to the usual columns: a count of numbers no indicator names, a comment in words.
EXTRA_CELLS = {AGENTS: lambda month: 12 + month % 3, "Commentaire": lambda month: "RAS" if month % 2 else "grève"}

DIRECTRICE_RHONE = rights.Person("Anne Roux", "anne.roux@caf.fr", "pc-anne")
DIRECTEUR_AIN = rights.Person("Marc Blanc", "marc.blanc@caf.fr", "pc-marc")
LECTRICE = rights.Person("Léa Petit", "lea.petit@prefecture.gouv.fr", "pc-lea")
REGISTER = ["code_structure;nom_structure;reseau", "CAF-AIN;CAF de l'Ain;CAF", "CAF-RHONE;CAF du Rhône;CAF"]


def received(month: int) -> int:
    return 1000 + 10 * month


def answered(month: int) -> int:
    return 880 + 5 * month


def workbook(year: int = 2025, *extra: str) -> bytes:
    """The director's workbook as a real one looks: title, blank row, headers, one row per month of ``year``."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Tableau de bord"
    sheet.append(["Tableau de bord qualité — CAF de l'Ain"])
    sheet.append([])
    sheet.append(HEADERS + list(extra))
    for month in MONTHS:
        row = [datetime(year, month, 1), received(month), answered(month),
               round(100 * answered(month) / received(month), 1), 3.5 + month / 20, 82 + month / 10, 200 + month]
        sheet.append(row + [EXTRA_CELLS[header](month) for header in extra])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def spreadsheet(tmp_path):
    """Writes the workbook of ``year`` (with ``extra`` columns) to a file; returns its path."""
    def write(year: int = 2025, *extra: str):
        path = tmp_path / f"tableau-{year}{''.join('-' + e for e in extra)}.xlsx"
        path.write_bytes(workbook(year, *extra))
        return path
    return write


@pytest.fixture
def register(con):
    """CAF-AIN and CAF-RHONE in the register, network CAF, imported as an administrator."""
    content = ("\n".join(REGISTER) + "\n").encode("utf-8")
    report = importer.import_bytes(con, content, "structures.csv", rights.COMMAND_LINE)
    assert (report.outcome, report.structures_added) == ("importe", 2), report.problems
    return con


def granted(con, person: rights.Person, role: str, *, networks=(), structures=()) -> rights.Access:
    grants.grant(con, rights.COMMAND_LINE, email=person.email, role=role, networks=networks, structures=structures)
    return rights.for_person(con, person)


def stored(con, structure: str = "CAF-AIN") -> dict[str, int]:
    """Values stored for the structure, by indicator."""
    rows = con.cursor().execute("SELECT indicator_code, count(*) FROM observation WHERE structure_code = ? "
                                "GROUP BY ALL ORDER BY 1", [structure]).fetchall()
    return dict(rows)


THREE_INDICATORS = {"decroche": 12, "delai_courriels": 12, "satisfaction_globale": 12}


# Meaning


def wide_targets(header: str, beside: str | None = None) -> list[tuple[str, str | None]]:
    """(indicator, role) of ``header``'s column, in a wide file with a structure and a month column (and the
    ``beside`` column: a count alone gives no value, it is read beside its indicator's)."""
    headers = ["code_structure", "Mois", *([beside] if beside else []), header]
    match = layouts.recognise(headers, load_default())
    assert match is not None and match.spec.name == "large", header
    roles = {"value": None, "numerator": "numerateur", "denominator": "denominateur", "sample_size": "effectif"}
    return [(w.code, role) for w in match.wide_indicators for field, role in roles.items()
            if getattr(w, field) == len(headers) - 1]


@pytest.mark.parametrize("header, target", [
    ("Délai moyen de réponse aux courriels (jours)", ("delai_courriels", None)),
    ("DÉLAI DE RÉPONSE AUX COURRIELS", ("delai_courriels", None)),
    ("delai moyen de reponse aux courriels", ("delai_courriels", None)),
    ("Taux de décroché (%)", ("decroche", None)),
    ("Taux de décroché %", ("decroche", None)),
    ("TAUX DE DECROCHE", ("decroche", None)),
    ("Appels reçus", ("decroche", "denominateur")),
    ("Nombre d'appels reçus", ("decroche", "denominateur")),
    ("Appels décrochés", ("decroche", "numerateur")),
    ("Nb d'appels décrochés", ("decroche", "numerateur")),
    ("Nombre de répondants", ("satisfaction_globale", "denominateur")),
    ("Satisfaction (%)", ("satisfaction_globale", None)),
    ("satisfaction", ("satisfaction_globale", None)),
])
def test_a_header_is_read_by_its_meaning_units_filler_words_accents_and_case_aside(header, target):
    beside = load_default().indicator(target[0]).label if target[1] else None
    assert wide_targets(header, beside) == [target]


def test_a_header_that_means_nothing_known_is_left_for_the_person_to_map():
    match = layouts.recognise(["code_structure", "Mois", AGENTS], load_default())
    assert match.wide_indicators == () and match.unknown_columns == (2,)


def test_no_two_targets_of_the_shipped_referentiel_share_a_meaning_so_matching_by_meaning_is_never_ambiguous():
    for path in sorted(REFERENTIEL_DIR.glob("*.toml")):
        owners: dict[str, set[tuple[str, str | None]]] = {}
        for ind in load_referentiel_file(path).indicators:
            for role, names in ((None, (ind.code, ind.label, *ind.aliases)), ("numerateur", ind.numerator_aliases),
                                ("denominateur", ind.denominator_aliases), ("effectif", ind.sample_aliases)):
                for name in names:
                    owners.setdefault(meaning_key(name), set()).add((ind.code, role))
        assert "" not in owners, path.name
        shared = {key: targets for key, targets in owners.items() if len(targets) > 1}
        assert not shared, f"{path.name} : {shared}"


# Command line


def test_the_workbook_without_structure_is_refused_with_the_flag_to_give_and_nothing_is_stored(con, run_cli,
                                                                                                spreadsheet):
    before = snapshot(con)
    code, out, err = run_cli("import", spreadsheet())
    assert code == 1
    assert "Aucune colonne de structure : précisez la structure avec --structure CODE" in err
    assert "Aucun fichier n'a été importé." in err and not out
    assert snapshot(con) == before


def test_with_its_structure_every_header_is_recognised_and_twelve_months_of_three_indicators_are_stored(
        con, run_cli, spreadsheet):
    code, out, err = run_cli("import", spreadsheet(), "--structure", "CAF-AIN")
    assert code == 0, err
    assert "Colonnes ignorées" not in out + err and "Attention" not in out
    assert "36 valeurs ajoutées" in out and "1 structure créée" in out
    assert stored(con) == THREE_INDICATORS
    march = con.cursor().execute(
        "SELECT indicator_code, period_start, period_end, value, numerator, denominator FROM observation "
        "WHERE structure_code = 'CAF-AIN' AND period_start = DATE '2025-03-01' ORDER BY 1").fetchall()
    # March: 1 030 calls received, 895 answered (86,9 %); 3,5 + 3/20 = 3,65 days; 82,3 % of 203 respondents.
    assert [(r[0], str(r[1]), str(r[2])) for r in march] == [
        ("decroche", "2025-03-01", "2025-03-31"), ("delai_courriels", "2025-03-01", "2025-03-31"),
        ("satisfaction_globale", "2025-03-01", "2025-03-31")]
    assert [r[3:] for r in march] == [(86.9, 895, 1030), (pytest.approx(3.65), None, None), (82.3, None, 203)]
    # Named by its code until named: never NULL, never « nan »; no network.
    assert con.cursor().execute("SELECT name, network FROM structure WHERE code = 'CAF-AIN'").fetchall() == [
        ("CAF-AIN", None)]


def test_nom_and_reseau_name_the_structure_the_file_creates(con, run_cli, spreadsheet):
    code, _, err = run_cli("import", spreadsheet(), "--structure", "CAF-AIN", "--nom", "CAF de l'Ain",
                             "--reseau", "CAF")
    assert code == 0, err
    assert con.cursor().execute("SELECT name, network FROM structure WHERE code = 'CAF-AIN'").fetchall() == [
        ("CAF de l'Ain", "CAF")]


def test_nom_for_a_file_creating_two_structures_is_a_usage_error_in_french(con, run_cli, tmp_path):
    path = write_csv(tmp_path / "deux.csv", ["code_structure;Mois;Taux de décroché (%)", "S-A;2025-01;85",
                                             "S-B;2025-01;86"])
    before = snapshot(con)
    code, _, err = run_cli("import", path, "--nom", "Accueil")
    assert code == 2
    assert err.strip() == ("--nom et --reseau nomment la structure que le fichier crée, mais il en crée 2 "
                           "(S-A, S-B) : nommez-les dans un registre des structures.")
    assert snapshot(con) == before


def test_status_gives_the_levels_computed_by_hand_over_the_twelve_months(con, run_cli, spreadsheet):
    assert run_cli("import", spreadsheet(), "--structure", "CAF-AIN")[0] == 0
    code, out, err = run_cli("status", "--structure", "CAF-AIN", "--format", "json", "--period", "2025")
    assert code == 0, err
    structure = json.loads(out)["structures"][0]
    by_code = {i["code"]: i for i in structure["indicators"]}
    # decroche: Σ answered / Σ received = (12 × 880 + 5 × 78) / (12 × 1 000 + 10 × 78)
    # = 10 950 / 12 780 = 85,68 %: argent (≥ 85), not or (≥ 90).
    assert by_code["decroche"]["value"] == pytest.approx(100 * 10950 / 12780)
    assert (by_code["decroche"]["n"], by_code["decroche"]["level"]) == (12780, "argent")
    # delai_courriels: mean of 3,5 + m/20 = 3,5 + 6,5/20 = 3,825 days: bronze (≤ 5), not argent (≤ 3).
    assert by_code["delai_courriels"]["value"] == pytest.approx(3.825)
    assert by_code["delai_courriels"]["level"] == "bronze"
    # satisfaction_globale, weighted by the respondents: Σ (82 + m/10)(200 + m) / Σ (200 + m)
    # = (82 × 2 478 + (200 × 78 + 650) / 10) / 2 478 = 204 821 / 2 478 = 82,66 %:
    # bronze (≥ 75), not argent (≥ 85).
    assert by_code["satisfaction_globale"]["value"] == pytest.approx(100 * 204821 / 247800)
    assert (by_code["satisfaction_globale"]["n"], by_code["satisfaction_globale"]["level"]) == (2478, "bronze")
    # The five required indicators the spreadsheet does not carry hold the structure at « aucun ».
    assert (structure["code"], structure["name"], structure["level"]) == ("CAF-AIN", "CAF-AIN", "aucun")
    assert structure["blocking"] == ["attente_guichet", "delai_courriers", "delais_annonces",
                                     "demarches_en_ligne_8", "publication_resultats"]


def test_an_unknown_column_of_numbers_is_refused_naming_the_column_and_the_flags(con, run_cli, spreadsheet):
    before = snapshot(con)
    code, _, err = run_cli("import", spreadsheet(2025, AGENTS), "--structure", "CAF-AIN")
    assert code == 1
    assert f"colonne « {AGENTS} » : Cette colonne contient des nombres mais ne correspond à aucun indicateur" in err
    assert "--colonne \"EN-TÊTE=code\"" in err and "--ignorer-colonne \"EN-TÊTE\"" in err
    assert "« satisfaction_globale:effectif »" in err  # the likeliest target, offered as an example
    assert snapshot(con) == before


def test_an_unknown_column_ignored_on_request_lets_the_spreadsheet_in(con, run_cli, spreadsheet):
    code, out, err = run_cli("import", spreadsheet(2025, AGENTS), "--structure", "CAF-AIN",
                             "--ignorer-colonne", AGENTS)
    assert code == 0, err
    assert f"Attention : Colonnes ignorées à votre demande : {AGENTS}." in out
    assert stored(con) == THREE_INDICATORS
    assert count(con, "SELECT count(sample_size) FROM observation") == 0


def test_an_unknown_column_mapped_to_a_count_fills_that_count(con, run_cli, spreadsheet):
    code, _, err = run_cli("import", spreadsheet(2025, AGENTS), "--structure", "CAF-AIN",
                             "--colonne", f"{AGENTS}=satisfaction_globale:effectif")
    assert code == 0, err
    assert stored(con) == THREE_INDICATORS
    sizes = con.cursor().execute("SELECT sample_size FROM observation WHERE indicator_code = 'satisfaction_globale' "
                                 "ORDER BY period_start").fetchall()
    assert [s for (s,) in sizes] == [12 + m % 3 for m in MONTHS]
    assert count(con, "SELECT count(sample_size) FROM observation WHERE indicator_code <> 'satisfaction_globale'") == 0


def test_a_column_of_words_is_a_warning_never_a_refusal(con, run_cli, spreadsheet):
    code, out, err = run_cli("import", spreadsheet(2025, "Commentaire"), "--structure", "CAF-AIN")
    assert code == 0, err
    assert "Attention : Colonnes ignorées (non reconnues, sans nombres) : Commentaire." in out
    assert stored(con) == THREE_INDICATORS


def test_a_mapping_to_an_unknown_target_is_refused_in_french(con, run_cli, spreadsheet):
    before = snapshot(con)
    code, _, err = run_cli("import", spreadsheet(2025, AGENTS), "--structure", "CAF-AIN",
                             "--colonne", f"{AGENTS}=effectif_agents")
    assert code == 1
    assert (f"Une correspondance de colonnes ne convient pas à ce fichier. « effectif_agents » (pour la colonne "
            f"« {AGENTS} ») n'est ni un indicateur du référentiel ni un de ses comptages") in err
    assert snapshot(con) == before


def test_a_mapping_without_equal_sign_is_a_usage_error(con, run_cli, spreadsheet):
    before = snapshot(con)
    code, _, err = run_cli("import", spreadsheet(2025, AGENTS), "--structure", "CAF-AIN", "--colonne", AGENTS)
    assert code == 2
    assert err.startswith(f"--colonne « {AGENTS} » : écrivez l'en-tête, un signe =, puis le code de l'indicateur")
    assert snapshot(con) == before


# Remembered


def test_the_mapping_is_remembered_for_next_years_file_listed_and_forgotten(register, run_cli, spreadsheet):
    con = register
    assert run_cli("import", spreadsheet(2025, AGENTS), "--structure", "CAF-AIN", "--ignorer-colonne", AGENTS)[0] == 0
    code, out, err = run_cli("import", spreadsheet(2026, AGENTS), "--structure", "CAF-AIN")
    assert code == 0, err
    assert "Attention : Correspondance des colonnes enregistrée pour ces en-têtes appliquée" in out
    assert count(con, "SELECT count(*) FROM observation WHERE year(period_start) = 2026") == 36

    saved = mappings.listing(con, rights.COMMAND_LINE)
    assert saved[["headers", "columns", "created_by"]].to_dict("records") == [{
        "headers": " | ".join([*HEADERS, AGENTS]), "columns": f"{AGENTS} → ignorée",
        "created_by": "ligne de commande (utilisateur système)"}]
    key = saved["fingerprint"].iloc[0]
    assert key == fingerprint([*HEADERS, AGENTS])

    reader = granted(con, LECTRICE, rights.READER, networks=("CAF",))
    for attempt in (lambda: mappings.listing(con, reader), lambda: mappings.forget(con, key, reader)):
        with pytest.raises(rights.AccessRefused, match="Seules les personnes qui peuvent importer"):
            attempt()
    assert len(mappings.listing(con, rights.COMMAND_LINE)) == 1

    message = mappings.forget(con, key, rights.COMMAND_LINE)
    assert message == f"Correspondance de colonnes oubliée pour les en-têtes : {' | '.join([*HEADERS, AGENTS])}."
    assert mappings.listing(con, rights.COMMAND_LINE).empty
    before = snapshot(con)
    code, out, err = run_cli("import", spreadsheet(2027, AGENTS), "--structure", "CAF-AIN")
    assert code == 1 and f"colonne « {AGENTS} »" in err
    assert snapshot(con) == before


# Rights


def test_a_director_of_another_structure_cannot_import_the_spreadsheet_for_caf_ain(register):
    con = register
    batch = importer.prepare(con, [importer.Source("tableau.xlsx", content=workbook(),
                                                   choices=Choices(structure="CAF-AIN"))])
    assert [f.ready for f in batch.files] == [True]
    rhone = granted(con, DIRECTRICE_RHONE, rights.DIRECTOR, structures=("CAF-RHONE",))
    before = snapshot(con)
    with pytest.raises(rights.AccessRefused) as refused:
        importer.commit(con, batch, rhone)
    assert str(refused.value) == (
        "Import refusé : le fichier contient des valeurs pour 1 structure hors de votre périmètre ou inconnue "
        "(CAF-AIN). Rien n'a été enregistré ; retirez ces lignes ou demandez l'import à un administrateur.")
    assert snapshot(con) == before
    ain = granted(con, DIRECTEUR_AIN, rights.DIRECTOR, structures=("CAF-AIN",))
    [report] = importer.commit(con, batch, ain)
    assert (report.outcome, report.rows_added, report.structures_added) == ("importe", 36, 0)
    assert stored(con) == THREE_INDICATORS


# The Import page


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader[0].upload(name, content, XLSX)
    at.run()
    assert not at.exception, at.exception
    return at


def labelled(elements, label: str):
    found = [e for e in elements if e.label == label]
    assert len(found) == 1, f"« {label} » parmi {[e.label for e in elements]}"
    return found[0]


def chosen(at: AppTest, label: str, value) -> AppTest:
    labelled(at.selectbox, label).set_value(value)
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    found = [b for b in at.button if b.label.startswith(label)]
    assert found, f"pas de bouton « {label} » parmi {[b.label for b in at.button]}"
    found[0].click()
    at.run()
    assert not at.exception, at.exception
    return at


def shown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_the_page_asks_the_structure_then_the_unknown_column_and_remembers_the_answer(register):
    con = register
    at = upload(open_app_page("pages/import_fichiers.py"), "tableau-2025.xlsx", workbook())
    question = labelled(at.selectbox, "Ce fichier concerne la structure :")
    assert question.value is None
    assert question.options == ["CAF-AIN – CAF de l'Ain", "CAF-RHONE – CAF du Rhône"]
    assert "Fichier valide" not in shown(at)
    assert next(b for b in at.button if b.label.startswith("Importer")).disabled

    at = chosen(at, "Ce fichier concerne la structure :", "CAF-AIN")
    assert "Fichier valide" in shown(at) and not at.error
    assert not [s for s in at.selectbox if s.label.endswith("correspond à :")]  # every header recognised
    at = click(at, "Importer")
    assert any("36 valeurs ajoutées" in s for s in at.success.values), at.success.values
    assert stored(con) == THREE_INDICATORS

    at = upload(at, "tableau-2026.xlsx", workbook(2026, AGENTS))
    # The structure chosen for the previous file is offered again.
    assert labelled(at.selectbox, "Ce fichier concerne la structure :").value == "CAF-AIN"
    column = labelled(at.selectbox, f"« {AGENTS} » correspond à :")
    referentiel = load_default()
    likely = [target_label(t, referentiel) for t in candidates(AGENTS, referentiel)]
    assert likely and column.options[:len(likely) + 1] == [*likely, "Ignorer cette colonne"]
    assert column.value is None and "Fichier valide" not in shown(at)

    at = chosen(at, f"« {AGENTS} » correspond à :", IGNORE)
    assert "Fichier valide" in shown(at) and not at.error
    at = click(at, "Importer")
    assert count(con, "SELECT count(*) FROM observation WHERE year(period_start) = 2026") == 36
    assert "Correspondances de colonnes enregistrées" in [h.value for h in at.header]
    listed = [d.value for d in at.dataframe if "columns" in d.value.columns]
    assert [list(d["columns"]) for d in listed] == [[f"{AGENTS} → ignorée"]]

    at = click(at, "Oublier")
    # Shown literally: the « | » between the headers is no Markdown table.
    forgotten = f"Correspondance de colonnes oubliée pour les en-têtes : {' | '.join([*HEADERS, AGENTS])}."
    assert markdown_literal(forgotten) in at.success.values, at.success.values
    assert mappings.listing(con, rights.COMMAND_LINE).empty
    assert not [d for d in at.dataframe if "columns" in d.value.columns]
    assert not db.query(con, "mappings_remembered")


def test_a_mapping_forgotten_while_its_file_is_uploaded_applies_no_more(register):
    con = register
    first = importer.prepare(con, [importer.Source("tableau-2025.xlsx", content=workbook(2025, AGENTS),
                                                   choices=Choices(structure="CAF-AIN", ignored=(AGENTS,)))])
    importer.commit(con, first, rights.COMMAND_LINE)
    at = upload(open_app_page("pages/import_fichiers.py"), "tableau-2026.xlsx", workbook(2026, AGENTS))
    at = chosen(at, "Ce fichier concerne la structure :", "CAF-AIN")
    assert "Fichier valide" in shown(at)
    assert any(w.startswith("Correspondance des colonnes enregistrée") for w in at.warning.values)

    at = click(at, "Oublier")
    assert mappings.listing(con, rights.COMMAND_LINE).empty
    assert not any(w.startswith("Correspondance des colonnes enregistrée") for w in at.warning.values)
    assert labelled(at.selectbox, f"« {AGENTS} » correspond à :").value is None
    assert "Fichier valide" not in shown(at)
