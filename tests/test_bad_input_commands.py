"""Bad input, round two, at the command line: silent wrong values, the database file itself, settings, periods
and paths. Each test names the defect it pins down; every refusal is French and changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import PROJECT, canonical, count, snapshot, write_csv
from indicators import db, importer, rights


def run_process(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command as people script it: a real process, its own interpreter."""
    import os

    return subprocess.run([sys.executable, "-m", "indicators", *map(str, args)], cwd=PROJECT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def values(con) -> list[tuple]:
    return con.cursor().execute("SELECT structure_code, indicator_code, period_start, value FROM observation "
                                "ORDER BY structure_code, indicator_code, period_start").fetchall()


# Silent wrong values


def test_rate_computed_from_its_counts_is_not_rescaled_as_a_proportion(con, tmp_path):
    # 3 answered calls out of 1 000: 100 × 3 / 1 000 = 0,3 %, not 30 %.
    path = canonical(tmp_path / "peu.csv", ["S1;;;decroche;2025-01-01;2025-01-31;;3;1000;"])
    report = importer.import_path(con, path, rights.COMMAND_LINE)
    assert report.outcome == "importe"
    assert values(con)[0][3] == pytest.approx(0.3)
    assert not any("proportions" in w for w in report.warnings)


def test_only_written_rates_are_rescaled_and_the_warning_names_them(con, tmp_path):
    # Written 0,853 → 85,3 %; computed 3 / 1 000 = 0,3 % stays; the warning names the indicator and the count.
    path = canonical(tmp_path / "mixte.csv", ["S1;;;decroche;2025-01-01;2025-01-31;0,853;;;",
                                              "S1;;;decroche;2025-02-01;2025-02-28;;3;1000;"])
    report = importer.import_path(con, path, rights.COMMAND_LINE)
    assert [v[3] for v in values(con)] == [pytest.approx(85.3), pytest.approx(0.3)]
    warning, = [w for w in report.warnings if "proportions" in w]
    assert "« Taux de décroché »" in warning and "1 valeur," in warning and "0,853 → 85,3\u202f%" in warning


def test_barometre_rows_with_the_same_value_but_another_target_are_a_conflict(con, tmp_path):
    before = snapshot(con)
    path = write_csv(tmp_path / "IND-1.csv", [
        "indic_id,enforce_zone_id,metric_enforce_date,maille,indic_vi,indic_va,indic_vc,indic_ta",
        "IND-1,D01,2022-12-31,departement,10,12.5,20,0.6",
        "IND-1,D01,2022-12-31,departement,10,12.5,25,0.6",
    ], encoding="utf-8")
    report = importer.import_path(con, path, rights.COMMAND_LINE)
    assert report.outcome == "refuse"
    assert [(p.rule, p.line) for p in report.problems] == [("observation_unique_dans_le_fichier", 3)]
    assert snapshot(con) == before


def test_barometre_identical_repeats_are_still_read_once(con, tmp_path):
    path = write_csv(tmp_path / "IND-1.csv", [
        "indic_id,enforce_zone_id,metric_enforce_date,maille,indic_vi,indic_va,indic_vc,indic_ta",
        "IND-1,D01,2022-12-31,departement,10,12.5,20,0.6",
        "IND-1,D01,2022-12-31,departement,10,12.5,20,0.6",
    ], encoding="utf-8")
    report = importer.import_path(con, path, rights.COMMAND_LINE)
    assert report.outcome == "importe" and report.rows_added == 1
    assert any("1 ligne répétée à l'identique" in w and "a été lue une seule fois" in w for w in report.warnings)


# Periods out of range


@pytest.mark.parametrize("start", ["0000-01-01", "0001-01-01", "01/01/0000", "2200-01-01"])
def test_a_date_outside_plausible_years_is_refused_in_french(con, tmp_path, run_cli, start):
    before = snapshot(con)
    path = canonical(tmp_path / "annee.csv", [f"S1;;;decroche;{start};2025-01-31;85;;;"])
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "L'année sort des années possibles" in err and "entre 1900 et 2199" in err
    assert "Erreur inattendue" not in err
    assert snapshot(con) == before


@pytest.mark.parametrize("period, said", [("0000", "Année impossible"), ("0000-T1", "Année impossible"),
                                          ("1850-03", "Année impossible"), ("10000", "Période non reconnue")])
def test_status_with_an_impossible_year_is_a_usage_error(con, run_cli, period, said):
    code, out, err = run_cli("status", "--period", period)
    assert (code, out) == (2, "")
    assert err.startswith(f"{said} : « {period} »")


def test_an_evaluation_ending_beyond_the_possible_years_is_refused(con, tmp_path, run_cli):
    # Starts in December 2199, lasts a quarter: it would end in February 2200.
    path = write_csv(tmp_path / "export-resultats.csv", [
        "code_sp_structure;code_sp_de_l_indicateur;date_de_debut_de_l_evaluation;frequence;"
        "duree_de_l_evaluation;valeur",
        "S1;IND-27;2199-12-01;trimestrielle;3;85",
        "S1;IND-27;2199-12-01;inconnue;3;85"])
    before = snapshot(con)
    code, _, err = run_cli("import", path)
    assert code == 1
    assert err.count("L'année sort des années possibles") == 2 and "Erreur inattendue" not in err
    assert snapshot(con) == before


# The database file itself


def test_export_onto_the_database_or_its_wal_is_refused_and_the_base_survives(con, tmp_path, run_cli, db_path):
    run_cli("import", canonical(tmp_path / "a.csv", ["S1;;;decroche;2025-01-01;2025-01-31;85;;;"]))
    for output in (db_path, Path(f"{db_path}.wal")):
        code, _, err = run_cli("export", "--format", "csv", "--output", output)
        assert code == 2
        assert "est la base de données elle-même" in err
    db.close_all()
    assert count(db.connect(db_path), "SELECT count(*) FROM observation") == 1


def test_a_csv_given_as_the_database_is_refused_and_left_untouched(tmp_path):
    data = canonical(tmp_path / "valeurs.csv", ["S1;;;decroche;2025-01-01;2025-01-31;85;;;"])
    content = data.read_bytes()
    result = run_process("import", data, "--db", data)
    assert result.returncode == 2
    assert "n'est pas une base DuckDB" in result.stderr and "importé" not in result.stdout
    assert data.read_bytes() == content


def test_a_damaged_database_gives_a_french_message_not_a_traceback(tmp_path):
    path = tmp_path / "abimee.duckdb"
    db.connect(path)
    db.close(path)
    with open(path, "r+b") as f:  # past the header, into the first data block
        f.seek(5000)
        f.write(b"\xff" * 3000)
    result = run_process("history", "--db", path)
    assert result.returncode == 1
    assert "est endommagée ou illisible" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_given_as_the_database_is_a_usage_error(run_cli, tmp_path):
    code, _, err = run_cli("history", "--db", tmp_path)
    assert code == 2 and "est un dossier" in err


def test_lock_timeout_with_decimals_is_accepted_as_its_help_says(tmp_path):
    result = run_process("history", "--db", tmp_path / "b.duckdb", env={"INDICATEURS_LOCK_TIMEOUT": "2.5"})
    assert (result.returncode, result.stdout.strip()) == (0, "Aucun import.")
    result = run_process("history", "--db", tmp_path / "b.duckdb", env={"INDICATEURS_LOCK_TIMEOUT": "2,5"})
    assert result.returncode == 0


@pytest.mark.parametrize("variable, value", [("INDICATEURS_LOCK_TIMEOUT", "deux"), ("INDICATEURS_MAX_ROWS", "2.5"),
                                             ("INDICATEURS_MAX_FILE_MB", "-1")])
def test_a_setting_that_its_help_does_not_allow_is_refused_in_french(tmp_path, variable, value):
    result = run_process("history", "--db", tmp_path / "b.duckdb", env={variable: value})
    assert result.returncode == 2
    assert f"Réglage {variable} invalide : « {value} »" in result.stderr
    assert "Traceback" not in result.stderr


# Paths and sizes


@pytest.mark.parametrize("where, message", [("absent/sortie.csv", "n'existe pas"), (".", "est un dossier")])
def test_an_output_path_that_cannot_be_written_says_why(run_cli, tmp_path, where, message):
    code, _, err = run_cli("export", "--format", "csv", "--output", tmp_path / where)
    assert code == 2 and message in err
    assert "Erreur inattendue" not in err


def test_a_file_above_the_size_limit_is_refused_before_it_is_read(con, tmp_path, run_cli, monkeypatch):
    path = tmp_path / "gros.csv"
    with open(path, "wb") as f:
        f.truncate(3 * 1024 * 1024)  # 3 Mo of zeros, sparse: nothing to read if the size is judged first
    monkeypatch.setenv("INDICATEURS_MAX_FILE_MB", "2")

    def no_read(self):
        raise AssertionError("the file was read before its size was checked")
    monkeypatch.setattr(Path, "read_bytes", no_read)
    before = snapshot(con)
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "dépasse la taille maximale" in err and "trouvé « 3 Mo »" in err and "au plus 2 Mo" in err
    assert snapshot(con) == before


@pytest.mark.parametrize("args, said", [
    ((), "arguments obligatoires manquants : COMMANDE"),
    (("status", "--format", "xml"), "argument --format : « xml » n'est pas un choix possible"),
    (("import",), "arguments obligatoires manquants : FICHIER"),
    (("status", "--inconnu"), "arguments non reconnus : --inconnu"),
    (("status", "--structure"), "argument --structure : une valeur est attendue"),
    (("demo", "--structures", "abc"), "argument --structures : « abc » n'est pas une valeur possible"),
])
def test_usage_errors_and_help_are_in_french(run_cli, args, said):
    code, out, err = run_cli(*args)
    assert code == 2
    assert err.startswith("utilisation : python -m indicators") and f"Erreur d'utilisation : {said}" in err, err
    assert not any(word in err for word in ("usage:", "required", "invalid", "unrecognized", "expected"))


def test_help_is_in_french(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0
    assert out.startswith("utilisation : ") and "arguments :" in out and "afficher cette aide et quitter" in out
    assert not any(word in out for word in ("usage:", "positional arguments", "show this help"))
