"""The dashboard pages through Streamlit's AppTest, on an empty database and on the demo data."""

from __future__ import annotations

import re
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from helpers import PROJECT, canonical, count
from indicators import db, rights
from indicators.demo import load_demo
from indicators.text import markdown_literal
from ui import auth, frame

APP = str(PROJECT / "app.py")
PAGES = [script for pages in frame.SECTIONS.values() for script, _, _ in pages]


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def demo(db_path):
    load_demo(db.connect(db_path), rights.COMMAND_LINE, 40, seed=3, today=date.today())
    return db_path


EMPTY_BASE = "La base est vide"


def infos(at: AppTest) -> list:
    """The page's own info messages, without the mode-local banner the frame puts above every page."""
    return [info for info in at.info if info.value != auth.LOCAL_BANNER]
FIRST_STEPS = ["Charger les données de démonstration", "Importer un fichier"]


def offers_the_first_steps(at: AppTest) -> None:
    """The pages that need data say the base is empty and offer the demo data and an import, nothing else."""
    assert [info.value.startswith(EMPTY_BASE) for info in infos(at)] == [True]
    assert [b.label for b in at.button] == FIRST_STEPS
    assert not at.metric and not at.dataframe


def offers_the_uploader_and_templates(at: AppTest) -> None:
    assert [u.label for u in at.file_uploader] == ["Fichiers à importer"]
    assert [d.label for d in at.download_button] == ["Modèle vide (CSV)", "Modèle vide (Excel)"]
    assert [h.value for h in at.header] == ["Historique des imports"]
    assert "Aucun import pour l'instant." in at.caption.values


def shows_the_method(at: AppTest) -> None:
    """The one method text, whatever the database holds, and the way to the thresholds."""
    assert any("niveau" in m.value for m in at.markdown)


def shows_the_referentiel_in_force(at: AppTest) -> None:
    """The référentiel is in the schema: the page shows it even before any value is imported."""
    assert at.selectbox(key="referentiel_vue").label == "Version affichée"
    assert [e.label for e in at.expander] == ["Historique des versions (1)"]
    assert at.header[0].value == "Les 8 engagements"
    assert infos(at)[0].value.startswith("Chaque résultat")


ACCESS_SECTIONS = ["Droits en vigueur", "Accorder un droit", "Retirer un droit", "Importer un fichier de droits",
                   "Journal"]


def offers_to_manage_grants(at: AppTest) -> None:
    assert [h.value for h in at.header] == ACCESS_SECTIONS
    assert at.caption[0].value.startswith("Aucun droit en vigueur")
    assert [d.label for d in at.download_button] == ["Télécharger le modèle (CSV)"]


def lists_the_demo_scope_for_grants(at: AppTest) -> None:
    offers_to_manage_grants(at)
    assert {m.label: len(m.options) for m in at.multiselect if m.label != "Actions"} == {"Réseaux": 7, "Structures": 40}


# What each page shows on an empty base, besides its title.
ON_EMPTY = {
    "pages/mon_service.py": ("Mon service", offers_the_first_steps),
    "pages/comparaison.py": ("Comparaison", offers_the_first_steps),
    "pages/import_fichiers.py": ("Import", offers_the_uploader_and_templates),
    "pages/donnees.py": ("Structures et imports", offers_the_first_steps),
    "pages/referentiel.py": ("Référentiel", shows_the_referentiel_in_force),
    "pages/acces.py": ("Accès", offers_to_manage_grants),
    "pages/methode.py": ("Comment est calculé mon niveau ?", shows_the_method),
}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_an_empty_database(db_path, page):
    at = open_page(page)
    title, shows = ON_EMPTY[page]
    assert [t.value for t in at.title] == [title]
    assert at.info[0].value == auth.LOCAL_BANNER  # no [auth] in the secrets: mode local, said on every page
    shows(at)


def test_empty_database_offers_demo_data_and_import(db_path):
    at = open_page()
    assert at.title[0].value == "Mon service"
    assert any("La base est vide" in info.value for info in infos(at))
    labels = [b.label for b in at.button]
    assert "Charger les données de démonstration" in labels and "Importer un fichier" in labels


def test_demo_button_loads_the_demo_and_shows_a_structure(db_path):
    at = open_page()
    next(b for b in at.button if b.label == "Charger les données de démonstration").click().run(timeout=300)
    assert not at.exception
    assert count(db.connect(db_path), "SELECT count(*) FROM structure") == 300
    assert any("Niveau atteignable" in m.value for m in [*at.success, *at.warning, *at.error])
    assert len(at.metric) == 8


def shows_a_structure(at: AppTest) -> None:
    assert re.match(r"[A-Z]+-\d{4} – ", at.subheader[0].value)  # « CAF-0001 – CAF de la Somme… »
    assert "Niveau atteignable" in [*at.success, *at.warning, *at.error][0].value
    assert len(at.metric) == 8  # one card per indicator of the référentiel


def shows_the_40_structures(at: AppTest) -> None:
    assert {m.label: m.value for m in at.metric}["Structures"] == "40"
    assert at.dataframe  # the ranking and its companions


def offers_to_undo_the_demo_imports(at: AppTest) -> None:
    assert [u.label for u in at.file_uploader] == ["Fichiers à importer"]
    assert at.selectbox[0].label == "Import à annuler" and len(at.selectbox[0].options) == 2
    assert [b.label for b in at.button] == ["Annuler l'import"]


def counts_structures_and_imports(at: AppTest) -> None:
    # The demo comes in two imports: the register of structures, then their values.
    assert {m.label: m.value for m in at.metric} == {"Structures": "40", "Réseaux": "7",  # all the demo's networks
                                                     "Imports en vigueur": "2"}
    assert [s.value for s in at.subheader] == ["Structures", "Historique des imports"]


# What each page shows on the demo data (40 structures), besides its title.
ON_DEMO = {
    "pages/mon_service.py": ("Mon service", shows_a_structure),
    "pages/comparaison.py": ("Comparaison", shows_the_40_structures),
    "pages/import_fichiers.py": ("Import", offers_to_undo_the_demo_imports),
    "pages/donnees.py": ("Structures et imports", counts_structures_and_imports),
    "pages/referentiel.py": ("Référentiel", shows_the_referentiel_in_force),
    "pages/acces.py": ("Accès", lists_the_demo_scope_for_grants),
    "pages/methode.py": ("Comment est calculé mon niveau ?", shows_the_method),
}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_the_demo_data(demo, page):
    at = open_page(page)
    title, shows = ON_DEMO[page]
    assert [t.value for t in at.title] == [title]
    shows(at)


def test_mon_service_says_the_level_the_blocking_gap_and_french_numbers(db_path, tmp_path, run_cli):
    # 8 449 calls answered out of 10 000: 84,49 % → bronze; argent needs ⌈0,85 × 10 000 − 8 449⌉ = 51 more.
    run_cli("import", canonical(tmp_path / "s1.csv", [
        "S1;Accueil de Lyon;CAF;decroche;2025-01-01;2025-01-31;84,49;8449;10000;",
        "S1;Accueil de Lyon;CAF;attente_guichet;2025-01-01;2025-01-31;5;;;100",
        "S1;Accueil de Lyon;CAF;delai_courriels;2025-01-01;2025-01-31;1,5;;;40",
        "S1;Accueil de Lyon;CAF;delai_courriers;2025-01-01;2025-01-31;5;;;40",
        "S1;Accueil de Lyon;CAF;delais_annonces;2025-01-01;2025-01-31;96;96;100;",
        "S1;Accueil de Lyon;CAF;demarches_en_ligne_8;2025-01-01;2025-03-31;85;170;200;",
        "S1;Accueil de Lyon;CAF;publication_resultats;2025-01-01;2025-01-31;oui;;;",
        "S1;Accueil de Lyon;CAF;satisfaction_globale;2025-01-01;2025-03-31;92;184;200;200",
    ]))
    at = open_page()
    banner = next(m.value for m in [*at.success, *at.warning, *at.error] if "Niveau atteignable" in m.value)
    assert "bronze" in banner
    texts = " ".join(m.value for m in at.markdown)
    assert "Il manque 51 appels décrochés pour le niveau argent" in texts
    decroche = next(m for m in at.metric if m.label == "Taux de décroché")
    assert decroche.value == "84,5\u202f%"
    # Only what is open is drawn: the blocking indicator's time series, its expander opened for it.
    assert [c.key for c in at.get("plotly_chart")] == ["serie-decroche"]
    # Opening another indicator draws its chart; its « Progression » tab, once chosen, draws the progress bar.
    at.session_state["ouvert-S1-satisfaction_globale"] = True
    at.run()
    assert "serie-satisfaction_globale" in [c.key for c in at.get("plotly_chart")]
    at.session_state["onglet-S1-satisfaction_globale"] = "Progression"
    at.run()
    assert "progression-satisfaction_globale" in [c.key for c in at.get("plotly_chart")]


def test_mon_service_shows_the_label_and_whether_it_is_still_supported(db_path, tmp_path, run_cli):
    run_cli("import", canonical(tmp_path / "s1.csv", [
        "S1;Accueil de Lyon;CAF;decroche;2025-01-01;2025-01-31;70;700;1000;"]))
    register = tmp_path / "structures.csv"
    register.write_text("code_structure;nom_structure;niveau_label;date_label\nS1;Accueil de Lyon;or;2024-03-15\n",
                        encoding="utf-8")
    run_cli("import", register)
    at = open_page()
    label = next(i.value for i in at.info if i.value.startswith("Label or"))
    assert "15/03/2024" in label and "15/03/2027" in label and "ne le soutiennent plus" in label


def test_comparaison_counts_levels_and_lists_candidates(demo):
    at = open_page("pages/comparaison.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Structures"] == "40"
    total = sum(int(metrics[f"Niveau {level}"]) for level in ("or", "argent", "bronze", "aucun"))
    assert total == 40
    sentences = " ".join(m.value for m in at.markdown)
    assert "atteignent au moins le niveau bronze" in sentences and "candidates" in sentences
    assert len(at.get("plotly_chart")) >= 3  # levels, engagements heatmap, distribution


def test_comparaison_filters_by_network_and_label(demo):
    at = open_page("pages/comparaison.py")
    networks = at.sidebar.selectbox(key="network").options
    network = networks[1]
    at.sidebar.selectbox(key="network").select(network).run()
    in_network = count(db.connect(demo), "SELECT count(*) FROM structure WHERE network = ?", [network])
    assert {m.label: m.value for m in at.metric}["Structures"] == str(in_network)
    at.sidebar.radio(key="labelled").set_value("Labellisées").run()
    # A label held today: awarded less than 3 years ago (an expired label is not counted).
    labelled = count(db.connect(demo), "SELECT count(*) FROM structure WHERE network = ? AND label_level IS NOT NULL "
                     "AND label_awarded_on + INTERVAL 3 YEAR >= current_date", [network])
    shown = {m.label: m.value for m in at.metric}.get("Structures")
    assert shown == str(labelled) or (labelled == 0 and any("Aucune structure" in w.value for w in at.warning))


def test_comparaison_opens_a_structure_in_mon_service(demo):
    at = open_page("pages/comparaison.py")
    code = at.selectbox(key="drill_code").value
    at.button(key="drill_open").click().run()
    assert not at.exception
    assert at.title[0].value == "Mon service"
    assert any(code in s.value for s in at.subheader)


def test_the_default_window_of_the_settings_is_the_one_the_pages_open_on(demo, monkeypatch):
    # INDICATEURS_FENETRE_DEFAUT names a year the demo holds: the sidebar opens on « Année » and that year,
    # and the page says it evaluates that window; without it, the rolling 12 months.
    year = str(date.today().year - 1)
    monkeypatch.setenv("INDICATEURS_FENETRE_DEFAUT", year)
    at = open_page("pages/comparaison.py")
    assert at.radio(key="window_kind").value == "annee"
    assert at.selectbox(key="window_annee").value == year
    assert any(f"fenêtre : année {year} ·" in caption.value for caption in at.caption), [c.value for c in at.caption]
    monkeypatch.delenv("INDICATEURS_FENETRE_DEFAUT")
    assert open_page("pages/comparaison.py").radio(key="window_kind").value == "12m"


def test_the_window_chosen_on_one_page_is_kept_on_the_next(demo):
    # Streamlit drops a widget's value with its page: the filters are written back before they are drawn.
    at = open_page()
    at.radio(key="window_kind").set_value("annee").run()
    year = at.selectbox(key="window_annee").value
    at.switch_page("pages/comparaison.py").run()
    assert at.radio(key="window_kind").value == "annee" and at.selectbox(key="window_annee").value == year
    assert any(f"fenêtre : année {year} ·" in caption.value for caption in at.caption), [c.value for c in at.caption]


def test_a_link_with_a_structure_opens_it_and_an_unknown_one_is_said_as_text(demo):
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["structure"] = "CAF-0002"
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="structure").value == "CAF-0002" and at.subheader[0].value.startswith("CAF-0002 – ")
    # A code from an address is user text: said literally, never a Markdown link.
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["structure"] = "[ouvrir](http://exemple.fr)"
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [markdown_literal("Structure inconnue : « [ouvrir](http://exemple.fr) ».")]
    assert "\\[ouvrir\\]" in at.error[0].value
