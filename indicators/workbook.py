"""Read a workbook (.xlsx, .xls, .ods) into a RawTable: bounds first, then the sheet and header row that
a known layout recognises; cells are read by calamine."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time

import duckdb
import numpy as np
import pyarrow as pa

from indicators.layouts import recognise
from indicators.problems import ImportRefused, refuse
from indicators.rawtable import (HEADER_SEARCH_ROWS, OLE_MAGIC, RawTable, check_shape, megabytes,
                                 unrecognised)
from indicators.referentiel import Referentiel
from indicators.settings import Limits

# An encrypted Office file is an OLE container holding this stream name (UTF-16).
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def _check_zip(content: bytes, filename: str, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise refuse("classeur_lisible", filename) from None
    if expanded > limits.max_unzipped_bytes or expanded > limits.max_zip_ratio * max(len(content), 1):
        raise refuse("decompression_bornee", filename, value=f"{megabytes(expanded)} une fois décompressé",
                     expected=f"au plus {limits.max_zip_ratio:.0f} fois la taille du fichier et "
                              f"{megabytes(limits.max_unzipped_bytes)}")


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


def read_workbook(content: bytes, filename: str, referentiel: Referentiel, limits: Limits) -> RawTable:
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
            check_shape(filename, sheet.total_height + 1, sheet.total_width + 1, limits, sheet_name)
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
    raise unrecognised(filename, headers, sheet_name)


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
