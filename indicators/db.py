"""The embedded DuckDB database: one connection per file and process, held in turns with the other processes
(``lease``), named SQL, the schema, the référentiel loaded on first use, and the write lock that serialises
the writers of a process."""

from __future__ import annotations

import errno
import fcntl
import getpass
import os
import re
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from indicators import settings, text
from indicators.referentiel import Referentiel, shipped_versions

_holders: dict[str, "_Holder"] = {}
_registry_lock = threading.Lock()
_LOCK_HOLDER = re.compile(r"PID (\d+)")


class DatabaseBusy(Exception):
    """Another program held the database file longer than the wait allowed; its French message says what to do."""

    def __init__(self, path: Path, detail: str, wait_s: float):
        pid = _LOCK_HOLDER.search(detail)
        holder = f" (processus {pid[1]})" if pid else ""
        super().__init__(
            f"La base {path.name} est restée occupée par un autre programme{holder} plus de "
            f"{text.format_value(wait_s, 'secondes', 1, trim=True)} : un import ou un calcul long y travaille. "
            "Réessayez dans un moment ; INDICATEURS_LOCK_TIMEOUT allonge l'attente permise."
        )


class DatabaseUnusable(Exception):
    """The database path cannot be used: not a DuckDB file, damaged, or not writable. French message;
    ``wrong_path`` tells the command line that the person named the wrong file (a usage error)."""

    def __init__(self, message: str, wrong_path: bool = False):
        super().__init__(message)
        self.wrong_path = wrong_path


# Every DuckDB database file carries these bytes at this offset, whatever its version.
DUCKDB_MAGIC, DUCKDB_MAGIC_OFFSET = b"DUCK", 8


def check_database_file(target: Path) -> None:
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
    """The database file (``path``, else the setting) and the key of its holder."""
    target = Path(path) if path else settings.db_path()
    return target, str(target.resolve())


class _Holder:
    """This process's hold on one database file.

    DuckDB lets one process at a time open a file read-write (its documented pattern for several processes: take
    a lock shared by them, open, close when done). Every process here (the dashboard, each command) holds the file
    only while it works: ``lease`` blocks count the work in progress, and a process that wants the file while
    another holds it takes the exclusive lock of ``<base>.attente``. The holder sees that lock taken (a shared
    try-lock fails): it lets no new lease in, and closes the connection once the leases in progress have ended;
    the one waiting opens, works, and closes in turn. Nobody waiting, the connection stays open, warm."""

    def __init__(self, target: Path, key: str):
        self.target, self.key = target, key
        self.con: duckdb.DuckDBPyConnection | None = None
        self.leases = 0
        self.opening = False
        self.changed = threading.Condition()
        self.write_lock = threading.Lock()
        self.mine = threading.local()  # this thread's nested leases: a nested one never waits
        self.queue = Path(f"{key}.attente")
        self.probe: int | None = None
        self.opened = 0  # how many times this process opened the file: the watcher of each opening knows its own
        self.watcher: threading.Thread | None = None

    def acquire(self, wait_s: float) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + wait_s
        depth = getattr(self.mine, "depth", 0)
        with self.changed:
            if depth:  # already held by this thread (a page's run, then a read within it)
                self.leases += 1
                self.mine.depth = depth + 1
                return self.con
            while True:
                if self.con is not None:
                    if not self._someone_waits():
                        break
                    if self.leases == 0:
                        self._close()
                        continue
                elif not self.opening:
                    self.opening = True
                    break
                if not self.changed.wait(max(0.0, min(0.05, deadline - time.monotonic()))) and \
                        time.monotonic() >= deadline:
                    raise DatabaseBusy(self.target, "", wait_s)
        if self.opening and self.con is None:
            self._open(deadline, wait_s)
        with self.changed:
            self.leases += 1
            self.mine.depth = 1
            return self.con

    def release(self, yield_to_others: bool = True) -> None:
        with self.changed:
            self.leases -= 1
            self.mine.depth -= 1
            if yield_to_others and self.leases == 0 and self.con is not None and self._someone_waits():
                self._close()
            self.changed.notify_all()

    def _open(self, deadline: float, wait_s: float) -> None:
        """Open the file (the calling thread alone; the others wait on ``changed``), waiting our turn."""
        try:
            con = self._open_in_turn(deadline, wait_s)
        except BaseException:
            with self.changed:
                self.opening = False
                self.changed.notify_all()
            raise
        with self.changed:
            self.con, self.opening = con, False
            self.opened += 1
            # The watcher holds no reference to the connection: a closed one must not outlive the process's end.
            self.watcher = threading.Thread(target=self._watch, args=(self.opened,), daemon=True,
                                            name=f"attente {self.target.name}")
            self.changed.notify_all()
        self.watcher.start()

    def _open_in_turn(self, deadline: float, wait_s: float) -> duckdb.DuckDBPyConnection:
        check_database_file(self.target)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnusable(f"Le dossier de la base « {self.target.parent} » ne peut pas être créé "
                                   f"({os_error_fr(error)}).") from None
        turn = self._take_turn(deadline, wait_s)
        try:
            con = _connect_waiting(self.target, self.key, deadline, wait_s)
        finally:
            if turn is not None:
                os.close(turn)  # ends the exclusive lock: the file is ours, nobody else is waiting for us
        try:
            _initialise(con)
        except duckdb.Error:
            con.close()
            raise DatabaseUnusable(f"« {self.target} » est une base DuckDB qui n'est pas celle de ce tableau de "
                                   "bord (ses tables ne correspondent pas) : indiquez une autre base.",
                                   wrong_path=True) from None
        return con

    def _take_turn(self, deadline: float, wait_s: float) -> int | None:
        """The exclusive lock of the waiting file: while we hold it, the process that has the base closes it as
        soon as its work in progress ends. None where the file cannot be made (a read-only folder): then only
        DuckDB's own lock is waited for."""
        turn = self._open_queue()
        if turn is None:
            return None
        while True:
            try:
                fcntl.flock(turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return turn
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(turn)
                    raise DatabaseBusy(self.target, "", wait_s) from None
                time.sleep(0.02)

    def _open_queue(self) -> int | None:
        """The waiting file, made if missing; read-only where another user made it (flock needs no write right)."""
        try:
            return os.open(self.queue, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            try:
                return os.open(self.queue, os.O_RDONLY)
            except OSError:
                return None

    def _someone_waits(self) -> bool:
        """Another process holds the waiting file's exclusive lock (called with ``changed`` held)."""
        if self.probe is None:
            self.probe = self._open_queue()
            if self.probe is None:
                return False
        try:
            fcntl.flock(self.probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self.probe, fcntl.LOCK_UN)
        return False

    def _watch(self, opening: int) -> None:
        """While the base is open and idle, give it up within a tenth of a second to a process that waits."""
        with self.changed:
            while self.con is not None and self.opened == opening:
                self.changed.wait(0.1)
                if self.con is not None and self.opened == opening and self.leases == 0 and self._someone_waits():
                    self._close()
                    self.changed.notify_all()

    def _close(self) -> None:
        con, self.con = self.con, None
        if con is not None:
            con.close()

    def shut(self) -> None:
        with self.changed:
            self._close()
            if self.probe is not None:
                os.close(self.probe)
                self.probe = None
            self.changed.notify_all()
            watcher, self.watcher = self.watcher, None
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=1)


def _holder(path: Path | str | None) -> _Holder:
    target, key = _target(path)
    with _registry_lock:
        if key not in _holders:
            _holders[key] = _Holder(target, key)
        return _holders[key]


def _wait_s(timeout_s: float | None) -> float:
    return float(settings.get("lock_timeout_s") if timeout_s is None else timeout_s)


@contextmanager
def lease(path: Path | str | None = None, timeout_s: float | None = None):
    """The connection to ``path`` (schema ready), held by this process for the block: threads use ``.cursor()``
    on it. While another process holds the file, wait for it (INDICATEURS_LOCK_TIMEOUT seconds at most, then
    DatabaseBusy in French rather than DuckDB's English lock error)."""
    holder = _holder(path)
    con = holder.acquire(_wait_s(timeout_s))
    try:
        yield con
    finally:
        holder.release()


def connect(path: Path | str | None = None, timeout_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """The process's connection to ``path`` (schema ready), opened if needed and left open. Inside a ``lease``
    it is the leased one; outside, another process that asks for the file may have it closed when no lease is in
    progress (the dashboard and the command line always work inside leases)."""
    holder = _holder(path)
    con = holder.acquire(_wait_s(timeout_s))
    holder.release(yield_to_others=False)
    return con


def _connect_waiting(target: Path, key: str, deadline: float, wait_s: float) -> duckdb.DuckDBPyConnection:
    """DuckDB's connection, tried again while another process holds the file (until ``deadline``)."""
    while True:
        try:
            return duckdb.connect(key)
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                if time.monotonic() >= deadline:
                    raise DatabaseBusy(target, str(error), wait_s) from None
                time.sleep(0.05)
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
    holder = _holders.get(_target(path)[1])
    return holder is not None and holder.con is not None


def close(path: Path | str | None = None) -> None:
    """Close this process's connection to the file (tests, and the command line before it exits)."""
    key = _target(path)[1]
    with _registry_lock:
        holder = _holders.pop(key, None)
    if holder is not None:
        holder.shut()


def close_all() -> None:
    for key in list(_holders):
        close(key)


def write_lock(con: duckdb.DuckDBPyConnection) -> threading.Lock:
    """The lock that serialises this process's writers to the file ``con`` is open on."""
    with _registry_lock:
        for holder in _holders.values():
            if holder.con is con:
                return holder.write_lock
    raise ValueError("connexion inconnue")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, waiting: Callable[[], object] | None = None):
    """A cursor inside BEGIN … COMMIT, holding the process write lock: writers never interleave.
    Any exception rolls everything back. ``waiting`` is called when another writer holds the lock, before this one
    waits for it (a page says « Un autre import est en cours… »)."""
    lock = write_lock(con)
    if not lock.acquire(blocking=False):
        if waiting is not None:
            waiting()
        lock.acquire()
    try:
        cur = con.cursor()
        try:
            cur.begin()
            yield cur
            cur.commit()
        except BaseException:
            cur.rollback()
            raise
        finally:
            cur.close()
    finally:
        lock.release()


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
