"""Read an uploaded file's bytes into a table of text cells: bounds first, then encoding, delimiter,
sheet and header row; CSV parsing is DuckDB's, Excel reading is calamine's."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import tempfile

import duckdb
import numpy as np
import pyarrow as pa

from indicators.layouts import LayoutMatch, recognise
from indicators.problems import ImportRefused, Problem, refuse
from indicators.rawtable import (HEADER_SEARCH_ROWS, OLE_MAGIC, ZIP_MAGIC, RawTable, check_shape, megabytes,
                                 sha256_of, unrecognised)
from indicators.referentiel import Referentiel
from indicators.settings import Limits
from indicators.workbook import read_workbook

__all__ = ["RawTable", "read_table", "sha256_of"]

DELIMITERS = (";", ",", "\t")
# Anything but blanks, BOMs and NULs: a file without one is empty.
_MEANINGFUL_BYTE = re.compile(rb"[^ \t\r\n\xef\xbb\xbf\xff\xfe\x00]")
CSV_REJECT_RULES = {
    "MISSING COLUMNS": "nombre_de_colonnes_constant",
    "TOO MANY COLUMNS": "nombre_de_colonnes_constant",
    "UNQUOTED VALUE": "guillemets_fermes",
    "INVALID UNICODE": "texte_lisible",
    "LINE SIZE OVER MAXIMUM": "nombre_de_colonnes_constant",
}


def read_table(content: bytes, filename: str, referentiel: Referentiel, limits: Limits) -> RawTable:
    """Bytes of a CSV or workbook → RawTable, or ImportRefused naming every problem found."""
    if len(content) > limits.max_bytes:
        raise refuse("taille_maximale", filename, value=megabytes(len(content)),
                     expected=f"au plus {megabytes(limits.max_bytes)}")
    if not _MEANINGFUL_BYTE.search(content):
        raise refuse("fichier_non_vide", filename)
    if content.startswith(ZIP_MAGIC) or content.startswith(OLE_MAGIC):
        return read_workbook(content, filename, referentiel, limits)
    return _read_csv(content, filename, referentiel, limits)


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


def _find_header_csv(lines: list[str], referentiel: Referentiel) -> tuple[int, str, LayoutMatch] | None:
    for index, line in enumerate(lines):
        for delimiter in DELIMITERS:
            if delimiter not in line:
                continue
            cells = next(csv.reader([line], delimiter=delimiter), [])
            match = recognise(cells, referentiel)
            if match:
                return index, delimiter, match
    return None


def _read_csv(content: bytes, filename: str, referentiel: Referentiel, limits: Limits) -> RawTable:
    encoding, codec = _detect_encoding(content, filename)
    sample = content[:262_144].decode(codec, errors="replace")
    if _looks_binary(sample):
        raise refuse("fichier_texte_ou_classeur", filename)
    head = [line.rstrip("\r") for line in sample.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS]]
    found = _find_header_csv(head, referentiel)
    if found is None:
        first = next((line for line in head if line.strip()), "")
        delimiter = max(DELIMITERS, key=first.count)
        raise unrecognised(filename, next(csv.reader([first], delimiter=delimiter), []))
    header_index, delimiter, match = found
    data = _as_utf8(content, codec, filename)
    newlines = data.count(b"\n")
    check_shape(filename, newlines, len(match.headers), limits)
    physical_lines = newlines + (0 if data.endswith(b"\n") else 1)
    con = _parse_csv(data, filename, delimiter, len(match.headers), header_index + 1, physical_lines)
    return RawTable(filename, len(content), "csv", encoding, delimiter, None, match, con)


def _scratch_dir() -> str | None:
    """Transcoded copies go to memory-backed /dev/shm when there is one: they are read once, at once."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def _parse_csv(data: bytes, filename: str, delimiter: str, width: int, header_line: int,
               physical_lines: int) -> duckdb.DuckDBPyConnection:
    """DuckDB parses the rows into table ``cells`` of a private connection; every ragged row or open
    quote is collected with its line number."""
    names = [f"c{i}" for i in range(width)]
    con = duckdb.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="import-", dir=_scratch_dir()) as tmp:
            path = os.path.join(tmp, "data.csv")
            with open(path, "wb") as f:
                f.write(data)
            con.execute(
                "CREATE TABLE raw AS SELECT * FROM read_csv(?, header = false, skip = ?, delim = ?, quote = '\"', "
                "escape = '\"', columns = ?, auto_detect = false, strict_mode = true, null_padding = false, "
                "store_rejects = true, ignore_errors = true, max_line_size = 10000000)",
                [path, header_line, delimiter, {n: "VARCHAR" for n in names}],
            )
        # A line of spaces looks blank in an editor: DuckDB rejects it for its column count, the user would not.
        rejects = con.execute(
            "SELECT DISTINCT line, error_type, csv_line FROM reject_errors "
            "WHERE trim(csv_line, ' \t\r\n') <> '' ORDER BY line").fetchall()
        if rejects:
            raise ImportRefused([
                Problem(CSV_REJECT_RULES.get(kind, "nombre_de_colonnes_constant"), filename, line=int(line),
                        value=(raw or "").strip()[:80],
                        expected=f"{width} colonnes séparées par « {delimiter} »" if "COLUMNS" in kind else None)
                for line, kind, raw in rejects
            ])
        not_empty = f"coalesce({', '.join(names)}) IS NOT NULL"
        records = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
        if records == physical_lines - header_line:
            # Fast path: one record per physical line, so the line is the row's position after the header.
            con.execute(f"CREATE VIEW cells AS SELECT (rowid + {header_line + 1})::INTEGER AS line, * FROM raw "
                        f"WHERE {not_empty}")
        else:
            # Blank lines or line breaks inside quotes: number the records as a text editor would.
            con.register("record_line", pa.table({"line": pa.array(_record_lines(data, delimiter, header_line),
                                                                    pa.int32())}))
            con.execute(f"CREATE VIEW cells AS SELECT record_line.line AS line, raw.* FROM raw "
                        f"POSITIONAL JOIN record_line WHERE {not_empty}")
        if con.execute("SELECT count(*) FROM cells").fetchall()[0][0] == 0:
            raise refuse("fichier_avec_donnees", filename)
        return con
    except BaseException:
        con.close()
        raise


def _record_lines(data: bytes, delimiter: str, header_line: int) -> np.ndarray:
    """Line number, 1-based as a text editor shows it, of each non-blank record after the header."""
    start = 0
    for _ in range(header_line):
        start = data.find(b"\n", start) + 1
    starts = []
    reader = csv.reader(io.StringIO(data[start:].decode("utf-8", errors="replace"), newline=""),
                        delimiter=delimiter)
    previous_end = 0
    for row in reader:
        if _is_record(row):
            starts.append(previous_end + 1 + header_line)
        previous_end = reader.line_num
    return np.asarray(starts, dtype=np.int64)


def _is_record(row: list[str]) -> bool:
    """Whether DuckDB keeps this row: it skips empty lines, and lines of spaces are dropped as blank."""
    return bool(row) and not (len(row) == 1 and not row[0].strip())
