"""Page « Accès » through Streamlit's AppTest (app.py, then switch_page) in mode local, where the one person is an
administrator: a grant made through the form and shown in the table in French, refused with French messages,
revoked after a confirmation, a file of grants imported whole or refused with its lines, and the journal."""

from __future__ import annotations

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from helpers import canonical, count, open_app_page
from indicators import db, grants, importer, rights
from indicators.text import markdown_literal

PAGE = "pages/acces.py"
TODAY = f"{date.today():%d/%m/%Y}"


@pytest.fixture
def register(db_path, tmp_path):
    """Three structures in two networks, imported, on the database the page opens (INDICATEURS_DB)."""
    rows = [f"{code};{name};{network};decroche;2025-01-01;2025-01-31;95;950;1000;"
            for code, name, network in (("S-LYON", "Accueil de Lyon", "CAF"), ("S-CAEN", "Accueil de Caen", "CAF"),
                                        ("C-NICE", "CPAM de Nice", "CPAM"))]
    con = db.connect(db_path)
    importer.import_path(con, canonical(tmp_path / "registre.csv", rows), rights.COMMAND_LINE)
    return con


def open_page() -> AppTest:
    return open_app_page(PAGE)


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    labelled(at.button, label).click()
    return rerun(at)


def labelled(elements, label: str):
    found = [e for e in elements if e.label == label]
    assert found, f"pas de « {label} » parmi {[e.label for e in elements]}"
    return found[0]


def grants_table(at: AppTest):
    return next(frame.value for frame in at.dataframe if "perimetre" in frame.value.columns)


def texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def test_the_page_opens_in_mode_local_with_its_five_sections(register):
    at = open_page()
    assert at.title[0].value == "Accès"
    assert [h.value for h in at.header] == ["Droits en vigueur", "Accorder un droit", "Retirer un droit",
                                            "Importer un fichier de droits", "Journal"]
    assert "Aucun droit en vigueur" in texts(at.caption)
    assert labelled(at.multiselect, "Réseaux").options == ["CAF", "CPAM"]
    assert labelled(at.multiselect, "Structures").options == ["C-NICE – CPAM de Nice", "S-CAEN – Accueil de Caen",
                                                              "S-LYON – Accueil de Lyon"]
    assert labelled(at.selectbox, "Rôle").options == ["administrateur", "tête de réseau", "directeur", "lecteur"]


def test_a_grant_made_through_the_form_shows_in_the_table_then_is_revoked(register):
    at = open_page()
    labelled(at.text_input, "Adresse e-mail").input("Claire.Martin@caf.fr")
    labelled(at.selectbox, "Rôle").select("directeur")
    labelled(at.multiselect, "Structures").select("S-LYON").select("S-CAEN")
    click(at, "Accorder")
    assert at.success[0].value == markdown_literal(
        "Droit n° 1 accordé : directeur pour claire.martin@caf.fr, structures S-CAEN, S-LYON.")
    row = grants_table(at).iloc[0]
    assert (row["id"], row["personne"], row["role"], row["perimetre"], row["granted_by"]) == (
        1, "claire.martin@caf.fr", "directeur", "structures S-CAEN, S-LYON", rights.local().who)
    assert row["granted_at"].startswith(f"{TODAY} ") and row["subject"] == "pas encore connecté"
    assert labelled(at.text_input, "Adresse e-mail").value == ""  # the form starts empty again

    assert labelled(at.selectbox, "Droit à retirer").value == 1
    click(at, "Retirer ce droit…")
    assert "La personne perd cet accès" in at.warning[0].value
    assert grants.list_grants(register, rights.COMMAND_LINE)["id"].tolist() == [1]  # nothing before the confirmation
    click(at, "Confirmer le retrait")
    assert at.success[0].value == markdown_literal(
        "Droit n° 1 retiré : directeur pour claire.martin@caf.fr, structures S-CAEN, S-LYON.")
    assert "Aucun droit en vigueur" in texts(at.caption)
    assert grants.list_grants(register, rights.COMMAND_LINE).empty

    labelled(at.toggle, "Afficher aussi les droits retirés").set_value(True)
    rerun(at)
    revoked = grants_table(at).iloc[0]
    assert revoked["revoked_by"] == rights.local().who and revoked["revoked_at"].startswith(f"{TODAY} ")


def test_a_wrong_grant_is_refused_with_every_reason_in_french_and_nothing_stored(register):
    at = open_page()
    labelled(at.text_input, "Adresse e-mail").input("claire")
    labelled(at.selectbox, "Rôle").select("tete_de_reseau")
    click(at, "Accorder")
    error = at.error[0].value
    assert error.startswith("Le droit n'a pas été accordé :")
    assert error.splitlines()[1:] == [
        "- " + markdown_literal("Adresse e-mail invalide : « claire » (attendu : prenom.nom@domaine.fr)."),
        "- " + markdown_literal("Un droit « tête de réseau » demande au moins un réseau.")]
    assert count(register, "SELECT count(*) FROM access_grant") == 0


def test_a_file_of_grants_is_imported_or_refused_with_its_lines(register):
    at = open_page()
    bad = b"email;role;reseaux;structures\na@caf.fr;lecteur;CAF;\nb@caf.fr;directeur;;S-PAU\n"
    at.file_uploader[0].upload("droits.csv", bad, "text/csv")
    click(rerun(at), "Importer les droits")
    assert at.error[0].value.startswith("Aucun droit n'a été enregistré")
    problems = next(frame.value for frame in at.dataframe if "problème" in frame.value.columns)
    assert problems["problème"].tolist() == ["Ligne 3 : Structure inconnue : « S-PAU »."]
    assert count(register, "SELECT count(*) FROM access_grant") == 0

    good = bad.replace(b"S-PAU", b"S-LYON")
    at.file_uploader[0].upload("droits.csv", good, "text/csv")
    click(rerun(at), "Importer les droits")
    assert at.success[0].value == markdown_literal("droits.csv : 2 droits accordés.")
    assert grants_table(at)["perimetre"].tolist() == ["structure S-LYON", "réseau CAF"]


def test_the_journal_lists_the_grant_changes_newest_first_and_filters_by_action(register):
    grant_id = grants.grant(register, rights.COMMAND_LINE, email="a@caf.fr", role="lecteur", networks=["CAF"])
    grants.revoke(register, rights.COMMAND_LINE, grant_id)
    at = open_page()
    journal = next(frame.value for frame in at.dataframe if "detail" in frame.value.columns)
    assert journal["action"].tolist()[:3] == ["droit retiré", "droit accordé", "import"]
    assert journal["import_id"].tolist()[:3] == ["", "", "1"]  # empty cells, never « None »
    labelled(at.multiselect, "Actions").select("droit accordé")
    rerun(at)
    journal = next(frame.value for frame in at.dataframe if "detail" in frame.value.columns)
    assert journal["detail"].tolist() == ["n° 1 : lecteur pour a@caf.fr, réseau CAF"]
