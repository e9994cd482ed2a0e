"""The open data kept apart: the baromètre's territories never count as structures (Comparaison, levels, status,
rights, exports), they have their own view on « Structures et imports », and indicators outside the référentiel
are read apart (« Autres indicateurs »), said in the preview before an import."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from helpers import PROJECT, count, open_app_page, write_csv
from indicators import compliance, db, grants, importer, rights, territories, views
from indicators.demo import load_demo
from indicators.export import canonical_table
from indicators.text import format_count, format_date, format_number_fr

# Unmodified open data of the baromètre (tests/data/README.md says which lines): the repository's own copies, so
# that the tests run on a clean clone.
SAMPLES = PROJECT / "tests" / "data"
DEPARTEMENTAL = SAMPLES / "barometre-detail-departemental-cinq-departements.csv"
SYNTHESE = SAMPLES / "barometre-synthese-national.csv"
# The column of each sample that names its territory.
TERRITORY_COLUMN = {DEPARTEMENTAL: "code_departement", SYNTHESE: "maille_geographique"}
TODAY = date.today()
EXPORT_RESULTATS = ("code_sp_du_resultat;intitule_du_reseau;typologie;code_sp_structure;intitule_de_la_structure;"
                    "code_sp_de_l_indicateur;titre_original_de_l_indicateur;date_de_debut_de_l_evaluation;"
                    "duree_de_l_evaluation;frequence;valeur;valeur_attendue;satisfait;insatisfait;"
                    "ne_se_prononce_pas;date_de_mise_a_jour;actif")


def sample_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def territory_codes(path: Path) -> set[str]:
    return {row[TERRITORY_COLUMN[path]] for row in sample_rows(path)}


def national_values() -> int:
    """The synthèse's values: one per indicator and date (it repeats some indicators under a second label)."""
    return len({(row["id_indicateur"], row["date_valeur_actuelle"]) for row in sample_rows(SYNTHESE)})


def import_samples(con) -> None:
    for path in (DEPARTEMENTAL, SYNTHESE):
        report = importer.import_path(con, path, rights.COMMAND_LINE)
        assert report.outcome == "importe", report.problems


@pytest.fixture
def demo(con):
    """40 demonstration structures (seed 3), before any open data."""
    load_demo(con, rights.COMMAND_LINE, 40, seed=3, today=TODAY)
    return con


def assessed(con) -> compliance.Assessment:
    return compliance.assess(con, compliance.resolve_window(con, None, TODAY), rights.COMMAND_LINE, today=TODAY)


def services_file(tmp_path: Path) -> Path:
    """S1 in the SP+ « export-resultats » layout: one value of the référentiel (decroche) and one of an indicator
    the référentiel does not define (IND-RAPPEL, created by the import)."""
    return write_csv(tmp_path / "export-resultats.csv", [
        EXPORT_RESULTATS,
        "S1-decroche-1;CAF;;S1;Accueil de Lyon;decroche;Taux de décroché;2025-01-01;1;mensuelle;85;;;;;"
        "2025-02-01;Oui",
        "S1-rappel-1;CAF;;S1;Accueil de Lyon;IND-RAPPEL;Rappels sous 48 h;2025-01-01;1;mensuelle;72,5;80;;;;"
        "2025-02-01;Oui",
    ])


# --- Territories never count as structures -------------------------------------------------------------------


def test_the_baromètre_samples_leave_comparison_totals_and_levels_unchanged(demo):
    before = assessed(demo)
    comparison_before = views.comparison(before, TODAY)
    import_samples(demo)
    # 101 départements and the national figures: every one a row of structure, as a territory.
    assert count(demo, "SELECT count(*) FROM structure WHERE territorial") == len(
        territory_codes(DEPARTEMENTAL) | territory_codes(SYNTHESE))
    after = assessed(demo)
    assert len(after.structures) == len(before.structures) == 40
    assert after.structures["level"].tolist() == before.structures["level"].tolist()
    assert len(after.indicators) == len(before.indicators)
    comparison_after = views.comparison(after, TODAY)
    assert comparison_after.counts.to_dict() == comparison_before.counts.to_dict()
    assert comparison_after.ranking["Code"].tolist() == comparison_before.ranking["Code"].tolist()
    assert comparison_after.engagement_matrix.equals(comparison_before.engagement_matrix)


def test_status_text_and_json_are_unchanged_by_the_samples(demo, run_cli):
    table_before, json_before = run_cli("status"), run_cli("status", "--format", "json")
    import_samples(demo)
    assert run_cli("status") == table_before
    assert run_cli("status", "--format", "json") == json_before
    codes = {s["code"] for s in json.loads(json_before[1])["structures"]}
    assert len(codes) == 40 and not codes & territory_codes(DEPARTEMENTAL)


def test_a_territory_is_no_structure_for_the_rights_the_pickers_and_the_command_line(demo, run_cli):
    import_samples(demo)
    with pytest.raises(rights.AccessRefused, match="Structure inconnue : « 2A »"):
        rights.check_structure(demo, rights.COMMAND_LINE, "2A")
    code, _, err = run_cli("status", "--structure", "2A")
    assert code == 2 and "Structure inconnue : « 2A »" in err
    listed = db.query_df(demo, "structures_list")
    assert len(listed) == 40 and "national" not in set(listed["code"])
    _, grantable = grants.choices(demo, rights.COMMAND_LINE)
    assert len(grantable) == 40 and not set(grantable["code"]) & territory_codes(DEPARTEMENTAL)
    with pytest.raises(grants.GrantError, match="national"):
        grants.grant(demo, rights.COMMAND_LINE, email="lea@exemple.fr", role=rights.READER, networks=(),
                     structures=("national",))
    # A reader of a network sees its structures, never a territory (they have no network).
    reader = rights.Access(rights.Person("Léa"), frozenset({rights.READER}), frozenset({"CAF"}))
    assert not set(rights.codes_filter(demo, reader)) & territory_codes(DEPARTEMENTAL)


def test_an_unnamed_structure_is_listed_by_its_code(demo):
    # A row from before names were required: the pages show its code, never « nan ».
    demo.cursor().execute("UPDATE structure SET name = NULL WHERE code = 'CAF-0001'")
    listed = db.query_df(demo, "structures_list").set_index("code")
    assert listed.loc["CAF-0001", "name"] == "CAF-0001"


# --- The canonical export ------------------------------------------------------------------------------------


def export_bytes(run_cli, output: Path, *db_args) -> bytes:
    code, _, err = run_cli("export", "--format", "csv", "--output", output, *db_args)
    assert code == 0, err
    return output.read_bytes()


def test_canonical_export_leaves_territories_out_and_reimports_without_turning_them_into_services(
        demo, run_cli, tmp_path):
    before = export_bytes(run_cli, tmp_path / "avant.csv")
    import_samples(demo)
    first = export_bytes(run_cli, tmp_path / "export-1.csv")
    assert first == before  # the services' values, exactly as before the open data came
    fresh = tmp_path / "fraiche.duckdb"
    code, _, err = run_cli("import", tmp_path / "export-1.csv", "--db", fresh)
    assert code == 0, err
    other = db.connect(fresh)
    assert count(other, "SELECT count(*) FROM structure") == 40
    assert count(other, "SELECT count(*) FROM structure WHERE territorial") == 0
    assert export_bytes(run_cli, tmp_path / "export-2.csv", "--db", fresh) == first


def test_open_data_indicators_of_a_service_come_back_from_the_canonical_export(con, run_cli, tmp_path):
    assert run_cli("import", services_file(tmp_path))[0] == 0
    table = canonical_table(con)
    assert "libelle_indicateur" in table.column_names and "valeur_attendue" in table.column_names
    first = export_bytes(run_cli, tmp_path / "export-1.csv")
    fresh = tmp_path / "fraiche.duckdb"
    code, _, err = run_cli("import", tmp_path / "export-1.csv", "--db", fresh)
    assert code == 0, err
    assert export_bytes(run_cli, tmp_path / "export-2.csv", "--db", fresh) == first
    assert db.connect(fresh).cursor().execute("SELECT label FROM extra_indicator").fetchall() == [
        ("Rappels sous 48 h",)]


# --- Their own view ------------------------------------------------------------------------------------------


def test_territories_are_listed_with_their_values_indicators_and_last_period(demo):
    import_samples(demo)
    found = territories.listing(demo, rights.COMMAND_LINE).set_index("code")
    assert set(found.index) == territory_codes(DEPARTEMENTAL) | territory_codes(SYNTHESE)
    corse = [row for row in sample_rows(DEPARTEMENTAL) if row["code_departement"] == "2A"]
    assert found.loc["2A", "name"] == corse[0]["libelle_departement"]
    assert found.loc["2A", "n_indicators"] == len({row["id_indicateur"] for row in corse})
    assert found.loc["2A", "last_period_end"].date() == max(date.fromisoformat(row["date"]) for row in corse)
    assert found.loc["national", "n_values"] == national_values()
    assert found.loc["national", "name"] == "national"  # no name in the file: its code


def test_a_territory_s_values_are_read_in_french_formats(demo):
    import_samples(demo)
    first = sample_rows(SYNTHESE)[0]
    values = territories.values(demo, rights.COMMAND_LINE, first["maille_geographique"])
    assert len(values) == national_values()
    row = values[values["label"] == first["indicateur"]].iloc[0]
    assert row["period"] == format_date(date.fromisoformat(first["date_valeur_actuelle"]))  # one day: one date
    assert row["value"] == float(first["valeur_actuelle"]) and row["unit"] == first["unite"]
    shown = territories.values_table(values)
    assert list(shown.columns) == ["Indicateur", "Période", "Valeur", "Unité"]
    assert shown.loc[values.index[values["label"] == first["indicateur"]][0], "Valeur"] == format_number_fr(
        float(first["valeur_actuelle"]), 3, trim=True)
    assert territories.values(demo, rights.COMMAND_LINE, "CAF-0001").empty  # a structure is no territory
    assert territories.period_text(date(2025, 1, 1), date(2025, 3, 31)) == "01/01/2025 – 31/03/2025"


def test_every_person_with_a_grant_sees_the_territories_and_nobody_else(demo):
    import_samples(demo)
    director = rights.Access(rights.Person("Claire"), frozenset({rights.DIRECTOR}), structures=frozenset({"CAF-0001"}))
    assert len(territories.listing(demo, director)) == len(territories.listing(demo, rights.COMMAND_LINE))
    assert not territories.values(demo, director, "01").empty
    nobody = rights.Access(rights.Person("Jean"))
    assert territories.listing(demo, nobody).empty and territories.values(demo, nobody, "01").empty


# --- « Autres indicateurs » ----------------------------------------------------------------------------------


def test_other_indicators_are_the_values_outside_the_referentiel_within_the_scope(con, tmp_path):
    assert importer.import_path(con, services_file(tmp_path), rights.COMMAND_LINE).outcome == "importe"
    other = territories.other_indicators(con, rights.COMMAND_LINE, "S1")
    assert other.to_dict("records") == [
        {"label": "Rappels sous 48 h", "period": "01/01/2025 – 31/01/2025", "value": 72.5, "unit": None}]
    own = rights.Access(rights.Person("Claire"), frozenset({rights.DIRECTOR}), structures=frozenset({"S1"}))
    assert len(territories.other_indicators(con, own, "S1")) == 1
    stranger = rights.Access(rights.Person("Paul"), frozenset({rights.DIRECTOR}), structures=frozenset({"S9"}))
    assert territories.other_indicators(con, stranger, "S1").empty
    assert territories.other_indicators(con, rights.COMMAND_LINE, "INCONNUE").empty
    assert list(territories.other_indicators(con, stranger, "S1").columns) == list(territories.VALUE_COLUMNS)


def test_a_structure_with_referentiel_values_only_has_no_other_indicators(demo):
    assert territories.other_indicators(demo, rights.COMMAND_LINE, "CAF-0001").empty


# --- The preview sentence ------------------------------------------------------------------------------------


def staged_of(con, path: Path):
    prepared = importer.prepare(con, [importer.Source(path.name, path=path)]).files[0]
    assert prepared.ready, prepared.report.problems
    return prepared.staged


@pytest.mark.parametrize("path", [DEPARTEMENTAL, SYNTHESE], ids=["departemental", "synthese"])
def test_the_preview_counts_the_territories_and_the_indicators_outside_the_referentiel(con, path):
    catalog = importer.catalog_of(con)
    places = len(territory_codes(path))
    outside = len({row["id_indicateur"] for row in sample_rows(path)
                   if catalog.referentiel.indicator(row["id_indicateur"]) is None})
    expected = (f"Ce fichier décrit {format_count(places, 'territoire')} et {format_count(outside, 'indicateur')} "
                "hors référentiel ; ils ne comptent pas dans les niveaux.")
    assert territories.preview_sentence(staged_of(con, path), catalog) == expected


def test_the_preview_of_one_territory_and_one_indicator_speaks_in_the_singular(con, tmp_path):
    path = write_csv(tmp_path / "IND-1.csv", [
        "indic_id,enforce_zone_id,metric_enforce_date,maille,indic_vi,indic_va,indic_vc,indic_ta",
        "IND-1,D01,2022-12-31,departement,10,12.5,20,0.6",
    ], encoding="utf-8")
    assert territories.preview_sentence(staged_of(con, path), importer.catalog_of(con)) == (
        "Ce fichier décrit 1 territoire et 1 indicateur hors référentiel ; ils ne comptent pas dans les niveaux.")


def test_the_preview_of_services_says_when_indicators_are_shown_apart(con, tmp_path):
    catalog = importer.catalog_of(con)
    assert territories.preview_sentence(staged_of(con, services_file(tmp_path)), catalog) == (
        "Ce fichier contient 1 indicateur hors référentiel : il est montré à part (« Autres indicateurs ») et "
        "ne compte pas dans les niveaux.")
    only_referentiel = write_csv(tmp_path / "valeurs.csv", [
        "code_structure;nom_structure;reseau;code_indicateur;debut_periode;fin_periode;valeur;numerateur;"
        "denominateur;effectif",
        "S1;Accueil de Lyon;CAF;decroche;2025-01-01;2025-01-31;85;;;",
    ])
    assert territories.preview_sentence(staged_of(con, only_referentiel), catalog) is None


# --- The page « Structures et imports » ----------------------------------------------------------------------


def test_the_page_lists_the_territories_apart_and_shows_one_s_values(db_path):
    con = db.connect(db_path)
    load_demo(con, rights.COMMAND_LINE, 40, seed=3, today=TODAY)
    import_samples(con)
    at = open_app_page("pages/donnees.py")
    assert {m.label: m.value for m in at.metric}["Structures"] == "40"  # the territories are not counted
    assert [s.value for s in at.subheader] == ["Structures", "Territoires (open data)", "Historique des imports"]
    n_territories = len(territory_codes(DEPARTEMENTAL) | territory_codes(SYNTHESE))
    assert at.caption[0].value.startswith(f"{n_territories} territoires décrits")
    listing, values = at.dataframe[1].value, at.dataframe[2].value
    assert len(listing) == n_territories and list(listing.columns) == [
        "Code", "Nom", "Valeurs", "Indicateurs", "Dernière période"]
    assert len(at.dataframe[0].value) == 40  # the structures' table holds no territory
    picker = at.selectbox(key="territory")
    assert picker.label == "Valeurs du territoire" and len(picker.options) == n_territories
    assert set(values["Indicateur"]) <= set(territories.values(con, rights.COMMAND_LINE, picker.value)["label"])

    picker.set_value("national").run()
    assert not at.exception
    national = at.dataframe[2].value
    assert len(national) == national_values()
    first = sample_rows(SYNTHESE)[0]
    shown = national[national["Indicateur"] == first["indicateur"]].iloc[0]
    assert (shown["Période"], shown["Unité"]) == (
        format_date(date.fromisoformat(first["date_valeur_actuelle"])), first["unite"])


def test_a_values_file_about_services_may_not_name_a_territory(con, tmp_path):
    """Values filed under « national » would be hidden (territories are no structures) and mixed with the open
    data: the file is refused, in French, and nothing is stored."""
    importer.import_path(con, SYNTHESE, rights.COMMAND_LINE)
    before = count(con, "SELECT count(*) FROM observation")
    path = write_csv(tmp_path / "services.csv", ["code_structure;code_indicateur;debut_periode;fin_periode;valeur",
                                                  "national;decroche;2025-01-01;2025-01-31;80"])
    report = importer.import_path(con, path, rights.COMMAND_LINE)
    assert report.outcome == "refuse"
    assert [(p.rule, p.value) for p in report.problems] == [("structure_pas_territoire", "national")]
    assert "territoire de l'open data" in report.problems[0].describe()
    assert count(con, "SELECT count(*) FROM observation") == before


def test_mon_service_shows_the_other_indicators_apart(db_path, tmp_path):
    con = db.connect(db_path)
    assert importer.import_path(con, services_file(tmp_path), rights.COMMAND_LINE).outcome == "importe"
    at = open_app_page("pages/mon_service.py")
    at.selectbox(key="structure").select("S1").run()
    assert not at.exception, at.exception
    assert "Autres indicateurs (hors référentiel)" in [h.value for h in at.subheader]
    shown = next(d.value for d in at.dataframe if "Rappels sous 48 h" in d.value.to_string())
    assert "72,5" in shown.to_string()
