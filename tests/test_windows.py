"""Windows that tell the truth (issue 10): the period choices open on the latest complete period, a running one says
so, Mon service judges a structure on its own 12 months, the freshness block never hides a window without values,
the filters are shared by the pages, and an expired label is expired everywhere."""

from __future__ import annotations

import json

import io
from datetime import date, timedelta

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from helpers import GOLD, PROJECT, canonical, open_app_page
from indicators import charts, compliance, db, importer, periods, reports, rights, views
from indicators.demo import load_demo

APP = str(PROJECT / "app.py")
MONTHLY = ("attente_guichet", "decroche", "delai_courriels", "delai_courriers", "delais_annonces")
QUARTERLY = ("demarches_en_ligne_8", "satisfaction_globale")


def month_ends(first: str, last: str) -> list[tuple[date, date]]:
    """(first day, last day) of every month from ``first`` to ``last`` (« 2025-01 »)."""
    return [(day.date(), (day + pd.offsets.MonthEnd(0)).date()) for day in pd.date_range(first, last, freq="MS")]


def row(code: str, network: str, indicator: str, start: date, end: date, values: tuple[str, ...]) -> str:
    return ";".join([code, f"Accueil {code}", network, indicator, start.isoformat(), end.isoformat(), *values])


def up_to_date_rows(code: str) -> list[str]:
    """Every indicator at « or » (helpers.GOLD) from January 2025 to October 2026: monthly ones each month,
    quarterly ones each quarter up to 2026-T3, the annual publication for 2025."""
    rows = [row(code, "CAF", indicator, start, end, GOLD[indicator])
            for start, end in month_ends("2025-01", "2026-10") for indicator in MONTHLY]
    quarters = [(start, (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date())
                for start, _ in month_ends("2025-01", "2026-09")[::3]]
    rows += [row(code, "CAF", indicator, start, end, GOLD[indicator])
             for start, end in quarters for indicator in QUARTERLY]
    return rows + [row(code, "CAF", "publication_resultats", date(2025, 1, 1), date(2025, 12, 31),
                       GOLD["publication_resultats"])]


def late_rows(code: str) -> list[str]:
    """« decroche » from May 2025 to April 2026 only: 950/1000 for six months, then 800/1000 for six."""
    months = month_ends("2025-05", "2026-04")
    return [row(code, "CAF", "decroche", start, end, ("", "950" if i < 6 else "800", "1000", ""))
            for i, (start, end) in enumerate(months)]


@pytest.fixture
def windows_base(db_path, tmp_path):
    """Data up to October 2026 (S-AJOUR), a structure six months late (S-RETARD), one of another network (S-CPAM), and
    a baromètre territory with December 2026 data that must never count as the latest data."""
    con = db.connect(db_path)
    rows = [*up_to_date_rows("S-AJOUR"), *late_rows("S-RETARD"),
            row("S-CPAM", "CPAM", "decroche", date(2026, 10, 1), date(2026, 10, 31), ("", "900", "1000", "")),
            row("T-01", "", "decroche", date(2026, 12, 1), date(2026, 12, 31), ("", "900", "1000", ""))]
    importer.import_path(con, canonical(tmp_path / "valeurs.csv", rows), rights.COMMAND_LINE)
    # The baromètre's import marks its territories so; here the same mark, set on a structure of the test.
    con.cursor().execute("UPDATE structure SET territorial = true WHERE code = 'T-01'")
    return db_path


def captions(at: AppTest) -> list[str]:
    return [caption.value for caption in at.caption]


def test_period_choices_open_on_the_latest_complete_period_and_a_running_one_says_so(windows_base):
    at = open_app_page("pages/comparaison.py")
    # The latest data of structures is October 2026 (the territory's December does not count).
    assert "Données au 31/10/2026 · référentiel 2023" in captions(at)
    expected = {"annee": ("2025", "année 2025"), "trimestre": ("2026-T3", "T3 2026"),
                "mois": ("2026-10", "octobre 2026")}
    for kind, (window, words) in expected.items():
        at.radio(key="window_kind").set_value(kind).run()
        assert at.selectbox(key=f"window_{kind}").value == window
        assert any(f"fenêtre : {words} · " in caption for caption in captions(at)), captions(at)
    # 2026 is running: October is its 10th month with data; 2026-T4 holds October only.
    at.radio(key="window_kind").set_value("annee").run()
    at.selectbox(key="window_annee").select("2026").run()
    assert any("fenêtre : année 2026 (période en cours : 10 mois sur 12) · " in c for c in captions(at)), captions(at)
    at.switch_page("pages/mon_service.py").run()
    assert any("fenêtre : année 2026 (période en cours : 10 mois sur 12) · " in c for c in captions(at)), captions(at)


def test_running_and_complete_periods_are_judged_on_the_data_not_on_today():
    latest = date(2026, 10, 31)
    assert periods.latest_complete(["2026", "2025", "2024"], latest) == "2025"
    assert periods.latest_complete(["2026-T4", "2026-T3"], latest) == "2026-T3"
    assert periods.latest_complete(["2026-10", "2026-09"], latest) == "2026-10"
    assert periods.latest_complete(["2026"], latest) == "2026"  # none complete: the newest, said running
    assert periods.running_note(periods.fixed_window("2026-T4"), latest) == "période en cours : 1 mois sur 3"
    assert periods.running_note(periods.fixed_window("2025"), latest) == ""
    # With data up to December, the year is complete.
    assert periods.latest_complete(["2026", "2025"], date(2026, 12, 31)) == "2026"


def test_a_late_structure_is_judged_on_its_own_twelve_months_and_says_which(windows_base):
    at = open_app_page("pages/mon_service.py")
    at.selectbox(key="structure").select("S-RETARD").run()
    assert not at.exception, at.exception
    assert any("fenêtre : 12 derniers mois, de mai 2025 à avril 2026 · " in c for c in captions(at)), captions(at)
    assert any("datent de avril 2026" in c and "ses propres 12 derniers mois" in c for c in captions(at))
    # Its own 12 months: (6 × 950 + 6 × 800) / 12 000 = 87,5 %; the common window (November 2025 – October 2026)
    # would keep only the six months at 800/1 000 = 80 %.
    assert next(m for m in at.metric if m.label == "Taux de décroché").value == "87,5\u202f%"
    # An up-to-date structure keeps the common window.
    at.selectbox(key="structure").select("S-AJOUR").run()
    assert any("fenêtre : 12 derniers mois, de novembre 2025 à octobre 2026 · " in c for c in captions(at))


def test_the_structure_window_of_the_domain_is_its_own_twelve_months(windows_base):
    con = db.connect(windows_base)
    window = compliance.structure_window(con, rights.COMMAND_LINE, "12m", "S-RETARD")
    assert (window.start, window.end) == (date(2025, 5, 1), date(2026, 4, 30))
    assert compliance.structure_window(con, rights.COMMAND_LINE, "12m", "S-AJOUR") == \
        compliance.resolve_window(con, "12m")
    assert compliance.structure_window(con, rights.COMMAND_LINE, "2025", "S-RETARD").text == "2025"
    with pytest.raises(rights.AccessRefused):
        compliance.structure_window(con, rights.COMMAND_LINE, "12m", "INCONNUE")


def test_the_command_line_judges_one_structure_on_its_own_twelve_months_as_mon_service(windows_base, run_cli):
    code, out, err = run_cli("status", "--structure", "S-RETARD", "--format", "json")
    assert code == 0, err
    found = json.loads(out)
    assert (found["window"]["start"], found["window"]["end"]) == ("2025-05-01", "2026-04-30"), found["window"]
    decroche = next(i for i in found["structures"][0]["indicators"] if i["code"] == "decroche")
    assert decroche["value"] == pytest.approx(87.5)  # (6 × 950 + 6 × 800) / 12 000, as on Mon service
    # The whole programme keeps one common window.
    assert json.loads(run_cli("status", "--format", "json")[1])["window"]["end"] == "2026-10-31"


def test_the_freshness_block_never_says_all_arrived_over_a_window_without_values(windows_base):
    at = open_app_page("pages/mon_service.py")
    at.selectbox(key="structure").select("S-AJOUR").run()
    at.radio(key="window_kind").set_value("mois").run()
    # October 2026 holds the monthly values only: the quarterly indicators have none on it (the annual publication
    # holds for the 12 months up to the window's end).
    freshness = captions(at)
    assert not any("Toutes les données attendues sont arrivées" in c for c in freshness), freshness
    said = next(c for c in freshness if "sans valeur sur la fenêtre" in c)
    assert said.endswith("2 indicateurs sans valeur sur la fenêtre « octobre 2026 » : Démarches en ligne notées "
                         "≥ 8/10, Satisfaction globale."), said


def test_the_freshness_sentence_names_late_and_windowless_indicators():
    indicators = pd.DataFrame({"indicator_code": ["decroche", "satisfaction_globale"],
                               "label": ["Taux de décroché", "Satisfaction globale"],
                               "status": ["conforme", "manquant"]})
    assert charts.freshness_sentence(indicators, [], "octobre 2026") == \
        "1 indicateur sans valeur sur la fenêtre « octobre 2026 » : Satisfaction globale."
    # Labels for the indicators of the frame; a code the frame does not name stays as it is.
    assert charts.freshness_sentence(indicators, ["decroche", "delai_courriels"], "octobre 2026").startswith(
        "2 indicateurs en retard ou manquants : Taux de décroché, delai_courriels. 1 indicateur sans valeur")
    everything = indicators.assign(status="conforme")
    assert charts.freshness_sentence(everything, [], "2025") == "Toutes les données attendues sont arrivées."


def test_the_filters_are_shared_by_the_pages_and_kept_across_the_others(windows_base):
    at = open_app_page("pages/comparaison.py")
    at.radio(key="window_kind").set_value("trimestre").run()
    at.selectbox(key="window_trimestre").select("2026-T2").run()
    at.selectbox(key="network").select("CPAM").run()
    at.switch_page("pages/mon_service.py").run()
    assert not at.exception, at.exception
    assert (at.radio(key="window_kind").value, at.selectbox(key="window_trimestre").value,
            at.selectbox(key="network").value, at.selectbox(key="structure").value) == (
        "trimestre", "2026-T2", "CPAM", "S-CPAM")
    at.selectbox(key="network").select("Tous les réseaux").run()
    at.selectbox(key="structure").select("S-RETARD").run()
    # A page that draws no filter (Référentiel) keeps them: Mon service opens on the last structure viewed.
    at.switch_page("pages/referentiel.py").run()
    at.switch_page("pages/mon_service.py").run()
    assert (at.selectbox(key="structure").value, at.selectbox(key="window_trimestre").value) == ("S-RETARD", "2026-T2")
    assert at.subheader[0].value.startswith("S-RETARD")
    # « Ouvrir » on Comparaison keeps the window.
    at.switch_page("pages/comparaison.py").run()
    at.selectbox(key="drill_code").select("S-AJOUR").run()
    at.button(key="drill_open").click().run()
    assert at.title[0].value == "Mon service" and at.subheader[0].value.startswith("S-AJOUR")
    assert at.selectbox(key="window_trimestre").value == "2026-T2"
    assert any("fenêtre : T2 2026 · " in c for c in captions(at)), captions(at)


@pytest.fixture
def labelled_base(windows_base, tmp_path):
    """S-AJOUR's « or » label expired 30 days ago; S-CPAM's « bronze » awarded a year ago."""
    today = date.today()
    expired_award = (pd.Timestamp(today) - pd.DateOffset(years=3) - pd.Timedelta(days=30)).date()
    register = tmp_path / "structures.csv"
    register.write_text("code_structure;nom_structure;niveau_label;date_label\n"
                        f"S-AJOUR;Accueil S-AJOUR;or;{expired_award.isoformat()}\n"
                        f"S-CPAM;Accueil S-CPAM;bronze;{(today - timedelta(days=365)).isoformat()}\n",
                        encoding="utf-8")
    importer.import_path(db.connect(windows_base), register, rights.COMMAND_LINE)
    expires = (pd.Timestamp(expired_award) + pd.DateOffset(years=3)).date()
    return windows_base, f"expiré le {expires:%d/%m/%Y}"


def test_an_expired_label_is_not_counted_and_says_when_it_expired(labelled_base):
    base, expired = labelled_base
    con = db.connect(base)
    assessment = compliance.assess(con, compliance.resolve_window(con, None), rights.COMMAND_LINE)
    view = views.comparison(assessment, date.today())
    assert (view.holders, view.expired) == (1, 1)
    ranking = view.ranking.set_index("Code")
    assert ranking.loc["S-AJOUR", "Label"] == f"or ({expired})" and ranking.loc["S-CPAM", "Label"] == "bronze"
    # Computed « or » without a label held: a candidate again, its old label said.
    assert view.candidates.set_index("Code").loc["S-AJOUR", "Label"] == f"or ({expired})"
    assert "S-AJOUR" not in set(view.below["Code"]) | set(view.soon["Code"])
    assert views.select(assessment, None, "Labellisées", (), (), ()).structures["code"].tolist() == ["S-CPAM"]
    # The exports: the status table (CSV) and the Excel report.
    table = reports.status_table(assessment).set_index("code_structure")
    assert (table.loc["S-AJOUR", "label_etat"], table.loc["S-CPAM", "label_etat"], table.loc["S-RETARD", "label_etat"]
            ) == (expired, "valide", "")
    book = openpyxl.load_workbook(io.BytesIO(reports.workbook_bytes(assessment)))
    sheet = book["Synthèse"]
    header = [cell.value for cell in sheet[1]]
    states = {r[0]: r[header.index("État du label")] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert states["S-AJOUR"] == expired and states["S-CPAM"] == "valide"
    # The status JSON's label says it too.
    assert assessment.structures.set_index("code").loc["S-AJOUR", "label_expired"] is True


def test_comparaison_and_mon_service_say_an_expired_label(labelled_base):
    _, expired = labelled_base
    at = open_app_page("pages/comparaison.py")
    sentence = next(m.value for m in at.markdown if "labellisée" in m.value)
    assert sentence.startswith("1 structure labellisée") and "Label expiré pour 1 structure" in sentence
    ranking = next(frame.value for frame in at.dataframe if "Rang" in frame.value.columns)
    assert ranking.set_index("Code").loc["S-AJOUR", "Label"] == f"or ({expired})"
    at.sidebar.radio(key="labelled").set_value("Labellisées").run()
    assert {m.label: m.value for m in at.metric}["Structures"] == "1"
    at = open_app_page("pages/mon_service.py")
    at.selectbox(key="structure").select("S-AJOUR").run()
    label = next(i.value for i in at.info if i.value.startswith("Label or"))
    assert expired in label and "n'est plus labellisée" in label


def test_after_the_demo_data_a_year_shows_levels_not_all_aucun(db_path):
    load_demo(db.connect(db_path), rights.COMMAND_LINE, 40, seed=3, today=date.today())
    at = open_app_page("pages/comparaison.py")
    at.radio(key="window_kind").set_value("annee").run()
    assert not at.exception, at.exception
    year = at.selectbox(key="window_annee").value
    assert not any("période en cours" in c for c in captions(at)), (year, captions(at))
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Niveau aucun"]) < 40
    assert sum(int(metrics[f"Niveau {level}"]) for level in ("bronze", "argent", "or")) > 0


def test_months_are_said_with_the_french_elision():
    from indicators.periods import Window

    assert Window("12m", date(2025, 4, 1), date(2026, 3, 31)).months_words() == "d'avril 2025 à mars 2026"
    assert Window("12m", date(2024, 8, 1), date(2025, 7, 31)).months_words() == "d'août 2024 à juillet 2025"
    assert Window("12m", date(2025, 5, 1), date(2026, 4, 30)).months_words() == "de mai 2025 à avril 2026"


def test_one_structure_alone_is_judged_as_within_the_whole_programme(db_path):
    """Mon service assesses its structure alone (40 ms at 15,000 structures, not the programme's 0.5 s): the same
    level, blocking indicators, statuses, gaps and engagements as the programme's assessment cut to it."""
    con = db.connect(db_path)
    load_demo(con, rights.COMMAND_LINE, 12, seed=5, today=date(2026, 11, 15))
    for text in (periods.ROLLING, "2025", "2026-T2"):
        window = compliance.resolve_window(con, text, date(2026, 11, 15))
        whole = compliance.assess(con, window, rights.WHOLE_PROGRAMME, today=date(2026, 11, 15))
        for code in whole.structures["code"]:
            alone = compliance.assess(con, window, rights.WHOLE_PROGRAMME, structure=code, today=date(2026, 11, 15))
            cut = compliance.subset(whole, [code])
            mine, theirs = alone.structures.iloc[0], cut.structures.iloc[0]
            assert (mine["level"], list(mine["blocking"])) == (theirs["level"], list(theirs["blocking"])), code
            columns = ["indicator_code", "value", "status", "level", "gap_to_next"]
            pd.testing.assert_frame_equal(alone.indicators[columns].reset_index(drop=True),
                                          cut.indicators[columns].reset_index(drop=True), check_dtype=False)
            pd.testing.assert_frame_equal(alone.engagements.reset_index(drop=True),
                                          cut.engagements.reset_index(drop=True), check_dtype=False)
