"""Storing imports: idempotence, replace with history, undo, concurrency, crashes and a busy database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from helpers import PROJECT, canonical, count, snapshot
from indicators import db, importer, rights

ROWS = [
    "S1;Accueil Lyon;CAF;decroche;2025-01-01;2025-01-31;85,3;853;1000;",
    "S1;Accueil Lyon;CAF;satisfaction_globale;2025-01-01;2025-03-31;80;96;120;120",
    "S2;Accueil Caen;Urssaf;delai_courriels;2025-01-01;2025-01-31;3,5;;;40",
]


def stored_value(con, structure, indicator, start):
    rows = con.cursor().execute(
        "SELECT value FROM observation WHERE structure_code = ? AND indicator_code = ? AND period_start = ?",
        [structure, indicator, start]).fetchall()
    return [r[0] for r in rows]


def test_import_records_every_value_with_its_import_and_line(con, tmp_path):
    report = importer.import_path(con, canonical(tmp_path / "a.csv", ROWS), rights.COMMAND_LINE)
    assert report.outcome == "importe" and report.rows_added == 3 and report.structures_added == 2
    rows = con.cursor().execute(
        "SELECT structure_code, indicator_code, import_id, source_line FROM observation ORDER BY source_line"
    ).fetchall()
    assert rows == [("S1", "decroche", report.import_id, 2), ("S1", "satisfaction_globale", report.import_id, 3),
                    ("S2", "delai_courriels", report.import_id, 4)]


def test_same_content_twice_changes_nothing_and_says_so(con, tmp_path, run_cli):
    path = canonical(tmp_path / "a.csv", ROWS)
    assert run_cli("import", path)[0] == 0
    before = snapshot(con)
    code, out, _ = run_cli("import", path)
    assert code == 0
    assert "déjà importé" in out and "rien n'a changé" in out
    assert snapshot(con) == before


def test_same_values_in_another_file_are_counted_unchanged(con, tmp_path):
    importer.import_path(con, canonical(tmp_path / "a.csv", ROWS), rights.COMMAND_LINE)
    report = importer.import_path(con, canonical(tmp_path / "b.csv", ROWS[:2] + ["S3;Accueil Pau;CAF;decroche;"
                                                                                 "2025-01-01;2025-01-31;90;;;"]),
                                  rights.COMMAND_LINE)
    assert (report.rows_added, report.rows_unchanged, report.rows_replaced) == (1, 2, 0)


def test_restated_value_is_refused_without_replace(con, tmp_path, run_cli):
    run_cli("import", canonical(tmp_path / "a.csv", ROWS))
    before = snapshot(con)
    changed = canonical(tmp_path / "b.csv", ["S1;Accueil Lyon;CAF;decroche;2025-01-01;2025-01-31;88;880;1000;"])
    code, _, err = run_cli("import", changed)
    assert code == 1
    assert "Une autre valeur est déjà enregistrée" in err and "ligne 2" in err and "--replace" in err
    assert snapshot(con) == before


def test_replace_keeps_the_old_value_as_history(con, tmp_path, run_cli):
    run_cli("import", canonical(tmp_path / "a.csv", ROWS))
    changed = canonical(tmp_path / "b.csv", ["S1;Accueil Lyon;CAF;decroche;2025-01-01;2025-01-31;88;880;1000;"])
    code, out, _ = run_cli("import", changed, "--replace")
    assert code == 0 and "1 remplacée" in out
    assert stored_value(con, "S1", "decroche", "2025-01-01") == [88.0]
    history = con.cursor().execute("SELECT value, import_id, replaced_by FROM observation_history").fetchall()
    assert history == [(85.3, 1, 2)]


def test_undo_restores_replaced_values(con, tmp_path, run_cli):
    run_cli("import", canonical(tmp_path / "a.csv", ROWS))
    before = snapshot(con)
    run_cli("import", canonical(tmp_path / "b.csv", ["S1;Accueil Lyon;CAF;decroche;2025-01-01;2025-01-31;88;880;"
                                                     "1000;", "S9;Nouvelle;CAF;decroche;2025-01-01;2025-01-31;70;;;"]),
            "--replace")
    code, out, _ = run_cli("undo", "2")
    assert code == 0 and "annulé" in out
    assert stored_value(con, "S1", "decroche", "2025-01-01") == [85.3]
    after = snapshot(con)
    assert after["observation"] == before["observation"]
    assert after["structure"] == before["structure"]  # S9, created by the undone import, is gone
    assert count(con, "SELECT count(*) FROM observation_history") == 0
    statuses = [r["status"] for r in importer.history(con, rights.COMMAND_LINE)]
    assert statuses == ["annule", "importe"]


def test_undo_of_an_import_a_later_one_relies_on_is_refused(con, tmp_path, run_cli):
    run_cli("import", canonical(tmp_path / "a.csv", ROWS))
    run_cli("import", canonical(tmp_path / "b.csv", ["S1;Accueil Lyon;CAF;decroche;2025-01-01;2025-01-31;88;880;"
                                                     "1000;"]), "--replace")
    before = snapshot(con)
    code, _, err = run_cli("undo", "1")
    assert code == 1 and "annulez d'abord l'import n°2" in err
    assert snapshot(con) == before


def test_undone_file_can_be_imported_again(con, tmp_path, run_cli):
    path = canonical(tmp_path / "a.csv", ROWS)
    run_cli("import", path)
    run_cli("undo", "1")
    code, out, _ = run_cli("import", path)
    assert code == 0 and "import n°2" in out
    assert count(con, "SELECT count(*) FROM observation") == 3


def test_dry_run_reports_counts_and_stores_nothing(con, tmp_path, run_cli):
    before = snapshot(con)
    code, out, _ = run_cli("import", canonical(tmp_path / "a.csv", ROWS), "--dry-run")
    assert code == 0 and "serait importé" in out and "3 valeurs ajoutées" in out
    assert snapshot(con) == before


def test_history_json_lists_imports_newest_first(con, tmp_path, run_cli):
    run_cli("import", canonical(tmp_path / "a.csv", ROWS[:1]))
    run_cli("import", canonical(tmp_path / "b.csv", ROWS[1:]))
    code, out, _ = run_cli("history", "--format", "json")
    imports = json.loads(out)
    assert code == 0 and [i["id"] for i in imports] == [2, 1]
    for key in ("id", "filename", "sha256", "status", "rows_added", "rows_replaced", "created_at"):
        assert key in imports[0]
    assert imports[0]["filename"] == "b.csv" and imports[0]["rows_added"] == 2 and len(imports[0]["sha256"]) == 64


def test_undo_of_unknown_import_says_so(run_cli):
    code, _, err = run_cli("undo", "42")
    assert code == 1 and "Aucun import n°42" in err


def test_structures_register_updates_without_touching_observations(con, tmp_path, run_cli):
    run_cli("import", canonical(tmp_path / "a.csv", ROWS))
    observations = snapshot(con)["observation"]
    register = tmp_path / "structures.csv"
    register.write_text("code_structure;nom_structure;reseau;departement;region;niveau_label;date_label\n"
                        "S1;CAF du Rhône – Lyon;CAF;69;Auvergne-Rhône-Alpes;argent;2024-03-15\n"
                        "S5;CAF de l'Ain;CAF;01;Auvergne-Rhône-Alpes;;\n", encoding="utf-8")
    code, out, _ = run_cli("import", register)
    assert code == 0 and "1 structure ajoutée, 1 mise à jour" in out
    assert snapshot(con)["observation"] == observations
    row = con.cursor().execute("SELECT name, departement, label_level, label_awarded_on::VARCHAR FROM structure "
                               "WHERE code = 'S1'").fetchall()[0]
    assert row == ("CAF du Rhône – Lyon", "69", "argent", "2024-03-15")
    run_cli("undo", "2")
    assert con.cursor().execute("SELECT name, label_level FROM structure WHERE code = 'S1'").fetchall() == [
        ("Accueil Lyon", None)]
    assert count(con, "SELECT count(*) FROM structure WHERE code = 'S5'") == 0


def test_two_threads_importing_at_once_are_serialised(con, tmp_path):
    first = canonical(tmp_path / "a.csv", [f"T{i};Structure {i};CAF;decroche;2025-01-01;2025-01-31;85;;;"
                                           for i in range(2000)])
    second = canonical(tmp_path / "b.csv", [f"T{i};Structure {i};CAF;decroche;2025-01-01;2025-01-31;70;;;"
                                            for i in range(2000)])
    reports = {}

    def run(path):
        reports[path.name] = importer.import_path(con, path, rights.COMMAND_LINE)

    threads = [threading.Thread(target=run, args=(p,)) for p in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = sorted(r.outcome for r in reports.values())
    # Same keys, other values: whichever lands second is refused whole, never interleaved.
    assert outcomes == ["importe", "refuse"]
    winner = next(r for r in reports.values() if r.outcome == "importe")
    assert count(con, "SELECT count(DISTINCT import_id) FROM observation") == 1
    assert count(con, "SELECT count(*) FROM observation WHERE import_id = ?", [winner.import_id]) == 2000
    assert count(con, "SELECT count(DISTINCT value) FROM observation") == 1


def test_same_file_from_two_threads_lands_once(con, tmp_path):
    path = canonical(tmp_path / "a.csv", ROWS)
    content = path.read_bytes()
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(importer.import_bytes(con, content, "a.csv",
                                                                                     rights.COMMAND_LINE)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.outcome for r in reports) == ["deja_importe", "importe"]
    assert count(con, "SELECT count(*) FROM import_batch") == 1


def _env(db_path):
    return {**os.environ, "PYTHONPATH": str(PROJECT), "INDICATEURS_DB": str(db_path)}


def test_command_line_waits_then_says_the_database_is_busy(db_path, tmp_path):
    """A program at work on the base (a lease in progress) longer than INDICATEURS_LOCK_TIMEOUT: the command waits
    that long, then says so in French, and stores nothing."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from indicators import db\nwith db.lease(sys.argv[1]):\n"
                               "    print('pret', flush=True); time.sleep(60)", str(db_path)],
        env=_env(db_path), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "pret"
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "indicators", "import",
                                 str(canonical(tmp_path / "a.csv", ROWS))],
                                env={**_env(db_path), "INDICATEURS_LOCK_TIMEOUT": "2"},
                                capture_output=True, text=True, timeout=60)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert "occupée par un autre programme" in result.stderr and "plus de 2 secondes" in result.stderr
    assert "Traceback" not in result.stderr
    assert waited >= 2
    con = db.connect(db_path)
    assert count(con, "SELECT count(*) FROM observation") == 0


def test_a_program_that_holds_the_base_idle_gives_it_up_to_the_command_line(db_path, tmp_path):
    """The dashboard keeps its connection open between runs; a command that asks for the base gets it at once, and
    the dashboard's next read waits for the command, then sees what it stored."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from indicators import db\ncon = db.connect(sys.argv[1])\n"
                               "print('pret', flush=True)\nsys.stdin.readline()\n"
                               "with db.lease(sys.argv[1]) as con:\n"
                               "    print(con.execute('SELECT count(*) FROM observation').fetchall()[0][0],"
                               " flush=True)",
         str(db_path)],
        env=_env(db_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "pret"
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "indicators", "import",
                                 str(canonical(tmp_path / "a.csv", ROWS))],
                                env={**_env(db_path), "INDICATEURS_LOCK_TIMEOUT": "5"},
                                capture_output=True, text=True, timeout=60)
        waited = time.monotonic() - started
        holder.stdin.write("\n")
        holder.stdin.flush()
        seen = holder.stdout.readline().strip()
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 0, result.stderr
    assert waited < 5
    assert seen == "3"


def test_killed_import_leaves_the_database_as_before(db_path, tmp_path):
    con = db.connect(db_path)
    importer.import_path(con, canonical(tmp_path / "small.csv", ROWS), rights.COMMAND_LINE)
    before = snapshot(con)
    db.close(db_path)
    big = canonical(tmp_path / "big.csv", [f"B{i % 5000};Structure {i % 5000};CAF;decroche;"
                                           f"{2000 + i // 60000}-{(i // 5000) % 12 + 1:02d}-01;"
                                           f"{2000 + i // 60000}-{(i // 5000) % 12 + 1:02d}-28;{i % 100},5;;;"
                                           for i in range(600_000)])
    script = ("import sys; from pathlib import Path; from indicators import db, importer, rights; "
              "import indicators.importer as m\n"
              "con = db.connect(sys.argv[1])\n"
              "real = m._store_observations\n"
              "def slow(*a, **k):\n"
              "    real(*a, **k); print('ecrit', flush=True); import time; time.sleep(60)\n"
              "m._store_observations = slow\n"
              "importer.import_path(con, Path(sys.argv[2]), rights.COMMAND_LINE)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(db_path), str(big)], env=_env(db_path),
                             stdout=subprocess.PIPE, text=True)
    try:
        # Killed after every row is written inside the transaction, before COMMIT.
        assert child.stdout.readline().strip() == "ecrit"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    con = db.connect(db_path)
    assert snapshot(con) == before


@pytest.mark.parametrize("when", ["during_parse"])
def test_import_killed_while_parsing_changes_nothing(db_path, tmp_path, when):
    con = db.connect(db_path)
    before = snapshot(con)
    db.close(db_path)
    big = canonical(tmp_path / "big.csv", [f"B{i};S{i};CAF;decroche;2025-01-01;2025-01-31;85;;;"
                                           for i in range(400_000)])
    child = subprocess.Popen([sys.executable, "-m", "indicators", "import", str(big)], env=_env(db_path))
    time.sleep(1.5)
    child.send_signal(signal.SIGKILL)
    child.wait()
    con = db.connect(db_path)
    after = snapshot(con)
    # Either the whole file landed (fast machine) or nothing did: never a part of it.
    assert after == before or count(con, "SELECT count(*) FROM observation") == 400_000


def test_batch_of_two_files_with_the_same_content_is_checked_once_and_stored_once(con, tmp_path):
    first, second = canonical(tmp_path / "a.csv", ROWS), canonical(tmp_path / "b.csv", ROWS)
    batch = importer.prepare(con, [importer.Source(p.name, path=p) for p in (first, second)])
    assert [f.duplicate_of for f in batch.files] == [None, "a.csv"]
    assert [f.report.filename for f in batch.ready] == ["a.csv"] and not batch.blocked
    reports = importer.commit(con, batch, rights.COMMAND_LINE)
    assert [r.outcome for r in reports] == ["importe"]
    assert count(con, "SELECT count(*) FROM import_batch") == 1
    again = importer.prepare(con, [importer.Source("c.csv", path=first)])
    assert again.files[0].report.outcome == "deja_importe" and again.files[0].report.previous_import == 1


def test_typed_table_with_a_negative_count_is_refused_like_a_file(con):
    import datetime

    import pyarrow as pa

    day = datetime.date(2025, 1, 1)
    rows = pa.table({"structure_code": ["S1", None], "indicator_code": ["decroche"] * 2, "period_start": [day] * 2,
                     "period_end": [day] * 2, "value": [85.0, 90.0], "numerator": [-1.0, 9.0],
                     "denominator": [10.0, 10.0], "sample_size": [None, None], "expected_value": [None, None],
                     "source_line": [2, 3]}).cast(pa.schema([
                         ("structure_code", pa.string()), ("indicator_code", pa.string()),
                         ("period_start", pa.date32()), ("period_end", pa.date32()),
                         *[(name, pa.float64()) for name in ("value", "numerator", "denominator", "sample_size",
                                                             "expected_value")], ("source_line", pa.int64())]))
    prepared = importer.prepare_table("t", "observations", rows, "t", "demonstration", "essai")
    assert not prepared.ready
    assert [(p.rule, p.line) for p in prepared.report.problems] == [("code_structure_present", 3),
                                                                      ("comptage_positif", 2)]
    missing = importer.prepare_table("t", "observations", rows.drop_columns(["value"]), "t", "demonstration", "essai")
    assert [p.rule for p in missing.report.problems] == ["mise_en_page_reconnue"]
    assert count(con, "SELECT count(*) FROM import_batch") == 0
