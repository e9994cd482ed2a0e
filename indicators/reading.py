"""Read an uploaded file's bytes into a table of text cells: bounds first, then encoding, line endings,
delimiter, sheet and header row; CSV parsing is DuckDB's, Excel reading is calamine's."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import math
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from indicators import db, settings
from indicators.columns import Choices
from indicators.layouts import LayoutMatch, recognise
from indicators.problems import ImportRefused, Problem, refuse
from indicators.rawtable import (HEADER_SEARCH_ROWS, OLE_MAGIC, ZIP_MAGIC, RawTable, check_shape, megabytes,
                                 sha256_of, unrecognised)
from indicators.referentiel import Referentiel
from indicators.settings import Limits
from indicators.workbook import read_workbook

__all__ = ["RawTable", "clean_stale_scratch", "read_table", "scratch_dir", "sha256_of"]

DELIMITERS = (";", ",", "\t")
# Anything but blanks, BOMs and NULs: a file without one is empty.
_MEANINGFUL_BYTE = re.compile(rb"[^ \t\r\n\xef\xbb\xbf\xff\xfe\x00]")
CSV_REJECT_RULES = {
    "MISSING COLUMNS": "nombre_de_colonnes_constant",
    "TOO MANY COLUMNS": "nombre_de_colonnes_constant",
    "UNQUOTED VALUE": "guillemets_fermes",
    "INVALID UNICODE": "texte_lisible",
    "LINE SIZE OVER MAXIMUM": "ligne_trop_longue",
}
# The longest line read (the rule ligne_trop_longue says « 10 Mo »): DuckDB's max_line_size, and the csv
# module's field limit (131 072 characters by default) raised to match, since any field of such a line is read.
MAX_LINE_BYTES = 10 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES + 1))
SCRATCH_PREFIX = "import-"
_STARTED_AT = time.time()  # this process's start, near enough: the module is imported before any import runs


def read_table(content: bytes, filename: str, referentiel: Referentiel, limits: Limits,
               con: duckdb.DuckDBPyConnection, choices: Choices | None = None) -> RawTable:
    """Bytes of a CSV or workbook → RawTable whose cells are in ``con`` (a scratch connection the caller owns),
    or ImportRefused naming every problem found. ``choices``: the person's column choices (columns.Choices),
    which the header row is recognised with."""
    if len(content) > limits.max_bytes:
        raise refuse("taille_maximale", filename, value=megabytes(len(content)),
                     expected=f"au plus {megabytes(limits.max_bytes)}")
    if not _MEANINGFUL_BYTE.search(content):
        raise refuse("fichier_non_vide", filename)
    if content.startswith(ZIP_MAGIC) or content.startswith(OLE_MAGIC):
        return read_workbook(content, filename, referentiel, limits, con, choices)
    return _read_csv(content, filename, referentiel, limits, con, choices)


def _detect_encoding(content: bytes, filename: str) -> tuple[str, str]:
    """(name shown to users, Python codec). UTF-8 is tried on the whole file, then Windows-1252."""
    if content.startswith(codecs.BOM_UTF8):
        return "UTF-8 avec BOM", "utf-8-sig"
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16", "utf-16"
    if b"\x00" in content[:65536]:
        raise refuse("fichier_texte_ou_classeur", filename)
    try:
        content.decode("utf-8")
        return "UTF-8", "utf-8"
    except UnicodeDecodeError:
        # Windows-1252, not Latin-1: €, œ and ’ live in 0x80–0x9F, where Latin-1 has control codes.
        return "Windows-1252", "cp1252"


def _as_utf8(content: bytes, codec: str, filename: str) -> bytes:
    """The bytes DuckDB reads: UTF-8 files as they are (a BOM is harmless: the header line is skipped)."""
    if codec in ("utf-8", "utf-8-sig"):
        return content
    try:
        return content.decode(codec).encode("utf-8")
    except UnicodeDecodeError:
        raise refuse("encodage_reconnu", filename) from None


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\r\n\x0c")
    return "\x00" in sample or controls > max(8, len(sample) // 100)


def _find_header_csv(lines: list[str], referentiel: Referentiel,
                     choices: Choices | None) -> tuple[int, str, LayoutMatch] | None:
    for index, line in enumerate(lines):
        for delimiter in DELIMITERS:
            if delimiter not in line:
                continue
            match = recognise(_cells(line, delimiter), referentiel, choices)
            if match:
                return index, delimiter, match
    return None


def _cells(line: str, delimiter: str) -> list[str]:
    """One line's cells; a line the csv module cannot split (a stray line break) gives none."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _read_csv(content: bytes, filename: str, referentiel: Referentiel, limits: Limits,
              con: duckdb.DuckDBPyConnection, choices: Choices | None) -> RawTable:
    encoding, codec = _detect_encoding(content, filename)
    sample = content[:262_144].decode(codec, errors="replace")
    if _looks_binary(sample):
        raise refuse("fichier_texte_ou_classeur", filename)
    data, lone_crs, newlines = _normalise_line_endings(_as_utf8(content, codec, filename))
    # A lone carriage return left in a line (see _settle_lone_crs) reads as a space while looking for the header.
    head = [line.rstrip("\r").replace("\r", " ")
            for line in data[:262_144].decode("utf-8-sig", errors="replace").split("\n", HEADER_SEARCH_ROWS)]
    found = _find_header_csv(head[:HEADER_SEARCH_ROWS], referentiel, choices)
    if found is None:
        raise _no_header(data, head, filename)
    header_index, delimiter, match = found
    header_start = _line_start(data, header_index)
    if _line_length(data, header_start) > MAX_LINE_BYTES:
        raise _line_too_long(filename, header_index + 1)
    spaced = np.zeros(0, dtype=np.int64)
    if lone_crs:
        data, spaced = _settle_lone_crs(data, delimiter.encode(), len(match.headers))
        header_index = data.count(b"\n", 0, header_start)  # a carriage return above it may have become a break
        newlines = None
    if newlines is None:
        newlines = data.count(b"\n")
    check_shape(filename, newlines, len(match.headers), limits)
    physical_lines = newlines + (0 if data.endswith(b"\n") else 1)
    _parse_csv(con, data, filename, delimiter, len(match.headers), header_index + 1, physical_lines, spaced)
    return RawTable(filename, len(content), "csv", encoding, delimiter, None, match, con)


# --- Line endings ------------------------------------------------------------------------------------
# DuckDB reads a file of LF or of CRLF line endings, not a mix of them, nor CR alone (Excel's « CSV Macintosh »),
# nor a carriage return inside an unquoted cell. Before it parses, every file becomes one of the two, and
# line numbers stay those a text editor shows (it breaks lines at LF, CRLF and a lone CR alike).


def _normalise_line_endings(data: bytes) -> tuple[bytes, bool, int | None]:
    """CRLF everywhere: as it is (a line break inside quotes stays as written). CR alone, or mostly: LF.
    Else CRLF → LF, and the lone carriage returns left (then True) are settled once the header is known.
    Also returns the number of LF in the data when counting them was part of the work (else None)."""
    if b"\r" not in data:  # most files hold none: finding one is far quicker than counting them
        return data, False, None
    crs, lfs, crlfs = data.count(b"\r"), data.count(b"\n"), data.count(b"\r\n")
    if crs == crlfs == lfs:
        return data, False, lfs
    if crlfs:
        data = data.replace(b"\r\n", b"\n")
    if crs - crlfs > lfs:  # a Macintosh file, perhaps with a few LF lines pasted in
        return data.replace(b"\r", b"\n"), False, lfs + crs - crlfs
    return data, crs > crlfs, lfs


def _settle_lone_crs(data: bytes, delimiter: bytes, width: int) -> tuple[bytes, np.ndarray]:
    """Each carriage return left alone in a file of LF lines: a line break when it ends a whole record
    (as many delimiters as the header before it) and a record follows; else a space inside a cell.
    Returns the data and the line numbers (1-based, after settling) of the carriage returns made spaces:
    an editor shows a line break at each, so the lines below them are shown one further down."""
    settled = bytearray(data)
    returns = [m.start() for m in re.finditer(b"\r", data)]
    spaces = []
    before, scanned = 0, 0  # delimiters from the start of the line to ``scanned``
    next_lf = data.find(b"\n")
    for i, at in enumerate(returns):  # each stretch of the data is scanned a bounded number of times
        lf = data.rfind(b"\n", scanned, at)
        if lf >= 0:
            before = data.count(delimiter, lf + 1, at)
        else:
            before += data.count(delimiter, scanned, at)
        scanned = at
        if 0 <= next_lf < at:
            next_lf = data.find(b"\n", at)
        next_end = min(next_lf if next_lf >= 0 else len(data), returns[i + 1] if i + 1 < len(returns) else len(data))
        if before >= width - 1 and data.find(delimiter, at + 1, next_end) >= 0:
            settled[at] = 0x0A
            before, scanned = 0, at + 1
        else:
            settled[at] = 0x20
            spaces.append(at)
    result = bytes(settled)
    breaks = np.flatnonzero(np.frombuffer(result, dtype=np.uint8) == 0x0A)
    return result, np.searchsorted(breaks, np.asarray(spaces, dtype=np.int64)) + 1


def _editor_lines(lines: np.ndarray, spaced: np.ndarray) -> np.ndarray:
    """Line numbers after settling → line numbers in a text editor (one more per carriage return above)."""
    if not len(spaced):
        return lines
    return lines + np.searchsorted(spaced, lines, side="left")


def _line_start(data: bytes, index: int) -> int:
    start = 0
    for _ in range(index):
        start = data.find(b"\n", start) + 1
    return start


def _line_length(data: bytes, start: int) -> int:
    end = data.find(b"\n", start)
    return (len(data) if end < 0 else end) - start


def _line_too_long(filename: str, line: int) -> ImportRefused:
    return refuse("ligne_trop_longue", filename, line=line)


def _no_header(data: bytes, head: list[str], filename: str) -> ImportRefused:
    """No known header in the first lines: a line too long to be one, or a layout nobody recognises."""
    start = 0
    for index in range(HEADER_SEARCH_ROWS):
        if start >= len(data):
            break
        length = _line_length(data, start)
        if length > MAX_LINE_BYTES:
            return _line_too_long(filename, index + 1)
        start += length + 1
    first = next((line for line in head[:HEADER_SEARCH_ROWS] if line.strip()), "")
    delimiter = max(DELIMITERS, key=first.count)
    return unrecognised(filename, _cells(first, delimiter))


# --- The copy DuckDB reads ----------------------------------------------------------------------------


def scratch_dir() -> str:
    """Where a CSV is copied for DuckDB when the system has no anonymous in-memory file: ``.tmp-import`` beside
    the database (on the same disk, never in a small memory-backed /dev/shm), else the system's temporary
    folder."""
    folder = _scratch_beside_database()
    try:
        folder.mkdir(exist_ok=True)
        return str(folder)
    except OSError:
        return tempfile.gettempdir()


def _scratch_beside_database() -> Path:
    return settings.db_path().parent / ".tmp-import"


def clean_stale_scratch(folders: list[str] | None = None) -> int:
    """Remove the scratch copies an import killed midway left behind (« import-<pid>-… » folders holding one
    ``data.csv``): those of a process that no longer runs or that started after them, and older unnamed ones.
    Call it once at start, when connecting. Returns how many folders were removed."""
    if folders is None:
        folders = [str(_scratch_beside_database()), tempfile.gettempdir(), "/dev/shm"]
    removed = 0
    for folder in dict.fromkeys(folders):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.name.startswith(SCRATCH_PREFIX) and entry.is_dir(follow_symlinks=False) and _stale(entry):
                    shutil.rmtree(entry.path)
                    removed += 1
            except OSError:
                continue
    return removed


def _stale(entry: os.DirEntry) -> bool:
    stat = entry.stat(follow_symlinks=False)
    if hasattr(os, "getuid") and stat.st_uid != os.getuid():
        return False
    if not set(os.listdir(entry.path)) <= {"data.csv"}:
        return False  # not one of ours
    owner = re.match(rf"{SCRATCH_PREFIX}(\d+)-", entry.name)
    if owner is None:
        # Named before the process id was part of the name: left by a process that ended long ago.
        return stat.st_mtime < _STARTED_AT - 15 * 60
    pid = int(owner[1])
    if pid == os.getpid():
        return False
    started = _process_started_at(pid)
    return started is not None and stat.st_mtime < started


def _process_started_at(pid: int) -> float | None:
    """When the process now holding ``pid`` started (epoch seconds): infinity when none runs, None when the
    system cannot say (then nothing is removed)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/stat", "rb") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith(b"btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return math.inf
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    if os.name != "posix":
        return None  # os.kill(pid, 0) is no harmless probe on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return math.inf
    except OSError:
        pass
    return None


_USE_MEMFD = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


@contextlib.contextmanager
def _readable_path(data: bytes):
    """A path DuckDB reads ``data`` from: on Linux an anonymous in-memory file (memfd: not bounded by a small
    /dev/shm, and freed with the process even when it is killed); else a file in scratch_dir(), removed after."""
    if _USE_MEMFD:
        try:
            fd = os.memfd_create("import-csv", os.MFD_CLOEXEC)
        except OSError:
            fd = None
        if fd is not None:
            try:
                try:
                    with open(fd, "wb", closefd=False) as f:
                        f.write(data)
                except OSError:
                    raise MemoryError from None
                yield f"/proc/self/fd/{fd}"
            finally:
                os.close(fd)
            return
    try:
        tmp = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=scratch_dir())
    except OSError as error:
        raise OSError(error.errno, error.strerror) from None  # never a scratch path in a user's message
    try:
        path = os.path.join(tmp, "data.csv")
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as error:
            raise OSError(error.errno, error.strerror) from None
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- Parsing -------------------------------------------------------------------------------------------
# « CSV Error on Line: 12 »; not « LINE 1: » which points into the SQL statement.
_DUCKDB_LINE = re.compile(r"\bCSV Error on Line:?\s*(\d+)", re.IGNORECASE)


def _unreadable(error: duckdb.Error, filename: str, spaced: np.ndarray) -> ImportRefused:
    """A DuckDB error while parsing → French, with the line when DuckDB names one; its English text and the
    scratch path never reach the user."""
    found = _DUCKDB_LINE.search(str(error))
    line = int(_editor_lines(np.asarray([int(found[1])]), spaced)[0]) if found else None
    return refuse("csv_lisible", filename, line=line)


def _parse_csv(con: duckdb.DuckDBPyConnection, data: bytes, filename: str, delimiter: str, width: int,
               header_line: int, physical_lines: int, spaced: np.ndarray) -> None:
    """DuckDB parses the rows into table ``cells`` of the scratch connection; every ragged row or open
    quote is collected with its line number. Whatever DuckDB fails on is said in French."""
    try:
        _load_cells(con, data, filename, delimiter, width, header_line, physical_lines, spaced)
    except duckdb.OutOfMemoryException:
        raise MemoryError from None
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except duckdb.Error as error:
        raise _unreadable(error, filename, spaced) from None


# DuckDB keeps one rejected record per faulty cell, each with its whole line: a line with 20 000 extra cells
# costs 20 000 copies of itself. Keeping at most this budget of such copies bounds the memory; the file is
# refused all the same, with the first faulty lines named.
REJECTS_BUDGET_BYTES = 64 * 1024 * 1024
MAX_REJECTS = 1000


def _rejects_limit(size: int) -> int:
    """How many rejected records DuckDB may keep: each is at most one line, and a line at most the file."""
    return max(10, min(MAX_REJECTS, REJECTS_BUDGET_BYTES // max(size, 1)))


def _load_cells(con: duckdb.DuckDBPyConnection, data: bytes, filename: str, delimiter: str, width: int,
                header_line: int, physical_lines: int, spaced: np.ndarray) -> None:
    names = [f"c{i}" for i in range(width)]
    params = [header_line, delimiter, {n: "VARCHAR" for n in names}, MAX_LINE_BYTES]
    rejects = []
    with _readable_path(data) as path:
        try:
            # Most files are well formed: read them without keeping rejects, which cost memory per faulty cell.
            db.run(con, "import_read_csv_strict", [path, *params])
        except duckdb.InvalidInputException:
            problems = _ragged_lines(data, filename, delimiter, width, header_line, spaced)
            if problems:
                raise ImportRefused(problems) from None
            # Only what the csv module forgives (a line of spaces): DuckDB says which lines, within a budget.
            db.run(con, "import_read_csv_rejects", [path, *params, _rejects_limit(len(data))])
            # A line of spaces looks blank in an editor: DuckDB rejects it for its column count, the user not.
            rejects = db.run(con, "import_csv_rejects").fetchall()
    if rejects:
        lines = _editor_lines(np.asarray([int(line) for line, _, _ in rejects], dtype=np.int64), spaced)
        raise ImportRefused([_rejected(filename, int(line), kind, raw, width, delimiter)
                             for line, (_, kind, raw) in zip(lines.tolist(), rejects)])
    not_empty = f"coalesce({', '.join(names)}) IS NOT NULL"
    records = db.run(con, "import_raw_count").fetchall()[0][0]
    if records == physical_lines - header_line and not len(spaced):
        # Fast path: one record per physical line, so the line is the row's position after the header.
        con.execute(f"CREATE VIEW cells AS SELECT (rowid + {header_line + 1})::INTEGER AS line, * FROM raw "
                    f"WHERE {not_empty}")
    else:
        # Blank lines, line breaks inside quotes or carriage returns: number the records as an editor would.
        lines = _editor_lines(_record_lines(data, filename, delimiter, header_line), spaced)
        con.register("record_line", pa.table({"line": pa.array(lines, pa.int32())}))
        con.execute(f"CREATE VIEW cells AS SELECT record_line.line AS line, raw.* FROM raw "
                    f"POSITIONAL JOIN record_line WHERE {not_empty}")
    if db.run(con, "import_cells_count").fetchall()[0][0] == 0:
        raise refuse("fichier_avec_donnees", filename)


def _ragged_lines(data: bytes, filename: str, delimiter: str, width: int, header_line: int,
                  spaced: np.ndarray) -> list[Problem]:
    """The lines that do not have the header's number of cells, or whose quotes are wrong, found by the csv
    module in one pass at constant memory (at most MAX_REJECTS of them)."""
    start = _line_start(data, header_line)
    reader = csv.reader(io.StringIO(data[start:].decode("utf-8", errors="replace"), newline=""),
                        delimiter=delimiter, strict=True)
    found, previous_end = [], 0
    while len(found) < MAX_REJECTS:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            line_start = _line_start(data, header_line + previous_end)
            text = data[line_start:line_start + 400].split(b"\n", 1)[0].decode("utf-8", errors="replace")
            too_long = "field larger" in str(error)
            found.append((previous_end + 1 + header_line, "ligne_trop_longue" if too_long else "guillemets_fermes",
                          None if too_long else text))
            break  # past a broken quote, the csv module's idea of the lines is no longer the user's
        if _is_record(row) and len(row) != width and any(cell.strip() for cell in row):
            found.append((previous_end + 1 + header_line, "nombre_de_colonnes_constant", delimiter.join(row)))
        previous_end = reader.line_num
    if not found:
        return []
    lines = _editor_lines(np.asarray([line for line, _, _ in found], dtype=np.int64), spaced).tolist()
    return [Problem(rule, filename, line=line, value=raw.strip()[:80] if raw is not None else None,
                    expected=f"{width} colonnes séparées par « {delimiter} »"
                    if rule == "nombre_de_colonnes_constant" else None)
            for line, (_, rule, raw) in zip(lines, found)]


def _rejected(filename: str, line: int, kind: str, raw: str | None, width: int, delimiter: str) -> Problem:
    rule = CSV_REJECT_RULES.get(kind, "nombre_de_colonnes_constant")
    if rule == "ligne_trop_longue":
        return _line_too_long(filename, line).problems[0]
    return Problem(rule, filename, line=line, value=(raw or "").strip()[:80],
                   expected=f"{width} colonnes séparées par « {delimiter} »" if "COLUMNS" in kind else None)


def _record_lines(data: bytes, filename: str, delimiter: str, header_line: int) -> np.ndarray:
    """Line number, 1-based as a text editor shows it, of each non-blank record after the header."""
    start = _line_start(data, header_line)
    starts = []
    reader = csv.reader(io.StringIO(data[start:].decode("utf-8", errors="replace"), newline=""),
                        delimiter=delimiter)
    previous_end = 0
    try:
        for row in reader:
            if _is_record(row):
                starts.append(previous_end + 1 + header_line)
            previous_end = reader.line_num
    except csv.Error:  # a quoted cell longer than a line may be (DuckDB reads it whole)
        raise _line_too_long(filename, previous_end + 1 + header_line) from None
    return np.asarray(starts, dtype=np.int64)


def _is_record(row: list[str]) -> bool:
    """Whether DuckDB keeps this row: it skips empty lines, and lines of spaces are dropped as blank."""
    return bool(row) and not (len(row) == 1 and not row[0].strip())
