"""Backups (« sauvegarde ») of the base into a folder of Parquet files, and the restore (« restauration ») that
rebuilds a base from one.

A backup is one Parquet file per table of sql/schema.sql, all written inside ONE read transaction on the
process's leased connection (a snapshot: every table as of the same instant), plus a manifest
``sauvegarde.json`` (format version, date, DuckDB version, each table's rows and columns). Why Parquet rather
than a copy of the .duckdb file: any later DuckDB reads it (a copy of the file may not open after an upgrade of
the engine), it is compact, and the dashboard need not stop: the command holds the base for the seconds of the
export only, the open pages wait for it as for an import. Why not DuckDB's EXPORT DATABASE and IMPORT DATABASE:
IMPORT runs the load.sql it finds in the folder, whatever SQL someone put there; the restore here reads only
the Parquet files of an allow-list (the tables of sql/schema.sql), by bound paths, and checks them against the
manifest and the schema before it writes anything.

Both write beside their target and rename at the end: a failed backup leaves no half folder, a failed restore no
half base, and ``--force`` replaces the old base only once the new one is complete."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from indicators import db
from indicators.text import format_count, format_number_fr

MANIFEST = "sauvegarde.json"
FORMAT_NAME, FORMAT_VERSION = "indicateurs-sauvegarde", 1
# DuckDB reads a path holding one of these as a pattern that may match other files: such a folder is refused.
GLOB_CHARACTERS = "*?[]{}"
# The table whose rows are the product's « valeurs » (the summary counts them).
VALUES_TABLE = "observation"


class BackupRefused(Exception):
    """A backup or a restore that cannot be done; ``messages`` in French, every problem found at once."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Summary:
    """What a backup wrote (``path``: its folder) or a restore rebuilt (``path``: the base), said in French."""
    path: Path
    tables: int
    values: int
    size_bytes: int
    taken_at: datetime
    left_empty: tuple[str, ...] = ()  # restore: the schema's tables the backup (an older version's) had not


def schema_columns() -> dict[str, list[tuple[str, str]]]:
    """The allow-list: every table of sql/schema.sql with its columns (name, type), read from the schema itself
    run on an empty in-memory base (the code never takes a table name from a folder)."""
    with duckdb.connect() as scratch:
        scratch.execute(db.sql("schema"))
        return _columns(scratch)


def _columns(con) -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in db.query(con, "backup_columns"):
        tables.setdefault(table, []).append((column, kind))
    return tables


def _parquet(folder: Path, table: str) -> Path:
    return folder / f"{table}.parquet"


def output_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot receive a backup (it holds something: a backup never mixes with another), or None."""
    if folder.is_dir() and any(folder.iterdir()):
        return (f"Le dossier « {folder} » n'est pas vide : une sauvegarde s'écrit dans un dossier nouveau ou vide "
                "(par exemple un dossier par date). Rien n'a été écrit.")
    return None


def path_problem(folder: Path) -> str | None:
    """A folder whose path DuckDB would read as a pattern (usage error)."""
    if any(c in str(folder) for c in GLOB_CHARACTERS):
        return (f"Le chemin « {folder} » contient un des caractères {' '.join(GLOB_CHARACTERS)} : choisissez un "
                "dossier sans ces caractères.")
    return None


def back_up(con: duckdb.DuckDBPyConnection, folder: Path) -> Summary:
    """Write the backup of the base ``con`` is open on into ``folder`` (created; it must be new or empty)."""
    problem = output_problem(folder)
    if problem:
        raise BackupRefused([problem])
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    staging.mkdir()
    try:
        manifest = _write_tables(con, staging)
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        size = _flush_to_disk(staging)
        os.rename(staging, folder)  # onto a missing or empty folder: whole, or not there at all
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _summary(folder, manifest, size)


def _write_tables(con: duckdb.DuckDBPyConnection, staging: Path) -> dict:
    """Every table of the allow-list into its Parquet file, in one read transaction: the same instant for all."""
    allowed, live = schema_columns(), _columns(con)
    taken_at = datetime.now().replace(microsecond=0)
    cur = con.cursor()
    try:
        cur.begin()
        tables = [{"name": table,
                   "rows": db.run(cur, "backup_copy_table", {"target": str(_parquet(staging, table))},
                                  table=table).fetchall()[0][0],
                   "columns": [{"name": name, "type": kind} for name, kind in live[table]]}
                  for table in allowed]
        cur.rollback()  # read only: nothing to keep
    finally:
        cur.close()
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "date": taken_at.isoformat(),
            "duckdb": duckdb.__version__, "tables": tables}


def _flush_to_disk(folder: Path) -> int:
    """Every file of ``folder`` and the folder itself on disk before the rename (a power cut after it must not
    leave a complete-looking backup of empty files); returns their total size in bytes."""
    size = 0
    for path in folder.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())
        size += path.stat().st_size
    _fsync_folder(folder)
    return size


def _fsync_folder(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def restore(folder: Path, target: Path, force: bool = False) -> Summary:
    """Rebuild the base ``target`` from the backup in ``folder``: every file checked first, the base built
    beside ``target`` and renamed onto it once complete. ``force``: an existing ``target`` is replaced."""
    wal = Path(f"{target}.wal")
    if (target.exists() or wal.exists()) and not force:
        raise BackupRefused([f"La base « {target} » existe déjà : rien n'a été changé. Ajoutez --force pour la "
                             "remplacer par la sauvegarde, ou indiquez un nouveau fichier."])
    db.check_database_file(target)  # a file that is no DuckDB base (a CSV given by mistake) is never replaced
    manifest = _checked_manifest(folder)
    building = target.with_name(f".{target.name}.restauration-{os.getpid()}")
    try:
        _build(folder, manifest, building)
        if target.exists() or wal.exists():
            _retire(target, wal)
        os.replace(building, target)
        _fsync_folder(target.parent)
    except BaseException:
        for leftover in (building, Path(f"{building}.wal")):
            leftover.unlink(missing_ok=True)
        raise
    backed_up = {t["name"] for t in manifest["tables"]}
    return _summary(target, manifest, target.stat().st_size, tuple(t for t in schema_columns() if t not in backed_up))


def _checked_manifest(folder: Path) -> dict:
    """The manifest, once the folder holds exactly the files it lists, each table being one of the schema's with
    columns of the schema and the manifest's rows; otherwise every problem found, in French. A table or a column
    the schema has and the backup lacks comes from a later version of the product (sql/schema.sql only ever adds
    them): the restore leaves it empty or at its default, as the upgrade does to an older base."""
    manifest = _read_manifest(folder)
    allowed = schema_columns()
    listed = {t["name"]: t for t in manifest["tables"]}
    problems = [f"La table « {name} » de la sauvegarde n'existe pas dans la base." for name in listed
                if name not in allowed]
    expected = {_parquet(folder, table).name for table in listed if table in allowed} | {MANIFEST}
    present = {path.name for path in folder.iterdir()}
    problems += [f"Fichier manquant : {name}." for name in sorted(expected - present)]
    problems += [f"Fichier en trop : {name} (une sauvegarde ne contient que les fichiers qu'elle a écrits)."
                 for name in sorted(present - expected)]
    with duckdb.connect() as scratch:
        for table, columns in allowed.items():
            if table in listed and _parquet(folder, table).name in present:
                problems += _table_problems(scratch, folder, table, columns, listed[table])
    if problems:
        raise BackupRefused(problems + ["Rien n'a été restauré."])
    return manifest


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupRefused([f"« {folder} » n'est pas une sauvegarde : le fichier {MANIFEST} est absent. "
                             "Rien n'a été restauré."])
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        manifest = None
    if not _well_formed(manifest):
        raise BackupRefused([f"Le fichier {MANIFEST} de « {folder} » est illisible ou n'est pas celui d'une "
                             "sauvegarde de ce tableau de bord. Rien n'a été restauré."])
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupRefused([f"La sauvegarde « {folder} » est au format {manifest.get('version')!r}, que cette "
                             f"version du tableau de bord ne lit pas (format {FORMAT_VERSION}). Rien n'a été "
                             "restauré."])
    return manifest


def _well_formed(manifest) -> bool:
    """The manifest's shape: what the checks and the summary read from it, with the right types."""
    if not (isinstance(manifest, dict) and manifest.get("format") == FORMAT_NAME
            and isinstance(manifest.get("tables"), list) and isinstance(manifest.get("date"), str)):
        return False
    try:
        datetime.fromisoformat(manifest["date"])
    except ValueError:
        return False
    return all(isinstance(t, dict) and isinstance(t.get("name"), str) and type(t.get("rows")) is int
               and isinstance(t.get("columns"), list) for t in manifest["tables"])


def _table_problems(scratch, folder: Path, table: str, columns: list[tuple[str, str]], listed: dict) -> list[str]:
    """One Parquet file against the manifest (its columns and rows) and the schema (each column one of the
    table's, of its type)."""
    path = {"path": str(_parquet(folder, table))}
    try:
        found = [(row[0], row[1]) for row in db.query(scratch, "backup_parquet_columns", path)]
        rows = db.query_value(scratch, "backup_parquet_rows", path)
    except duckdb.Error:
        return [f"Le fichier {table}.parquet est illisible (endommagé ou pas au format Parquet)."]
    recorded = [(c.get("name"), c.get("type")) if isinstance(c, dict) else c for c in listed["columns"]]
    foreign = [column for column in found if column not in columns]
    if foreign or recorded != found:
        return [f"Les colonnes de {table}.parquet ne sont pas celles de la table « {table} » : "
                f"{_column_words(foreign or found)} {'inconnues du schéma' if foreign else 'absentes du manifeste'}."]
    if rows != listed["rows"]:
        return [f"{table}.parquet contient {format_count(rows, 'ligne')}, le manifeste en annonce "
                f"{format_number_fr(listed['rows'], 0)} : la sauvegarde est incomplète ou a été modifiée."]
    return []


def _column_words(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in columns)


def _build(folder: Path, manifest: dict, building: Path) -> None:
    """The new base: the schema alone (the backup holds the référentiel), every table from its Parquet file in one
    transaction, counts checked against the manifest, checkpointed so that the file stands alone."""
    rows = {t["name"]: t["rows"] for t in manifest["tables"]}
    with duckdb.connect(str(building)) as con:
        con.execute(db.sql("schema"))
        cur = con.cursor()
        cur.begin()
        for table in [table for table in schema_columns() if table in rows]:
            stored = db.run(cur, "backup_restore_table", {"path": str(_parquet(folder, table))},
                            table=table).fetchall()[0][0]
            if stored != rows[table]:
                raise BackupRefused([f"La table « {table} » a reçu {format_count(stored, 'ligne')} au lieu de "
                                     f"{format_number_fr(rows[table], 0)}. Rien n'a été restauré."])
        cur.commit()
        con.execute("CHECKPOINT")


def _retire(target: Path, wal: Path) -> None:
    """Make way for the new base: refuse while another program has the old one open (the dashboard: stop it
    first), else fold its journal into it (or drop the journal of a damaged one) so that no old journal is
    replayed onto the new file."""
    if target.exists():
        try:
            with duckdb.connect(str(target)) as old:
                old.execute("CHECKPOINT")
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise BackupRefused([f"La base « {target} » est ouverte par un autre programme (le tableau de "
                                     "bord ?) : arrêtez-le avant de la remplacer. Rien n'a été changé."]) from None
        except duckdb.Error:  # an IOException without a lock too
            pass  # a damaged base: what --force replaces
    wal.unlink(missing_ok=True)


def _summary(where: Path, manifest: dict, size_bytes: int, left_empty: tuple[str, ...] = ()) -> Summary:
    rows = {t["name"]: t["rows"] for t in manifest["tables"]}
    return Summary(where, len(rows), rows.get(VALUES_TABLE, 0), size_bytes, datetime.fromisoformat(manifest["date"]),
                   left_empty)


def size_words(size_bytes: int) -> str:
    """« 41 Mo », « 0,3 Mo »: megabytes, one decimal below 10."""
    megabytes = size_bytes / (1024 * 1024)
    return f"{format_number_fr(megabytes, 0 if megabytes >= 10 else 1, trim=True)} Mo"


def contents_words(summary: Summary) -> str:
    """« 14 tables, 3 076 267 valeurs, 41 Mo »."""
    return (f"{format_count(summary.tables, 'table')}, {format_count(summary.values, 'valeur')}, "
            f"{size_words(summary.size_bytes)}")
