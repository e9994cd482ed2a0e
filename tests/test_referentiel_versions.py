"""Versioned edits of the référentiel (indicators/referentiel_versions.py) on a real DuckDB file: a save
creates a new version put in force and leaves the old one as it was; provenance says who changed what;
an inconsistent edit is refused with every message and nothing written; the compliance engine follows the
version in force; an older version can be put back in force."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from helpers import administrator, canonical, count
from indicators import compliance, db, rights
from indicators import referentiel_versions as rv

TODAY = f"{date.today():%d/%m/%Y}"


def edit(con, cells: dict, version: str | None = None) -> pd.DataFrame:
    """The thresholds of ``version`` with ``cells`` = {(code, column): value} applied, as an editor would."""
    frame = rv.thresholds(con, version).astype(object)
    for (code, column), value in cells.items():
        frame.loc[frame["code"] == code, column] = value
    return frame


def version_rows(con, version: str) -> dict:
    """Everything stored for one version, to prove it is untouched."""
    cur = con.cursor()
    queries = {
        "version": "SELECT version, title, source, origin, created_at FROM referentiel_version WHERE version = ?",
        "engagement": "SELECT * FROM engagement WHERE version = ? ORDER BY number",
        "indicator": "SELECT * FROM indicator WHERE version = ? ORDER BY code",
        "threshold": "SELECT * FROM threshold WHERE version = ? ORDER BY indicator_code, level",
    }
    return {name: cur.execute(sql, [version]).fetchall() for name, sql in queries.items()}


def all_rows(con) -> dict:
    cur = con.cursor()
    return {t: sorted(map(repr, cur.execute(f"SELECT * FROM {t}").fetchall()))
            for t in ("referentiel_version", "engagement", "indicator", "threshold", "audit_log")}


def test_versions_and_thresholds_of_the_shipped_referentiel(con):
    versions = rv.versions(con)
    assert list(versions.columns) == ["version", "title", "origin", "created_at", "in_force"]
    assert versions.to_dict("records")[0] | {"created_at": None} == {
        "version": "2023", "title": "Référentiel Services Publics+ 2023 (par défaut)", "origin": "livre",
        "created_at": None, "in_force": True}
    frame = rv.thresholds(con)
    assert len(frame) == 8
    for column in ("code", "label", "engagement", "unit", "direction", "kind", "periodicity", "required",
                   "min_n", "bronze", "argent", "or", "provenance_bronze", "provenance_argent", "provenance_or"):
        assert column in frame.columns
    decroche = frame.set_index("code").loc["decroche"]
    assert (decroche["bronze"], decroche["argent"], decroche["or"]) == (80, 85, 90)
    assert decroche["provenance_argent"].startswith("officiel")
    assert decroche["provenance_bronze"] == "défaut"
    engagements = rv.engagements(con)
    assert list(engagements["number"]) == list(range(1, 9))
    assert engagements.set_index("number").loc[3, "n_indicators"] == 0


def test_save_creates_a_new_version_in_force_and_keeps_the_old_one_identical(con):
    before = version_rows(con, "2023")
    name = rv.save_version(con, edit(con, cells={("decroche", "argent"): 87,
                                                ("attente_guichet", "required"): False,
                                                ("satisfaction_globale", "min_n"): 200}),
                           "Seuils du réseau test", access=administrator("alice"))
    assert name == "2023.1"
    assert version_rows(con, "2023") == before
    versions = rv.versions(con)
    assert list(versions["version"]) == ["2023.1", "2023"]
    assert list(versions["in_force"]) == [True, False]
    assert versions.loc[0, "origin"] == "edition"
    assert versions.loc[0, "title"] == "Seuils du réseau test"
    assert db.referentiel_in_force(con) == "2023.1"
    assert count(con, "SELECT count(*) FROM engagement WHERE version = '2023.1'") == 8

    new = rv.thresholds(con).set_index("code")
    assert new.loc["decroche", "argent"] == 87
    assert not new.loc["attente_guichet", "required"]
    assert new.loc["satisfaction_globale", "min_n"] == 200
    assert new.loc["satisfaction_globale", "min_n_provenance"] == f"modifié par alice le {TODAY} (précédent : 100)"
    old = rv.thresholds(con, "2023").set_index("code")
    assert old.loc["decroche", "argent"] == 85 and old.loc["attente_guichet", "required"]

    # The next edit never overwrites: 2023.2, from the version in force.
    assert rv.save_version(con, edit(con, cells={("decroche", "or"): 92}), "Deuxième",
                           access=administrator("bob")) == "2023.2"
    assert rv.thresholds(con, "2023.1").set_index("code").loc["decroche", "or"] == 90
    assert rv.thresholds(con).set_index("code").loc["decroche", "argent"] == 87  # carried over from 2023.1

    log = con.cursor().execute("SELECT action, who, detail FROM audit_log WHERE action = 'referentiel_modification' "
                               "ORDER BY logged_at").fetchall()
    assert [(a, w) for a, w, _ in log] == [("referentiel_modification", "alice"), ("referentiel_modification", "bob")]
    assert "2023.1" in log[0][2] and "decroche seuil argent : 85 → 87" in log[0][2]


def test_changed_threshold_says_who_when_and_the_previous_value_others_keep_theirs(con):
    rv.save_version(con, edit(con, cells={("decroche", "bronze"): "82,5", ("delai_courriels", "argent"): 4}),
                    "Provenance", access=administrator("Claire Martin"))
    frame = rv.thresholds(con).set_index("code")
    assert frame.loc["decroche", "bronze"] == 82.5
    assert frame.loc["decroche", "provenance_bronze"] == f"modifié par Claire Martin le {TODAY} (précédent : 80)"
    assert (frame.loc["delai_courriels", "provenance_argent"]
            == f"modifié par Claire Martin le {TODAY} (précédent : 3)")
    # Unchanged thresholds keep their provenance, official ones included.
    assert frame.loc["decroche", "provenance_argent"] == "officiel : cible du plan téléphone (≥ 85 %)"
    assert frame.loc["delai_courriels", "provenance_bronze"] == "règle du label Marianne (≤ 5 jours ouvrés)"
    assert frame.loc["decroche", "provenance_or"] == "défaut"
    assert rv.provenance_kind(frame.loc["decroche", "provenance_bronze"]) == "modifié"
    assert rv.provenance_kind(frame.loc["decroche", "provenance_argent"]) == "source publique"
    assert rv.provenance_kind(frame.loc["decroche", "provenance_or"]) == "défaut"


def test_inconsistent_edit_is_refused_with_every_message_and_nothing_written(con):
    before = all_rows(con)
    frame = edit(con, cells={
        ("attente_guichet", "bronze"): "abc",           # not a number
        ("decroche", "or"): 120,                         # a rate above 100
        ("delai_courriels", "argent"): 10,               # lower is better: 5 ≥ 10 ≥ 2 is false
        ("delais_annonces", "argent"): 70,               # higher is better: 80 ≤ 70 ≤ 95 is false
        ("demarches_en_ligne_8", "min_n"): 2.5,          # not an integer
        ("satisfaction_globale", "min_n"): -3,           # not positive
        ("publication_resultats", "or"): None,           # empty
    })
    with pytest.raises(rv.ReferentielError) as refused:
        rv.save_version(con, frame, "Incohérent", access=administrator("alice"))
    messages = refused.value.messages
    assert messages == [
        "Temps d'attente au guichet (attente_guichet) : le seuil bronze « abc » n'est pas un nombre.",
        "Taux de décroché (decroche) : le seuil or (120) est un taux ; il doit être compris entre 0 et 100.",
        "Délai de réponse aux courriels (delai_courriels) : plus bas = mieux, il faut bronze ≥ argent ≥ or "
        "(saisi : bronze 5, argent 10, or 2).",
        "Démarches traitées dans les délais annoncés (delais_annonces) : plus haut = mieux, il faut "
        "bronze ≤ argent ≤ or (saisi : bronze 80, argent 70, or 95).",
        "Démarches en ligne notées ≥ 8/10 (demarches_en_ligne_8) : l'effectif minimum « 2,5 » doit être un "
        "entier positif, ou vide (pas de minimum).",
        "Résultats publiés depuis moins de 12 mois (publication_resultats) : le seuil or est vide ; il faut "
        "un nombre.",
        "Satisfaction globale (satisfaction_globale) : l'effectif minimum « -3 » doit être un entier positif, "
        "ou vide (pas de minimum).",
    ]
    assert all_rows(con) == before
    assert db.referentiel_in_force(con) == "2023"


def test_edit_without_change_or_on_unknown_indicator_is_refused(con):
    before = all_rows(con)
    with pytest.raises(rv.ReferentielError) as unchanged:
        rv.save_version(con, rv.thresholds(con), "Rien", access=rights.COMMAND_LINE)
    assert unchanged.value.messages[0].startswith("Aucune modification")
    unknown = pd.concat([rv.thresholds(con), pd.DataFrame([{"code": "inconnu", "bronze": 1, "argent": 2, "or": 3}])])
    with pytest.raises(rv.ReferentielError) as refused:
        rv.save_version(con, unknown, "Inconnu", access=rights.COMMAND_LINE)
    assert refused.value.messages == ["Indicateur inconnu dans cette version du référentiel : « inconnu »."]
    assert all_rows(con) == before


def test_min_n_can_be_emptied(con):
    rv.save_version(con, edit(con, cells={("satisfaction_globale", "min_n"): None}), "Sans minimum",
                    access=administrator("alice"))
    frame = rv.thresholds(con).set_index("code")
    assert pd.isna(frame.loc["satisfaction_globale", "min_n"])
    assert frame.loc["satisfaction_globale", "min_n_provenance"] == f"modifié par alice le {TODAY} (précédent : 100)"


def test_assessment_follows_the_new_version_then_the_old_one_again(con, run_cli, tmp_path):
    # 86 % answered (860 / 1 000): argent with 2023 (85 ≤ 86 < 90), bronze once argent is raised to 87.
    path = canonical(tmp_path / "valeurs.csv",
                     ["S1;Structure S1;Réseau test;decroche;2025-01-01;2025-01-31;86;860;1000;"])
    code, out, err = run_cli("import", path)
    assert code == 0, err

    def decroche():
        assessment = compliance.assess(con, compliance.resolve_window(con, "2025"), rights.COMMAND_LINE,
                                       today=date(2026, 11, 27))
        row = assessment.indicators.set_index("indicator_code").loc["decroche"]
        return assessment.version, row["level"]

    assert decroche() == ("2023", "argent")
    name = rv.save_version(con, edit(con, cells={("decroche", "argent"): 87}), "Argent à 87 %",
                           access=administrator("alice"))
    assert decroche() == (name, "bronze") == ("2023.1", "bronze")

    rv.set_in_force(con, "2023", access=administrator("bob"))
    assert db.referentiel_in_force(con) == "2023"
    assert decroche() == ("2023", "argent")
    assert list(rv.versions(con)["in_force"]) == [False, True]
    assert con.cursor().execute("SELECT who, detail FROM audit_log WHERE action = 'referentiel_mise_en_vigueur'"
                                ).fetchall() == [("bob", "version 2023 remise en vigueur (à la place de 2023.1)")]

    # Edits made from the old version again get the next free name.
    assert rv.save_version(con, edit(con, cells={("decroche", "or"): 95}), "Or à 95 %",
                           access=rights.COMMAND_LINE) == "2023.2"


def test_set_in_force_refuses_an_unknown_version(con):
    with pytest.raises(rv.ReferentielError) as refused:
        rv.set_in_force(con, "1999", rights.COMMAND_LINE)
    assert refused.value.messages == ["Version du référentiel inconnue : « 1999 »."]
    assert db.referentiel_in_force(con) == "2023"


def test_format_value_is_french():
    assert rv.format_value(85.0, "%") == "85\u202f%"
    assert rv.format_value(2.5, "jours ouvrés") == "2,5 jours ouvrés"
    assert rv.format_value(1.0, "oui/non") == "oui"
    assert rv.format_value(None) == "–"
