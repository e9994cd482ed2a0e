"""Read a workbook (.xlsx, .xls, .ods) into a RawTable: bounds first, then the sheet and header row that
a known layout recognises; cells are read by calamine, in a process of its own.

calamine is native code that aborts its process when an allocation fails, and a workbook can ask it for
hundreds of GiB in 2 KB. So a workbook is never read in this process (the Streamlit server or the command
line): :mod:`indicators.workbook_child` reads it under a memory and a time limit, after measuring each sheet
from its XML (:mod:`indicators.workbook_scan`) before calamine loads it. Whatever happens there, this process
gets back a table of text cells, a refusal in French, or a dead child — itself refused in French."""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import subprocess
import sys
import zipfile

import duckdb
import pyarrow as pa

from indicators import db, settings
from indicators.columns import Choices
from indicators.layouts import recognise
from indicators.problems import ImportRefused, Problem, refuse
from indicators.rawtable import (
    HEADER_SEARCH_ROWS,
    OLE_MAGIC,
    RawTable,
    check_shape,
    megabytes,
    unrecognised,
)
from indicators.referentiel import Referentiel
from indicators.settings import PROJECT_DIR, Limits
from indicators.workbook_scan import RESAVE

# An encrypted Office file is an OLE container holding this stream name (UTF-16).
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
CHILD_MODULE = "indicators.workbook_child"
# More entries than any workbook has (a sheet is two or three): the zip directory is read in this process.
MAX_ZIP_ENTRIES = 10_000
log = logging.getLogger(__name__)


def _zip_entries(content: bytes) -> int:
    """Entries announced by the zip's end record, read before zipfile builds one object per entry."""
    try:
        end = zipfile._EndRecData(io.BytesIO(content))  # the record zipfile itself reads first
    except (OSError, ValueError, EOFError):
        return 0
    return end[zipfile._ECD_ENTRIES_TOTAL] if end else 0


def _check_zip(content: bytes, filename: str, limits: Limits) -> None:
    entries = _zip_entries(content)
    if entries > MAX_ZIP_ENTRIES:
        raise refuse("classeur_lisible", filename, value=f"{entries} fichiers dans l'archive",
                     expected=f"au plus {MAX_ZIP_ENTRIES}")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
            expanded = sum(info.file_size for info in infos)
            # Two members of one name, in any case (calamine finds a part whatever its case): the pre-scan
            # could measure one and calamine read the other.
            duplicated = len({info.filename.lower() for info in infos}) != len(infos)
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise refuse("classeur_lisible", filename) from None
    except (NotImplementedError, RuntimeError):
        # A zip version, compression method or zip encryption that the readers do not know.
        raise refuse("classeur_lisible", filename, detail=RESAVE) from None
    if duplicated:
        raise refuse("classeur_lisible", filename)
    if expanded > limits.max_unzipped_bytes or expanded > limits.max_zip_ratio * max(len(content), 1):
        raise refuse("decompression_bornee", filename, value=f"{megabytes(expanded)} une fois décompressé",
                     expected=f"au plus {limits.max_zip_ratio:.0f} fois la taille du fichier et "
                              f"{megabytes(limits.max_unzipped_bytes)}")


def read_workbook(content: bytes, filename: str, referentiel: Referentiel, limits: Limits,
                  con: duckdb.DuckDBPyConnection, choices: Choices | None = None) -> RawTable:
    """A workbook's first recognised sheet, read in a child process; its cells go into ``con`` (scratch)."""
    if content.startswith(OLE_MAGIC):
        if ENCRYPTED_STREAM in content:
            raise refuse("classeur_sans_mot_de_passe", filename)
    else:
        _check_zip(content, filename, limits)
    outcome, table = _read_in_child(content, filename, referentiel, limits, choices)
    status, sheet_name = outcome.get("status"), outcome.get("sheet")
    if status == "table":
        headers = outcome["headers"]
        match = recognise(headers, referentiel, choices)
        if match is None:  # the child recognised them with the same référentiel: never happens
            raise unrecognised(filename, headers, sheet_name)
        con.register("all_cells", table)
        names = ", ".join(f"c{i}" for i in range(len(headers)))
        con.execute(f"CREATE VIEW cells AS SELECT * FROM all_cells WHERE coalesce({names}) IS NOT NULL")
        if db.run(con, "import_cells_count").fetchall()[0][0] == 0:
            raise refuse("fichier_avec_donnees", filename, sheet=sheet_name)
        return RawTable(filename, len(content), "excel", None, None, sheet_name, match, con)
    if status == "shape":
        check_shape(filename, outcome["rows"], outcome["columns"], limits, sheet_name)
    if status == "refused":
        raise ImportRefused([Problem(file=filename, **problem) for problem in outcome["problems"]])
    if status == "unrecognised":
        raise unrecognised(filename, outcome["headers"], sheet_name)
    raise refuse("classeur_ressources", filename)


def child_command(memory_mb: int, seconds: float) -> list[str]:
    """The reader's command line: the same Python, the child module, its limits."""
    return [sys.executable, "-m", CHILD_MODULE, "--memory-mb", str(memory_mb),
            "--cpu-seconds", str(int(seconds) + 1)]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_DIR), env.get("PYTHONPATH")) if p)
    # One thread each: thread arenas and stacks would eat the address-space limit for nothing.
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", RUST_BACKTRACE="0")
    return env


def _read_in_child(content: bytes, filename: str, referentiel: Referentiel,
                   limits: Limits, choices: Choices | None) -> tuple[dict, pa.Table | None]:
    """Run the reader's process on the bytes; its outcome, or a French refusal if it did not finish."""
    memory_mb, seconds = int(settings.get("workbook_memory_mb")), float(settings.get("workbook_timeout_s"))
    request = pickle.dumps({
        "limits": {"max_rows": limits.max_rows, "max_columns": limits.max_columns,
                   "max_cells": limits.max_cells},
        "referentiel": referentiel,
        "choices": choices,
        "header_search_rows": HEADER_SEARCH_ROWS,
    }, protocol=pickle.HIGHEST_PROTOCOL)
    failure = refuse("classeur_ressources", filename)
    try:
        # No preexec_fn: it is unsafe in a threaded server. The child sets its own limits first thing.
        child = subprocess.Popen(child_command(memory_mb, seconds), stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_child_env(),
                                 cwd=str(PROJECT_DIR))
    except OSError as error:
        log.info("lecteur de classeurs non démarré : %s", error)
        raise failure from None
    try:
        child.stdin.write(len(request).to_bytes(8, "big") + request)
        out, err = child.communicate(memoryview(content), timeout=seconds)
    except subprocess.TimeoutExpired:
        log.info("lecture de %r arrêtée après %s s", filename, seconds)
        raise failure from None
    except (BrokenPipeError, OSError):  # the child died while reading its input
        out, err = b"", b""
    finally:
        if child.poll() is None:  # timed out, or this thread was interrupted: never leave it running
            child.kill()
            child.communicate()
    if child.returncode != 0:
        log.info("lecteur de classeurs arrêté (code %s) : %s", child.returncode,
                 err[-2000:].decode("utf-8", "replace"))
        raise failure
    line_end = out.find(b"\n")
    try:
        outcome = json.loads(out[:line_end])
        table = None
        if outcome.get("status") == "table":
            table = pa.ipc.open_stream(pa.py_buffer(memoryview(out)[line_end + 1:])).read_all()
    except (ValueError, pa.ArrowInvalid):
        log.info("réponse illisible du lecteur de classeurs")
        raise failure from None
    return outcome, table
