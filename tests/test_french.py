"""indicators/text.py is the product's French: one way to write a number, a value with its unit, a date; one
formula rule, the same in Python, Arrow and DuckDB; one line ending for every CSV; and the page « Structures et
imports » writes its counts in French without touching the frame it shares with other sessions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest

from indicators import reports, rights, text
from indicators.export import CSV_LINE_END, define_macros
from ui import access

PROJECT = Path(__file__).resolve().parent.parent
CELLS = ["=1+1", "+33 1 23", "-5", "@SUM(A1)", "\tcaché", "\rretour", "Mairie", "a=b", "", "'=déjà", "é=", " =x"]


def test_numbers_values_and_dates_are_written_one_french_way():
    assert text.format_number_fr(10600, 0) == "10\u202f600"  # narrow no-break space between thousands
    assert text.format_number_fr(85.25, 1) == "85,2"  # 85.25 is 85.2499… in binary
    assert text.format_number_fr(2.50, 2, trim=True) == "2,5" and text.format_number_fr(85.0, 2, trim=True) == "85"
    assert text.format_percent(84.49) == "84,5\u202f%"
    assert text.format_value(85.3, "%") == "85,3\u202f%" and text.format_value(20.4, "minutes") == "20,4 minutes"
    assert text.format_value(1.0, "oui/non") == "oui" and text.format_value(0.0, "oui/non") == "non"
    assert [text.format_value(v) for v in (None, float("nan"), pd.NA)] == ["–", "–", "–"]
    assert text.format_date(date(2025, 1, 31)) == "31/01/2025" and text.format_date(pd.NaT) == "–"
    assert text.format_count(1159, "valeur") == "1\u202f159 valeurs"
    assert text.format_compact(20.44, "minutes") == "20,4 min" and text.format_change(-1.6, "%") == "-1,6 pt"
    assert text.format_change(2, "jours") == "+2,0 j" and text.format_change(1, "oui/non") is None


def test_codes_have_their_french_words_in_one_place():
    assert text.status_word("non_conforme") == "non conforme" and text.status_word("a_jour") == "à jour"
    assert text.status_word("echantillon_insuffisant") == "échantillon insuffisant"
    assert text.IMPORT_STATUS_WORDS == {"importe": "importé", "annule": "annulé"}
    assert text.LEVEL_WORDS["aucun"] == "aucun niveau"
    assert text.layout_label("demonstration") == "données de démonstration"
    assert text.theme_title("plus proche") == "Services publics plus proche"
    assert reports.status_word is text.status_word  # the exports write the same words


def test_the_formula_rule_is_the_same_in_python_arrow_and_duckdb():
    expected = [text.neutralize_formula(cell) for cell in CELLS]
    assert expected[:6] == ["'" + cell for cell in CELLS[:6]] and expected[6:] == CELLS[6:]
    arrow = reports.csv_field(pd.Series(CELLS, dtype="string")).to_pylist()
    assert [cell.strip('"') for cell in arrow] == expected
    with duckdb.connect() as con:
        define_macros(con)
        con.register("cells", pa.table({"cell": CELLS}))
        assert [row[0] for row in con.execute("SELECT protect(cell) FROM cells").fetchall()] == expected


def test_every_csv_the_product_writes_ends_its_lines_with_a_line_feed():
    frame = pd.DataFrame({"code": ["S1", "=S2"], "valeur": [85.5, 12.0], "nom": ["a;b", 'dit "x"']})
    written = reports.csv_bytes(frame)
    assert CSV_LINE_END == "\n" and b"\r\n" not in written
    assert written.decode("utf-8") == ("\ufeffcode;valeur;nom\n" "S1;85,5;\"a;b\"\n" "'=S2;12;\"dit \"\"x\"\"\"\n")
    assert reports.csv_bytes(pd.DataFrame(columns=["a", "b"])) == "\ufeffa;b\n".encode("utf-8")


def test_structures_page_writes_counts_in_french_and_leaves_the_shared_frame_alone(db_path, run_cli, tmp_path):
    # 1 200 daily values of one structure: the counts are 1 200, with a thousands separator.
    days = pd.date_range("2022-01-01", periods=1200, freq="D")
    lines = [f"S1;Accueil Évry;CAF;decroche;{d:%Y-%m-%d};{d:%Y-%m-%d};90;;;" for d in days]
    source = tmp_path / "valeurs.csv"
    source.write_text("code_structure;nom_structure;reseau;code_indicateur;debut_periode;fin_periode;valeur;"
                      "numerateur;denominateur;effectif\n" + "\n".join(lines) + "\n", encoding="utf-8-sig")
    assert run_cli("import", source)[0] == 0
    at = AppTest.from_file(str(PROJECT / "app.py"), default_timeout=120)
    at.switch_page("pages/donnees.py")
    at.run()
    assert not at.exception, at.exception
    structures, history = (frame.value for frame in at.dataframe)
    assert structures["Valeurs"].tolist() == ["1\u202f200"] and structures["Label"].tolist() == ["sans label"]
    assert history["rows_added"].tolist() == ["1\u202f200"] and history["status"].tolist() == ["importé"]
    assert "," not in " ".join(map(str, [*structures["Valeurs"], *history["rows_added"]]))
    # What the structure lacks reads « — », never « None » (no typology, no department, no label date).
    assert structures[["Typologie", "Département", "Label attribué le"]].iloc[0].tolist() == ["—", "—", "—"]
    # The next session reads the cached frame: still the stored values, not the page's texts.
    cached = access.structures(access.data_version(), rights.local())
    assert cached["label_level"].isna().all() and cached["n_values"].tolist() == [1200]
