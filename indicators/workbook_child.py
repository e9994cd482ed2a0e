"""The workbook reader's own process: ``python -m indicators.workbook_child --memory-mb N --cpu-seconds S``.

A workbook is untrusted input handed to a native reader (calamine, in Rust) that aborts the whole process
when an allocation fails. So it is read here, in a process of its own under a memory limit (address space)
and a CPU-time limit, and a crash costs one request, not the server (see :mod:`indicators.workbook`).

Each sheet is measured from its XML before calamine loads it (:mod:`indicators.workbook_scan`): by byte
searches when every cell is written plainly, and then its well-formedness is checked by expat in a thread
while calamine loads it (:class:`_Beside`); exactly, by expat, otherwise. Nothing is answered before every
check is over: a damaged part is refused even when calamine has read it.

Protocol. stdin: an 8-byte big-endian length, then that many bytes of a pickled request from the parent
(``limits``, ``referentiel``, ``header_search_rows``), then the workbook's bytes up to the end.
stdout: one line of JSON, the outcome; when it is ``{"status": "table", ...}`` an Arrow IPC stream of the
data rows follows (text columns ``c0``…, and ``line``, the row number Excel shows). Outcomes:
``table`` (sheet, headers), ``unrecognised`` (sheet, headers of the first non-empty row found),
``shape`` (sheet, rows, columns over the limits: the parent words the refusal), ``refused`` (problems).

Only what reading needs is imported: no pandas, no DuckDB, no Streamlit."""

from __future__ import annotations

import contextlib
import gc
import resource
import sys
from datetime import date, datetime, time
from itertools import chain


def _limit(memory_mb: int, cpu_seconds: int) -> None:
    """Set before anything large is imported or read. No core file: an abort would write gigabytes."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_mb > 0:
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if cpu_seconds > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))


class _NoPandas:
    """pyarrow imports pandas (0,2 s) on its first ``pa.array`` when it can: not needed here."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas n'est pas utilisé par le lecteur de classeurs", name=name)
        return None  # any other module: the usual finders


def main(argv: list[str]) -> int:
    options = dict(zip(argv[::2], argv[1::2]))
    _limit(int(options.get("--memory-mb", 0)), int(options.get("--cpu-seconds", 0)))
    sys.meta_path.insert(0, _NoPandas)
    # A short life that makes millions of cells, none in a cycle: the collector would walk them for nothing
    # (a tenth of the time of to_python on 200 000 rows).
    gc.disable()

    import json
    import pickle

    stdin = sys.stdin.buffer
    size = int.from_bytes(stdin.read(8), "big")
    request = pickle.loads(stdin.read(size))
    content = stdin.read()
    outcome, table = read(request, content)
    out = sys.stdout.buffer
    out.write(json.dumps(outcome, ensure_ascii=False).encode("utf-8") + b"\n")
    if table is not None:
        import pyarrow as pa

        with pa.ipc.new_stream(out, table.schema) as writer:
            writer.write_table(table)
    out.flush()
    return 0


def _problem(rule: str, sheet: str | None = None, **fields) -> dict:
    return {"status": "refused", "problems": [{"rule": rule, "sheet": sheet, **fields}]}


def _over(rows: int, columns: int, limits: dict) -> bool:
    return rows > limits["max_rows"] or columns > limits["max_columns"] or rows * columns > limits["max_cells"]


def read(request: dict, content: bytes):
    """(outcome, Arrow table or None): the workbook's first sheet whose header row a layout recognises."""
    beside = _Beside()
    try:
        outcome = _measure_and_read(request, content, beside)
    finally:
        damaged = beside.damage()  # every check asked for is over before any answer goes out
    if damaged is not None:
        return _problem("classeur_lisible", damaged.sheet, detail=damaged.detail), None
    return outcome


def _measure_and_read(request: dict, content: bytes, beside: _Beside):
    import io
    import zipfile

    from indicators import workbook_scan as scan

    limits = request["limits"]
    extents = _Extents(None, None, limits, beside)
    try:
        if content.startswith(b"PK\x03\x04"):
            archive = zipfile.ZipFile(io.BytesIO(content))
            extents = _Extents(archive, scan.workbook_kind(archive), limits, beside)
            if extents.kind == "xlsx":
                parts = scan.xlsx_parts(archive)
                extents.parts = parts
                if scan.shared_strings_fit(archive, parts.shared_strings, limits["max_cells"]):
                    beside.check(archive, parts.shared_strings, None)
                else:
                    strings = scan.shared_strings_count(archive, parts.shared_strings)
                    if strings > limits["max_cells"]:
                        return _problem("cellules_maximales", value=f"{strings} textes partagés",
                                        expected=f"au plus {limits['max_cells']} cellules"), None
            if extents.kind == "ods" or (extents.kind == "xlsx" and scan.holds_ods_content(archive)):
                # calamine reads every table of an ODS when it opens it: all are measured first.
                extents.ods = scan.ods_extents(archive)
                for table_name, extent in extents.ods.items():
                    if _over(extent.rows, extent.columns, limits):
                        return {"status": "shape", "sheet": table_name, "rows": extent.rows,
                                "columns": extent.columns}, None
    except scan.Damaged as damaged:
        return _problem("classeur_lisible", damaged.sheet, detail=damaged.detail), None
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError):
        return _problem("classeur_lisible", detail=scan.RESAVE), None

    return _read_sheets(request, content, extents)


def _read_sheets(request: dict, content: bytes, extents: _Extents):
    """calamine reads each sheet once it is measured; its well-formedness may still be under check."""
    import io

    from python_calamine import CalamineWorkbook, PasswordError

    from indicators import workbook_scan as scan

    limits = request["limits"]
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except PasswordError:
        return _problem("classeur_sans_mot_de_passe"), None
    except Exception:  # calamine raises a different error per format and per kind of damage
        return _problem("classeur_lisible"), None

    from indicators.layouts import recognise

    first_headers = None
    for sheet_name in workbook.sheet_names:
        try:
            extent = extents.of(sheet_name)
        except scan.Damaged as damaged:
            return _problem("classeur_lisible", sheet_name, detail=damaged.detail), None
        if extent is not None and _over(extent.rows, extent.columns, limits):
            return {"status": "shape", "sheet": sheet_name, "rows": extent.rows, "columns": extent.columns}, None
        extents.beside.prepare()
        try:
            sheet = workbook.get_sheet_by_name(sheet_name)
            # calamine gives the last row and column index, from 0: the counts are one more.
            rows, columns = sheet.total_height + 1, sheet.total_width + 1
            if _over(rows, columns, limits):
                return {"status": "shape", "sheet": sheet_name, "rows": rows, "columns": columns}, None
            cells = sheet.to_python(skip_empty_area=False)
        except Exception:
            return _problem("classeur_lisible", sheet_name), None
        for index, row in enumerate(cells[:request["header_search_rows"]]):
            headers = [_cell_text(c) or "" for c in row]
            if recognise(headers, request["referentiel"], request.get("choices")):
                table = workbook_cells(cells[index + 1:], len(headers), index + 2)
                return {"status": "table", "sheet": sheet_name, "headers": headers}, table
            if first_headers is None and any(headers):
                first_headers = {"status": "unrecognised", "sheet": sheet_name, "headers": headers}
    return first_headers or {"status": "unrecognised", "sheet": None, "headers": []}, None


class _Extents:
    """The pre-scanned extent of each sheet, measured when calamine is about to load it."""

    def __init__(self, archive, kind: str | None, limits: dict, beside: _Beside):
        self.archive, self.kind, self.limits, self.beside = archive, kind, limits, beside
        self.parts = None
        self.ods: dict = {}

    def of(self, sheet_name: str):
        """The sheet's extent; None when there is nothing to refuse before calamine loads it (proved within
        the limits by the fast measure, whose well-formedness check then runs beside calamine; .xls)."""
        from indicators import workbook_scan as scan

        if self.kind == "xlsx":
            # A sheet whose part is not found where its relationship says: measure every worksheet part.
            members = self.parts.sheets.get(sheet_name) or self.parts.worksheets
            limits = self.limits
            if scan.xlsx_sheet_fits(self.archive, members, sheet_name, limits["max_rows"], limits["max_columns"],
                                    limits["max_cells"]):
                self.beside.check(self.archive, members, sheet_name)
                return None
            return scan.xlsx_sheet_extent(self.archive, members, sheet_name)
        if self.kind == "ods":
            if sheet_name in self.ods:
                return self.ods[sheet_name]
            return scan.Extent(max((e.rows for e in self.ods.values()), default=0),
                               max((e.columns for e in self.ods.values()), default=0))
        return None  # .xls, .xlsb: binary, calamine's own figures and the memory limit bound them


class _Beside:
    """Work done in one thread beside calamine, which releases the interpreter while it loads a sheet: on two
    cores it costs no time. Well-formedness checks (expat, no Python step) of the parts the fast measure
    proved within the limits — a damaged part is still refused: calamine just read it in vain, under the
    same limits, and nothing is answered before every check is over (:meth:`damage`) — and the import and
    first use of pyarrow, which the cells need next (:meth:`prepare`)."""

    def __init__(self):
        self.executor = None
        self.checks: list = []
        self.prepared = False

    def _submit(self, work, *args):
        if self.executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self.executor = ThreadPoolExecutor(max_workers=1)
        return self.executor.submit(work, *args)

    def check(self, archive, members: list[str], sheet: str | None) -> None:
        if members:
            self.checks.append(self._submit(_well_formed, archive, members, sheet))

    def prepare(self) -> None:
        if not self.prepared:
            self.prepared = True
            self._submit(_prepare_cells)

    def damage(self):
        """The first damaged part, in the order the checks were asked for (as the exact measure would have
        found it), or None; waits for all the work."""
        found = None
        for check in self.checks:
            result = check.result()
            if found is None:
                found = result
        if self.executor is not None:
            self.executor.shutdown()
        return found


def _well_formed(archive, members: list[str], sheet: str | None):
    """None, or the :class:`~indicators.workbook_scan.Damaged` that refuses the workbook."""
    from indicators import workbook_scan as scan

    try:
        scan.check_well_formed(archive, members, sheet)
    except scan.Damaged as damaged:
        return damaged
    except Exception:  # out of memory under the limit, or anything unforeseen: not proved readable
        return scan.Damaged(sheet)
    return None


def _prepare_cells() -> None:
    """pyarrow imported and each kind of cell converted once, so that its first use (0,15 s) is not later."""
    with contextlib.suppress(Exception):  # only a head start: the cells meet the same error, if any
        workbook_cells([["x", 1.5, 2.0, True, datetime(2025, 1, 31, 8), date(2025, 1, 31), ""]], 7, 2)


# --- Cells as text ------------------------------------------------------------------------------------


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


def workbook_cells(rows: list[list], width: int, first_line: int):
    """Columns of text with the row number Excel shows; empty rows are filtered afterwards, in DuckDB."""
    import pyarrow as pa

    if any(len(r) != width for r in rows):
        rows = [list(r[:width]) + [None] * (width - len(r)) for r in rows]
    columns = {"line": pa.array(range(first_line, first_line + len(rows)), pa.int32())}
    flat = list(chain.from_iterable(rows))  # a column is then a slice: four times faster than zip(*rows)
    for i in range(width):
        columns[f"c{i}"] = _column_text(flat[i::width])
    return pa.table(columns)


def _column_text(values: list):
    """A workbook column as text. Arrow converts a column of one type in C (numbers in their shortest
    form, « 85.3 », « 12 »; dates as « 2025-01-31 00:00:00 »); mixed columns go cell by cell. An empty
    cell is « » from calamine: a column of text takes it as it is, then empties become null in C."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers or dates with empty cells, or mixed kinds
        try:
            array = pa.array([None if v == "" else v for v in values])
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([_cell_text(v) for v in values], pa.string())
    kind = array.type
    if pa.types.is_string(kind):
        return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
    if (pa.types.is_null(kind) or pa.types.is_floating(kind) or pa.types.is_integer(kind)
            or pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
        return array.cast(pa.string())
    return pa.array([_cell_text(v) for v in values], pa.string())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
