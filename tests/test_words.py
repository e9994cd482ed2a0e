"""The words a person reads: French agreement (« 0,4 minute », « 1 problème », « 3 fichiers »), periods said in
words, a zero change neither red nor green, the référentiel's labels where the engine keeps codes, and never
« None », « nan » nor « (s) »."""

from __future__ import annotations

import ast
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from helpers import CANONICAL_HEADER, PROJECT, open_app_page
from indicators import compliance, importer, reports, rights, text, views, wording
from indicators.demo import load_demo
from indicators.import_files import preview_frame, problems_frame
from indicators.periods import Window, rolling_window
from indicators.problems import Problem

TODAY = date(2026, 11, 20)
NARROW = "\u202f"  # the narrow no-break space of French typography


# --- text.py: agreement, percentages, periods, changes -------------------------------------------------------


def test_a_unit_is_singular_below_two_as_shown():
    assert text.format_value(0.4, "minutes") == "0,4 minute"
    assert text.format_value(1.0, "jours ouvrés") == "1,0 jour ouvré"
    assert text.format_value(1.96, "minutes") == "2,0 minutes"  # shown as 2,0: plural
    assert text.format_value(2.5, "jours") == "2,5 jours"
    assert text.format_compact(1.5, "jours ouvrés") == "1,5 j ouvré"
    assert text.format_compact(0.4, "minutes") == "0,4 min"


def test_singular_stops_at_the_complement_and_keeps_invariable_words():
    assert text.singular("appels décrochés") == "appel décroché"
    assert text.singular("démarches traitées dans les délais") == "démarche traitée dans les délais"
    assert text.singular("avis à 8/10 ou plus") == "avis à 8/10 ou plus"
    assert text.plural(1, "problème", "problèmes") == "problème"
    assert text.plural(0, "problème", "problèmes") == "problème"  # French: « 0 problème »
    assert text.plural(3, "problème", "problèmes") == "problèmes"


def test_counts_agree_with_their_number_and_group_thousands():
    assert text.format_count(1, "fichier") == "1 fichier"
    assert text.format_count(3, "fichier") == "3 fichiers"
    assert text.format_count(1159, "valeur ajoutée") == f"1{NARROW}159 valeurs ajoutées"
    assert text.format_count(2, "fichier de valeurs") == "2 fichiers de valeurs"
    assert text.format_count(2, "mise à jour", "mises à jour") == "2 mises à jour"


def test_a_percentage_has_a_narrow_no_break_space_before_its_sign():
    assert text.format_percent(89.0) == f"89,0{NARROW}%"
    assert text.format_value(89.0, "%") == f"89,0{NARROW}%"


@pytest.mark.parametrize(("window", "words"), [
    ("2025", "année 2025"), ("2026-T4", "T4 2026"), ("2026-t1", "T1 2026"), ("2026-10", "octobre 2026"),
    ("2026-01", "janvier 2026"), ("12m", "12 derniers mois"), ("2026-13", "2026-13"),
])
def test_periods_are_said_in_words(window, words):
    assert text.period_words(window) == words


def test_a_window_label_says_the_rolling_months():
    assert text.window_label(Window("2026-T4", date(2026, 10, 1), date(2026, 12, 31))) == "T4 2026"
    rolling = rolling_window(date(2026, 10, 31))
    assert text.window_label(rolling) == rolling.label == "12 mois glissants (11/2025 – 10/2026)"


def test_a_zero_change_is_neither_red_nor_green():
    assert text.change_color(0.0, "hausse") == "off"
    assert text.change_color(0.04, "baisse") == "off"  # shown as « 0,0 »
    assert text.change_color(None, "hausse") == "off"
    assert text.change_color(1.6, "hausse") == "normal"  # higher is better: green when it rises
    assert text.change_color(-1.6, "baisse") == "inverse"  # lower is better: a fall shows green
    assert text.format_change(0.04, "%") == "0,0 pt"  # no sign on what shows as nothing
    assert text.format_change(-0.04, "minutes") == "0,0 min"
    assert text.format_change(1.64, "%") == "+1,6 pt"


def test_a_gap_agrees_with_its_amount():
    calls = {"gap_to_next": 1, "gap_unit": "numerateur", "numerator_label": "appels décrochés", "unit": "%",
             "direction": "hausse"}
    assert wording.gap_amount(calls) == "1 appel décroché"
    assert wording.gap_amount({**calls, "gap_to_next": 412}) == "412 appels décrochés"
    minutes = {"gap_to_next": 0.4, "gap_unit": "valeur", "unit": "minutes", "direction": "baisse"}
    assert wording.gap_words(minutes) == "0,4 minute de moins"
    assert wording.gap_amount({"gap_to_next": 2.4, "gap_unit": "valeur", "unit": "%"}) == "2,4 points"


# --- The import's summary, for 1 and 3 files and values ------------------------------------------------------


def report(**counts) -> importer.ImportReport:
    return importer.ImportReport("valeurs.csv", "0" * 64, "importe", import_id=7, kind="values", **counts)


def test_the_import_summary_writes_the_right_number():
    assert report(rows_added=1).summary() == (
        "valeurs.csv : importé (import n°7) ; 1 valeur ajoutée, 0 remplacée, 0 inchangée.")
    assert report(rows_added=1159, rows_replaced=3, rows_unchanged=2, structures_added=3,
                  indicators_added=1).summary() == (
        f"valeurs.csv : importé (import n°7) ; 1{NARROW}159 valeurs ajoutées, 3 remplacées, 2 inchangées, "
        "3 structures créées, 1 indicateur créé.")
    assert report(rows_added=2, structures_added=1, territorial=True).summary().endswith(", 1 territoire créé.")
    refused = importer.ImportReport("x.csv", "0" * 64, "refuse", problems=[Problem("x", "x.csv")])
    assert refused.summary() == "x.csv : refusé, 1 problème ; rien n'a été enregistré."
    register = importer.ImportReport("s.csv", "0" * 64, "simulation", kind="structures", structures_added=3,
                                     structures_updated=1)
    assert register.summary() == "s.csv : serait importé ; 3 structures ajoutées, 1 mise à jour."


def values_file(code: str) -> bytes:
    return "\r\n".join([CANONICAL_HEADER, f"{code};Accueil;CAF;decroche;2025-01-01;2025-01-31;85,3;853;1000;",
                        ""]).encode("utf-8")


def import_page(*codes: str):
    at = open_app_page("pages/import_fichiers.py")
    for code in codes:
        at.file_uploader[0].upload(f"valeurs-{code}.csv", values_file(code), "text/csv")
    at.run()
    assert not at.exception, at.exception
    return at


def import_buttons(at) -> list[str]:
    return [b.label for b in at.button if b.label.startswith("Importer")]


def test_the_import_page_counts_one_and_three_files(db_path):
    assert import_buttons(import_page("S1")) == ["Importer 1 fichier"]
    at = import_page("S1", "S2", "S3")
    assert import_buttons(at) == ["Importer 3 fichiers"]
    # The preview names the indicator as the référentiel does, not by its code.
    previews = [d.value for d in at.dataframe if "indicator_code" in d.value.columns]
    assert len(previews) == 3 and all(set(p["indicator_code"]) == {"Taux de décroché"} for p in previews)
    next(b for b in at.button if b.label == "Importer 3 fichiers").click()
    at.run()
    assert not at.exception, at.exception
    summaries = [s for s in at.success.values if "importé (import n°" in s]
    assert len(summaries) == 3 and all("1 valeur ajoutée, 0 remplacée, 0 inchangée, 1 structure créée" in s
                                       for s in summaries), at.success.values


def test_the_preview_shows_labels_and_no_none(con):
    content = "\r\n".join([CANONICAL_HEADER, "S1;;;decroche;2025-01-01;2025-01-31;85,3;853;1000;",
                           "S1;;;delai_courriels;2025-01-01;2025-01-31;3,5;;;", ""]).encode("utf-8")
    batch = importer.prepare(con, [importer.Source("v.csv", content)])
    shown = preview_frame(batch.files[0].report.preview, importer.catalog_of(con).referentiel)
    assert shown["indicator_code"].tolist() == ["Taux de décroché", "Délai de réponse aux courriels"]
    assert "None" not in shown.astype(str).to_numpy() and not shown.isna().any().any()


def test_a_problem_about_the_whole_file_has_an_empty_line_not_none():
    shown = problems_frame([Problem("taux_entre_0_et_100", "f.csv", line=12), Problem("fichier_non_vide", "f.csv")])
    assert shown["ligne"].tolist() == ["12", ""]
    assert not shown.isna().any().any()


# --- Codes never reach a person --------------------------------------------------------------------------------


@pytest.fixture
def demo(con):
    load_demo(con, rights.COMMAND_LINE, 40, seed=3, today=TODAY)
    return compliance.assess(con, compliance.resolve_window(con, "2025", TODAY), rights.COMMAND_LINE, today=TODAY)


def label_lists(cells, labels: set[str]) -> list[str]:
    """The cells that name something other than the référentiel's labels (a code, « None »)."""
    return [c for c in cells if c and not set(c.split(", ")) <= labels]


def test_blocking_and_late_indicators_are_named_by_their_labels(demo):
    labels = set(demo.rules["label"])
    assert demo.structures["blocking"].map(len).sum() and demo.structures["late_indicators"].map(len).sum()
    table = reports.status_table(demo)
    assert label_lists(table["indicateurs_bloquants"], labels) == []
    assert label_lists(table["indicateurs_en_retard"], labels) == []
    assert not any(code + " :" in gaps for gaps in table["ecarts"] for code in demo.rules["code"])

    book = openpyxl.load_workbook(io.BytesIO(reports.workbook_bytes(demo)))
    rows = list(book["Synthèse"].iter_rows(values_only=True))
    column = rows[0].index("Indicateurs bloquants")
    cells = [r[column] for r in rows[1:]]
    assert any(cells) and label_lists(cells, labels) == []
    method = {r[0]: r[1] for r in book["Méthode"].iter_rows(values_only=True) if r[0]}
    assert method["Fenêtre"] == "année 2025"


def test_comparison_tables_name_labels_and_hold_no_none(demo):
    labels = set(demo.rules["label"])
    view = views.comparison(demo, TODAY)
    assert label_lists(view.ranking["Bloquants"], labels) == []
    assert label_lists(view.late["Indicateurs en retard ou manquants"], labels) == []
    for table in (view.ranking, view.below, view.soon, view.candidates, view.late):
        texts = table.select_dtypes(exclude="number")
        assert not texts.isna().any().any()
        assert not texts.isin(["None", "nan", "NaT"]).any().any()
    assert "—" in set(view.ranking["Expire le"])  # a structure without label: no date, a dash


def test_the_engagement_sentence_writes_percentages_the_french_way(demo):
    sentence = views.comparison(demo, TODAY).engagement_sentence
    assert f"{NARROW}% des structures" in sentence and " % " not in sentence


# --- No « (s) » in the product's strings -------------------------------------------------------------------------


def string_literals(path: Path) -> list[tuple[int, str]]:
    """Every string constant of a module except docstrings (they are for developers), f-strings' parts
    included, with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


# Streamlit's own English words, each beside its French: the English side is what the browser shows, not ours.
FRAME_DICTIONARY = PROJECT / "ui" / "french.py"


def test_no_string_of_the_product_writes_a_plural_in_parentheses():
    found = [f"{path.relative_to(PROJECT)}:{line}: {value!r}"
             for folder in ("indicators", "ui", "pages") for path in sorted((PROJECT / folder).rglob("*.py"))
             if path != FRAME_DICTIONARY
             for line, value in string_literals(path) if "(s)" in value]
    assert found == [], "Écrire le bon nombre (text.format_count, text.plural) :\n" + "\n".join(found)
