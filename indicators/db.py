"""The embedded DuckDB database: one shared connection per file and process, named SQL, the schema,
the référentiel loaded on first use, and the write lock that serialises imports."""

from __future__ import annotations

import errno
import getpass
import os
import re
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from indicators import settings
from indicators.referentiel import Referentiel, shipped_versions

_connections: dict[str, duckdb.DuckDBPyConnection] = {}
_write_locks: dict[str, threading.Lock] = {}
_registry_lock = threading.Lock()
_LOCK_HOLDER = re.compile(r"PID (\d+)")


class DatabaseBusy(Exception):
    """Another program holds the database file; its French message says what to do."""

    def __init__(self, path: Path, detail: str):
        pid = _LOCK_HOLDER.search(detail)
        holder = f" (processus {pid[1]})" if pid else ""
        super().__init__(
            f"La base {path.name} est utilisée par un autre programme{holder}, par exemple le tableau de bord. "
            "Réessayez quand il sera arrêté, ou importez le fichier depuis la page « Import » du tableau de bord."
        )


class DatabaseUnusable(Exception):
    """The database path cannot be used: not a DuckDB file, damaged, or not writable. French message;
    ``wrong_path`` tells the command line that the person named the wrong file (a usage error)."""

    def __init__(self, message: str, wrong_path: bool = False):
        super().__init__(message)
        self.wrong_path = wrong_path


# Every DuckDB database file carries these bytes at this offset, whatever its version.
DUCKDB_MAGIC, DUCKDB_MAGIC_OFFSET = b"DUCK", 8


def _check_database_file(target: Path) -> None:
    """Refuse before DuckDB opens it: a CSV or any other file given as the database would be opened as a
    temporary in-memory base, and everything « imported » into it lost at exit."""
    if target.is_dir():
        raise DatabaseUnusable(f"« {target} » est un dossier, pas un fichier de base DuckDB : indiquez un "
                               "fichier, par exemple data/indicateurs.duckdb.", wrong_path=True)
    try:
        with open(target, "rb") as f:
            head = f.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
    except FileNotFoundError:
        return
    except OSError as error:
        raise DatabaseUnusable(f"La base « {target} » ne peut pas être lue ({os_error_fr(error)}).") from None
    if head and head[DUCKDB_MAGIC_OFFSET:] != DUCKDB_MAGIC:
        raise DatabaseUnusable(f"« {target} » n'est pas une base DuckDB : indiquez le fichier de la base "
                               "(--db ou INDICATEURS_DB), pas un fichier de données à importer.", wrong_path=True)


def os_error_fr(error: OSError) -> str:
    """What the system refused, in French, for the messages that name a path."""
    reasons = {errno.ENOENT: "dossier ou fichier introuvable", errno.EACCES: "permission refusée",
               errno.EPERM: "opération non permise", errno.ENOSPC: "plus de place sur le disque",
               errno.EROFS: "système de fichiers en lecture seule", errno.EISDIR: "c'est un dossier",
               errno.ENOTDIR: "un élément du chemin n'est pas un dossier", errno.EDQUOT: "quota de disque atteint",
               errno.ENAMETOOLONG: "nom trop long", errno.EFBIG: "fichier trop grand"}
    return reasons.get(error.errno, f"erreur système n°{error.errno}")


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


@lru_cache(maxsize=None)
def _sql_text(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(name)
    return (settings.SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def sql(name: str, **identifiers: str) -> str:
    """The text of a named statement ``sql/<name>.sql``; names come from the code, never from users.

    A statement that needs column or table names (``{column}`` in the file) gets them as keyword arguments:
    they must come from an allow-list in the code, and anything but a plain lower-case identifier (or a
    comma-separated list of them) is refused here as a second guard. Values are always bound parameters."""
    text = _sql_text(name)
    if not identifiers:
        return text
    for value in identifiers.values():
        if not all(_IDENTIFIER.fullmatch(part.strip()) for part in str(value).split(",")):
            raise ValueError(f"identifiant SQL refusé : {value!r}")
    return text.format(**identifiers)


def query(con: duckdb.DuckDBPyConnection, name: str, params: dict | list | None = None) -> list[tuple]:
    """Rows of a named statement, read on a cursor of its own that is always closed (sessions run in threads)."""
    cur = con.cursor()
    try:
        return cur.execute(sql(name), params or {}).fetchall()
    finally:
        cur.close()


def query_value(con: duckdb.DuckDBPyConnection, name: str, params: dict | list | None = None):
    """The first column of the first row of a named statement (None when it returns no row)."""
    rows = query(con, name, params)
    return rows[0][0] if rows else None


def query_df(con: duckdb.DuckDBPyConnection, name: str, params: dict | list | None = None) -> pd.DataFrame:
    """A named statement's result as a DataFrame, on a cursor of its own that is always closed."""
    cur = con.cursor()
    try:
        return cur.execute(sql(name), params or {}).df()
    finally:
        cur.close()


def run(cur, name: str, params: dict | list | None = None, **identifiers: str):
    """Execute a named statement on the given cursor (inside ``transaction``: the statement must be part of
    it, so no new cursor is opened); returns DuckDB's result for ``fetchall``."""
    return cur.execute(sql(name, **identifiers), params or {})


def run_many(cur, name: str, rows: list) -> None:
    """Execute a named statement once per row of parameters, on the given cursor (inside ``transaction``)."""
    if rows:
        cur.executemany(sql(name), rows)


def run_script(cur, name: str, params: dict) -> None:
    """Run every statement of a named SQL file, binding the parameters each one uses."""
    for statement in sql(name).split(";\n"):
        body = "\n".join(line for line in statement.splitlines() if not line.lstrip().startswith("--")).strip()
        if body:
            used = {k: v for k, v in params.items() if f"${k}" in body}
            cur.execute(body, used)


def _target(path: Path | str | None) -> tuple[Path, str]:
    """The database file (``path``, else the setting) and the key of its shared connection."""
    target = Path(path) if path else settings.db_path()
    return target, str(target.resolve())


def connect(path: Path | str | None = None, timeout_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """The process-wide connection to ``path`` (schema ready). Threads must use ``.cursor()`` on it.

    DuckDB lets one process at a time write a file: while another holds it, retry for a bounded
    time, then raise DatabaseBusy rather than fail with DuckDB's English lock error."""
    target, key = _target(path)
    with _registry_lock:
        if key in _connections:
            return _connections[key]
        wait = float(settings.get("lock_timeout_s") if timeout_s is None else timeout_s)
        _check_database_file(target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnusable(f"Le dossier de la base « {target.parent} » ne peut pas être créé "
                                   f"({os_error_fr(error)}).") from None
        con = _open(target, key, time.monotonic() + wait)
        try:
            _initialise(con)
        except duckdb.Error:
            con.close()
            raise DatabaseUnusable(f"« {target} » est une base DuckDB qui n'est pas celle de ce tableau de bord "
                                   "(ses tables ne correspondent pas) : indiquez une autre base.",
                                   wrong_path=True) from None
        _connections[key] = con
        _write_locks[key] = threading.Lock()
        return con


def _open(target: Path, key: str, deadline: float) -> duckdb.DuckDBPyConnection:
    while True:
        try:
            return duckdb.connect(key)
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                if time.monotonic() >= deadline:
                    raise DatabaseBusy(target, str(error)) from None
                time.sleep(0.2)
                continue
            raise _damaged(target) from None
        except duckdb.Error:
            raise _damaged(target) from None


def _damaged(target: Path) -> DatabaseUnusable:
    if target.exists() and not os.access(target, os.W_OK):
        return DatabaseUnusable(f"La base « {target} » n'est pas modifiable (permission refusée).")
    return DatabaseUnusable(f"La base « {target} » est endommagée ou illisible : restaurez une sauvegarde, ou "
                            "indiquez une autre base (--db ou INDICATEURS_DB).")


def is_open(path: Path | str | None = None) -> bool:
    return _target(path)[1] in _connections


def close(path: Path | str | None = None) -> None:
    """Close the shared connection (tests, and the command line before it exits)."""
    key = _target(path)[1]
    with _registry_lock:
        con = _connections.pop(key, None)
        _write_locks.pop(key, None)
    if con is not None:
        con.close()


def close_all() -> None:
    for key in list(_connections):
        close(key)


def write_lock(con: duckdb.DuckDBPyConnection) -> threading.Lock:
    with _registry_lock:
        for key, known in _connections.items():
            if known is con:
                return _write_locks[key]
    raise ValueError("connexion inconnue")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """A cursor inside BEGIN … COMMIT, holding the process write lock: writers never interleave.
    Any exception rolls everything back."""
    with write_lock(con):
        cur = con.cursor()
        cur.begin()
        try:
            yield cur
            cur.commit()
        except BaseException:
            cur.rollback()
            raise
        finally:
            cur.close()


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "inconnu"


def log(cur, action: str, import_id: int | None, detail: str, who: str, subject: str | None = None) -> None:
    """One line of the append-only audit log; ``who`` as the history shows it, ``subject`` the provider's."""
    run(cur, "db_audit_log_insert", {"logged_at": datetime.now(), "action": action, "import_id": import_id,
                                     "who": who, "subject": subject, "detail": detail})


def _initialise(con: duckdb.DuckDBPyConnection) -> None:
    """The schema, and the shipped référentiel versions not stored yet (the newest put in force on a new base)."""
    cur = con.cursor()
    try:
        cur.execute(sql("schema"))
        loaded = {row[0] for row in run(cur, "db_referentiel_versions").fetchall()}
        missing = [ref for ref in shipped_versions() if ref.version not in loaded]
        if missing:
            cur.begin()
            for ref in missing:
                store_referentiel(cur, ref, origin="livre")
            if not run(cur, "db_referentiel_in_force").fetchall():
                run(cur, "db_referentiel_put_in_force", {"version": missing[-1].version})
            cur.commit()
    finally:
        cur.close()


def store_referentiel(cur, ref: Referentiel, origin: str) -> None:
    run(cur, "referentiel_store_version", {"version": ref.version, "title": ref.title, "source": ref.source,
                                           "origin": origin, "created_at": datetime.now()})
    run_many(cur, "referentiel_store_engagement", [[ref.version, e.number, e.theme, e.label] for e in ref.engagements])
    run_many(cur, "referentiel_store_indicator",
             [[ref.version, i.code, i.label, i.engagement, i.unit, i.direction, i.kind, i.periodicity, i.required,
               i.min_n, i.min_n_provenance, i.numerator_label] for i in ref.indicators])
    run_many(cur, "referentiel_store_threshold",
             [[ref.version, i.code, level, value, i.provenance.get(level, "défaut")]
              for i in ref.indicators for level, value in i.thresholds.items()])
    log(cur, "referentiel", None, f"version {ref.version} chargée ({origin})", "chargement du référentiel livré")


def referentiel_in_force(con: duckdb.DuckDBPyConnection) -> str:
    """The version in force, read on a cursor of its own (committed state, even when ``con`` is a cursor
    inside a transaction)."""
    return query_value(con, "db_referentiel_in_force")
