"""Backups and restores by the real command: ``sauvegarde`` writes a folder of Parquet files and its manifest,
``restauration`` rebuilds a base that exports byte for byte as the original, with the same history, status and
grants; a backup taken while the dashboard serves an open page; and every refusal, which changes nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from helpers import LYON_ROWS, PROJECT, canonical, chromium, new_page, served
from indicators import backup, cli, db
from indicators.text import format_count, format_number_fr

# Everything a restore must give back as it was: the canonical export (bytes), the import history, the
# assessment, the grants (revoked ones too) and the audit log.
SEEN = {
    "export": ("export", "--format", "csv"),
    "history": ("history", "--format", "json"),
    "status": ("status", "--format", "json"),
    "grants": ("acces", "liste", "--tous", "--format", "json"),
    "journal": ("acces", "journal", "--limite", "10000"),
}


def ok(run_cli, *args) -> str:
    code, out, err = run_cli(*args)
    assert code == 0, out + err
    return out


def seen(run_cli, base: Path, tmp_path: Path) -> dict:
    """What the command line shows of ``base``: each view's output (the export: the file's bytes)."""
    views = {}
    for name, args in SEEN.items():
        if name == "export":
            output = tmp_path / f"export-{base.stem}.csv"
            ok(run_cli, *args, "--output", output, "--db", base)
            views[name] = output.read_bytes()
        else:
            views[name] = ok(run_cli, *args, "--db", base)
    return views


@pytest.fixture(scope="module")
def built_base(tmp_path_factory) -> Path:
    """The demo base (40 structures, two imports), then an import, a second one undone, a replacing import,
    a grant and a revoked one: structures, values, their history, imports, grants, journal and référentiel all
    hold rows. Built once for the module by the real command, copied for each test."""
    folder = tmp_path_factory.mktemp("base")
    base = folder / "indicateurs.duckdb"
    for args in (("demo", "--structures", "40"),
                 ("import", canonical(folder / "lyon.csv", LYON_ROWS)),
                 ("import", canonical(folder / "caen.csv", [LYON_ROWS[-1].replace("S-CAEN", "S-CAEN2")])),
                 ("undo", "4"),
                 ("import", "--replace", canonical(folder / "lyon-bis.csv", [LYON_ROWS[0].replace("84,49", "86")])),
                 ("acces", "ajouter", "--email", "directrice@exemple.gouv.fr", "--role", "directeur",
                  "--structure", "S-LYON"),
                 ("acces", "ajouter", "--email", "lecteur@exemple.gouv.fr", "--role", "lecteur", "--reseau", "CAF"),
                 ("acces", "retirer", "2")):
        assert cli.main([*map(str, args), "--db", str(base)]) == 0, args
    return base


@pytest.fixture
def used_base(built_base, db_path) -> Path:
    shutil.copyfile(built_base, db_path)
    return db_path


def test_a_restored_base_exports_byte_for_byte_as_the_original_with_the_same_history_status_and_grants(
        used_base, run_cli, tmp_path):
    folder, restored = tmp_path / "sauvegarde", tmp_path / "restauree.duckdb"
    out = ok(run_cli, "sauvegarde", "--output", folder, "--db", used_base)
    values = db.connect(used_base).cursor().execute("SELECT count(*) FROM observation").fetchall()[0][0]
    db.close(used_base)
    tables = len(backup.schema_columns())  # 14 today
    assert out.startswith(f"Sauvegarde écrite dans {folder} : {tables} tables, {format_count(values, 'valeur')}, ")
    assert out.endswith(" Mo.\n")
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{t}.parquet" for t in backup.schema_columns()]
                                                              + ["sauvegarde.json"])
    assert not list(tmp_path.glob("sauvegarde.tmp-*"))

    out = ok(run_cli, "restauration", folder, "--db", restored)
    assert out.startswith(f"Base restaurée dans {restored} depuis la sauvegarde du ")

    original, copy = seen(run_cli, used_base, tmp_path), seen(run_cli, restored, tmp_path)
    assert copy["export"] == original["export"] and len(original["export"]) > 100_000
    for view in SEEN:
        assert copy[view] == original[view], view
    # The history as users read it: five imports, the fourth undone; the grants: two, the second revoked.
    history = json.loads(copy["history"])
    assert [(i["id"], i["status"]) for i in history] == [(5, "importe"), (4, "annule"), (3, "importe"),
                                                         (2, "importe"), (1, "importe")]
    grants = json.loads(copy["grants"])
    assert sorted((g["id"], g["revoked_by"] is not None) for g in grants) == [(1, False), (2, True)]


def test_force_replaces_an_existing_base_only_with_a_complete_one(used_base, run_cli, tmp_path):
    folder, other = tmp_path / "sauvegarde", tmp_path / "autre.duckdb"
    ok(run_cli, "sauvegarde", "--output", folder, "--db", used_base)
    ok(run_cli, "demo", "--structures", "3", "--db", other)
    db.close(other)

    ok(run_cli, "restauration", folder, "--db", other, "--force")

    assert sorted(p.name for p in tmp_path.glob("*autre.duckdb*")) == ["autre.duckdb", "autre.duckdb.attente"]
    assert seen(run_cli, other, tmp_path) == seen(run_cli, used_base, tmp_path)


def command_line(*args) -> subprocess.Popen:
    """``python -m indicators …``, the real command in its own process."""
    return subprocess.Popen([sys.executable, "-m", "indicators", *map(str, args)], cwd=PROJECT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(PROJECT)})


# Whatever the page ever shows, even for a moment between two checks: Streamlit's exception box, an error alert,
# the « base occupée » message.
RECORDER = """
window.__errors = [];
new MutationObserver(() => {
  const note = (what) => { if (!window.__errors.includes(what)) window.__errors.push(what); };
  for (const selector of ['[data-testid="stException"]', '[data-testid="stAlertContentError"]']) {
    const found = document.querySelector(selector);
    if (found) note(found.textContent);
  }
  const text = document.body ? document.body.textContent : '';
  if (text.includes('occupée par un autre programme') || text.includes('utilisée par un autre programme'))
    note('base occupée');
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.mark.browser
def test_a_backup_taken_while_the_dashboard_serves_an_open_page_restores_byte_for_byte(used_base, run_cli,
                                                                                        tmp_path):
    folder, restored = tmp_path / "sauvegarde", tmp_path / "restauree.duckdb"
    with served(used_base) as url, chromium() as browser:
        page = new_page(browser)
        page.add_init_script(RECORDER)
        page.goto(url)
        page.get_by_text("Niveau atteignable").wait_for(timeout=120_000)

        saving = command_line("sauvegarde", "--output", folder, "--db", used_base)
        # The page runs again while the backup works, then once more on the base the backup gave back.
        for _ in range(2):
            page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Mon service").click()
            page.get_by_text("Niveau atteignable").first.wait_for(timeout=60_000)
        out, err = saving.communicate(timeout=120)
        assert saving.returncode == 0, err
        assert out.startswith(f"Sauvegarde écrite dans {folder} : ")
        assert page.evaluate("window.__errors") == []  # at no moment

    restoring = command_line("restauration", folder, "--db", restored)
    assert restoring.wait(timeout=120) == 0, restoring.stderr.read()
    assert seen(run_cli, restored, tmp_path) == seen(run_cli, used_base, tmp_path)


@pytest.fixture
def backup_folder(used_base, run_cli, tmp_path) -> Path:
    folder = tmp_path / "sauvegarde"
    ok(run_cli, "sauvegarde", "--output", folder, "--db", used_base)
    return folder


def test_restore_refuses_an_existing_base_without_force_and_leaves_it_as_it_was(backup_folder, run_cli, tmp_path):
    existing = tmp_path / "existante.duckdb"
    existing.write_bytes(b"pas une base, mais un fichier qu'il ne faut pas perdre")

    code, out, err = run_cli("restauration", backup_folder, "--db", existing)

    assert code == 1 and out == ""
    assert f"La base « {existing} » existe déjà : rien n'a été changé. Ajoutez --force" in err
    assert existing.read_bytes() == b"pas une base, mais un fichier qu'il ne faut pas perdre"
    assert sorted(p.name for p in tmp_path.glob("*existante*")) == ["existante.duckdb"]


def rewrite_manifest(folder: Path, change) -> None:
    path = folder / "sauvegarde.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def count_plus_one(manifest: dict) -> None:
    table = next(t for t in manifest["tables"] if t["name"] == "observation")
    table["rows"] += 1


@pytest.mark.parametrize("damage, said", [
    (lambda folder: (folder / "sauvegarde.json").unlink(), "n'est pas une sauvegarde : le fichier sauvegarde.json "
                                                           "est absent"),
    (lambda folder: (folder / "sauvegarde.json").write_text("{", encoding="utf-8"), "sauvegarde.json de"),
    (lambda folder: (folder / "observation.parquet").unlink(), "Fichier manquant : observation.parquet."),
    (lambda folder: (folder / "load.sql").write_text("DROP TABLE observation;", encoding="utf-8"),
     "Fichier en trop : load.sql"),
    (lambda folder: (folder / "structure.parquet").write_bytes(b"PAR1 tronque"), "structure.parquet est illisible"),
    (lambda folder: (folder / "threshold.parquet").write_bytes((folder / "engagement.parquet").read_bytes()),
     "Les colonnes de threshold.parquet ne sont pas celles de la table « threshold »"),
    (lambda folder: rewrite_manifest(folder, count_plus_one), "le manifeste en annonce"),
], ids=["sans manifeste", "manifeste illisible", "parquet retiré", "fichier en trop", "parquet illisible",
        "colonnes autres", "compte changé"])
def test_restore_refuses_a_damaged_backup_and_creates_nothing(backup_folder, run_cli, tmp_path, damage, said):
    target = tmp_path / "nouvelle" / "restauree.duckdb"
    target.parent.mkdir()
    damage(backup_folder)

    code, out, err = run_cli("restauration", backup_folder, "--db", target)

    assert code == 1 and out == ""
    assert said in err and "Rien n'a été restauré." in err
    assert list(target.parent.iterdir()) == []


def test_a_count_changed_in_the_manifest_is_said_with_both_numbers(backup_folder, run_cli, tmp_path):
    rows = next(t["rows"] for t in json.loads((backup_folder / "sauvegarde.json").read_text())["tables"]
                if t["name"] == "observation")
    rewrite_manifest(backup_folder, count_plus_one)

    code, _, err = run_cli("restauration", backup_folder, "--db", tmp_path / "restauree.duckdb")

    assert code == 1
    assert (f"observation.parquet contient {format_count(rows, 'ligne')}, le manifeste en annonce "
            f"{format_number_fr(rows + 1, 0)}") in err


def as_an_older_version_wrote_it(folder: Path, table: str, column: str, dropped_table: str) -> None:
    """The backup an older version of the product wrote: ``column`` of ``table`` and ``dropped_table`` did not
    exist yet (sql/schema.sql only ever adds tables and columns)."""
    parquet = str(folder / f"{table}.parquet")
    with duckdb.connect() as scratch:
        scratch.execute(f"COPY (SELECT * EXCLUDE ({column}) FROM read_parquet($path)) TO $out (FORMAT parquet)",
                        {"path": parquet, "out": f"{parquet}.old"})
    os.replace(f"{parquet}.old", parquet)
    (folder / f"{dropped_table}.parquet").unlink()

    def older(manifest):
        manifest["tables"] = [t for t in manifest["tables"] if t["name"] != dropped_table]
        listed = next(t for t in manifest["tables"] if t["name"] == table)
        listed["columns"] = [c for c in listed["columns"] if c["name"] != column]
    rewrite_manifest(folder, older)


def test_an_older_versions_backup_restores_with_the_new_tables_empty_and_new_columns_at_their_default(
        backup_folder, used_base, run_cli, tmp_path):
    as_an_older_version_wrote_it(backup_folder, "structure", "territorial", "column_mapping")
    restored = tmp_path / "restauree.duckdb"

    out = ok(run_cli, "restauration", backup_folder, "--db", restored)

    assert "n'avait pas ces tables, laissées vides : column_mapping." in out
    # What an upgrade gives an older base: no territory (the column's default), the same export.
    con = db.connect(restored)
    assert con.cursor().execute("SELECT DISTINCT territorial FROM structure").fetchall() == [(False,)]
    db.close(restored)
    assert seen(run_cli, restored, tmp_path)["export"] == seen(run_cli, used_base, tmp_path)["export"]


def test_restore_refuses_a_column_the_schema_does_not_know(backup_folder, run_cli, tmp_path):
    parquet = str(backup_folder / "structure.parquet")
    with duckdb.connect() as scratch:
        scratch.execute("COPY (SELECT *, 'x' AS commande FROM read_parquet($path)) TO $out (FORMAT parquet)",
                        {"path": parquet, "out": f"{parquet}.new"})
    os.replace(f"{parquet}.new", parquet)

    def with_the_column(manifest):
        next(t for t in manifest["tables"] if t["name"] == "structure")["columns"].append(
            {"name": "commande", "type": "VARCHAR"})
    rewrite_manifest(backup_folder, with_the_column)

    code, _, err = run_cli("restauration", backup_folder, "--db", tmp_path / "restauree.duckdb")

    assert code == 1
    assert ("Les colonnes de structure.parquet ne sont pas celles de la table « structure » : commande (VARCHAR) "
            "inconnues du schéma.") in err
    assert not (tmp_path / "restauree.duckdb").exists()


def test_backup_refuses_a_folder_that_holds_anything_and_writes_nothing(used_base, run_cli, tmp_path):
    folder = tmp_path / "sauvegardes"
    folder.mkdir()
    (folder / "notes.txt").write_text("à garder", encoding="utf-8")

    code, out, err = run_cli("sauvegarde", "--output", folder, "--db", used_base)

    assert code == 1 and out == ""
    assert f"Le dossier « {folder} » n'est pas vide" in err and "Rien n'a été écrit." in err
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert not list(tmp_path.glob("sauvegardes.tmp-*"))


def test_backup_into_an_empty_folder_that_exists(used_base, run_cli, tmp_path):
    folder = tmp_path / "vide"
    folder.mkdir()
    ok(run_cli, "sauvegarde", "--output", folder, "--db", used_base)
    assert (folder / "sauvegarde.json").is_file()


@pytest.mark.parametrize("args, said", [
    (("restauration", "DOSSIER"), "arguments obligatoires manquants : --db"),
    (("restauration", "absent", "--db", "x.duckdb"), "Le dossier de sauvegarde « absent » n'existe pas"),
    (("sauvegarde", "--output", "s", "--db", "absente.duckdb"), "La base « absente.duckdb » n'existe pas"),
    (("sauvegarde", "--output", "manque/s"), "Le dossier « manque » n'existe pas"),
    (("sauvegarde", "--output", "s*"), "contient un des caractères"),
])
def test_usage_errors_of_backup_and_restore_exit_2_in_french(used_base, run_cli, tmp_path, monkeypatch, args, said):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*args)
    assert code == 2 and out == ""
    assert said in err
    assert not Path("x.duckdb").exists() and not Path("absente.duckdb").exists()


def test_force_refuses_a_base_another_program_has_open_and_leaves_it_as_it_was(backup_folder, run_cli, tmp_path):
    target = tmp_path / "en-service.duckdb"
    ok(run_cli, "demo", "--structures", "3", "--db", target)
    before = target.read_bytes()
    # Another program (the dashboard, say) holds the base open until it is told to stop.
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('ouverte', flush=True); sys.stdin.read()", str(target)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ouverte"
        code, out, err = run_cli("restauration", backup_folder, "--db", target, "--force")
    finally:
        holder.communicate("", timeout=30)

    assert code == 1 and out == ""
    assert f"La base « {target} » est ouverte par un autre programme" in err
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.glob("*en-service.duckdb*")) == ["en-service.duckdb",
                                                                             "en-service.duckdb.attente"]
