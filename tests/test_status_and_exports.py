"""What users and scripts read out of an assessment: ``status`` (JSON contract of DESIGN.md and the French
table), its usage errors, and the exports (xlsx report, status CSV, open-data ``export-resultats``),
including formula injection through structure names."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import openpyxl
import pytest

from helpers import GOLD, canonical
from indicators import db

Q4 = ("2025-10-01", "2025-12-31")
# Every indicator at « or » over Q4 2025 (see tests/test_compliance.py for the arithmetic).
NAMES = {"S1": ("Mairie de Romans", "Communes"), "S2": ("CAF de l'Ain", "CAF"), "S3": ("Urssaf Centre", "Urssaf")}


def csv_line(*fields: str) -> str:
    """One ``;`` line, quoted where needed (names with quotes, commas or semicolons)."""
    out = []
    for f in fields:
        out.append('"' + f.replace('"', '""') + '"' if any(c in f for c in ';"\n') else f)
    return ";".join(out)


def line(code, indicator, start, end, valeur="", num="", den="", eff="", name=None, network=None) -> str:
    default_name, default_network = NAMES.get(code, (f"Structure {code}", "Réseau test"))
    return csv_line(code, name or default_name, network or default_network, indicator, start, end,
                    valeur, num, den, eff)


def gold_rows(code: str, without: tuple[str, ...] = (), **names) -> list[str]:
    return [line(code, ind, *Q4, *values, **names) for ind, values in GOLD.items() if ind not in without]


def import_ok(run_cli, path):
    code, out, err = run_cli("import", path)
    assert code == 0, out + err


@pytest.fixture
def three_structures(run_cli, tmp_path):
    """S1 bronze (decroche 8 449 / 10 000 = 84,49 % over two months: 51 calls short of argent), labelled
    argent on 15/03/2024 (not supported); S2 aucun (no waiting time: manquant), no label; S3 or, labelled
    or on 01/03/2025 (supported). Plus one 2024 value of S1 that the 2025 window must ignore."""
    register = tmp_path / "structures.csv"
    register.write_text("code_structure;nom_structure;reseau;niveau_label;date_label\n"
                        "S1;Mairie de Romans;Communes;argent;2024-03-15\n"
                        "S2;CAF de l'Ain;CAF;;\n"
                        "S3;Urssaf Centre;Urssaf;or;2025-03-01\n", encoding="utf-8-sig")
    import_ok(run_cli, register)
    rows = (gold_rows("S1", without=("decroche",))
            # Nov: 4 000 / 5 000 = 80 %; Dec: 4 449 / 5 000 = 88,98 %; together 8 449 / 10 000 = 84,49 %.
            + [line("S1", "decroche", "2025-11-01", "2025-11-30", "", "4000", "5000"),
               line("S1", "decroche", "2025-12-01", "2025-12-31", "", "4449", "5000"),
               line("S1", "decroche", "2024-12-01", "2024-12-31", "", "10", "100")]
            + gold_rows("S2", without=("attente_guichet",))
            + gold_rows("S3"))
    import_ok(run_cli, canonical(tmp_path / "valeurs.csv", rows))
    return tmp_path


def status_json(run_cli, *args):
    code, out, err = run_cli("status", "--period", "2025", "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


# --- status --format json -----------------------------------------------------------------------------------


def test_status_json_follows_the_design_contract(three_structures, run_cli):
    data = status_json(run_cli)
    assert isinstance(data, dict) and data["period"] == "2025"
    structures = {s["code"]: s for s in data["structures"]}
    assert list(structures) == ["S1", "S2", "S3"]
    for s in structures.values():
        assert {"code", "name", "level", "blocking", "indicators", "engagements", "label"} <= set(s)
        assert s["level"] in ("or", "argent", "bronze", "aucun")
        assert isinstance(s["blocking"], list) and all(isinstance(b, str) for b in s["blocking"])
        assert len(s["indicators"]) == 8
        for i in s["indicators"]:
            assert {"code", "value", "level", "status", "n", "gap_to_next"} <= set(i)
            assert i["level"] in ("or", "argent", "bronze", "aucun")
            assert i["status"] in ("conforme", "non_conforme", "manquant", "echantillon_insuffisant")
            assert i["value"] is None or isinstance(i["value"], (int, float))
        assert [e["number"] for e in s["engagements"]] == list(range(1, 9))
        assert all(set(e) >= {"number", "status"} for e in s["engagements"])
        assert s["label"] is None or {"level", "awarded_on", "expires_on", "supported"} <= set(s["label"])

    s1 = structures["S1"]
    assert (s1["name"], s1["level"], s1["blocking"]) == ("Mairie de Romans", "bronze", ["decroche"])
    decroche = next(i for i in s1["indicators"] if i["code"] == "decroche")
    # 8 449 / 10 000 (the 2024 value is outside the window); argent needs ⌈8 500 − 8 449⌉ = 51 calls.
    assert decroche == {**decroche, "value": pytest.approx(84.49), "level": "bronze", "status": "conforme",
                        "n": 10000, "gap_to_next": 51}
    assert s1["label"] == {**s1["label"], "level": "argent", "awarded_on": "2024-03-15",
                           "expires_on": "2027-03-15", "supported": False}

    s2 = structures["S2"]
    assert (s2["level"], s2["blocking"], s2["label"]) == ("aucun", ["attente_guichet"], None)
    waiting = next(i for i in s2["indicators"] if i["code"] == "attente_guichet")
    assert (waiting["value"], waiting["status"], waiting["n"], waiting["gap_to_next"]) == (None, "manquant", None, None)
    assert {e["number"]: e["status"] for e in s2["engagements"]}[1] == "incomplet"

    s3 = structures["S3"]
    assert (s3["level"], s3["blocking"]) == ("or", [])
    assert s3["label"]["supported"] is True and s3["label"]["expires_on"] == "2028-03-01"
    assert {e["number"]: e["status"] for e in s3["engagements"]} == {
        1: "conforme", 2: "conforme", 3: "sans_indicateur", 4: "conforme", 5: "conforme", 6: "conforme",
        7: "conforme", 8: "sans_indicateur"}


def no_nan(text):
    raise ValueError(f"not JSON: {text}")


def test_status_json_is_strict_json(three_structures, run_cli):
    code, out, err = run_cli("status", "--period", "2025", "--format", "json")
    assert code == 0, err
    json.loads(out, parse_constant=no_nan)  # NaN / Infinity are not JSON


def test_status_json_for_one_structure(three_structures, run_cli):
    data = status_json(run_cli, "--structure", "S3")
    assert [s["code"] for s in data["structures"]] == ["S3"]
    assert data["structures"][0]["level"] == "or"


def test_status_json_on_an_empty_database_lists_no_structure(db_path, run_cli):
    assert status_json(run_cli)["structures"] == []


# --- status: usage errors and the French table -----------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (("--structure", "INCONNUE"), "Structure inconnue : « INCONNUE »"),
    (("--period", "2025-13"), "Période non reconnue : « 2025-13 »"),
    (("--period", "foo"), "Période non reconnue : « foo »"),
    (("--period", "2025-T5"), "Période non reconnue"),
])
def test_status_usage_errors_exit_2_with_a_french_message(three_structures, run_cli, args, message):
    code, out, err = run_cli("status", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out and out == ""


@pytest.mark.parametrize("fmt", ["xlsx", "opendata"])
def test_export_of_an_unknown_structure_exits_2_in_french_and_writes_nothing(three_structures, run_cli, tmp_path, fmt):
    output = tmp_path / f"out.{fmt}"
    code, out, err = run_cli("export", "--format", fmt, "--output", output, "--structure", "INCONNUE")
    assert (code, err, out) == (2, "Structure inconnue : « INCONNUE ».\n", "")
    assert not output.exists()


@pytest.mark.parametrize("fmt", ["xlsx", "opendata", "csv"])
def test_export_with_an_unreadable_period_exits_2_and_writes_nothing(three_structures, run_cli, tmp_path, fmt):
    output = tmp_path / f"out.{fmt}"
    code, out, err = run_cli("export", "--format", fmt, "--output", output, "--period", "2025-13")
    assert code == 2 and "Période non reconnue" in err and "Traceback" not in err
    assert not output.exists()


def test_status_table_says_levels_blocking_indicators_and_gaps_in_french(three_structures, run_cli):
    code, out, err = run_cli("status", "--period", "2025", "--format", "table")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Fenêtre : année 2025 — référentiel 2023"
    s1 = next(ln for ln in lines if ln.startswith("S1 "))
    assert "bronze" in s1 and "Mairie de Romans" in s1
    assert "Taux de décroché : 51 appels décrochés de plus pour argent" in s1
    s2 = next(ln for ln in lines if ln.startswith("S2 "))
    assert "aucun" in s2 and "Temps d'attente au guichet : aucune donnée sur la période" in s2
    assert "or" in next(ln for ln in lines if ln.startswith("S3 ")).split()
    assert lines[-1] == "Structures par niveau : or 1, argent 0, bronze 1, aucun 1"


def test_status_table_for_one_structure_details_label_and_indicators(three_structures, run_cli):
    code, out, err = run_cli("status", "--period", "2025", "--structure", "S1")
    assert code == 0, err
    assert "S1 – Mairie de Romans : niveau atteignable bronze" in out
    assert ("Label argent attribué le 15/03/2024, expire le 15/03/2027 "
            "(non soutenu par les indicateurs actuels)") in out
    decroche = next(ln for ln in out.splitlines() if ln.strip().startswith("Taux de décroché"))
    assert "84,5" in decroche and "conforme" in decroche and "51 appels décrochés de plus pour argent" in decroche


# --- Excel report ---------------------------------------------------------------------------------------------


def rows_of(sheet) -> list[list]:
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_xlsx_report_round_trip(three_structures, run_cli, tmp_path):
    output = tmp_path / "rapport.xlsx"
    code, out, err = run_cli("export", "--format", "xlsx", "--output", output, "--period", "2025")
    assert code == 0, err
    book = openpyxl.load_workbook(output)
    assert book.sheetnames == ["Synthèse", "Indicateurs", "Engagements", "Méthode", "Actions"]  # issue 13

    summary = book["Synthèse"]
    header = [c.value for c in summary[1]]
    assert header[:5] == ["Code", "Structure", "Réseau", "Niveau atteignable", "Indicateurs bloquants"]
    by_code = {r[0]: dict(zip(header, r)) for r in rows_of(summary)[1:]}
    assert set(by_code) == {"S1", "S2", "S3"}
    assert by_code["S1"]["Niveau atteignable"] == "bronze"
    assert by_code["S1"]["Indicateurs bloquants"] == "Taux de décroché"  # the référentiel's label, not its code
    assert "51 appels décrochés de plus pour argent" in by_code["S1"]["Écart au niveau suivant"]
    assert by_code["S1"]["Label soutenu"] == "non" and by_code["S3"]["Label soutenu"] == "oui"
    assert by_code["S2"]["Niveau atteignable"] == "aucun"
    assert by_code["S1"]["Attribué le"] == datetime(2024, 3, 15)
    assert by_code["S1"]["Expire le"] == datetime(2027, 3, 15)
    s1_row = 1 + list(by_code).index("S1") + 1
    assert summary.cell(s1_row, header.index("Expire le") + 1).number_format == "DD/MM/YYYY"

    sheet = book["Indicateurs"]
    header = [c.value for c in sheet[1]]
    value_col, n_col = header.index("Valeur") + 1, header.index("Effectif") + 1
    row = next(r for r in range(2, sheet.max_row + 1)
               if sheet.cell(r, 1).value == "S1" and sheet.cell(r, 2).value == "decroche")
    value = sheet.cell(row, value_col)
    assert value.value == pytest.approx(84.49) and value.number_format == "#,##0.0"
    assert sheet.cell(row, n_col).value == 10000
    assert sheet.cell(row, header.index("Niveau") + 1).value == "bronze"
    assert sheet.cell(row, header.index("Statut") + 1).value == "conforme"
    assert sheet.max_row == 1 + 3 * 8  # one row per structure × indicator

    assert book["Engagements"].max_row == 1 + 3 * 8
    for name in ("Synthèse", "Indicateurs", "Engagements"):
        assert book[name].freeze_panes == "A2", name
        assert book[name].auto_filter.ref and book[name].auto_filter.ref.startswith("A1:"), name

    method = rows_of(book["Méthode"])
    assert method[0] == ["Référentiel", "2023"] + [None] * (len(method[0]) - 2)
    thresholds_header = next(i for i, r in enumerate(method) if r[0] == "Indicateur")
    head = method[thresholds_header]
    thresholds = {r[0]: dict(zip(head, r)) for r in method[thresholds_header + 1:] if r[0] in {
        "decroche", "delai_courriels", "satisfaction_globale"}}
    assert (thresholds["decroche"]["Bronze"], thresholds["decroche"]["Argent"], thresholds["decroche"]["Or"]) == (
        80, 85, 90)
    assert thresholds["decroche"]["Provenance argent"] == "officiel : cible du plan téléphone (≥ 85 %)"
    assert thresholds["decroche"]["Provenance bronze"] == "défaut"
    assert thresholds["delai_courriels"]["Sens"] == "plus bas = mieux"
    assert thresholds["delai_courriels"]["Provenance bronze"] == "règle du label Marianne (≤ 5 jours ouvrés)"
    assert thresholds["satisfaction_globale"]["Effectif minimal"] == 100


# --- CSV of the status ---------------------------------------------------------------------------------------


def read_csv(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def test_status_csv_has_one_row_per_structure_with_level_and_blocking(three_structures, run_cli, tmp_path):
    output = tmp_path / "niveaux.csv"
    code, out, err = run_cli("export", "--format", "csv", "--what", "status", "--output", output, "--period", "2025")
    assert code == 0, err
    assert output.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    rows = {r["code_structure"]: r for r in read_csv(output)}
    assert list(rows) == ["S1", "S2", "S3"]
    assert (rows["S1"]["niveau"], rows["S1"]["indicateurs_bloquants"]) == ("bronze", "Taux de décroché")
    assert (rows["S2"]["niveau"], rows["S2"]["indicateurs_bloquants"]) == ("aucun", "Temps d'attente au guichet")
    assert (rows["S3"]["niveau"], rows["S3"]["indicateurs_bloquants"]) == ("or", "")
    assert rows["S1"]["label_expire_le"] == "2027-03-15" and rows["S1"]["label_soutenu"] == "non"
    assert rows["S2"]["label"] == ""


# --- Open-data export ------------------------------------------------------------------------------------------

EXPORT_RESULTATS = ["code_sp_du_resultat", "intitule_du_reseau", "typologie", "code_sp_structure",
                    "intitule_de_la_structure", "code_sp_de_l_indicateur", "titre_original_de_l_indicateur",
                    "date_de_debut_de_l_evaluation", "duree_de_l_evaluation", "frequence", "valeur",
                    "valeur_attendue", "satisfait", "insatisfait", "ne_se_prononce_pas", "date_de_mise_a_jour",
                    "actif"]


def live_values(con):
    return sorted(con.cursor().execute(
        "SELECT structure_code, indicator_code, period_start, period_end, round(value, 6) FROM observation "
        "WHERE period_start >= DATE '2025-01-01' AND period_end <= DATE '2025-12-31'").fetchall())


def test_opendata_export_has_the_export_resultats_columns_and_reimports_identically(
        three_structures, run_cli, con, tmp_path):
    output = tmp_path / "export-resultats.csv"
    code, out, err = run_cli("export", "--format", "opendata", "--output", output, "--period", "2025")
    assert code == 0, err
    with open(output, encoding="utf-8-sig", newline="") as f:
        assert next(csv.reader(f, delimiter=";")) == EXPORT_RESULTATS
    rows = read_csv(output)
    # S1: 7 + 2 decroche months (its 2024 value is outside), S2: 7, S3: 8.
    assert len(rows) == 9 + 7 + 8
    keys = [(r["code_sp_structure"], r["code_sp_de_l_indicateur"], r["date_de_debut_de_l_evaluation"]) for r in rows]
    assert len(set(keys)) == len(keys)
    december = next(r for r in rows if r["code_sp_structure"] == "S1" and r["code_sp_de_l_indicateur"] == "decroche"
                    and r["date_de_debut_de_l_evaluation"] == "2025-12-01")
    assert december == {**december, "valeur": "88,98", "duree_de_l_evaluation": "1", "frequence": "mensuelle",
                        "valeur_attendue": "80", "intitule_de_la_structure": "Mairie de Romans",
                        "intitule_du_reseau": "Communes", "titre_original_de_l_indicateur": "Taux de décroché",
                        "actif": "Oui"}
    satisfaction = next(r for r in rows if r["code_sp_structure"] == "S3"
                        and r["code_sp_de_l_indicateur"] == "satisfaction_globale")
    assert (satisfaction["satisfait"], satisfaction["insatisfait"], satisfaction["frequence"]) == (
        "184", "16", "trimestrielle")

    other = tmp_path / "autre.duckdb"
    code, out, err = run_cli("import", output, "--db", other)
    assert code == 0, err
    fresh = db.connect(other)
    assert fresh.cursor().execute("SELECT layout FROM import_batch").fetchall() == [("export_resultats",)]
    assert live_values(fresh) == live_values(con)
    # satisfait + insatisfait give back the sample size: 184 + 16 = 200.
    assert fresh.cursor().execute("SELECT sample_size FROM observation WHERE structure_code = 'S3' "
                                  "AND indicator_code = 'satisfaction_globale'").fetchall() == [(200,)]
    assert fresh.cursor().execute("SELECT name, network FROM structure WHERE code = 'S1'").fetchall() == [
        ("Mairie de Romans", "Communes")]


def test_opendata_result_identifiers_are_unique(db_path, run_cli, tmp_path):
    import_ok(run_cli, canonical(tmp_path / "v.csv", [
        line("S1", "delai_courriers", "2025-10-01", "2025-10-31", "6"),
        line("S1", "delai_courriers", "2025-10-01", "2025-12-31", "7")]))
    output = tmp_path / "export-resultats.csv"
    code, out, err = run_cli("export", "--format", "opendata", "--output", output, "--period", "2025")
    assert code == 0, err
    ids = [r["code_sp_du_resultat"] for r in read_csv(output)]
    assert len(ids) == 2
    assert len(set(ids)) == 2, ids


def test_csv_values_export_accepts_the_rolling_window_its_help_offers(three_structures, run_cli, tmp_path):
    code, out, err = run_cli("export", "--format", "csv", "--output", tmp_path / "v.csv", "--period", "12m")
    assert code == 0, err


# --- Formula injection ---------------------------------------------------------------------------------------

EVIL = {"E1": '=HYPERLINK("http://evil","x")', "E2": "+33 1 23 45 67 89", "E3": "-2+3", "E4": "@SUM(1+1)"}


@pytest.fixture
def evil_names(run_cli, tmp_path):
    rows = []
    for code, name in EVIL.items():
        rows += gold_rows(code, name=name, network="=1+1" if code == "E1" else "Réseau test")
    import_ok(run_cli, canonical(tmp_path / "evil.csv", rows))
    return tmp_path


def test_formula_like_names_are_stored_as_written(evil_names, con):
    assert dict(con.cursor().execute("SELECT code, name FROM structure").fetchall()) == EVIL


def test_status_csv_neutralises_formula_like_names(evil_names, run_cli, tmp_path):
    output = tmp_path / "niveaux.csv"
    assert run_cli("export", "--format", "csv", "--what", "status", "--output", output, "--period", "2025")[0] == 0
    rows = {r["code_structure"]: r for r in read_csv(output)}
    assert {code: r["nom_structure"] for code, r in rows.items()} == {c: "'" + n for c, n in EVIL.items()}
    assert rows["E1"]["reseau"] == "'=1+1"


def test_values_csv_neutralises_formula_like_names(evil_names, run_cli, tmp_path):
    output = tmp_path / "valeurs.csv"
    assert run_cli("export", "--format", "csv", "--output", output)[0] == 0
    names = {r["code_structure"]: r["nom_structure"] for r in read_csv(output)}
    assert names == {c: "'" + n for c, n in EVIL.items()}


def test_opendata_neutralises_formula_like_names(evil_names, run_cli, tmp_path):
    output = tmp_path / "export-resultats.csv"
    assert run_cli("export", "--format", "opendata", "--output", output, "--period", "2025")[0] == 0
    rows = read_csv(output)
    assert len(rows) == 4 * 8
    for r in rows:
        assert r["intitule_de_la_structure"] == "'" + EVIL[r["code_sp_structure"]]
    assert {r["intitule_du_reseau"] for r in rows if r["code_sp_structure"] == "E1"} == {"'=1+1"}


def test_xlsx_cells_with_formula_like_names_are_text(evil_names, run_cli, tmp_path):
    output = tmp_path / "rapport.xlsx"
    assert run_cli("export", "--format", "xlsx", "--output", output, "--period", "2025")[0] == 0
    sheet = openpyxl.load_workbook(output)["Synthèse"]
    seen = {}
    for row in range(2, sheet.max_row + 1):
        name, network = sheet.cell(row, 2), sheet.cell(row, 3)
        assert name.data_type == "s" and network.data_type == "s"
        seen[sheet.cell(row, 1).value] = name.value
        if sheet.cell(row, 1).value == "E1":
            assert network.value == "'=1+1"
    assert seen == {c: "'" + n for c, n in EVIL.items()}
    # No cell anywhere in the workbook is a formula.
    book = openpyxl.load_workbook(output)
    assert not [c.coordinate for ws in book for r in ws.iter_rows() for c in r if c.data_type == "f"]
