"""Every validation error: its rule and French message, where it is (line, column, value, what was expected),
and the proof that a refused file changed nothing in the database. Then the command line's contract."""

from __future__ import annotations

import io
import random
import zipfile

import openpyxl
import pytest

from helpers import CANONICAL_HEADER, canonical, count, snapshot, write_csv
from indicators import importer, rights
from indicators.problems import RULES

SHORT_HEADER = "code_structure;code_indicateur;periode;valeur"
GOOD = "S1;Accueil Lyon;CAF;decroche;2025-01-01;2025-01-31;85;;;"


@pytest.fixture
def seeded(con, tmp_path):
    """A database already holding a value and a structure, so that « unchanged » means something."""
    report = importer.import_path(con, canonical(tmp_path / "deja-la.csv", [GOOD]), rights.COMMAND_LINE)
    assert report.outcome == "importe"
    return con


def refused(con, path, **options) -> list:
    """Import ``path``, check it was refused and that the database did not move; return its problems."""
    before = snapshot(con)
    report = importer.import_path(con, path, rights.COMMAND_LINE, **options)
    assert report.outcome == "refuse"
    assert report.problems
    assert snapshot(con) == before
    for problem in report.problems:
        assert problem.rule in RULES
        assert problem.file == path.name
        assert problem.describe().startswith(path.name)
    return report.problems


def only(problems) -> object:
    assert len(problems) == 1, [p.describe() for p in problems]
    return problems[0]


def xlsx_bytes(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Values -----------------------------------------------------------------------------------------


def test_rate_above_100_is_refused_with_its_line(seeded, tmp_path):
    path = canonical(tmp_path / "taux.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;;;",
                                             "S2;;;decroche;2025-02-01;2025-02-28;120;;;"])
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.line, problem.column, problem.value) == ("taux_entre_0_et_100", 3, "valeur", "120")
    assert problem.describe() == (
        "taux.csv, ligne 3, colonne « valeur » : Un taux doit être compris entre 0 et 100. "
        "(trouvé « 120 » ; attendu : un pourcentage entre 0 et 100)")
    assert count(seeded, "SELECT count(*) FROM structure WHERE code = 'S2'") == 0


def test_negative_rate_is_refused_with_its_line(seeded, tmp_path):
    problem = only(refused(seeded, canonical(tmp_path / "taux.csv", ["S2;;;satisfaction_globale;2025-01-01;"
                                                                     "2025-03-31;-3,5;;;"])))
    assert (problem.rule, problem.line, problem.column, problem.value) == ("taux_entre_0_et_100", 2, "valeur", "-3,5")


def test_negative_delay_is_refused(seeded, tmp_path):
    path = canonical(tmp_path / "delais.csv", ["S2;;;delai_courriels;2025-01-01;2025-01-31;2;;;",
                                               "S2;;;attente_guichet;2025-01-01;2025-01-31;-12;;;"])
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.line, problem.column, problem.value) == ("delai_positif", 3, "valeur", "-12")
    assert "Un délai ou une durée ne peut pas être négatif." in problem.describe()
    assert problem.expected == "un nombre positif ou nul"


def test_negative_counts_are_refused_in_their_own_column(seeded, tmp_path):
    path = canonical(tmp_path / "comptages.csv", ["S2;;;decroche;2025-01-01;2025-01-31;50;-5;10;",
                                                  "S2;;;delai_courriels;2025-01-01;2025-01-31;3;;;-4"])
    problems = refused(seeded, path)
    assert [(p.rule, p.line, p.column, p.value) for p in problems] == [
        ("comptage_positif", 2, "numerateur", "-5"), ("comptage_positif", 3, "effectif", "-4")]
    assert all("Un comptage ne peut pas être négatif." in p.describe() for p in problems)


def test_numerator_above_denominator_is_refused(seeded, tmp_path):
    path = canonical(tmp_path / "appels.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;1 200;1 000;"])
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.line, problem.column) == ("numerateur_inferieur_au_denominateur", 2, "numerateur")
    assert problem.value == "1 200 > 1 000"
    assert "Le numérateur dépasse le dénominateur." in problem.describe()


def test_impossible_counts_without_a_rate_are_reported_once(seeded, tmp_path):
    path = canonical(tmp_path / "appels.csv", ["S2;;;decroche;2025-01-01;2025-01-31;;1200;1000;"])
    problem = only(refused(seeded, path))
    assert problem.rule == "numerateur_inferieur_au_denominateur"


def test_text_in_a_number_column_is_refused(seeded, tmp_path):
    problem = only(refused(seeded, canonical(tmp_path / "texte.csv", ["S2;;;decroche;2025-01-01;2025-01-31;"
                                                                      "environ 80;;;"])))
    assert (problem.rule, problem.line, problem.column, problem.value) == ("nombre_lisible", 2, "valeur",
                                                                           "environ 80")
    assert "La valeur n'est pas un nombre." in problem.describe()


def test_yes_no_indicator_refuses_other_words(seeded, tmp_path):
    problem = only(refused(seeded, canonical(tmp_path / "oui.csv", ["S2;;;publication_resultats;2025-01-01;"
                                                                    "2025-12-31;peut-être;;;"])))
    assert (problem.rule, problem.line, problem.value) == ("oui_ou_non", 2, "peut-être")


def test_missing_value_and_missing_structure_code_are_refused(seeded, tmp_path):
    path = canonical(tmp_path / "vides.csv", ["S2;;;delai_courriels;2025-01-01;2025-01-31;;;;",
                                              ";Sans code;;decroche;2025-01-01;2025-01-31;80;;;"])
    problems = refused(seeded, path)
    assert [(p.rule, p.line) for p in problems] == [("valeur_presente", 2), ("code_structure_present", 3)]
    assert "La valeur est vide." in problems[0].describe()
    assert "Le code de la structure est vide." in problems[1].describe()


# --- Periods and dates ------------------------------------------------------------------------------


def test_unknown_period_format_is_refused(seeded, tmp_path):
    path = write_csv(tmp_path / "periodes.csv", [SHORT_HEADER, "S2;decroche;2025-T2;80",
                                                 "S2;decroche;printemps 2025;85"])
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.line, problem.column, problem.value) == ("periode_reconnue", 3, "periode",
                                                                           "printemps 2025")
    assert "Le format de la période n'est pas reconnu." in problem.describe()
    assert "T1 2025" in problem.expected and "mars 2025" in problem.expected


def test_impossible_date_is_refused(seeded, tmp_path):
    problem = only(refused(seeded, canonical(tmp_path / "dates.csv", ["S2;;;decroche;31/02/2025;31/03/2025;85;;;"])))
    assert (problem.rule, problem.line, problem.column, problem.value) == ("date_possible", 2, "debut_periode",
                                                                           "31/02/2025")
    assert "Cette date n'existe pas." in problem.describe()


@pytest.mark.parametrize("header, line, column", [
    (CANONICAL_HEADER, "S2;;;decroche;01/12/2025;12/31/2025;85;;;", "fin_periode"),
    (SHORT_HEADER, "S2;decroche;12/31/2025;85", "periode"),
])
def test_american_date_is_refused_rather_than_swapped(seeded, tmp_path, header, line, column):
    problem = only(refused(seeded, write_csv(tmp_path / "us.csv", [header, line])))
    assert (problem.rule, problem.line, problem.column, problem.value) == ("date_possible", 2, column, "12/31/2025")


def test_period_ending_before_it_starts_is_refused(seeded, tmp_path):
    problem = only(refused(seeded, canonical(tmp_path / "envers.csv", ["S2;;;decroche;2025-03-31;2025-03-01;85;;;"])))
    assert (problem.rule, problem.line, problem.column) == ("fin_apres_debut", 2, "fin_periode")
    assert "La fin de la période précède son début." in problem.describe()


def test_unknown_frequency_without_duration_is_refused(seeded, tmp_path):
    path = write_csv(tmp_path / "export-resultats.csv", [
        "code_sp_structure;code_sp_de_l_indicateur;titre_original_de_l_indicateur;date_de_debut_de_l_evaluation;"
        "frequence;valeur",
        "SP-1;IND-27;Taux de décroché;2025-01-01;de temps en temps;80"])
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.line, problem.column, problem.value) == (
        "frequence_reconnue", 2, "frequence", "de temps en temps")
    assert count(seeded, "SELECT count(*) FROM extra_indicator") == 0


# --- Within the file --------------------------------------------------------------------------------


def test_same_structure_indicator_and_period_twice_is_refused(seeded, tmp_path):
    path = canonical(tmp_path / "doublon.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;;;",
                                                "S2;;;delai_courriels;2025-01-01;2025-01-31;3;;;",
                                                "S2;;;decroche;01/01/2025;31/01/2025;86;;;"])
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.line, problem.value) == ("observation_unique_dans_le_fichier", 4, "86")
    assert "Déjà présente à la ligne 2." in problem.describe()


def test_mixed_decimal_separators_in_one_column_are_refused(seeded, tmp_path):
    path = canonical(tmp_path / "melange.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85,5;;;",
                                                "S2;;;decroche;2025-02-01;2025-02-28;86,5;;;",
                                                "S2;;;decroche;2025-03-01;2025-03-31;87.5;;;"])
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.line, problem.column, problem.value) == ("separateur_decimal_unique", 4, "valeur",
                                                                           "87.5")
    assert "La colonne mélange virgule et point" in problem.describe()
    assert "virgule" in problem.expected


def test_ragged_rows_are_refused_with_their_lines(seeded, tmp_path):
    path = canonical(tmp_path / "colonnes.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;;;;en trop",
                                                 "S2;;;decroche;2025-02-01;2025-02-28;85",
                                                 "S2;;;decroche;2025-03-01;2025-03-31;85;;;"])
    problems = refused(seeded, path)
    assert {p.rule for p in problems} == {"nombre_de_colonnes_constant"}
    assert {p.line for p in problems} == {2, 3}
    assert all(p.expected == "10 colonnes séparées par « ; »" for p in problems)
    too_many = next(p for p in problems if p.line == 2)
    assert "en trop" in too_many.value
    assert "Le nombre de colonnes de la ligne diffère de celui de l'en-tête." in too_many.describe()


def test_each_ragged_row_is_reported_once(seeded, tmp_path):
    # A row missing 3 columns gives DuckDB one reject per missing column: the user reads it once.
    path = canonical(tmp_path / "colonnes.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;;;;en trop",
                                                 "S2;;;decroche;2025-02-01;2025-02-28;85"])
    problems = refused(seeded, path)
    assert [p.line for p in problems] == [2, 3]


def test_line_of_spaces_is_skipped_like_a_blank_line(con, tmp_path):
    path = canonical(tmp_path / "espaces.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;;;", "   ",
                                                "S2;;;decroche;2025-02-01;2025-02-28;86;;;"])
    report = importer.import_path(con, path, rights.COMMAND_LINE)
    assert report.outcome == "importe", [p.describe() for p in report.problems]


def test_unterminated_quote_is_refused(seeded, tmp_path):
    path = canonical(tmp_path / "guillemet.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;;;",
                                                  'S3;"Accueil Caen;;decroche;2025-01-01;2025-01-31;85;;;',
                                                  "S4;;;decroche;2025-01-01;2025-01-31;85;;;"])
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.line) == ("guillemets_fermes", 3)
    assert "Un guillemet ouvert n'est jamais fermé." in problem.describe()
    assert problem.value.startswith('S3;"Accueil Caen')


def test_unknown_indicator_code_in_the_canonical_layout_is_refused(seeded, tmp_path):
    path = canonical(tmp_path / "indicateur.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;;;",
                                                   "S2;;;taux_magique;2025-01-01;2025-01-31;85;;;"])
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.line, problem.column, problem.value) == ("indicateur_connu", 3, "code_indicateur",
                                                                           "taux_magique")
    assert "L'indicateur n'est pas dans le référentiel." in problem.describe()
    assert "decroche" in problem.expected and "satisfaction_globale" in problem.expected


def test_unknown_label_level_in_a_register_is_refused(seeded, tmp_path):
    path = write_csv(tmp_path / "structures.csv", ["code;nom;niveau_label;date_label", "S9;Mairie;platine;2025-09-01"])
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.line, problem.column, problem.value) == (
        "niveau_de_label_connu", 2, "niveau_label", "platine")


def test_several_problems_are_all_reported_at_once_sorted_by_line(seeded, tmp_path):
    path = canonical(tmp_path / "plusieurs.csv", [
        "S2;;;decroche;2025-01-01;2025-01-31;abc;;;",             # 2 not a number
        "S2;;;inconnu;2025-01-01;2025-01-31;50;;;",               # 3 unknown indicator
        "S3;;;delai_courriels;2025-01-01;2025-01-31;-1;;;",       # 4 negative delay
        "S3;;;decroche;31/02/2025;2025-03-31;50;;;",              # 5 impossible date
        "S4;;;decroche;2025-01-01;2025-01-31;120;;;",             # 6 rate above 100
        "S4;;;decroche;2025-02-01;2025-02-28;85;900;800;",        # 7 numerator above denominator
        "S4;;;decroche;2025-03-01;2025-03-31;85;;;",              # 8 fine
        "S4;;;decroche;2025-03-01;2025-03-31;86;;;",              # 9 repeated
    ])
    problems = refused(seeded, path)
    assert [(p.line, p.rule) for p in problems] == [
        (2, "nombre_lisible"), (3, "indicateur_connu"), (4, "delai_positif"), (5, "date_possible"),
        (6, "taux_entre_0_et_100"), (7, "numerateur_inferieur_au_denominateur"),
        (9, "observation_unique_dans_le_fichier")]


def test_problem_in_a_workbook_names_the_sheet_and_the_excel_row(seeded, tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Notice"
    sheet = workbook.create_sheet("Janvier")
    sheet.append(["Résultats de janvier"])
    sheet.append(SHORT_HEADER.split(";"))
    sheet.append(["S2", "decroche", "2025-01", 85])
    sheet.append(["S2", "satisfaction_globale", "2025-01", 140])
    path = tmp_path / "classeur.xlsx"
    path.write_bytes(xlsx_bytes(workbook))
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.sheet, problem.line) == ("taux_entre_0_et_100", "Janvier", 4)
    assert problem.describe().startswith("classeur.xlsx, feuille « Janvier », ligne 4, colonne « valeur »")


# --- Whole files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"  \n\n \t\r\n", b"\xef\xbb\xbf\r\n"], ids=["0-octet", "espaces", "bom"])
def test_empty_file_is_refused(seeded, tmp_path, content):
    path = tmp_path / "vide.csv"
    path.write_bytes(content)
    problem = only(refused(seeded, path))
    assert problem.rule == "fichier_non_vide"
    assert problem.describe() == "vide.csv : Le fichier est vide."


def test_header_only_is_refused(seeded, tmp_path):
    problem = only(refused(seeded, write_csv(tmp_path / "entete.csv", [CANONICAL_HEADER, "", ""])))
    assert problem.rule == "fichier_avec_donnees"
    assert "ne contient qu'une ligne d'en-tête" in problem.describe()


def test_binary_content_named_csv_is_refused(seeded, tmp_path):
    noise = random.Random(7).randbytes(4000)
    path = tmp_path / "donnees.csv"
    path.write_bytes(b"\x89BIN\x00\x00" + noise + b"\x00" * 16)
    problem = only(refused(seeded, path))
    assert problem.rule == "fichier_texte_ou_classeur"
    assert "ni un CSV lisible ni un classeur" in problem.describe()


def test_unknown_layout_lists_the_expected_headers(seeded, tmp_path):
    problem = only(refused(seeded, write_csv(tmp_path / "autre.csv", ["nom;age;ville", "Jean;42;Lyon"])))
    assert problem.rule == "mise_en_page_reconnue"
    assert problem.value == "nom | age | ville"
    assert "La mise en page du fichier n'est pas reconnue." in problem.describe()
    for expected in ("code_structure, code_indicateur, debut_periode, valeur",
                     "code_sp_structure, code_sp_de_l_indicateur, date_de_debut_de_l_evaluation, valeur",
                     "id_indicateur, code_departement, date, valeur",
                     "indic_id, enforce_zone_id, metric_enforce_date, indic_va",
                     "« Taux de décroché (%) »"):
        assert expected in problem.expected


def _rows(n: int) -> list[str]:
    return [f"S{i};;;decroche;2025-01-01;2025-01-31;85;;;" for i in range(10, 10 + n)]


def test_too_many_rows_is_refused_before_reading(seeded, tmp_path, monkeypatch):
    monkeypatch.setenv("INDICATEURS_MAX_ROWS", "5")
    problem = only(refused(seeded, canonical(tmp_path / "lignes.csv", _rows(10))))
    assert problem.rule == "lignes_maximales"
    assert problem.expected == "au plus 5 lignes"
    assert "Le fichier dépasse le nombre maximal de lignes." in problem.describe()


def test_too_many_rows_in_a_workbook_names_the_sheet(seeded, tmp_path, monkeypatch):
    monkeypatch.setenv("INDICATEURS_MAX_ROWS", "5")
    workbook = openpyxl.Workbook()
    workbook.active.title = "Données"
    for line in [CANONICAL_HEADER, *_rows(10)]:
        workbook.active.append(line.split(";"))
    path = tmp_path / "lignes.xlsx"
    path.write_bytes(xlsx_bytes(workbook))
    problem = only(refused(seeded, path))
    assert (problem.rule, problem.sheet, problem.expected) == ("lignes_maximales", "Données", "au plus 5 lignes")
    assert problem.describe().startswith("lignes.xlsx, feuille « Données » : Le fichier dépasse le nombre maximal")


@pytest.mark.parametrize("variable, limit", [("INDICATEURS_MAX_ROWS", "10"), ("INDICATEURS_MAX_COLUMNS", "9")])
def test_workbook_one_over_the_shape_limit_is_refused_like_a_csv(seeded, tmp_path, monkeypatch, variable, limit):
    monkeypatch.setenv(variable, limit)
    lines = [CANONICAL_HEADER, *_rows(10)]  # 11 lines of 10 columns
    assert only(refused(seeded, canonical(tmp_path / "lignes.csv", lines[1:]))).rule in (
        "lignes_maximales", "colonnes_maximales")
    workbook = openpyxl.Workbook()
    for line in lines:
        workbook.active.append(line.split(";"))
    path = tmp_path / "lignes.xlsx"
    path.write_bytes(xlsx_bytes(workbook))
    assert only(refused(seeded, path)).rule in ("lignes_maximales", "colonnes_maximales")


def test_too_many_columns_is_refused(seeded, tmp_path, monkeypatch):
    monkeypatch.setenv("INDICATEURS_MAX_COLUMNS", "4")
    problem = only(refused(seeded, canonical(tmp_path / "colonnes.csv", _rows(2))))
    assert (problem.rule, problem.value, problem.expected) == ("colonnes_maximales", "10 colonnes",
                                                               "au plus 4 colonnes")


def test_too_many_cells_is_refused(seeded, tmp_path, monkeypatch):
    monkeypatch.setenv("INDICATEURS_MAX_CELLS", "20")
    problem = only(refused(seeded, canonical(tmp_path / "cellules.csv", _rows(3))))
    assert (problem.rule, problem.expected) == ("cellules_maximales", "au plus 20 cellules")


def test_file_above_the_size_limit_is_refused(seeded, tmp_path, monkeypatch):
    # The limit is in Mo (MiB: INDICATEURS_MAX_FILE_MB × 1024 × 1024); 0 refuses any non-empty file.
    monkeypatch.setenv("INDICATEURS_MAX_FILE_MB", "0")
    problem = only(refused(seeded, canonical(tmp_path / "gros.csv", _rows(1))))
    assert problem.rule == "taille_maximale"
    assert "Le fichier dépasse la taille maximale autorisée." in problem.describe()


def test_size_limit_is_checked_on_bytes_before_anything_else(seeded, tmp_path, monkeypatch):
    monkeypatch.setenv("INDICATEURS_MAX_FILE_MB", "1")
    path = tmp_path / "gros.csv"
    path.write_bytes(b"\x00" * (1024 * 1024 + 1))  # binary too, but the size is what is said first
    assert only(refused(seeded, path)).rule == "taille_maximale"
    path.write_bytes(b" " * (1024 * 1024))  # exactly the limit: accepted by the size check, empty otherwise
    assert only(refused(seeded, path)).rule == "fichier_non_vide"


def test_size_limit_message_says_the_configured_megabytes(seeded, tmp_path, monkeypatch):
    monkeypatch.setenv("INDICATEURS_MAX_FILE_MB", "20")
    path = tmp_path / "gros.csv"
    path.write_bytes(b"x" * (22 * 1024 * 1024))
    problem = only(refused(seeded, path))
    assert problem.expected == "au plus 20 Mo"
    assert problem.value == "22 Mo"


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (4 * 1024 * 1024))
    return buffer.getvalue()


def test_zip_bomb_workbook_is_refused_before_parsing(seeded, tmp_path):
    path = tmp_path / "bombe.xlsx"
    path.write_bytes(_zip_bomb())
    assert path.stat().st_size * 100 < 4 * 1024 * 1024
    problem = only(refused(seeded, path))
    assert problem.rule == "decompression_bornee"
    assert "bombe zip" in problem.describe()
    assert "100 fois la taille du fichier" in problem.expected


def test_zip_bomb_message_says_the_configured_unzipped_megabytes(seeded, tmp_path):
    path = tmp_path / "bombe.xlsx"
    path.write_bytes(_zip_bomb())
    assert "1\u202f024 Mo" in only(refused(seeded, path)).expected


def test_password_protected_workbook_is_refused(seeded, tmp_path):
    # An encrypted Office file is an OLE compound file holding an « EncryptedPackage » stream.
    content = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptedInfo".encode("utf-16-le")
               + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 1024)
    path = tmp_path / "protege.xlsx"
    path.write_bytes(content)
    problem = only(refused(seeded, path))
    assert problem.rule == "classeur_sans_mot_de_passe"
    assert "protégé par un mot de passe" in problem.describe()


@pytest.mark.parametrize("cut", [0.5, 0.1], ids=["moitie", "debut"])
def test_truncated_workbook_is_refused_as_damaged(seeded, tmp_path, cut):
    workbook = openpyxl.Workbook()
    workbook.active.append(SHORT_HEADER.split(";"))
    workbook.active.append(["S2", "decroche", "2025-01", 85])
    content = xlsx_bytes(workbook)
    path = tmp_path / "abime.xlsx"
    path.write_bytes(content[: int(len(content) * cut)])
    problem = only(refused(seeded, path))
    assert problem.rule == "classeur_lisible"
    assert problem.describe() == "abime.xlsx : Le classeur est endommagé ou illisible."


def test_old_excel_container_without_a_workbook_is_refused_as_damaged(seeded, tmp_path):
    path = tmp_path / "ancien.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048)
    assert only(refused(seeded, path)).rule == "classeur_lisible"


# --- Command line contract --------------------------------------------------------------------------


def test_cli_refused_file_exits_1_with_french_messages_and_no_traceback(seeded, tmp_path, run_cli):
    before = snapshot(seeded)
    path = canonical(tmp_path / "refuse.csv", ["S2;;;decroche;2025-01-01;2025-01-31;120;;;",
                                               "S2;;;delai_courriels;2025-01-01;2025-01-31;-2;;;"])
    code, out, err = run_cli("import", path)
    assert code == 1
    assert "refuse.csv : refusé, 2 problèmes ; rien n'a été enregistré." in err
    assert "refuse.csv, ligne 2, colonne « valeur » : Un taux doit être compris entre 0 et 100." in err
    assert "refuse.csv, ligne 3, colonne « valeur » : Un délai ou une durée ne peut pas être négatif." in err
    assert "Aucun fichier n'a été importé." in err
    assert "Traceback" not in err + out
    assert snapshot(seeded) == before


@pytest.mark.parametrize("content", [b"", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, b"PK\x03\x04abc"],
                         ids=["vide", "ole", "zip"])
def test_cli_unreadable_file_exits_1_without_traceback(seeded, tmp_path, run_cli, content):
    before = snapshot(seeded)
    path = tmp_path / "illisible.xlsx"
    path.write_bytes(content)
    code, out, err = run_cli("import", path)
    assert code == 1
    assert "illisible.xlsx" in err and "rien n'a été enregistré" in err
    assert "Traceback" not in err + out and "Erreur inattendue" not in err
    assert snapshot(seeded) == before


def test_cli_unknown_option_is_a_usage_error(seeded, tmp_path, run_cli):
    path = canonical(tmp_path / "ok.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;;;"])
    before = snapshot(seeded)
    code, out, err = run_cli("import", path, "--remplacer-tout")
    assert code == 2
    assert "Erreur d'utilisation" in err and "--remplacer-tout" in err
    assert "Traceback" not in err + out
    assert snapshot(seeded) == before


def test_cli_missing_file_is_a_usage_error(seeded, tmp_path, run_cli):
    before = snapshot(seeded)
    code, out, err = run_cli("import", tmp_path / "absent.csv")
    assert code == 2
    assert "Fichier introuvable" in err and "absent.csv" in err
    assert "Traceback" not in err + out
    assert snapshot(seeded) == before


def test_cli_invalid_rate_scale_is_a_usage_error(seeded, tmp_path, run_cli):
    path = canonical(tmp_path / "ok.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;;;"])
    code, _, err = run_cli("import", path, "--echelle-taux", "pourcent")
    assert code == 2 and "Erreur d'utilisation" in err
    assert count(seeded, "SELECT count(*) FROM observation WHERE structure_code = 'S2'") == 0


def test_cli_two_files_one_refused_stores_nothing(seeded, tmp_path, run_cli):
    before = snapshot(seeded)
    good = canonical(tmp_path / "bon.csv", ["S2;Accueil Caen;Urssaf;decroche;2025-01-01;2025-01-31;85;;;"])
    bad = canonical(tmp_path / "mauvais.csv", ["S3;;;decroche;2025-01-01;2025-01-31;185;;;"])
    code, out, err = run_cli("import", good, bad)
    assert code == 1
    assert "mauvais.csv" in err and "Aucun fichier n'a été importé." in err
    assert "Traceback" not in err + out
    assert snapshot(seeded) == before
    # In the other order too.
    code, _, _ = run_cli("import", bad, good)
    assert code == 1 and snapshot(seeded) == before


def test_cli_two_files_contradicting_each_other_store_nothing(seeded, tmp_path, run_cli):
    before = snapshot(seeded)
    first = canonical(tmp_path / "janvier.csv", ["S2;;;decroche;2025-01-01;2025-01-31;85;;;"])
    second = canonical(tmp_path / "janvier-bis.csv", ["S2;;;decroche;2025-01-01;2025-01-31;90;;;"])
    code, _, err = run_cli("import", first, second)
    assert code == 1 and "janvier-bis.csv" in err
    assert snapshot(seeded) == before
