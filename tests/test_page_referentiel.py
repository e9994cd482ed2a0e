"""Page « Référentiel » through Streamlit's AppTest (app.py, then switch_page): engagements, thresholds and
their provenance in French, a versioned edit made through the data editor's edit state, an inconsistent
edit refused with French messages, an older version put back in force, and an empty database."""

from __future__ import annotations

import getpass

from datetime import date

from streamlit.testing.v1 import AppTest

from helpers import administrator, count, open_app_page
from indicators import db
from indicators import referentiel_versions as rv

PAGE = "pages/referentiel.py"
TODAY = f"{date.today():%d/%m/%Y}"


def open_page() -> AppTest:
    return open_app_page(PAGE)


def thresholds_table(at: AppTest):
    """The read-only table of indicators (the version history sits in a collapsed expander before it)."""
    return next(frame.value for frame in at.dataframe
                if frame.editing_mode == "read_only" and "provenance" in frame.value.columns)


def edit_cells(at: AppTest, version: str, cells: dict) -> None:
    """Seed the data editor's edit state, as the browser sends it: {row: {column: value}}."""
    at.session_state[f"referentiel_editeur_{version}"] = {"edited_rows": cells, "added_rows": [],
                                                         "deleted_rows": []}


def texts(elements) -> str:
    return "\n".join(element.value for element in elements)


def test_page_lists_the_8_engagements_by_theme_with_their_indicators(db_path):
    at = open_page()
    assert at.title[0].value == "Référentiel"
    assert "Version en vigueur : 2023" in texts(at.markdown)
    assert "Les 8 engagements" in [h.value for h in at.header]
    assert [s.value for s in at.subheader] == ["Services publics plus proche", "Services publics plus efficace",
                                               "Services publics plus simple"]
    markdown = texts(at.markdown)
    for number in range(1, 9):
        assert f"**Engagement {number}** · " in markdown
    assert "Taux de décroché (`decroche`)" in markdown
    # Engagements 3 and 8 have no indicator in the default référentiel: said in words.
    assert texts(at.caption).count("Aucun indicateur pour cet engagement") == 2
    assert any("indique la version du référentiel" in info.value for info in at.info)


def test_thresholds_are_in_french_with_their_provenance(db_path):
    at = open_page()
    table = thresholds_table(at).set_index("code")
    assert len(table) == 8
    decroche = table.loc["decroche"]
    assert (decroche["bronze"], decroche["argent"], decroche["or"]) == ("80\u202f%", "85\u202f%", "90\u202f%")
    assert decroche["direction"] == "plus haut = mieux"
    assert decroche["required"] == "oui"
    assert decroche["provenance"] == "bronze, or : défaut · argent : officiel : cible du plan téléphone (≥ 85 %)"
    courriels = table.loc["delai_courriels"]
    assert courriels["direction"] == "plus bas = mieux"
    assert courriels["bronze"] == "5 jours ouvrés"
    assert courriels["provenance"] == ("argent, or : défaut · bronze : source publique : règle du label Marianne "
                                       "(≤ 5 jours ouvrés)")
    assert table.loc["attente_guichet", "provenance"] == "défaut (les trois seuils)"
    assert (table.loc["publication_resultats", "provenance"]
            == "officiel : publication au moins annuelle (les trois seuils)")
    assert table.loc["publication_resultats", "or"] == "oui"
    assert table.loc["satisfaction_globale", "min_n"] == "100"
    assert table.loc["attente_guichet", "min_n"] == "–"
    assert table.loc["satisfaction_globale", "periodicity"] == "trimestrielle"
    assert "**6** s'appuient sur une source publique" in texts(at.markdown)
    assert "**18** sont des valeurs **par défaut**" in texts(at.markdown)


def test_editor_is_limited_to_thresholds_required_and_min_n(db_path):
    at = open_page()
    editor = at.data_editor(key="referentiel_editeur_2023")
    assert editor.editing_mode == "fixed"
    assert list(editor.value["code"])[:2] == ["attente_guichet", "decroche"]
    assert at.button(key="referentiel_enregistrer").label == "Enregistrer une nouvelle version"
    assert at.text_input(key="referentiel_titre").label == "Titre de la nouvelle version"


def test_saving_an_edit_creates_a_new_version_in_force(db_path):
    at = open_page()
    edit_cells(at, "2023", {1: {"argent": 87}, 7: {"min_n": 200}})
    at.text_input(key="referentiel_titre").input("Argent du décroché à 87 %")
    at.button(key="referentiel_enregistrer").click().run()
    assert not at.exception, at.exception
    assert not at.error
    assert at.success[0].value == ("Nouvelle version 2023.1 enregistrée et mise en vigueur (à partir de la "
                                   "version 2023, qui reste inchangée).")
    assert "Version en vigueur : 2023.1" in texts(at.markdown)
    assert at.selectbox(key="referentiel_vue").value == "2023.1"
    table = thresholds_table(at).set_index("code")
    assert table.loc["decroche", "argent"] == "87\u202f%"
    assert table.loc["decroche", "provenance"] == (f"bronze, or : défaut · argent : modifié par mode local "
                                                   f"({getpass.getuser()}) le "
                                                   f"{TODAY} (précédent : 85)")
    assert table.loc["satisfaction_globale", "min_n"] == "200"
    assert "**1** a été modifié" in texts(at.markdown)
    assert at.text_input(key="referentiel_titre").value == ""

    con = db.connect(db_path)
    assert db.referentiel_in_force(con) == "2023.1"
    assert rv.thresholds(con, "2023").set_index("code").loc["decroche", "argent"] == 85
    assert count(con, "SELECT count(*) FROM audit_log WHERE action = 'referentiel_modification'") == 1


def test_inconsistent_edit_shows_every_french_error_and_saves_nothing(db_path):
    at = open_page()
    edit_cells(at, "2023", {1: {"or": 50}, 2: {"argent": 1}, 3: {"or": 12}})
    at.button(key="referentiel_enregistrer").click().run()
    assert not at.exception, at.exception
    assert not at.success
    error = at.error[0].value
    assert error.startswith("Aucune version n'a été enregistrée :")
    assert ("- Taux de décroché (decroche) : plus haut = mieux, il faut bronze ≤ argent ≤ or "
            "(saisi : bronze 80, argent 85, or 50).") in error
    assert ("- Délai de réponse aux courriels (delai_courriels) : plus bas = mieux, il faut bronze ≥ argent ≥ or "
            "(saisi : bronze 5, argent 1, or 2).") in error
    assert ("- Délai de réponse aux courriers (delai_courriers) : plus bas = mieux, il faut bronze ≥ argent ≥ or "
            "(saisi : bronze 15, argent 10, or 12).") in error
    assert error.count("\n- ") == 3
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM referentiel_version") == 1
    assert db.referentiel_in_force(con) == "2023"


def test_saving_without_change_says_so(db_path):
    at = open_page()
    at.button(key="referentiel_enregistrer").click().run()
    assert "Aucune modification" in at.error[0].value


def test_an_older_version_can_be_viewed_and_put_back_in_force(db_path):
    con = db.connect(db_path)
    frame = rv.thresholds(con)
    frame.loc[frame["code"] == "decroche", "argent"] = 87.0
    rv.save_version(con, frame, "Argent à 87 %", access=administrator("alice"))
    at = open_page()
    assert at.selectbox(key="referentiel_vue").value == "2023.1"
    assert "referentiel_remettre" not in [button.key for button in at.button]
    at.selectbox(key="referentiel_vue").select("2023").run()
    assert any("Vous consultez la version 2023, qui n'est pas en vigueur" in w.value for w in at.warning)
    assert thresholds_table(at).set_index("code").loc["decroche", "argent"] == "85\u202f%"
    at.button(key="referentiel_remettre").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "La version 2023 est de nouveau en vigueur (à la place de 2023.1)."
    assert "Version en vigueur : 2023" in texts(at.markdown)
    assert not at.warning
    assert db.referentiel_in_force(con) == "2023"
    assert count(con, "SELECT count(*) FROM audit_log WHERE action = 'referentiel_mise_en_vigueur'") == 1


def test_empty_database_shows_the_referentiel(db_path):
    assert not db_path.exists()
    at = open_page()
    assert at.title[0].value == "Référentiel"
    assert len(thresholds_table(at)) == 8
    assert not at.error
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM structure") == 0
    assert count(con, "SELECT count(*) FROM observation") == 0
