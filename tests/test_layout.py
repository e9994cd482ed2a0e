"""Mon service and Comparaison for everyone: a structure without data said in one sentence, the method page linked
from every level, key columns first, KPI cards in reading order with whole titles on a phone and on a desktop,
the level bands told apart by more than a shade, the evaluated window marked, a zero change neither red nor green."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from helpers import PROJECT, canonical, chromium, served
from indicators import charts, db, periods, rights
from indicators.demo import load_demo
from indicators.method import method_markdown
from ui import frame
from ui import widgets as ui

APP = str(PROJECT / "app.py")


def open_page(page: str | None = None, structure: str | None = None, window: tuple[str, str] | None = None):
    at = AppTest.from_file(APP, default_timeout=180)
    if structure:
        at.query_params["structure"] = structure
    at.run()
    if page:
        at.switch_page(page).run()
    if window:
        kind, value = window
        at.radio(key="window_kind").set_value(kind).run()
        at.selectbox(key=f"window_{kind}").set_value(value).run()
    assert not at.exception, at.exception
    return at


def values_of(code: str, month: str, decroche: str = "90;900;1000") -> list[str]:
    """One month of every indicator for ``code``, each at argent or better (see helpers.GOLD for the or values)."""
    return [f"{code};Accueil {code};CAF;{row}" for row in (
        f"decroche;{month}-01;{month}-28;{decroche};", f"attente_guichet;{month}-01;{month}-28;8;;;500",
        f"delai_courriels;{month}-01;{month}-28;1,5;;;200", f"delai_courriers;{month}-01;{month}-28;5;;;100",
        f"delais_annonces;{month}-01;{month}-28;97;970;1000;",
        f"demarches_en_ligne_8;{month}-01;{month}-28;85;170;200;",
        f"publication_resultats;{month}-01;{month}-28;oui;;;",
        f"satisfaction_globale;{month}-01;{month}-28;92;184;200;200")]


def shows_only_one_sentence(at: AppTest, sentence: str) -> None:
    """The structure's name and the sentence; no card, chart, table, panel or level."""
    assert [i.value for i in at.info if i.value != frame.auth.LOCAL_BANNER] == [sentence]
    assert not at.metric and not at.get("plotly_chart") and not at.dataframe and not at.expander
    assert not [m for m in [*at.success, *at.warning, *at.error] if "Niveau atteignable" in m.value]


def test_a_structure_without_data_gets_one_sentence_not_empty_panels(db_path, tmp_path, run_cli):
    run_cli("import", canonical(tmp_path / "valeurs.csv", values_of("S1", "2025-01")))
    register = tmp_path / "structures.csv"
    register.write_text("code_structure;nom_structure;reseau\nS2;Accueil sans données;CAF\n", encoding="utf-8")
    assert run_cli("import", register)[0] == 0
    at = open_page(structure="S2")
    assert at.subheader[0].value.startswith("S2 – Accueil sans données")
    shows_only_one_sentence(at, "Aucune valeur reçue pour cette structure : importez ses données pour connaître "
                                "son niveau.")


def test_a_window_without_the_structure_data_says_when_its_latest_data_are(db_path, tmp_path, run_cli):
    # S1 sent January 2024 only, S2 January 2025: the month 2025-01 holds nothing of S1.
    run_cli("import", canonical(tmp_path / "valeurs.csv", [*values_of("S1", "2024-01"), *values_of("S2", "2025-01")]))
    at = open_page(structure="S1", window=("mois", "2025-01"))
    window = [c.value for c in at.caption if "fenêtre : " in c.value][0].split("fenêtre : ")[1].split(" · ")[0]
    shows_only_one_sentence(at, f"Aucune valeur de cette structure sur la fenêtre « {window} » : ses dernières "
                                "données datent de janvier 2024, choisissez une autre fenêtre.")


def test_the_method_page_shows_the_one_method_text_and_is_in_the_navigation():
    pages = [script for scripts in frame.SECTIONS.values() for script, _, _ in scripts]
    assert ui.METHOD_PAGE in pages
    at = open_page(ui.METHOD_PAGE)
    assert [t.value for t in at.title] == ["Comment est calculé mon niveau ?"]
    assert method_markdown() in [m.value for m in at.markdown]


@pytest.fixture
def demo(db_path):
    load_demo(db.connect(db_path), rights.COMMAND_LINE, 40, seed=3, today=date.today())
    return db_path


def method_links(at: AppTest) -> list[str]:
    return [link.proto.label for link in at.get("page_link") if link.proto.page == "methode"]


def test_every_level_shown_links_to_the_method_page(demo):
    assert method_links(open_page()) == ["Comment est calculé mon niveau ?"]  # under the level banner
    assert method_links(open_page("pages/comparaison.py")) == ["Comment est calculé mon niveau ?"]


def test_key_columns_come_first_in_every_table(demo):
    at = open_page()
    tables = [list(d.value.columns) for d in at.dataframe]
    assert ["N°", "Statut", "Engagement", "Thème"] in tables
    assert ["Indicateur", "État", "Dernière période reçue", "Périodicité"] in tables
    orders = [list(d.proto.column_order) for d in open_page("pages/comparaison.py").dataframe]
    # On a phone: the structure, its level and what blocks it; the label columns next.
    assert ["Structure", "Niveau", "Bloquants", "Label", "Expire le", "Label soutenu"] == orders[1][:6]
    assert [order[:3] for order in orders[2:5]] == [["Structure", "Niveau calculé", "Bloquants"]] * 3
    assert ["Structure", "Indicateurs en retard ou manquants"] == orders[-1][:2]


def test_a_change_that_rounds_to_zero_is_neither_red_nor_green(db_path, tmp_path, run_cli):
    # Taux de décroché: 900/1000 = 90 % in January 2024 and 900,4/1000 = 90,04 % → « 0,0 pt » in January 2025;
    # the other indicators, equal in both years, no change at all.
    run_cli("import", canonical(tmp_path / "valeurs.csv", [*values_of("S1", "2024-01"),
                                                          *values_of("S1", "2025-01", "90,04;9004;10000")]))
    at = open_page(window=("annee", "2025"))
    decroche = next(m for m in at.metric if m.label == "Taux de décroché")
    assert decroche.delta == "0,0 pt" and decroche.proto.color == decroche.proto.MetricColor.GRAY
    assert {m.proto.color for m in at.metric if m.delta} == {decroche.proto.MetricColor.GRAY}


def band_rule() -> dict:
    return {"label": "Taux de décroché", "unit": "%", "direction": "hausse", "bronze": 80.0, "argent": 85.0,
            "or": 90.0, "wilson_low": None}


def test_the_no_level_band_is_hatched_every_band_named_and_the_window_marked():
    values = pd.DataFrame({"period_start": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
                           "value": [78.0, 86.0, 91.0], "sample_size": [None] * 3, "denominator": [1000] * 3})
    window = periods.Window("2025-T1", date(2025, 1, 1), date(2025, 3, 31))
    figure = charts.time_series(band_rule(), values, window)
    hatched = [trace for trace in figure.data if trace.fillpattern.shape]
    assert len(hatched) == 1 and max(hatched[0].y) == 80.0  # the band below bronze, up to its threshold
    words = [a.text for a in figure.layout.annotations]
    assert {"aucun", "bronze", "argent", "or", "fenêtre évaluée"} <= set(words)
    marked = next(s for s in figure.layout.shapes if s.xref == "x")
    assert [pd.Timestamp(marked.x0), pd.Timestamp(marked.x1)] == [pd.Timestamp(window.start), pd.Timestamp(window.end)]
    progress = charts.progress_bar({**band_rule(), "value": 86.0})
    assert [trace.fillpattern.shape for trace in progress.data if trace.fillpattern.shape] == ["/"]
    assert {"aucun", "bronze", "argent", "or"} <= {a.text for a in progress.layout.annotations}


# --- In Chromium, on a phone (390 px) and a desktop (1440 px) ------------------------------------------------------

CARDS = '[data-testid="stMetric"]'
# The glide grid draws on a canvas, but keeps for screen readers a table of the columns it renders: those within
# the visible width (a column cut by the right edge included, hence « followed by another rendered column »).
RENDERED_HEADERS = """grid => [...grid.querySelectorAll('th[role=columnheader]')].map(th => th.textContent)"""


def cards_in_reading_order(page) -> list[tuple[str, bool]]:
    """Each card's title as the page lists it, whether it shows whole, after checking that the screen order (top to
    bottom, then left to right) is the page's order."""
    cards = page.locator(CARDS)
    boxes = [cards.nth(i).bounding_box() for i in range(cards.count())]
    on_screen = sorted(range(len(boxes)), key=lambda i: (round(boxes[i]["y"]), boxes[i]["x"]))
    assert on_screen == list(range(len(boxes)))
    return cards.locator('[data-testid="stMetricLabel"]').evaluate_all(
        "labels => labels.map(l => [l.textContent, [...l.querySelectorAll('*')].every(e => "
        "e.scrollWidth <= e.clientWidth + 1)])")


def fully_visible_headers(page, grid_index: int) -> list[str]:
    grid = page.locator('[data-testid="stDataFrame"]:visible').nth(grid_index)
    grid.scroll_into_view_if_needed()  # a grid far down the page draws its cells once it comes near the view
    grid.locator("th").first.wait_for(state="attached", timeout=60_000)
    headers = grid.evaluate(RENDERED_HEADERS)
    total = int(grid.locator("table[role=grid]").get_attribute("aria-colcount"))
    return headers if len(headers) == total else headers[:-1]


def test_cards_read_in_order_with_whole_titles_and_key_columns_show_without_scrolling(demo):
    db.close_all()  # the server opens the base itself
    with served(demo) as url, chromium() as browser:
        for width in (390, 1440):
            page = browser.new_context(viewport={"width": width, "height": 2600}, locale="fr-FR").new_page()
            shows_mon_service_for_everyone(page, url, width)
            shows_the_ranking_key_columns(page, url, width)
            page.context.close()


def shows_mon_service_for_everyone(page, url: str, width: int) -> None:
    page.goto(url + "/")
    page.locator(CARDS).nth(7).wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    cards = cards_in_reading_order(page)
    assert len(cards) == 8 and all(whole for _, whole in cards), (width, cards)
    page.locator('[data-testid="stDataFrame"]:visible').nth(1).wait_for(timeout=60_000)
    engagements, freshness = fully_visible_headers(page, 0), fully_visible_headers(page, 1)
    assert engagements[:2] == ["N°", "Statut"] and freshness[:2] == ["Indicateur", "État"], (width, freshness)
    if width == 390:  # the sidebar folded behind a button that says what it opens
        toggle = page.locator('[data-testid="stExpandSidebarButton"]')
        assert toggle.evaluate("b => getComputedStyle(b, '::after').content") == '"Menu et filtres"'


def shows_the_ranking_key_columns(page, url: str, width: int) -> None:
    page.goto(url + "/comparaison")
    page.locator('[data-testid="stDataFrame"]:visible').first.wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    shown = fully_visible_headers(page, 0)
    key = ["Structure", "Niveau"] if width == 390 else ["Structure", "Niveau", "Bloquants", "Label", "Expire le",
                                                        "Label soutenu"]
    assert shown[:len(key)] == key, (width, shown)
