"""Issue 13 as a user meets it: the commands « actions liste|ajouter|retirer » and « trajectoire », Mon service's
« Trajectoire » and « Actions d'amélioration » sections and Comparaison's actions table (Streamlit's AppTest), the
Excel report's « Actions » sheet and the fiche, and, in Debian's Chromium, a director signed in through a real
OpenID Connect provider who reads the band and records an action, then the head of their network.

One programme for every test, imported once from a CSV file written here (then copied into each test's base):
S-MONTEE's « taux de décroché » rises from 84 % (840 of 1 000 calls a month, up to February 2025) to 87 % (1 044 of
1 200, from March 2025); S-VOISINE (same network) and S-AUTRE (another network) stay at « or ». January 2024 to
December 2025, every other indicator at « or » (the builders of tests/test_level_history.py)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from helpers import SCREENSHOTS, canonical, chromium, count, open_app_page
from indicators import actions, compliance, db, grants, importer, rights
from indicators.text import markdown_literal
from oidc import provider, served_with_auth, sign_in
from test_level_history import DECROCHE_84, gold_structure
from test_signin_browser import picker_options, settle
from ui import access as page_access

RISING, NEIGHBOUR, OTHER = "S-MONTEE", "S-VOISINE", "S-AUTRE"
DECROCHE_87 = ("87", "1044", "1200", "")  # 1 044 / 1 200 = 87 %
NNBSP = "\u202f"  # French thousands and the space before « % »
TITLE = "Rappel des appels perdus"

# The action starts on 10 March 2025: before = December 2024 – February 2025 = 3 × 840 / 3 × 1 000 = 84,0 % over
# 3 000 calls; after = March – May 2025 = 3 × 1 044 / 3 × 1 200 = 87,0 % over 3 600 calls; 87,0 − 84,0 = +3,0 points.
BEFORE_AFTER = (f"Après l'action, +3,0 points de taux de décroché (de 84,0{NNBSP}% à 87,0{NNBSP}%, sur 3{NNBSP}000 "
                f"puis 3{NNBSP}600 appels)")

# The level over the 12 months ending each month (history), with k months at 87 % among the 12:
#   May 2025, k = 3: (9 × 840 + 3 × 1 044) / (9 × 1 000 + 3 × 1 200) = 10 692 / 12 600 = 84,86 % → bronze (< 85);
#   June 2025, k = 4: (8 × 840 + 4 × 1 044) / (8 × 1 000 + 4 × 1 200) = 10 896 / 12 800 = 85,13 % → argent.
# The first 12 months of data end in December 2024: the band starts there and ends with the latest data (December
# 2025), 13 months: bronze from December 2024 to May 2025 (6), argent from June to December 2025 (7).
BRONZE_MONTHS = ["2024-12", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
ARGENT_MONTHS = ["2025-06", "2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]


@pytest.fixture(scope="module")
def programme(tmp_path_factory) -> Path:
    """The three structures imported once into a closed base file, copied by ``base``."""
    folder = tmp_path_factory.mktemp("trajectoire")
    rising = {(y, m): DECROCHE_84 if (y, m) < (2025, 3) else DECROCHE_87 for y in (2024, 2025) for m in range(1, 13)}
    rows = (gold_structure(RISING, "Réseau A", changed={"decroche": rising}) + gold_structure(NEIGHBOUR, "Réseau A")
            + gold_structure(OTHER, "Réseau B"))
    path = folder / "programme.duckdb"
    try:
        report = importer.import_path(db.connect(path), canonical(folder / "valeurs.csv", rows), rights.COMMAND_LINE)
        assert report.outcome == "importe", report.problems
    finally:
        db.close_all()
    return path


@pytest.fixture
def base(programme, db_path) -> Path:
    """This test's own copy of the programme, the base the command line and the pages open."""
    shutil.copyfile(programme, db_path)
    return db_path


def stored_actions(path: Path) -> int:
    return count(db.connect(path), "SELECT count(*) FROM improvement_action WHERE removed_at IS NULL")


def record_rising_action(run_cli) -> None:
    code, out, err = run_cli("actions", "ajouter", "--structure", RISING, "--titre", TITLE, "--indicateurs",
                             "decroche", "--debut", "10/03/2025")
    assert (code, out, err) == (0, f"Action n° 1 enregistrée pour {RISING}.\n", "")


# --- Command line --------------------------------------------------------------------------------------------------


def test_an_action_is_recorded_listed_with_its_before_after_and_removed_from_the_command_line(base, run_cli):
    record_rising_action(run_cli)
    # An unknown indicator and a 31 February: both said at once, in French, and nothing more stored.
    code, out, err = run_cli("actions", "ajouter", "--structure", RISING, "--titre", "Autre", "--indicateurs",
                             "inconnu", "--debut", "31/02/2025")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        ("Indicateur inconnu du référentiel en vigueur : « inconnu » (codes du référentiel : attente_guichet, "
         "decroche, delai_courriels, delai_courriers, delais_annonces, demarches_en_ligne_8, publication_resultats, "
         "satisfaction_globale)."),
        "Date de début illisible : « 31/02/2025 » (attendu : 31/03/2025 ou 2025-03-31)."]
    assert stored_actions(base) == 1

    code, out, _ = run_cli("actions", "liste")
    assert code == 0
    assert out.splitlines() == [f"n° 1    {RISING}  {TITLE}  depuis le 10/03/2025  (Taux de décroché)",
                                f"        Taux de décroché : {BEFORE_AFTER}"]
    code, out, _ = run_cli("actions", "liste", "--structure", RISING, "--format", "json")
    listed = json.loads(out)
    assert code == 0 and len(listed) == 1
    assert {k: listed[0][k] for k in ("id", "structure_code", "title", "indicators", "start_on", "end_on")} == {
        "id": 1, "structure_code": RISING, "title": TITLE, "indicators": ["decroche"], "start_on": "2025-03-10",
        "end_on": None}
    assert listed[0]["avant_apres"] == [{"indicator": "decroche", "before": 84.0, "after": 87.0, "n_before": 3000.0,
                                         "n_after": 3600.0, "change": 3.0, "sentence": BEFORE_AFTER}]

    code, out, _ = run_cli("actions", "retirer", "1")
    assert (code, out) == (0, f"Action n° 1 : « {TITLE} » pour {RISING} (Taux de décroché), du 10/03/2025 retirée.\n")
    assert run_cli("actions", "liste")[:2] == (0, "Aucune action.\n")
    assert json.loads(run_cli("actions", "liste", "--format", "json")[1]) == []


def test_trajectoire_gives_the_month_argent_was_reached_the_band_from_the_first_full_year_and_a_projection(
        base, run_cli):
    code, out, err = run_cli("trajectoire", "--structure", RISING, "--format", "json")
    assert code == 0, err
    found = json.loads(out)
    assert (found["structure"], found["level"], found["blocking"]) == (RISING, "argent", ["decroche"])
    assert found["window"] == {"start": "2025-01-01", "end": "2025-12-31"}
    # See BRONZE_MONTHS: bronze up to May 2025, argent from June 2025 (the rolling rate reaches 85,13 %).
    months = [(level["month"][:7], level["level"]) for level in found["monthly_levels"]]
    assert months == [(m, "bronze") for m in BRONZE_MONTHS] + [(m, "argent") for m in ARGENT_MONTHS]
    assert found["monthly_levels"][0]["month"] == "2024-12-31"  # completes January – December 2024
    assert [(c["month"], c["level"], c["change"]) for c in found["level_changes"]] == [
        ("2024-12-31", "bronze", "atteint"), ("2025-06-30", "argent", "atteint")]
    assert found["sentences"] == ["argent depuis juin 2025"]
    # One projection per blocking indicator, each with its outcome and its sentence. Over 2025 the monthly rates
    # are 84, 84, then 87 ten times: the median of the pairwise slopes is 0, no clear trend, no date.
    assert [(p["indicator"], p["outcome"]) for p in found["projections"]] == [("decroche", "pas_de_tendance")]
    assert found["projections"][0]["sentence"] == ("Pas de tendance nette sur 12 mois : aucune date ne peut être "
                                                   "annoncée.")
    assert found["projections"][0]["next_level"] == "or" and found["projections"][0]["threshold"] == 90.0


def test_trajectoire_of_an_unknown_structure_is_answered_in_french_without_a_traceback(base, run_cli):
    code, out, err = run_cli("trajectoire", "--structure", "S-NULLE", "--format", "json")
    # The command answers 1 (« refusé ») where « status » and « fiche » answer 2 for the same typo: either is
    # documented; the words are the same.
    assert code in (1, 2) and out == ""
    assert err == "Structure inconnue : « S-NULLE ».\n"


# --- Mon service (AppTest, mode local: an administrator) -----------------------------------------------------------


def plotly_specs(at) -> dict[str, dict]:
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def annotations(spec: dict) -> list[str]:
    return [note.get("text") for note in spec["layout"].get("annotations", [])]


def labelled(elements, label: str):
    found = [element for element in elements if element.label == label]
    assert found, f"pas de « {label} » parmi {[element.label for element in elements]}"
    return found[0]


def run(at):
    at.run()
    assert not at.exception, at.exception
    return at


def test_mon_service_shows_the_level_band_its_sentence_and_once_opened_each_blocking_indicators_trend(base):
    at = open_app_page("pages/mon_service.py")
    assert at.selectbox(key="structure").value == RISING
    # The band: one HTML cell a month, its level in data-niveau and said in its tooltip (« 06/2025 : argent »).
    strip = next(e.proto.body for e in at.get("html") if "data-niveau" in e.proto.body)
    cells = re.findall(r'data-niveau="(\w+)" title="(\d\d)/(\d{4}) : (\w+)"', strip)
    assert all(level == said for level, _, _, said in cells)
    months = {level: [f"{year}-{month}" for lvl, month, year, _ in cells if lvl == level]
              for level in ("aucun", "bronze", "argent", "or")}
    assert months == {"aucun": [], "bronze": BRONZE_MONTHS, "argent": ARGENT_MONTHS, "or": []}
    markdown = [m.value for m in at.markdown]
    trajectory = markdown.index("#### Trajectoire")
    assert markdown[trajectory + 1] == "- Argent depuis juin 2025"
    # The trend is computed only once its expander is opened: one sentence per blocking indicator (decroche alone).
    assert not any(m.startswith("- **") for m in markdown)
    at.session_state[f"tendance-{RISING}"] = True
    run(at)
    assert [m.value for m in at.markdown if m.value.startswith("- **")] == [
        "- **Taux de décroché** : " + markdown_literal("Pas de tendance nette sur 12 mois : aucune date ne peut être "
                                                       "annoncée.")]


def test_mon_service_records_an_action_through_its_form_marks_it_on_the_curves_and_removes_it(base):
    at = open_app_page("pages/mon_service.py")
    assert "Aucune action enregistrée pour cette structure." in " ".join(c.value for c in at.caption)
    # No title, no indicator, no start: every problem at once, in French; what was typed stays.
    labelled(at.text_input, "Responsable (facultatif)").input("Responsable de l'accueil")
    labelled(at.text_area, "Commentaire (facultatif)").input("Rappel sous 24 h.")
    labelled(at.button, "Enregistrer l'action").click()
    run(at)
    assert [e.value for e in at.error] == ["\n".join(f"- {markdown_literal(m)}" for m in (
        "Indiquez le titre de l'action.", "Indiquez au moins un indicateur visé par l'action.",
        "Indiquez la date de début de l'action."))]
    assert labelled(at.text_input, "Responsable (facultatif)").value == "Responsable de l'accueil"
    assert labelled(at.text_area, "Commentaire (facultatif)").value == "Rappel sous 24 h."
    assert stored_actions(base) == 0

    labelled(at.text_input, "Titre de l'action").input(TITLE)
    labelled(at.multiselect, "Indicateurs visés").select("decroche").select("attente_guichet")
    labelled(at.date_input, "Début").set_value(date(2025, 3, 10))
    labelled(at.button, "Enregistrer l'action").click()
    run(at)
    assert [s.value for s in at.success if s.value.startswith("Action")] == ["Action n° 1 enregistrée."]
    assert not at.error
    markdown = [m.value for m in at.markdown]
    assert f"**Action n° 1 · {markdown_literal(TITLE)}**" in markdown
    # The rules' order: waiting at the counter first (8 minutes over 3 × 500 people on both sides), then the calls.
    assert [m for m in markdown if "Après l'action" in m] == [
        ":material/remove: Temps d'attente au guichet : " + markdown_literal(
            f"Après l'action, 0,0 minute de temps d'attente au guichet (de 8,0 minutes à 8,0 minutes, sur un "
            f"effectif de 1{NNBSP}500 puis 1{NNBSP}500)") + ", sans changement.",
        ":material/trending_up: Taux de décroché : " + markdown_literal(BEFORE_AFTER) + ", dans le sens souhaité."]
    assert any(c.value.startswith("Depuis le 10/03/2025 · responsable : Responsable de l'accueil") for c in at.caption)
    # The blocking indicator's curve is drawn (its expander open) and carries the action's start; the other one
    # aimed at is drawn once its expander is opened, and carries it too.
    assert "action n° 1" in annotations(plotly_specs(at)["serie-decroche"])
    assert "serie-attente_guichet" not in plotly_specs(at)
    at.session_state[f"ouvert-{RISING}-attente_guichet"] = True
    run(at)
    assert "action n° 1" in annotations(plotly_specs(at)["serie-attente_guichet"])

    assert at.selectbox(key="action_a_retirer").options == [f"n° 1 · {TITLE}"]
    at.button(key="retirer_action").click()
    run(at)
    assert [s.value for s in at.success if s.value.startswith("Action")] == [
        (f"Action n° 1 : « {TITLE} » pour {RISING} (Temps d'attente au guichet, Taux de décroché), du 10/03/2025 "
         "retirée.")]
    assert "Aucune action enregistrée pour cette structure." in " ".join(c.value for c in at.caption)
    assert "action n° 1" not in annotations(plotly_specs(at)["serie-decroche"])
    assert stored_actions(base) == 0


def test_an_action_with_an_end_date_is_said_from_its_start_to_its_end_on_the_command_line_and_the_page(base, run_cli):
    # « du 01/04/2025 au 30/06/2025 », as the journal says it; « depuis le 01/04/2025 au 30/06/2025 » is not French.
    code, _, err = run_cli("actions", "ajouter", "--structure", RISING, "--titre", TITLE, "--indicateurs", "decroche",
                           "--debut", "2025-04-01", "--fin", "30/06/2025")
    assert code == 0, err
    listed = run_cli("actions", "liste")[1].splitlines()[0]
    at = open_app_page("pages/mon_service.py")
    caption = next(c.value for c in at.caption if "01/04/2025" in c.value)
    assert (listed, caption) == (
        f"n° 1    {RISING}  {TITLE}  du 01/04/2025 au 30/06/2025  (Taux de décroché)",
        "Du 01/04/2025 au 30/06/2025 · indicateurs visés : Taux de décroché")


# --- Comparaison, the Excel report, the fiche ------------------------------------------------------------------------


def test_comparaison_lists_the_selections_actions_with_their_before_after(base, run_cli):
    record_rising_action(run_cli)
    at = open_app_page("pages/comparaison.py")
    assert "#### Actions d'amélioration de la sélection" in [m.value for m in at.markdown]
    table = next(frame.value for frame in at.dataframe if "Avant / après" in frame.value.columns)
    assert table.to_dict("records") == [{
        "Structure": RISING, "Action": TITLE, "Début": table["Début"].iloc[0], "Indicateur": "Taux de décroché",
        "Avant": 84.0, "Après": 87.0, "Écart": 3.0, "Sens": "souhaité", "Avant / après": BEFORE_AFTER}]
    assert str(table["Début"].iloc[0].date()) == "2025-03-10"
    assert any(c.value.startswith("1 action ; 1 comparaison avant/après possible, dont 1 dans le sens souhaité.")
               for c in at.caption)


ACTIONS_HEADER = ("N°", "Code structure", "Structure", "Action", "Début", "Fin", "Responsable", "Indicateur", "Avant",
                  "Après", "Écart", "Effectif avant", "Effectif après", "Avant / après")


def actions_sheet(content: bytes) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert "Actions" in book.sheetnames, book.sheetnames
    return [row for row in book["Actions"].iter_rows(values_only=True)]


def assert_rising_action_row(rows: list[tuple]) -> None:
    assert rows[0] == ACTIONS_HEADER
    number, code, name, title, start, end, owner, indicator, *numbers, sentence = rows[1]
    assert (number, code, name, title, start.date(), end, owner, indicator) == (
        1, RISING, f"Structure {RISING}", TITLE, date(2025, 3, 10), None, None, "Taux de décroché")
    assert numbers == [84, 87, 3, 3000, 3600] and sentence == BEFORE_AFTER
    assert len(rows) == 2


def test_mon_services_excel_report_has_an_actions_sheet_and_the_fiche_lists_the_action(base, run_cli, tmp_path):
    record_rising_action(run_cli)
    # What Mon service's « Rapport Excel » button makes: its structure's assessment, with the person's actions.
    con = db.connect(base)
    window = compliance.structure_window(con, rights.COMMAND_LINE, "12m", RISING)
    one = compliance.assess(con, window, rights.COMMAND_LINE, structure=RISING)
    version = db.query(con, "data_version")[0]
    assert_rising_action_row(actions_sheet(page_access.workbook(one, rights.COMMAND_LINE, version)))

    pdf = tmp_path / "fiche.pdf"
    code, _, err = run_cli("fiche", "--structure", RISING, "--output", pdf)
    assert code == 0, err
    words = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Actions d'amélioration" in words
    assert f"• {TITLE}, depuis le 10/03/2025 (Taux de décroché)" in words


def test_the_command_lines_excel_report_has_the_actions_sheet_as_the_pages_has(base, run_cli, tmp_path):
    # The issue: actions are « exportés dans le rapport Excel (une feuille) »; the page's report has the sheet, the
    # command's « export --format xlsx » must have it too (one report, two front doors).
    record_rising_action(run_cli)
    workbook = tmp_path / "rapport.xlsx"
    code, _, err = run_cli("export", "--format", "xlsx", "--structure", RISING, "--output", workbook)
    assert code == 0, err
    assert_rising_action_row(actions_sheet(workbook.read_bytes()))


# --- Chromium: a director signed in, then the head of their network ------------------------------------------------

DIRECTRICE = {"sub": "pc-directrice-montee", "email": "claire.martin@caf-montee.fr", "given_name": "Claire",
              "usual_name": "Martin"}
TETE = {"sub": "pc-tete-reseau-a", "email": "paul.durand@reseau-a.fr", "given_name": "Paul", "usual_name": "Durand"}
OTHER_TITLE, NEIGHBOUR_TITLE = "Accueil sans rendez-vous le jeudi", "Courriels relus le jour même"
SETTLE_MS = 90_000


def signed_in_page(browser, app: str, person: dict):
    """A fresh context at 1440 px signed in as ``person``, and the text of every frame the server sends it."""
    page = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR").new_page()
    frames: list[str] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: frames.append(
        payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)))
    sign_in(page, app, person["sub"])
    return page, frames


@pytest.mark.browser
def test_a_director_reads_the_band_records_an_action_and_sees_its_marker_and_their_network_head_sees_it(
        programme, tmp_path):
    database = tmp_path / "signes.duckdb"
    shutil.copyfile(programme, database)
    try:
        con = db.connect(database)
        grants.grant(con, rights.COMMAND_LINE, email=DIRECTRICE["email"], role=rights.DIRECTOR, networks=(),
                     structures=(RISING,))
        grants.grant(con, rights.COMMAND_LINE, email=TETE["email"], role=rights.NETWORK_HEAD, networks=("Réseau A",),
                     structures=())
        # n° 1 in the other network, n° 2 for the neighbour: the director's own will be n° 3.
        actions.add(con, rights.COMMAND_LINE, OTHER, OTHER_TITLE, "attente_guichet", "2025-04-01")
        actions.add(con, rights.COMMAND_LINE, NEIGHBOUR, NEIGHBOUR_TITLE, "delai_courriels", "2025-04-01")
    finally:
        db.close_all()  # the server holds the file
    with provider([DIRECTRICE, TETE]) as provider_url, served_with_auth(database, provider_url) as app, \
            chromium() as browser:
        page, frames = signed_in_page(browser, app, DIRECTRICE)
        page.get_by_text("Argent depuis juin 2025").wait_for(timeout=SETTLE_MS)
        settle(page)
        # The band under « Trajectoire »: 13 monthly cells, bronze then argent (see BRONZE_MONTHS), and its legend.
        band = page.locator(f".st-key-trajectoire-{RISING}")
        expect(band.locator("[data-niveau]")).to_have_count(13, timeout=SETTLE_MS)
        assert [band.locator("[data-niveau]").nth(i).get_attribute("data-niveau") for i in (0, 12)] == [
            "bronze", "argent"]
        assert "bronze" in band.inner_text() and "argent" in band.inner_text()
        assert picker_options(page, "Structure") == [f"{RISING} – Structure {RISING}"]

        page.get_by_text("Enregistrer une action").click()
        page.get_by_label("Titre de l'action").fill(TITLE)
        page.locator('[data-testid="stMultiSelect"]').filter(has_text="Indicateurs visés").click()
        page.get_by_role("option", name="Taux de décroché").click()
        page.keyboard.press("Escape")
        page.get_by_role("spinbutton", name="day, Début").click()
        page.keyboard.type("10032025")
        page.get_by_role("button", name="Enregistrer l'action").click()
        page.get_by_text("Action n° 3 enregistrée.").wait_for(timeout=SETTLE_MS)
        settle(page)
        expect(page.get_by_text(f"Action n° 3 · {TITLE}")).to_have_count(1, timeout=SETTLE_MS)
        expect(page.get_by_text("+3,0 points de taux de décroché")).to_have_count(1, timeout=SETTLE_MS)
        # The blocking indicator's curve (its expander open) marks the start; the SVG holds the annotation's text.
        marker = page.locator(".st-key-serie-decroche .main-svg text").filter(has_text="action n° 3")
        expect(marker).to_have_count(1, timeout=SETTLE_MS)
        # The band and the marked curve in one view (the main area scrolls by itself: a full-page shot holds one
        # screen of it).
        page.get_by_text("Trajectoire", exact=True).evaluate("title => title.scrollIntoView({block: 'start'})")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(500)
        page.screenshot(path=str(SCREENSHOTS / "trajectoire-action-directrice.png"))
        # Nothing of the other structures' actions reached the director's browser.
        sent = "\n".join(frames)
        assert TITLE in sent and OTHER_TITLE not in sent and NEIGHBOUR_TITLE not in sent

        # The head of Réseau A lands on Mon service: the network's two structures offered, the director's action
        # shown on its structure; Comparaison's table of actions sent with the neighbour's, never the other network's.
        head, frames = signed_in_page(browser, app, TETE)
        head.get_by_text("Argent depuis juin 2025").wait_for(timeout=SETTLE_MS)
        settle(head)
        assert picker_options(head, "Structure") == [f"{RISING} – Structure {RISING}",
                                                     f"{NEIGHBOUR} – Structure {NEIGHBOUR}"]
        expect(head.get_by_text(f"Action n° 3 · {TITLE}")).to_have_count(1, timeout=SETTLE_MS)
        head.goto(f"{app}/comparaison")
        head.get_by_text("Actions d'amélioration de la sélection").first.wait_for(timeout=SETTLE_MS)
        settle(head)
        sent = "\n".join(frames)
        assert TITLE in sent and NEIGHBOUR_TITLE in sent and OTHER_TITLE not in sent
