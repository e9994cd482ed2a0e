"""What both readers share: the RawTable they produce, the bounds on a sheet's shape, and the refusal of a
layout nobody recognises."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb

from indicators.layouts import LayoutMatch, expected_layouts_text
from indicators.problems import ImportRefused, Problem, refuse
from indicators.settings import Limits
from indicators.text import format_count, format_number_fr

HEADER_SEARCH_ROWS = 30
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
DELIMITER_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}


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
    # The scratch connection (see scratch_connection) holding the view or table ``cells``: ``line``, ``c0``…
    con: duckdb.DuckDBPyConnection
    warnings: list[str] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str | None:
        return DELIMITER_NAMES.get(self.delimiter) if self.delimiter else None


@contextmanager
def scratch_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """The private in-memory DuckDB where one file is read and checked, from its first cell to its typed rows:
    opened here and closed here, whatever happens in between. Nothing in it touches the user's database."""
    con = duckdb.connect()
    try:
        yield con
    finally:
        con.close()


def megabytes(size: int) -> str:
    """Bytes as users read sizes, in the same mebibytes the limits are set in: « 23,1 Mo »."""
    megabytes = size / (1024 * 1024)
    return f"{format_number_fr(megabytes, 0 if megabytes.is_integer() else 1)} Mo"


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


SHOWN_HEADERS, SHOWN_HEADER_CHARS = 20, 300


def unrecognised(filename: str, headers: list[str], sheet: str | None = None) -> ImportRefused:
    """The headers found are echoed, a few of them only: a long line can hold thousands."""
    found = [h for h in headers if h]
    shown = " | ".join(found[:SHOWN_HEADERS])
    if len(shown) > SHOWN_HEADER_CHARS:
        shown = shown[:SHOWN_HEADER_CHARS].rstrip() + "…"
        left = len(found) - shown.count(" | ") - 1
    else:
        left = len(found) - SHOWN_HEADERS
        shown += " …" if left > 0 else ""
    if left > 0:
        shown += f" et {format_count(left, 'autre colonne', 'autres colonnes')}"
    shown = shown or "(aucun)"
    return refuse("mise_en_page_reconnue", filename, sheet=sheet, value=shown,
                  expected="les en-têtes d'une de ces mises en page :\n" + expected_layouts_text())


def check_shape(filename: str, rows: int, columns: int, limits: Limits, sheet: str | None = None) -> None:
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


def check_size(size: int, filename: str, limits: Limits) -> None:
    """Refuse a file above the size limit: from its size alone, before a byte of it is read."""
    if size > limits.max_bytes:
        raise refuse("taille_maximale", filename, value=megabytes(size),
                     expected=f"au plus {megabytes(limits.max_bytes)}")
