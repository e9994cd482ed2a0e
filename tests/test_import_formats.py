"""Every layout, encoding and French format users really have, imported from real files into a real database.

Each test writes its file into ``tmp_path``, imports it through ``importer.import_path`` or the command line,
and checks what was stored (``observation``, ``structure``, ``extra_indicator``), never only that nothing raised."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from helpers import CANONICAL_HEADER, canonical, count, write_csv
from indicators import db, importer, rights

DATA = Path(__file__).resolve().parent / "data"
SAMPLE_EXCERPT = DATA / "barometre-detail-departemental-extrait.csv"
SHORT_HEADER = "code_structure;code_indicateur;periode;valeur"


def rows(con, sql: str, params=None) -> list[tuple]:
    return con.cursor().execute(sql, params or []).fetchall()


def observations(con, structure: str | None = None) -> list[tuple]:
    """(structure, indicator, start, end, value, numerator, denominator, sample size, line), in file order."""
    where, params = ("WHERE structure_code = ?", [structure]) if structure else ("", [])
    return rows(con, "SELECT structure_code, indicator_code, period_start, period_end, value, numerator, "
                     f"denominator, sample_size, source_line FROM observation {where} "
                     "ORDER BY source_line, indicator_code", params)


def structure(con, code: str) -> dict:
    cur = con.cursor().execute("SELECT * FROM structure WHERE code = ?", [code])
    names = [d[0] for d in cur.description]
    found = cur.fetchall()
    assert found, f"structure {code} absente"
    return dict(zip(names, found[0]))


def imported(con, path: Path, **options) -> importer.ImportReport:
    report = importer.import_path(con, path, rights.COMMAND_LINE, **options)
    assert report.outcome == "importe", [p.describe() for p in report.problems]
    return report


def xlsx_bytes(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Delimiters, encodings, line endings -------------------------------------------------------------


@pytest.mark.parametrize("delimiter, name, value", [
    (";", "point-virgule", "85,3"),
    (",", "virgule", "85.3"),
    ("\t", "tabulation", "85,3"),
])
def test_each_delimiter_gives_the_same_stored_values(con, tmp_path, delimiter, name, value):
    header = CANONICAL_HEADER.replace(";", delimiter)
    line = delimiter.join(["S1", "Accueil Lyon", "CAF", "decroche", "2025-01-01", "2025-01-31", value, "853",
                           "1000", ""])
    report = imported(con, write_csv(tmp_path / "valeurs.csv", [header, line]))
    assert report.delimiter == name
    assert observations(con) == [("S1", "decroche", date(2025, 1, 1), date(2025, 1, 31), 85.3, 853.0, 1000.0,
                                  None, 2)]
    assert structure(con, "S1")["name"] == "Accueil Lyon"


FRENCH_NAME = "Trésorerie d’Œuvre – frais 5 € (cœur)"


@pytest.mark.parametrize("encoding, detected", [
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 avec BOM"),
    ("utf-16", "UTF-16"),  # Python writes the BOM for "utf-16"
    ("cp1252", "Windows-1252"),
])
def test_names_with_euro_oe_and_apostrophe_come_out_right_in_every_encoding(con, tmp_path, encoding, detected):
    path = canonical(tmp_path / "encodage.csv",
                     [f"S1;{FRENCH_NAME};Réseau Île-de-France;decroche;2025-01-01;2025-01-31;85,3;;;"], encoding)
    if encoding == "cp1252":
        assert b"\x80" in path.read_bytes() and b"\x92" in path.read_bytes()  # €, ’: not Latin-1
    report = imported(con, path)
    assert report.encoding == detected
    assert structure(con, "S1")["name"] == FRENCH_NAME
    assert structure(con, "S1")["network"] == "Réseau Île-de-France"
    assert observations(con)[0][4] == 85.3


def test_crlf_line_endings_are_read_like_lf(con, tmp_path):
    path = write_csv(tmp_path / "windows.csv", [
        CANONICAL_HEADER,
        "S1;Accueil;CAF;decroche;2025-01-01;2025-01-31;85,3;853;1000;",
        "S1;Accueil;CAF;delai_courriels;2025-01-01;2025-01-31;4,5;;;120",
    ], newline="\r\n")
    assert b"\r\n" in path.read_bytes()
    imported(con, path)
    assert observations(con) == [
        ("S1", "decroche", date(2025, 1, 1), date(2025, 1, 31), 85.3, 853.0, 1000.0, None, 2),
        ("S1", "delai_courriels", date(2025, 1, 1), date(2025, 1, 31), 4.5, None, None, 120.0, 3),
    ]
    # No carriage return leaks into the last column or into names.
    assert structure(con, "S1")["name"] == "Accueil"


# --- French numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["85,3", "85,3 %", "85,3\u202f%", "85,3\u00a0%", "85,3%"])
def test_french_rates_with_decimal_comma_and_percent_sign_are_read(con, tmp_path, text):
    imported(con, canonical(tmp_path / "taux.csv", [f"S1;;;decroche;2025-01-01;2025-01-31;{text};;;"]))
    assert observations(con)[0][4] == 85.3


@pytest.mark.parametrize("separator", [" ", "\u00a0", "\u202f"], ids=["espace", "nbsp", "espace-fine"])
def test_thousands_separated_by_any_space_are_read_as_one_number(con, tmp_path, separator):
    path = canonical(tmp_path / "appels.csv",
                     [f"S1;;;decroche;2025-01-01;2025-01-31;;10{separator}600;12{separator}000;"])
    imported(con, path)
    (_, _, _, _, value, numerator, denominator, _, _), = observations(con)
    assert (numerator, denominator) == (10600.0, 12000.0)
    assert value == pytest.approx(88.333333, abs=1e-6)  # computed from the counts


def test_rates_written_as_proportions_become_percentages_with_a_warning(con, tmp_path):
    path = canonical(tmp_path / "proportions.csv", [
        "S1;;;decroche;2025-01-01;2025-01-31;0,853;;;",
        "S1;;;decroche;2025-02-01;2025-02-28;0,9;;;",
    ])
    report = imported(con, path)
    assert [o[4] for o in observations(con)] == [pytest.approx(85.3), pytest.approx(90.0)]
    assert any("proportions de 0 à 1" in w and "« Taux de décroché »" in w for w in report.warnings)


def test_declared_0_100_scale_leaves_small_rates_as_they_are(con, tmp_path, run_cli):
    path = canonical(tmp_path / "petits-taux.csv", [
        "S1;;;decroche;2025-01-01;2025-01-31;0,853;;;",
        "S1;;;decroche;2025-02-01;2025-02-28;0,9;;;",
    ])
    code, out, err = run_cli("import", path, "--echelle-taux", "0-100")
    assert code == 0, err
    assert [o[4] for o in observations(con)] == [0.853, 0.9]
    assert "proportions" not in out


def test_declared_0_1_scale_converts_even_a_single_ambiguous_rate(con, tmp_path):
    imported(con, canonical(tmp_path / "un.csv", ["S1;;;decroche;2025-01-01;2025-01-31;1;;;"]), rate_scale="0-1")
    assert observations(con)[0][4] == 100.0


def test_delays_are_never_rescaled_like_rates(con, tmp_path):
    report = imported(con, canonical(tmp_path / "delais.csv", ["S1;;;delai_courriels;2025-01-01;2025-01-31;0,5;;;"]))
    assert observations(con)[0][4] == 0.5
    assert not any("proportions" in w for w in report.warnings)


# --- Dates and periods -----------------------------------------------------------------------------


@pytest.mark.parametrize("start, end", [("01/10/2025", "31/12/2025"), ("2025-10-01", "2025-12-31"),
                                        ("1/10/2025", "31.12.2025")])
def test_french_and_iso_dates_give_the_same_period(con, tmp_path, start, end):
    imported(con, canonical(tmp_path / "dates.csv", [f"S1;;;decroche;{start};{end};85;;;"]))
    assert observations(con)[0][2:4] == (date(2025, 10, 1), date(2025, 12, 31))


@pytest.mark.parametrize("text, start, end", [
    ("2025", date(2025, 1, 1), date(2025, 12, 31)),
    ("2025-T1", date(2025, 1, 1), date(2025, 3, 31)),
    ("T1 2025", date(2025, 1, 1), date(2025, 3, 31)),
    ("2025-T4", date(2025, 10, 1), date(2025, 12, 31)),
    ("2025-03", date(2025, 3, 1), date(2025, 3, 31)),
    ("02/2024", date(2024, 2, 1), date(2024, 2, 29)),
    ("mars 2025", date(2025, 3, 1), date(2025, 3, 31)),
    ("Février 2025", date(2025, 2, 1), date(2025, 2, 28)),
    ("2025-S2", date(2025, 7, 1), date(2025, 12, 31)),
    ("31/12/2025", date(2025, 12, 31), date(2025, 12, 31)),
])
def test_periods_as_users_write_them(con, tmp_path, text, start, end):
    imported(con, write_csv(tmp_path / "periodes.csv", [SHORT_HEADER, f"S1;decroche;{text};85"]))
    assert observations(con)[0][2:4] == (start, end)


# --- Where a value came from: the line the user sees -------------------------------------------------


def test_source_line_is_the_line_seen_in_a_text_editor_despite_titles_and_blank_lines(con, tmp_path):
    path = write_csv(tmp_path / "avec-titre.csv", [
        "Indicateurs de qualité 2025",        # 1
        "Service des impôts de Lyon",         # 2
        "",                                   # 3
        CANONICAL_HEADER,                     # 4
        "",                                   # 5
        "A1;Accueil;R;decroche;2025-01-01;2025-01-31;80;;;",  # 6
        "",                                   # 7
        "",                                   # 8
        "A2;Accueil;R;decroche;2025-02-01;2025-02-28;81;;;",  # 9
        "A3;Accueil;R;decroche;2025-03-01;2025-03-31;82;;;",  # 10
    ])
    imported(con, path)
    assert [(o[0], o[4], o[8]) for o in observations(con)] == [("A1", 80.0, 6), ("A2", 81.0, 9), ("A3", 82.0, 10)]


def test_source_line_counts_a_quoted_line_break_and_crlf(con, tmp_path):
    path = write_csv(tmp_path / "multiligne.csv", [
        "Titre",                                                               # 1
        CANONICAL_HEADER,                                                      # 2
        'A1;"Accueil sur\r\ndeux lignes";R;decroche;2025-01-01;2025-01-31;80;;;',  # 3-4
        "",                                                                    # 5
        "A2;Accueil;R;decroche;2025-01-01;2025-01-31;81;;;",                   # 6
    ], newline="\r\n")
    imported(con, path)
    assert [(o[0], o[8]) for o in observations(con)] == [("A1", 3), ("A2", 6)]
    assert structure(con, "A1")["name"] == "Accueil sur\r\ndeux lignes"


def test_source_line_of_a_utf16_file_with_a_title_row(con, tmp_path):
    path = write_csv(tmp_path / "utf16.csv", ["Export téléphonie", SHORT_HEADER, "B1;decroche;2025-01;80",
                                              "B2;decroche;2025-01;81"], encoding="utf-16", newline="\r\n")
    imported(con, path)
    assert [(o[0], o[8]) for o in observations(con)] == [("B1", 3), ("B2", 4)]


# --- Wide layout -----------------------------------------------------------------------------------


def test_wide_layout_maps_rate_and_call_counts_and_reports_unknown_columns(con, tmp_path):
    path = write_csv(tmp_path / "telephonie.csv", [
        "Code structure;Nom structure;Période;Taux de décroché (%);Appels reçus;Appels décrochés;Commentaire;"
        "Délai de réponse aux courriels (jours ouvrés)",
        "W1;Plateforme Lyon;2025-01;85,3;1 000;853;RAS;4,5",
        "W1;Plateforme Lyon;2025-02;;2 000;1 700;;",
        "W2;Plateforme Caen;2025-T1;90;;;grève;",
    ])
    report = imported(con, path)
    assert report.layout == "large"
    assert observations(con) == [
        ("W1", "decroche", date(2025, 1, 1), date(2025, 1, 31), 85.3, 853.0, 1000.0, None, 2),
        ("W1", "delai_courriels", date(2025, 1, 1), date(2025, 1, 31), 4.5, None, None, None, 2),
        # No rate written: it is computed from the counts, 1 700 / 2 000.
        ("W1", "decroche", date(2025, 2, 1), date(2025, 2, 28), 85.0, 1700.0, 2000.0, None, 3),
        ("W2", "decroche", date(2025, 1, 1), date(2025, 3, 31), 90.0, None, None, None, 4),
    ]
    assert any("Commentaire" in w and "ignorées" in w for w in report.warnings)
    assert structure(con, "W2")["name"] == "Plateforme Caen"


def test_wide_layout_with_counts_only_computes_the_rate(con, tmp_path):
    path = write_csv(tmp_path / "compteurs.csv", ["code_structure;mois;Appels présentés;Appels traités",
                                                  "W1;janvier 2025;400;300"])
    imported(con, path)
    assert observations(con) == [("W1", "decroche", date(2025, 1, 1), date(2025, 1, 31), 75.0, 300.0, 400.0,
                                  None, 2)]


# --- Services Publics+ open data « export-resultats » ----------------------------------------------

LABEL_HEADERS = ["Code SP du résultat", "Intitulé du réseau", "Typologie", "Code SP structure",
                 "Intitulé de la structure", "Code SP de l'indicateur", "Titre original de l'indicateur",
                 "Date de début de l'évaluation", "Durée de l'évaluation", "Fréquence", "Valeur",
                 "Valeur attendue", "Satisfait", "Insatisfait", "Ne se prononce pas", "Date de mise à jour", "Actif"]
SNAKE_HEADERS = ["code_sp_du_resultat", "intitule_du_reseau", "typologie", "code_sp_structure",
                 "intitule_de_la_structure", "code_sp_de_l_indicateur", "titre_original_de_l_indicateur",
                 "date_de_debut_de_l_evaluation", "duree_de_l_evaluation", "frequence", "valeur", "valeur_attendue",
                 "satisfait", "insatisfait", "ne_se_prononce_pas", "date_de_mise_a_jour", "actif"]
EXPORT_ROWS = [
    "R1;CAF;Accueil physique;SP-1;CAF de l'Ain;IND-27;Taux de décroché;2025-01-01;3;Trimestrielle;82,5;;;;;"
    "2025-05-02;Oui",
    "R2;CAF;Accueil physique;SP-1;CAF de l'Ain;IND-99;Satisfaction des usagers à l'accueil;2025-01-01;6;"
    "semestrielle;76;80;76;20;4;2025-07-02;Oui",
    "R3;Urssaf;Téléphone;SP-2;Urssaf Centre-Val de Loire;IND-99;Satisfaction des usagers à l'accueil;"
    "2024-01-01;12;annuelle;81,5;80;163;30;7;2025-01-15;Oui",
]


@pytest.mark.parametrize("headers", [LABEL_HEADERS, SNAKE_HEADERS], ids=["libelles", "snake_case"])
def test_export_resultats_maps_titles_frequencies_and_creates_unknown_indicators(con, tmp_path, headers):
    report = imported(con, write_csv(tmp_path / "export-resultats.csv", [";".join(headers), *EXPORT_ROWS]))
    assert report.layout == "export_resultats"
    stored = {(o[0], o[1]): o for o in observations(con)}
    # « Taux de décroché » is the référentiel's indicator, whatever code the portal gives it.
    assert stored[("SP-1", "decroche")][2:5] == (date(2025, 1, 1), date(2025, 3, 31), 82.5)
    # An indicator the référentiel does not know is kept, never dropped; its period ends with its frequency.
    assert stored[("SP-1", "IND-99")][2:5] == (date(2025, 1, 1), date(2025, 6, 30), 76.0)
    assert stored[("SP-2", "IND-99")][2:5] == (date(2024, 1, 1), date(2024, 12, 31), 81.5)
    # Satisfied + dissatisfied + no opinion is the sample size; the expected value is kept.
    assert stored[("SP-1", "IND-99")][7] == 100.0 and stored[("SP-2", "IND-99")][7] == 200.0
    assert rows(con, "SELECT expected_value FROM observation WHERE structure_code = 'SP-1' "
                     "AND indicator_code = 'IND-99'") == [(80.0,)]
    assert rows(con, "SELECT code, label FROM extra_indicator") == [("IND-99", "Satisfaction des usagers à l'accueil")]
    assert report.indicators_added == 1
    caf = structure(con, "SP-1")
    assert (caf["name"], caf["network"], caf["typologie"]) == ("CAF de l'Ain", "CAF", "Accueil physique")


def test_export_resultats_with_an_unknown_frequency_uses_the_duration_in_months(con, tmp_path):
    path = write_csv(tmp_path / "export-resultats.csv", [";".join(SNAKE_HEADERS),
                     "R1;CAF;Accueil;SP-1;CAF;IND-27;Taux de décroché;2025-04-01;2;bimestrielle;80;;;;;"
                     "2025-06-01;Oui"])
    imported(con, path)
    assert observations(con)[0][1:5] == ("decroche", date(2025, 4, 1), date(2025, 5, 31), 80.0)


def test_export_resultats_without_frequency_uses_the_duration_in_months(con, tmp_path):
    path = write_csv(tmp_path / "export-resultats.csv", [";".join(SNAKE_HEADERS),
                     "R1;CAF;Accueil;SP-1;CAF;IND-27;Taux de décroché;2025-04-01;2;;80;;;;;2025-06-01;Oui"])
    imported(con, path)
    assert observations(con)[0][1:5] == ("decroche", date(2025, 4, 1), date(2025, 5, 31), 80.0)


# --- Baromètre des résultats de l'action publique ---------------------------------------------------


def test_barometre_departemental_keeps_department_codes_as_text(con, tmp_path):
    path = write_csv(tmp_path / "barometre.csv", [
        "mesure,indicateur,id_indicateur,code_departement,libelle_departement,date,valeur,unite",
        "France services,Nombre de France services,nb-fs,01,Ain,2022-12-31,12.0,structures",
        "France services,Nombre de France services,nb-fs,2A,Corse-du-Sud,2022-12-31,7.0,structures",
        "France services,Nombre de France services,nb-fs,971,Guadeloupe,2022-12-31,25.0,structures",
    ], encoding="utf-8")
    report = imported(con, path)
    assert report.layout == "barometre_departemental"
    assert [(o[0], o[1], o[2], o[4]) for o in observations(con)] == [
        ("01", "nb-fs", date(2022, 12, 31), 12.0), ("2A", "nb-fs", date(2022, 12, 31), 7.0),
        ("971", "nb-fs", date(2022, 12, 31), 25.0)]
    assert structure(con, "01")["name"] == "Ain" and structure(con, "2A")["name"] == "Corse-du-Sud"
    assert rows(con, "SELECT code, label, unit FROM extra_indicator") == [
        ("nb-fs", "Nombre de France services", "structures")]


def test_barometre_zone_file_stores_the_target_as_expected_value(con, tmp_path):
    path = write_csv(tmp_path / "IND-1.csv", [
        "indic_id,enforce_zone_id,metric_enforce_date,maille,indic_vi,indic_va,indic_vc,indic_ta",
        "IND-1,D01,2022-12-31,departement,10,12.5,20,0.6",
        "IND-1,D2A,2022-12-31,departement,10,13,20,0.6",
        "IND-1,R84,2022-12-31,region,10,14,20,0.6",
        "IND-1,NAT,2022-12-31,national,10,15,25,0.6",
    ], encoding="utf-8")
    report = imported(con, path)
    assert report.layout == "barometre_zone"
    assert rows(con, "SELECT structure_code, period_start, value, expected_value FROM observation "
                     "ORDER BY source_line") == [
        ("D01", date(2022, 12, 31), 12.5, 20.0), ("D2A", date(2022, 12, 31), 13.0, 20.0),
        ("R84", date(2022, 12, 31), 14.0, 20.0), ("NAT", date(2022, 12, 31), 15.0, 25.0)]
    assert count(con, "SELECT count(*) FROM extra_indicator WHERE code = 'IND-1'") == 1


def test_real_barometre_excerpt_imports_with_its_known_values(con, tmp_path):
    path = shutil.copy(SAMPLE_EXCERPT, tmp_path / SAMPLE_EXCERPT.name)
    report = imported(con, Path(path))
    assert report.layout == "barometre_departemental" and report.rows_read == 199
    # The baromètre repeats each value under two labels: read once, and said so.
    assert report.rows_added == 139
    assert any("60 lignes répétées" in w for w in report.warnings)
    stored = rows(con, "SELECT value, source_line FROM observation WHERE structure_code = '01' "
                       "AND indicator_code = 'nb-logement-accompagnement' AND period_start = DATE '2020-01-31'")
    assert stored == [(353.0, 2)]
    # Line 100 of the file: Allier, September 2021, 1005 dwellings.
    assert rows(con, "SELECT structure_code, indicator_code, period_start, value FROM observation "
                     "WHERE source_line = 100") == [("03", "nb-logement-accompagnement", date(2021, 9, 30), 1005.0)]
    assert structure(con, "03")["name"] == "Allier"
    assert {r[0] for r in rows(con, "SELECT code FROM extra_indicator")} == {
        "nb-logement-accompagnement", "nb-logements-renoves-petites-villes"}


# --- Register of structures --------------------------------------------------------------------------


def test_structures_register_sets_every_field_and_pads_departement(con, tmp_path):
    path = write_csv(tmp_path / "structures.csv", [
        "code;nom;reseau;typologie;departement;region;code_structure_parent;niveau_label;date_label",
        "S1;CAF de l'Ain;CAF;Accueil physique;1;Auvergne-Rhône-Alpes;CAF-NAT;Argent;14/03/2025",
        "S2;CPAM de Corse-du-Sud;CPAM;Accueil physique;2A;Corse;;;",
    ])
    report = imported(con, path)
    assert report.kind == "structures" and report.structures_added == 2
    s1 = structure(con, "S1")
    assert (s1["name"], s1["network"], s1["typologie"], s1["departement"], s1["region"], s1["parent_code"],
            s1["label_level"], s1["label_awarded_on"]) == (
        "CAF de l'Ain", "CAF", "Accueil physique", "01", "Auvergne-Rhône-Alpes", "CAF-NAT", "argent",
        date(2025, 3, 14))
    s2 = structure(con, "S2")
    assert (s2["departement"], s2["label_level"], s2["label_awarded_on"]) == ("2A", None, None)
    assert count(con, "SELECT count(*) FROM observation") == 0


def test_structures_register_from_excel_keeps_departement_01_when_stored_as_a_number(con, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Structures"
    sheet.append(["Registre des structures au 1er mars 2025"])
    sheet.append(["Code", "Nom", "Réseau", "Typologie", "Département", "Région", "Code structure parent",
                  "Niveau label", "Date label"])
    sheet.append(["S1", "CAF de l'Ain", "CAF", "Accueil", 1, "Auvergne-Rhône-Alpes", "CAF-NAT", "or",
                  datetime(2025, 3, 14)])
    sheet.append(["S3", "Préfecture de l'Aisne", "Préfectures", "Accueil", 2, "Hauts-de-France", None, "Bronze",
                  None])
    path = tmp_path / "structures.xlsx"
    path.write_bytes(xlsx_bytes(workbook))
    imported(con, path)
    assert structure(con, "S1")["departement"] == "01"
    assert structure(con, "S1")["label_level"] == "or"
    assert structure(con, "S1")["label_awarded_on"] == date(2025, 3, 14)
    assert (structure(con, "S3")["departement"], structure(con, "S3")["label_level"]) == ("02", "bronze")


def test_ditp_export_structures_creates_and_updates_without_touching_observations(con, tmp_path):
    imported(con, canonical(tmp_path / "valeurs.csv", ["S1;Ancien nom;Ancien réseau;decroche;2025-01-01;2025-01-31;"
                                                       "85;;;"]))
    imported(con, write_csv(tmp_path / "registre.csv", ["code;nom;departement", "S1;Ancien nom;69"]))
    before = rows(con, "SELECT * FROM observation")
    path = write_csv(tmp_path / "export-structures.csv", [
        "code_sp_de_la_structure;reseau;intitule_de_la_typologie;intitule_de_la_structure;code_sp_structure_parent",
        "S1;DGFiP;Service des impôts;SIP de Lyon;DRFIP-69",
        "S5;DGFiP;Service des impôts;SIP de Caen;DRFIP-14",
    ])
    report = imported(con, path)
    assert (report.structures_added, report.structures_updated) == (1, 1)
    s1 = structure(con, "S1")
    assert (s1["name"], s1["network"], s1["typologie"], s1["parent_code"]) == (
        "SIP de Lyon", "DGFiP", "Service des impôts", "DRFIP-69")
    assert s1["departement"] == "69"  # a column the file does not carry keeps its value
    assert structure(con, "S5")["name"] == "SIP de Caen"
    assert rows(con, "SELECT * FROM observation") == before
    assert rows(con, "SELECT name FROM structure_history WHERE code = 'S1' ORDER BY replaced_by DESC")[0] == (
        "Ancien nom",)


# --- Workbooks ---------------------------------------------------------------------------------------


def test_excel_data_on_second_sheet_below_a_title_with_month_dates(con, tmp_path):
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Notice"
    notes["A1"] = "Ce classeur contient les résultats du trimestre."
    sheet = workbook.create_sheet("Données")
    sheet.append(["Tableau de bord qualité – accueil téléphonique"])
    sheet.append(["Code structure", "Mois", "Taux de décroché (%)", "Appels reçus", "Appels décrochés"])
    sheet.append(["X1", datetime(2025, 3, 1), 85.3, 1000, 853])
    sheet.append(["X1", datetime(2025, 4, 1), None, 2000, 1500])
    sheet.append([None] * 5)
    sheet.append([None] * 5)
    sheet["E12"] = ""  # the used range reaches far below the data
    path = tmp_path / "tableau.xlsx"
    path.write_bytes(xlsx_bytes(workbook))
    report = imported(con, path)
    assert (report.sheet, report.layout) == ("Données", "large")
    # A date in a « Mois » column means that whole month; the line is the Excel row.
    assert observations(con) == [
        ("X1", "decroche", date(2025, 3, 1), date(2025, 3, 31), 85.3, 853.0, 1000.0, None, 3),
        ("X1", "decroche", date(2025, 4, 1), date(2025, 4, 30), 75.0, 1500.0, 2000.0, None, 4),
    ]
    assert rows(con, "SELECT DISTINCT source_sheet FROM observation") == [("Données",)]


def test_excel_canonical_sheet_with_date_cells_and_numbers(con, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Valeurs"
    sheet.append(CANONICAL_HEADER.split(";"))
    sheet.append(["S1", "Accueil", "CAF", "delai_courriels", datetime(2025, 1, 1), datetime(2025, 3, 31), 4.25,
                  None, None, 120])
    sheet.append(["S1", "Accueil", "CAF", "publication_resultats", "2025-01-01", "31/12/2025", "oui", None, None,
                  None])
    path = tmp_path / "valeurs.xlsx"
    path.write_bytes(xlsx_bytes(workbook))
    imported(con, path)
    assert observations(con) == [
        ("S1", "delai_courriels", date(2025, 1, 1), date(2025, 3, 31), 4.25, None, None, 120.0, 2),
        ("S1", "publication_resultats", date(2025, 1, 1), date(2025, 12, 31), 1.0, None, None, None, 3),
    ]


def _ods_bytes(table_name: str, table: list[list]) -> bytes:
    """A minimal OpenDocument spreadsheet, as LibreOffice stores one (mimetype first, uncompressed)."""
    def cell(value) -> str:
        if isinstance(value, (int, float)):
            return (f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{value}</text:p></table:table-cell>")
        return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'

    body = "".join("<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>" for row in table)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{table_name}">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet",
                         compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def test_libreoffice_ods_sheet_is_imported(con, tmp_path):
    path = tmp_path / "resultats.ods"
    path.write_bytes(_ods_bytes("Résultats", [["Suivi qualité"], SHORT_HEADER.split(";"),
                                              ["O1", "decroche", "2025-T2", 88.5],
                                              ["O1", "satisfaction_globale", "2025-T2", 79]]))
    report = imported(con, path)
    assert report.sheet == "Résultats"
    assert observations(con) == [
        ("O1", "decroche", date(2025, 4, 1), date(2025, 6, 30), 88.5, None, None, None, 3),
        ("O1", "satisfaction_globale", date(2025, 4, 1), date(2025, 6, 30), 79.0, None, None, None, 4),
    ]


def test_ods_written_by_pandas_is_imported(con, tmp_path):
    pytest.importorskip("odf")
    pandas = pytest.importorskip("pandas")
    path = tmp_path / "pandas.ods"
    frame = pandas.DataFrame({"code_structure": ["P1"], "code_indicateur": ["decroche"], "periode": ["2025-03"],
                              "valeur": [81.5]})
    frame.to_excel(path, engine="odf", index=False, sheet_name="Feuille1")
    imported(con, path)
    assert observations(con) == [("P1", "decroche", date(2025, 3, 1), date(2025, 3, 31), 81.5, None, None, None, 2)]


# --- Export, then re-import ----------------------------------------------------------------------------


def _export(run_cli, output: Path, *db_args: str) -> bytes:
    code, _, err = run_cli("export", "--format", "csv", "--output", output, *db_args)
    assert code == 0, err
    return output.read_bytes()


def test_export_then_reimport_into_a_fresh_database_gives_identical_bytes(con, tmp_path, run_cli):
    path = canonical(tmp_path / "source.csv", [
        "S1;Accueil d’Œuvre € ;CAF;decroche;2025-01-01;2025-01-31;85,3;853;1000;",
        "S1;Accueil d’Œuvre € ;CAF;satisfaction_globale;2025-01-01;2025-03-31;80,25;;;120",
        'S2;"Nom; avec point-virgule";Urssaf;delai_courriels;2025-01-01;2025-01-31;3,333333;;;40',
        "S2;\"Nom; avec point-virgule\";Urssaf;publication_resultats;2025-01-01;2025-12-31;oui;;;",
        "S3;Sans réseau;;attente_guichet;01/02/2025;28/02/2025;12;;;",
    ])
    assert run_cli("import", path)[0] == 0
    first = _export(run_cli, tmp_path / "export-1.csv")
    assert first.startswith(b"\xef\xbb\xbf" + CANONICAL_HEADER.encode())
    fresh = tmp_path / "autre" / "fraiche.duckdb"
    code, _, err = run_cli("import", tmp_path / "export-1.csv", "--db", fresh)
    assert code == 0, err
    second = _export(run_cli, tmp_path / "export-2.csv", "--db", fresh)
    assert second == first
    assert rows(db.connect(fresh), "SELECT name FROM structure WHERE code = 'S2'") == [("Nom; avec point-virgule",)]


def test_formula_like_name_is_protected_in_the_export_and_comes_back_unchanged(con, tmp_path, run_cli):
    source = tmp_path / "formule.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(CANONICAL_HEADER.split(";"))
    writer.writerow(["S1", '=HYPERLINK("http://x")', "CAF", "decroche", "2025-01-01", "2025-01-31", "85", "", "",
                     ""])
    source.write_text(buffer.getvalue(), encoding="utf-8-sig")
    assert run_cli("import", source)[0] == 0
    assert structure(con, "S1")["name"] == '=HYPERLINK("http://x")'

    exported = _export(run_cli, tmp_path / "export.csv").decode("utf-8-sig")
    record = list(csv.DictReader(io.StringIO(exported), delimiter=";"))[0]
    assert record["nom_structure"] == '\'=HYPERLINK("http://x")'  # a spreadsheet shows it, never runs it

    fresh = tmp_path / "autre.duckdb"
    assert run_cli("import", tmp_path / "export.csv", "--db", fresh)[0] == 0
    assert rows(db.connect(fresh), "SELECT name FROM structure WHERE code = 'S1'") == [('=HYPERLINK("http://x")',)]


def test_open_data_territories_stay_out_of_the_canonical_export(con, tmp_path, run_cli):
    """A baromètre file describes territories, not services: the canonical export (the values of the structures)
    leaves them out, so that re-importing it never turns a département into a service. Open-data indicators of
    services come back from it: tests/test_territories.py."""
    path = write_csv(tmp_path / "IND-1.csv", [
        "indic_id,enforce_zone_id,metric_enforce_date,maille,indic_vi,indic_va,indic_vc,indic_ta",
        "IND-1,D01,2022-12-31,departement,10,12.5,20,0.6",
    ], encoding="utf-8")
    assert run_cli("import", path)[0] == 0
    assert con.execute("SELECT territorial FROM structure WHERE code = 'D01'").fetchall() == [(True,)]
    exported = _export(run_cli, tmp_path / "export-1.csv").decode("utf-8-sig")
    assert exported.startswith("code_structure") and "D01" not in exported


