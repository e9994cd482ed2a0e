"""The commands people script, made fast, print exactly what they printed: ``status --format json`` character for
character against a plain per-structure build of the same assessment (kept here as the reference, not in the
product), the table, the CSV exports and the Excel report against straightforward references, on the
demonstration data plus awkward names and numbers. An empty base, a base without values and a structure without
data give an empty report, a French sentence and exit 0. Counts are written in French (« 1 valeur », « 3 valeurs »).
Speed itself is measured by hand: bench/bench_commands.py."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from helpers import PROJECT, canonical
from indicators import cli, compliance, db, reports, rights, text
from indicators.demo import load_demo
from indicators.export import canonical_table, write_canonical_csv
from indicators.periods import MONTHS_PER_PERIODICITY
from indicators.text import neutralize_formula
from indicators.wording import gap_sentence

NO_DATA = ("Aucune donnée : importez un fichier (python3 -m indicators import FICHIER) ou chargez la démonstration "
           "(python3 -m indicators demo).")
NO_VALUES = ("Aucune valeur enregistrée : importez un fichier (python3 -m indicators import FICHIER) ou chargez la "
             "démonstration (python3 -m indicators demo).")
# Names a JSON encoder, a CSV writer, XML and a spreadsheet must each handle: quotes, backslash, separators,
# line breaks, a tab, a control character, formulas, outer spaces, non-Latin letters.
AWKWARD = {
    "Z-QUOTE": ('Mairie "centre" \\ annexe; nord', "Réseau, « test »"),
    "Z-LINES": ("Accueil\nétage 2\ttab\x01", "=HYPERLINK(\"x\")"),
    "=Z-FORMULA": ("+33 accueil ", " -réseau"),
    "Z-UNICODE": ("Ελληνικά 中文 \u202f\u2028 😀", None),
}
# Values no import would let through, to exercise every way of writing a number.
ODD_VALUES = [
    ("Z-QUOTE", "attente_guichet", 1e-7, None, None, 10),
    ("Z-QUOTE", "delai_courriels", 123456789012.5, None, None, 3),
    ("Z-QUOTE", "decroche", 85.0, 1.7e19, 2e19, None),
    ("Z-LINES", "satisfaction_globale", 92.123456789, 184, 200, 200),
    ("Z-LINES", "publication_resultats", 1, None, None, None),
    ("=Z-FORMULA", "delai_courriers", 2 / 3, None, None, 7),
]


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    """The demonstration data for 50 structures, plus the awkward structures and values above."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    con = db.connect(path)
    load_demo(con, rights.COMMAND_LINE, 50, 42)
    cur = con.cursor()
    for code, (name, network) in AWKWARD.items():
        cur.execute("INSERT INTO structure (code, name, network, label_level, label_awarded_on, import_id) "
                    "VALUES (?, ?, ?, 'bronze', DATE '2024-02-29', 1)", [code, name, network])
    for code, indicator, value, numerator, denominator, size in ODD_VALUES:
        for month in range(1, 13):
            cur.execute("INSERT INTO observation VALUES (?, ?, make_date(2024, ?, 1), last_day(make_date(2024, ?, 1)), "
                        "?, ?, ?, ?, NULL, 1, NULL, NULL)",
                        [code, indicator, month, month, value, numerator, denominator, size])
    cur.close()
    yield path
    db.close(path)


def run(path, *args) -> tuple[int, str, str]:
    """``python -m indicators`` in-process on ``path``, its output captured."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = cli.main([str(a) for a in args] + ["--db", str(path)])
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def assessment_of(path, period: str, structure: str | None = None) -> compliance.Assessment:
    con = db.connect(path)
    return compliance.assess(con, compliance.resolve_window(con, period), rights.COMMAND_LINE, structure)


# --- The reference JSON: one structure at a time, the way it was first written ---------------------------------


def _number(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return float(value) if not float(value).is_integer() else int(value)


def _iso(value):
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date().isoformat()


def _text_or_none(value):
    return value if isinstance(value, str) else None


def reference_structure(row: dict, indicators: pd.DataFrame, engagements: pd.DataFrame) -> dict:
    label = None
    if isinstance(row["label_level"], str):
        label = {"level": row["label_level"], "awarded_on": _iso(row["label_awarded_on"]),
                 "expires_on": _iso(row["label_expires_on"]), "supported": bool(row["label_supported"]),
                 "expired": bool(row["label_expired"])}
    return {
        "code": row["code"], "name": _text_or_none(row["name"]), "network": _text_or_none(row["network"]),
        "level": row["level"], "blocking": list(row["blocking"]),
        "indicators": [
            {"code": r["indicator_code"], "value": _number(r["value"]), "level": r["level"], "status": r["status"],
             "n": _number(r["n"]), "gap_to_next": _number(r["gap_to_next"]), "gap_unit": _text_or_none(r["gap_unit"]),
             "next_level": _text_or_none(r["next_level"]),
             "wilson_95": None if pd.isna(r["wilson_low"]) else [_number(r["wilson_low"]), _number(r["wilson_high"])],
             "freshness": r["freshness"], "last_period_end": _iso(r["last_period_end"])}
            for r in indicators.to_dict("records")],
        "engagements": [{"number": int(r["number"]), "status": r["status"]} for r in engagements.to_dict("records")],
        "label": label,
    }


def reference_status_json(a: compliance.Assessment) -> dict:
    return {
        "period": a.window.text,
        "window": {"start": a.window.start.isoformat(), "end": a.window.end.isoformat(), "label": a.window.label},
        "referentiel": a.version,
        "structures": [reference_structure(row, a.indicators[a.indicators["structure_code"] == row["code"]],
                                           a.engagements[a.engagements["structure_code"] == row["code"]])
                       for row in a.structures.to_dict("records")],
    }


@pytest.mark.parametrize("period, structure", [("2024", None), ("12m", None), ("2025-T2", None), ("2025-03", None),
                                               ("2024", "Z-LINES"), ("2024", "CAF-0001")])
def test_status_json_is_character_for_character_the_per_structure_build(demo_base, period, structure):
    a = assessment_of(demo_base, period, structure)
    reference = reference_status_json(a)
    assert reference["structures"], "the demonstration has structures"
    expected = json.dumps(reference, ensure_ascii=False, indent=2)
    assert reports.status_json_text(a) == expected
    assert reports.status_json(a) == reference
    first = reference["structures"][0]
    assert reports.status_json(compliance.subset(a, [first["code"]]))["structures"][0] == first
    args = ["status", "--period", period, "--format", "json"] + (["--structure", structure] if structure else [])
    code, out, err = run(demo_base, *args)
    assert code == 0 and out == expected + "\n" and err == ""


def test_status_json_covers_every_kind_of_value(demo_base):
    """Labels, Wilson intervals, gaps in units and in numerator units, missing indicators, awkward names and
    numbers are all in the comparison above."""
    data = reports.status_json(assessment_of(demo_base, "2024"))
    indicators = [i for s in data["structures"] for i in s["indicators"]]
    assert any(s["label"] for s in data["structures"]) and any(s["label"] is None for s in data["structures"])
    assert any(i["wilson_95"] for i in indicators) and any(i["gap_unit"] == "numerateur" for i in indicators)
    assert {i["status"] for i in indicators} >= {"conforme", "non_conforme", "manquant"}
    values = {i["value"] for i in indicators}
    assert {1e-07, 123456789012.5, 0.666666667} <= values  # values are rounded to 9 decimals by the engine
    assert any(isinstance(i["gap_to_next"], int) and i["gap_to_next"] > 2 ** 53 for i in indicators)
    names = {s["code"]: s["name"] for s in data["structures"]}
    assert names["Z-LINES"] == AWKWARD["Z-LINES"][0] and names["Z-UNICODE"] == AWKWARD["Z-UNICODE"][0]


def test_json_of_structures_listed_in_any_order_and_subsets(demo_base):
    """The column-wise build finds each structure's rows by code, not by position."""
    a = assessment_of(demo_base, "2024")
    codes = list(a.structures["code"])[::-3]
    shuffled = compliance.subset(a, codes)
    shuffled.indicators = shuffled.indicators.iloc[::-1].reset_index(drop=True)
    shuffled.engagements = shuffled.engagements.sample(frac=1, random_state=1).sort_values(
        "structure_code", kind="stable", key=lambda c: c.map({c: -i for i, c in enumerate(codes)}))
    assert reports.status_json_text(shuffled) == json.dumps(reference_status_json(shuffled), ensure_ascii=False,
                                                               indent=2)


# --- The table, the CSV exports and the Excel report against plain references ----------------------------------


def reference_gaps(a: compliance.Assessment) -> list[str]:
    rows = {(r["structure_code"], r["indicator_code"]): r for r in a.indicators.to_dict("records")}
    labels = dict(zip(a.rules["code"], a.rules["label"]))  # a person reads the référentiel's labels
    return [" ; ".join(f"{labels[i]} : {gap_sentence(rows[(code, i)])}" for i in blocking)
            for code, blocking in zip(a.structures["code"], a.structures["blocking"])]


def test_status_table_lines_are_those_written_line_by_line(demo_base):
    a = assessment_of(demo_base, "2024")
    expected = [f"Fenêtre : {text.window_label(a.window)} — référentiel {a.version}"]
    for row, gaps in zip(a.structures.to_dict("records"), reference_gaps(a)):
        name = row["name"] if isinstance(row["name"], str) else ""
        expected.append(f"{row['code']:<12} {row['level']:<7} {name}" + (f"  bloquants : {gaps}" if gaps else ""))
    code, out, err = run(demo_base, "status", "--period", "2024")
    assert code == 0, err
    assert out.splitlines()[:-1] == "\n".join(expected).splitlines()
    assert out.splitlines()[-1].startswith("Structures par niveau : or ")
    assert list(reports.status_table(a)["ecarts"]) == reference_gaps(a)


def _text(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value).replace(".", ",")
    if isinstance(value, (date, datetime, pd.Timestamp)):
        return pd.Timestamp(value).date().isoformat()
    return neutralize_formula(str(value))


def reference_csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        writer.writerow([_text(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def reference_opendata(con, a: compliance.Assessment) -> pd.DataFrame:
    """The window's values in the export-resultats schema, built row-wise with pandas as at first."""
    rows = con.cursor().execute(db.sql("opendata_rows"), {"start": a.window.start, "end": a.window.end,
                                                          "version": a.version}).df()
    rows = rows[rows["structure_code"].isin(a.structures["code"])]
    frequency_of = {months: name for name, months in MONTHS_PER_PERIODICITY.items()}
    months = rows["months"].astype("Int64")
    start, end = pd.to_datetime(rows["period_start"]), pd.to_datetime(rows["period_end"])
    satisfaction = rows["indicator_code"] == "satisfaction_globale"
    return pd.DataFrame({
        "code_sp_du_resultat": rows["structure_code"] + "-" + rows["indicator_code"] + "-"
        + start.dt.strftime("%Y%m%d") + "-" + end.dt.strftime("%Y%m%d"),
        "intitule_du_reseau": rows["network"], "typologie": rows["typologie"],
        "code_sp_structure": rows["structure_code"], "intitule_de_la_structure": rows["name"],
        "code_sp_de_l_indicateur": rows["indicator_code"], "titre_original_de_l_indicateur": rows["label"],
        "date_de_debut_de_l_evaluation": start.dt.date, "duree_de_l_evaluation": months,
        "frequence": months.map(frequency_of), "valeur": rows["value"], "valeur_attendue": rows["bronze"],
        "satisfait": rows["numerator"].where(satisfaction),
        "insatisfait": (rows["denominator"] - rows["numerator"]).where(satisfaction),
        "ne_se_prononce_pas": None, "date_de_mise_a_jour": date.today(), "actif": "Oui",
    })


@pytest.mark.parametrize("period", ["2024", "12m"])
def test_csv_exports_are_byte_for_byte_those_written_cell_by_cell(demo_base, tmp_path, period):
    con = db.connect(demo_base)
    a = assessment_of(demo_base, period)
    assert reports.csv_bytes(reports.status_table(a)) == reference_csv(reports.status_table(a))
    opendata = reference_csv(reference_opendata(con, a))
    assert reports.opendata_csv(con, a) == opendata
    assert reports.csv_bytes(reports.opendata_table(con, a)) == opendata
    one = compliance.subset(a, ["Z-QUOTE", "=Z-FORMULA"])
    assert reports.opendata_csv(con, one) == reference_csv(reference_opendata(con, one))

    code, out, err = run(demo_base, "export", "--format", "opendata", "--period", period, "--output",
                         tmp_path / "od.csv")
    assert code == 0, err
    assert (tmp_path / "od.csv").read_bytes() == opendata
    if period == "2024":  # the awkward values are in 2024
        assert '"Mairie ""centre"" \\ annexe; nord"' in opendata.decode("utf-8-sig")  # as the csv module quotes
        assert "'=HYPERLINK" in opendata.decode("utf-8-sig") and "'=Z-FORMULA-" in opendata.decode("utf-8-sig")

    table = canonical_table(con, (a.window.start, a.window.end))
    write_canonical_csv(table, tmp_path / "valeurs.csv")
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(table.column_names)
    writer.writerows(zip(*(column.to_pylist() for column in table.columns)))
    assert (tmp_path / "valeurs.csv").read_bytes() == ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell_value(value):
    if value is None or (not isinstance(value, (str, list)) and pd.isna(value)):
        return None
    if isinstance(value, str):  # an empty text reads back as an empty cell; XML has no room for control characters
        return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", lambda m: f"_x{ord(m[0]):04X}_",
                      neutralize_formula(value)) or None
    if isinstance(value, (pd.Timestamp, date)):
        return datetime.combine(pd.Timestamp(value).date(), datetime.min.time())
    if hasattr(value, "item"):
        value = value.item()
    return float(f"{value:.16g}") if isinstance(value, float) else value


def test_excel_report_holds_what_the_assessment_says_cell_for_cell(demo_base, tmp_path):
    a = assessment_of(demo_base, "2024")
    output = tmp_path / "rapport.xlsx"
    code, out, err = run(demo_base, "export", "--format", "xlsx", "--period", "2024", "--output", output)
    assert code == 0, err
    book = openpyxl.load_workbook(output)
    assert book.sheetnames == ["Synthèse", "Indicateurs", "Engagements", "Méthode", "Actions"]  # issue 13

    def rows(name):
        return [[c.value for c in r] for r in book[name].iter_rows(min_row=2)]

    status_fr = text.STATUS_WORDS
    expected = [[_cell_value(v) for v in (r["structure_code"], r["indicator_code"], r["label"], r["engagement"],
                                          r["unit"], r["value"], r["n"], r["level"], status_fr[r["status"]],
                                          gap_sentence(r), r["wilson_low"], r["wilson_high"],
                                          status_fr[r["freshness"]], r["last_period_end"])]
                for r in a.indicators.to_dict("records")]
    assert rows("Indicateurs") == expected
    labels = dict(zip(a.engagement_labels["number"], a.engagement_labels["label"]))
    assert rows("Engagements") == [[_cell_value(r["structure_code"]), r["number"], labels[r["number"]],
                                    status_fr[r["status"]]] for r in a.engagements.to_dict("records")]
    table = reports.status_table(a)
    assert rows("Synthèse") == [[_cell_value(v) for v in row[:-2]] for row in table.itertuples(index=False)]
    assert [r[:2] for r in rows("Méthode")[:4]] == [["Fenêtre", "année 2024"],
                                                   ["Du", datetime(2024, 1, 1)], ["Au", datetime(2024, 12, 31)],
                                                   ["Calculé le", datetime.combine(date.today(), datetime.min.time())]]

    sheet = book["Indicateurs"]
    full = next(r for r in sheet.iter_rows(min_row=2) if all(c.value is not None for c in r[:10]) and r[13].value)
    formats = {c.column_letter: c.number_format for c in full}
    assert formats["F"] == "#,##0.0" and formats["G"] == "#,##0" and formats["N"] == "DD/MM/YYYY"
    assert formats["A"] == "General"
    header = sheet["A1"]
    assert header.font.b and header.fill.fgColor.rgb.endswith("000091") and header.alignment.wrap_text
    for name in ("Synthèse", "Indicateurs", "Engagements"):
        assert book[name].freeze_panes == "A2"
        assert book[name].auto_filter.ref == f"A1:{book[name].cell(1, book[name].max_column).column_letter}" \
                                             f"{book[name].max_row}"
    widths = {k: d.width for k, d in book["Engagements"].column_dimensions.items()}
    longest = max(len(label) for label in labels.values())
    assert widths == {"A": max(len("Code structure"), *map(len, a.engagements["structure_code"])) + 2,
                      "B": len("Engagement") + 2, "C": min(longest, 60) + 2,
                      "D": max(len("Statut"), *(len(status_fr[s]) for s in a.engagements["status"])) + 2}
    # The texts a spreadsheet would run, and the characters XML cannot hold, come back as written.
    names = {r[0]: r[1] for r in rows("Synthèse")}
    assert names["'=Z-FORMULA"] == "'+33 accueil "
    assert names["Z-LINES"] == "Accueil\nétage 2\ttab_x0001_"


# --- Empty bases, bases without values, a structure without data ------------------------------------------------


EXPORTS = [("xlsx", ()), ("csv", ()), ("csv", ("--what", "status")), ("opendata", ())]


def test_an_empty_base_gives_an_empty_report_a_french_sentence_and_exit_0(db_path, run_cli, tmp_path):
    code, out, err = run_cli("status", "--format", "json")
    assert code == 0 and err.strip() == NO_DATA
    data = json.loads(out)
    assert data["structures"] == [] and data["period"] == "12m" and data["referentiel"]
    assert set(data["window"]) == {"start", "end", "label"}
    code, out, err = run_cli("status", "--period", "2024", "--format", "json")
    assert code == 0 and json.loads(out)["period"] == "2024" and json.loads(out)["structures"] == []

    code, out, err = run_cli("status")
    assert code == 0 and err == "" and "Traceback" not in out
    assert out.splitlines()[1] == NO_DATA
    assert out.splitlines()[-1] == "Structures par niveau : or 0, argent 0, bronze 0, aucun 0"

    for fmt, extra in EXPORTS:
        output = tmp_path / f"vide-{fmt}-{len(extra)}.{fmt}"
        code, out, err = run_cli("export", "--format", fmt, *extra, "--output", output)
        assert code == 0 and err == "", (fmt, err)
        assert out.splitlines()[0] == NO_DATA, fmt
        assert output.exists()
    book = openpyxl.load_workbook(tmp_path / "vide-xlsx-0.xlsx")
    assert [ws.max_row for ws in book][:3] == [1, 1, 1] and book["Synthèse"].auto_filter.ref == "A1:L1"
    for name in ("vide-csv-0.csv", "vide-csv-2.csv", "vide-opendata-0.opendata"):
        assert len((tmp_path / name).read_text(encoding="utf-8-sig").splitlines()) == 1, name  # the header


def test_a_base_with_structures_but_no_values_lists_them_at_level_aucun(db_path, run_cli, tmp_path):
    register = tmp_path / "structures.csv"
    register.write_text("code_structure;nom_structure;reseau\nS1;Mairie;Communes\nS2;CAF de l'Ain;CAF\n",
                        encoding="utf-8")
    assert run_cli("import", register)[0] == 0
    code, out, err = run_cli("status", "--format", "json")
    assert code == 0 and err.strip() == NO_VALUES
    data = json.loads(out)
    assert [s["code"] for s in data["structures"]] == ["S1", "S2"]
    assert {s["level"] for s in data["structures"]} == {"aucun"}
    assert {i["status"] for s in data["structures"] for i in s["indicators"]} == {"manquant"}
    code, out, err = run_cli("status")
    assert code == 0 and NO_VALUES in out.splitlines() and "aucune donnée sur la période" in out
    code, out, err = run_cli("status", "--structure", "S1")
    assert code == 0 and NO_VALUES in out and "S1 – Mairie : niveau atteignable aucun" in out
    for fmt, extra in EXPORTS:
        output = tmp_path / f"sans-valeur-{fmt}-{len(extra)}.{fmt}"
        code, out, err = run_cli("export", "--format", fmt, *extra, "--output", output)
        assert code == 0 and err == "" and out.splitlines()[0] == NO_VALUES, (fmt, out, err)
    assert openpyxl.load_workbook(tmp_path / "sans-valeur-xlsx-0.xlsx")["Synthèse"].max_row == 3


def test_a_structure_without_data_in_the_window_says_so(db_path, run_cli, tmp_path):
    rows = [f"S1;Mairie;Communes;decroche;2025-0{m}-01;2025-0{m}-28;;900;1000;" for m in (1, 2)]
    assert run_cli("import", canonical(tmp_path / "valeurs.csv", rows))[0] == 0
    register = tmp_path / "structures.csv"
    register.write_text("code_structure;nom_structure\nS9;Nouvelle structure\n", encoding="utf-8")
    assert run_cli("import", register)[0] == 0
    sentence = "Aucune valeur pour « S9 » sur la fenêtre « année 2025 » : choisissez une autre période"

    code, out, err = run_cli("status", "--period", "2025", "--structure", "S9", "--format", "json")
    assert code == 0 and sentence in err
    (structure,) = json.loads(out)["structures"]
    assert structure["code"] == "S9" and structure["level"] == "aucun"
    code, out, err = run_cli("status", "--period", "2025", "--structure", "S9")
    assert code == 0 and sentence in out and "aucune donnée sur la période" in out
    code, out, err = run_cli("export", "--format", "opendata", "--period", "2025", "--structure", "S9",
                             "--output", tmp_path / "s9.csv")
    assert code == 0 and sentence in out
    assert len((tmp_path / "s9.csv").read_text(encoding="utf-8-sig").splitlines()) == 1
    # With values in the window, nothing to say.
    code, out, err = run_cli("status", "--period", "2025", "--structure", "S1")
    assert code == 0 and "Aucune" not in out
    code, out, err = run_cli("export", "--format", "opendata", "--period", "2024", "--structure", "S1",
                             "--output", tmp_path / "s1.csv")
    assert code == 0 and "Aucune valeur pour « S1 » sur la fenêtre « année 2024 »" in out


# --- Counts in French ---------------------------------------------------------------------------------------------


def test_export_messages_count_in_french(db_path, run_cli, tmp_path):
    one_row = ["S1;Mairie;Communes;decroche;2025-01-01;2025-01-31;90;;;"]
    assert run_cli("import", canonical(tmp_path / "un.csv", one_row))[0] == 0
    code, out, err = run_cli("export", "--format", "csv", "--output", tmp_path / "a.csv")
    assert code == 0 and out == f"1 valeur exportée dans {tmp_path / 'a.csv'}.\n"
    code, out, err = run_cli("export", "--format", "csv", "--what", "status", "--period", "2025",
                             "--output", tmp_path / "b.csv")
    assert out == f"Évaluation de 1 structure (année 2025) exportée dans {tmp_path / 'b.csv'}.\n"

    rows = [f"S{i};Structure {i};Réseau;decroche;2025-02-01;2025-02-28;9{i};;;" for i in (1, 2, 3)]
    assert run_cli("import", canonical(tmp_path / "trois.csv", rows))[0] == 0
    code, out, err = run_cli("export", "--format", "csv", "--period", "2025-02", "--output", tmp_path / "c.csv")
    assert out == f"3 valeurs exportées dans {tmp_path / 'c.csv'}.\n"
    for fmt in ("xlsx", "opendata"):
        code, out, err = run_cli("export", "--format", fmt, "--period", "2025", "--output", tmp_path / f"d.{fmt}")
        assert out == f"Évaluation de 3 structures (année 2025) exportée dans {tmp_path / f'd.{fmt}'}.\n"
        assert "(s)" not in out


# --- Start-up: what the command does not need is not imported ---------------------------------------------------


@pytest.mark.parametrize("args", [["status", "--format", "json"], ["status"],
                                  ["export", "--format", "opendata", "--output", "{tmp}/o.csv"],
                                  ["export", "--format", "xlsx", "--output", "{tmp}/r.xlsx"]])
def test_commands_do_not_import_spreadsheet_or_chart_libraries(demo_base, tmp_path, args):
    script = ("import sys; from indicators import cli; code = cli.main(sys.argv[1:]); "
              "print(sorted({m.split('.')[0] for m in sys.modules} & "
              "{'openpyxl', 'plotly', 'python_calamine', 'streamlit', 'xlsxwriter'}), code)")
    done = subprocess.run([sys.executable, "-c", script, *(a.format(tmp=tmp_path) for a in args),
                           "--db", str(demo_base)], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[-1] == "[] 0", done.stderr
