"""The method is written once (docs/methode.md): the Référentiel page and the Excel report's « Méthode » sheet
show that same text, and the README sends its readers there."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
from streamlit.testing.v1 import AppTest

PROJECT = Path(__file__).resolve().parent.parent
METHOD = PROJECT / "docs" / "methode.md"
HEADER = "code_structure;nom_structure;reseau;code_indicateur;debut_periode;fin_periode;valeur;numerateur;" \
         "denominateur;effectif"


def rules_of_markdown(markdown: str) -> list[str]:
    """Each paragraph and each list item of a Markdown text, as plain text on one line."""
    items = re.split(r"\n\s*\n|\n(?=- )", markdown.strip())
    plain = [re.sub(r"^- ", "", " ".join(item.split())).replace("**", "").replace("`", "") for item in items]
    return [item for item in plain if item]


def method_on_the_page() -> list[str]:
    at = AppTest.from_file(str(PROJECT / "app.py"), default_timeout=120)
    at.switch_page("pages/referentiel.py")
    at.run()
    assert not at.exception, at.exception
    headers = [h.value for h in at.header]
    assert "Méthode de calcul" in headers
    # The method is the Markdown that talks about windows and rates, shown under its header.
    shown = [m.value for m in at.markdown if "**Fenêtre**" in m.value]
    assert len(shown) == 1, "la méthode doit être affichée une fois"
    return rules_of_markdown(shown[0])


def method_in_the_workbook(run_cli, tmp_path) -> list[str]:
    values = tmp_path / "valeurs.csv"
    values.write_text(f"{HEADER}\nS1;Accueil Évry;CAF;decroche;2025-01-01;2025-01-31;90;;;\n", encoding="utf-8-sig")
    assert run_cli("import", values)[0] == 0
    output = tmp_path / "rapport.xlsx"
    code, out, err = run_cli("export", "--format", "xlsx", "--period", "2025", "--output", output)
    assert code == 0, out + err
    sheet = openpyxl.load_workbook(output)["Méthode"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    # The rule lines come after the thresholds table and a blank row: one text in the first column each.
    last_blank = max(i for i, row in enumerate(rows) if all(v is None for v in row))
    return [row[0] for row in rows[last_blank + 1:]]


def test_the_referentiel_page_and_the_excel_sheet_show_the_method_of_docs_methode(db_path, run_cli, tmp_path):
    written = METHOD.read_text(encoding="utf-8")
    body = re.sub(r"<!--.*?-->", "", written, flags=re.DOTALL).split("\n", 1)[1]  # without its « # » title
    expected = rules_of_markdown(body)
    assert len(expected) >= 10 and expected[1].startswith("Fenêtre : ")
    assert method_on_the_page() == expected
    assert method_in_the_workbook(run_cli, tmp_path) == expected


def test_the_readme_links_to_the_method_instead_of_writing_it_twice():
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Méthode\n", 1)[1].split("\n## ", 1)[0]
    assert "(docs/methode.md)" in section
    assert "Σ numérateurs" not in readme  # the rules themselves live in docs/methode.md only
