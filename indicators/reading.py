"""Read an uploaded file's bytes into a table of text cells: bounds first, then encoding, delimiter,
sheet and header row; CSV parsing is DuckDB's, Excel reading is calamine's."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time

import duckdb
import numpy as np
import pyarrow as pa

from indicators.layouts import LayoutMatch, expected_layouts_text, recognise
from indicators.problems import ImportRefused, Problem, refuse
from indicators.referentiel import Referentiel
from indicators.settings import Limits
from indicators.text import format_number_fr

HEADER_SEARCH_ROWS = 30
DELIMITERS = (";", ",", "\t")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# An encrypted Office file is an OLE container holding this stream name (UTF-16).
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
# Anything but blanks, BOMs and NULs: a file without one is empty.
_MEANINGFUL_BYTE = re.compile(rb"[^ \t\r\n\xef\xbb\xbf\xff\xfe\x00]")
DELIMITER_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}
CSV_REJECT_RULES = {
    "MISSING COLUMNS": "nombre_de_colonnes_constant",
    "TOO MANY COLUMNS": "nombre_de_colonnes_constant",
    "UNQUOTED VALUE": "guillemets_fermes",
    "INVALID UNICODE": "texte_lisible",
    "LINE SIZE OVER MAXIMUM": "nombre_de_colonnes_constant",
}


@dataclass
class RawTable:
    """Text cells of the data rows (``c0``…, plus ``line`` as the user sees it) and what was detected."""

    filename: str
    size: int
    kind: str  # "csv" or "excel"
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    match: LayoutMatch
    # Private in-memory DuckDB holding the view or table ``cells``: columns ``line``, ``c0``…
    con: duckdb.DuckDBPyConnection
    warnings: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.con.close()

    @property
    def delimiter_name(self) -> str | None:
        return DELIMITER_NAMES.get(self.delimiter) if self.delimiter else None


def _megabytes(size: int) -> str:
    """Bytes as users read sizes, in the same mebibytes the limits are set in: « 23,1 Mo »."""
    megabytes = size / (1024 * 1024)
    return f"{format_number_fr(megabytes, 0 if megabytes.is_integer() else 1)} Mo"


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def read_table(content: bytes, filename: str, referentiel: Referentiel, limits: Limits) -> RawTable:
    """Bytes of a CSV or workbook → RawTable, or ImportRefused naming every problem found."""
    if len(content) > limits.max_bytes:
        raise refuse("taille_maximale", filename, value=_megabytes(len(content)),
                     expected=f"au plus {_megabytes(limits.max_bytes)}")
    if not _MEANINGFUL_BYTE.search(content):
        raise refuse("fichier_non_vide", filename)
    if content.startswith(ZIP_MAGIC) or content.startswith(OLE_MAGIC):
        return _read_workbook(content, filename, referentiel, limits)
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


def _unrecognised(filename: str, headers: list[str], sheet: str | None = None) -> ImportRefused:
    shown = " | ".join(h for h in headers if h) or "(aucun)"
    return refuse("mise_en_page_reconnue", filename, sheet=sheet, value=shown,
                  expected="les en-têtes d'une de ces mises en page :\n" + expected_layouts_text())


def _check_shape(filename: str, rows: int, columns: int, limits: Limits, sheet: str | None = None) -> None:
    problems = []
    if rows > limits.max_rows:
        problems.append(Problem("lignes_maximales", filename, sheet, value=f"{rows} lignes",
                                expected=f"au plus {limits.max_rows} lignes"))
    if columns > limits.max_columns:
        problems.append(Problem("colonnes_maximales", filename, sheet, value=f"{columns} colonnes",
                                expected=f"au plus {limits.max_columns} colonnes"))
    if rows * columns > limits.max_cells:
        problems.append(Problem("cellules_maximales", filename, sheet, value=f"{rows * columns} cellules",
                                expected=f"au plus {limits.max_cells} cellules"))
    if problems:
        raise ImportRefused(problems)


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
        raise _unrecognised(filename, next(csv.reader([first], delimiter=delimiter), []))
    header_index, delimiter, match = found
    data = _as_utf8(content, codec, filename)
    newlines = data.count(b"\n")
    _check_shape(filename, newlines, len(match.headers), limits)
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


def _check_zip(content: bytes, filename: str, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise refuse("classeur_lisible", filename) from None
    if expanded > limits.max_unzipped_bytes or expanded > limits.max_zip_ratio * max(len(content), 1):
        raise refuse("decompression_bornee", filename, value=f"{_megabytes(expanded)} une fois décompressé",
                     expected=f"au plus {limits.max_zip_ratio:.0f} fois la taille du fichier et "
                              f"{_megabytes(limits.max_unzipped_bytes)}")


def _cell_text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _read_workbook(content: bytes, filename: str, referentiel: Referentiel, limits: Limits) -> RawTable:
    from python_calamine import CalamineWorkbook, PasswordError

    if content.startswith(OLE_MAGIC):
        if ENCRYPTED_STREAM in content:
            raise refuse("classeur_sans_mot_de_passe", filename)
    else:
        _check_zip(content, filename, limits)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except PasswordError:
        raise refuse("classeur_sans_mot_de_passe", filename) from None
    except Exception:  # calamine raises a different error per format and per kind of damage
        raise refuse("classeur_lisible", filename) from None
    first_headers: tuple[str | None, list[str]] | None = None
    for sheet_name in workbook.sheet_names:
        try:
            sheet = workbook.get_sheet_by_name(sheet_name)
            # calamine gives the last row and column index, from 0: the counts are one more.
            _check_shape(filename, sheet.total_height + 1, sheet.total_width + 1, limits, sheet_name)
            rows = sheet.to_python(skip_empty_area=False)
        except ImportRefused:
            raise
        except Exception:
            raise refuse("classeur_lisible", filename, sheet=sheet_name) from None
        for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            headers = [_cell_text(c) or "" for c in row]
            match = recognise(headers, referentiel)
            if match:
                con = duckdb.connect()
                con.register("all_cells", _workbook_cells(rows[index + 1:], len(headers), index + 2))
                names = ", ".join(f"c{i}" for i in range(len(headers)))
                con.execute(f"CREATE VIEW cells AS SELECT * FROM all_cells WHERE coalesce({names}) IS NOT NULL")
                if con.execute("SELECT count(*) FROM cells").fetchall()[0][0] == 0:
                    con.close()
                    raise refuse("fichier_avec_donnees", filename, sheet=sheet_name)
                return RawTable(filename, len(content), "excel", None, None, sheet_name, match, con)
            if first_headers is None and any(headers):
                first_headers = (sheet_name, headers)
    sheet_name, headers = first_headers or (None, [])
    raise _unrecognised(filename, headers, sheet_name)


def _workbook_cells(rows: list[list], width: int, first_line: int) -> pa.Table:
    """Columns of text with the row number Excel shows; empty rows are filtered afterwards, in DuckDB."""
    if any(len(r) != width for r in rows):
        rows = [list(r[:width]) + [None] * (width - len(r)) for r in rows]
    columns = {"line": pa.array(np.arange(first_line, first_line + len(rows), dtype=np.int32))}
    transposed = list(zip(*rows)) if rows else [()] * width
    for i in range(width):
        columns[f"c{i}"] = _column_text(transposed[i])
    return pa.table(columns)


def _column_text(values: tuple) -> pa.Array:
    """A workbook column as text. Arrow converts a column of one type in C (numbers in their shortest
    form, « 85.3 », « 12 »; dates as « 2025-01-31 00:00:00 »); mixed columns go cell by cell."""
    try:
        array = pa.array([None if v == "" else v for v in values])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_cell_text(v) for v in values], pa.string())
    kind = array.type
    if (pa.types.is_string(kind) or pa.types.is_null(kind) or pa.types.is_floating(kind)
            or pa.types.is_integer(kind) or pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
        return array.cast(pa.string())
    return pa.array([_cell_text(v) for v in values], pa.string())
