"""The extent of a workbook read from its XML before calamine loads anything.

calamine turns a sheet into one dense block from its first to its last cell: a 2 KB sheet holding a single
cell at XFD1048576 asks for 512 GiB, and a shared-strings table declaring four billion strings for 96 GB,
and the process aborts. Here each XML member is streamed out of the zip in chunks into expat, which keeps
counters only (bounded memory whatever the size) and checks that the XML is well-formed — calamine does not:
an unclosed element glues two cells together. Standard library only: this runs in the reader's child process
(:mod:`indicators.workbook_child`), under its memory and time limits."""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from string import ascii_letters
from typing import NamedTuple
from xml.parsers import expat

CHUNK = 1 << 20
DIGITS = "0123456789"
WITHOUT_DIGITS = str.maketrans("", "", DIGITS)
WITHOUT_LETTERS = str.maketrans("", "", ascii_letters)
RESAVE = ("Enregistrez-le de nouveau depuis Excel ou LibreOffice (format .xlsx ou .ods), "
          "puis importez cette copie.")
# ODS attributes that give a cell or a row more than one place.
ODS_ROWS_REPEATED = "table:number-rows-repeated"
ODS_COLUMNS_REPEATED = "table:number-columns-repeated"
# Whatever an ODS cell holds makes it count (value, formula, text): only bare cells are empty.
ODS_CONTENT_ATTRIBUTES = ("office:value-type", "office:value", "table:formula", "calcext:value-type")


class Damaged(Exception):
    """The workbook cannot be read as it is: malformed XML, unsupported zip feature, broken member."""

    def __init__(self, sheet: str | None = None, detail: str | None = None):
        super().__init__(sheet, detail)
        self.sheet = sheet
        self.detail = detail


class Extent(NamedTuple):
    """The last row and column (from 1) holding a cell, or declared by the sheet: what calamine allocates."""

    rows: int
    columns: int


def _refuse_doctype(*_args) -> None:
    # Spreadsheet XML never declares a DTD; one is how entity expansion bombs start.
    raise Damaged()


def _parse(archive: zipfile.ZipFile, member: str, start, sheet: str | None, end=None, after_chunk=None,
           ordered: bool = False) -> None:
    """Stream one zip member through expat, chunk by chunk; any fault becomes :class:`Damaged`.
    ``ordered``: attributes come as a list ``[name, value, …]``, cheaper than a dict."""
    parser = expat.ParserCreate()
    parser.ordered_attributes = ordered
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(CHUNK):
                parser.Parse(chunk, False)
                if after_chunk is not None:
                    after_chunk()
        parser.Parse(b"", True)
        if after_chunk is not None:
            after_chunk()
    except Damaged as damaged:
        raise Damaged(sheet, damaged.detail) from None
    except (NotImplementedError, RuntimeError):
        # A compression method, zip version or zip encryption that Python's zip reader does not know.
        raise Damaged(sheet, RESAVE) from None
    except (expat.ExpatError, ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError):
        raise Damaged(sheet) from None


def _attribute(attrs: list[str], name: str) -> str | None:
    """An attribute's value from expat's ordered list ``[name, value, name, value, …]``."""
    for index in range(0, len(attrs), 2):
        if attrs[index] == name:
            return attrs[index + 1]
    return None


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _count(text: str, smallest: int = 1) -> int:
    """A row number, repeat or count as written in the XML; anything else raises ValueError (damaged)."""
    value = int(text)
    if value < smallest:
        raise ValueError(text)
    return value


_COLUMNS: dict[str, int] = {}


def column_number(letters: str) -> int:
    """« A » → 1, « XFD » → 16384; anything else than ASCII letters raises ValueError."""
    number = _COLUMNS.get(letters)
    if number is None:
        if not letters or not letters.isascii() or not letters.isalpha() or len(letters) > 8:
            raise ValueError(letters)
        number = 0
        for letter in letters.upper():
            number = number * 26 + ord(letter) - 64
        _COLUMNS[letters] = number
    return number


def cell_position(ref: str) -> tuple[int, int]:
    """« XFD1048576 » → (1048576, 16384): row and column from 1; a malformed reference raises ValueError."""
    letters = ref.rstrip(DIGITS)
    row = int(ref[len(letters):])
    if row < 1:
        raise ValueError(ref)
    return row, column_number(letters)


def _xml_members(archive: zipfile.ZipFile) -> set[str]:
    return {info.filename for info in archive.infolist() if not info.is_dir()}


def workbook_kind(archive: zipfile.ZipFile) -> str | None:
    """« xlsx », « ods », or None (xlsb, or not a workbook: calamine decides)."""
    names = _xml_members(archive)
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "content.xml" in names:
        return "ods"
    return None


# --- XLSX ---------------------------------------------------------------------------------------------


class XlsxParts(NamedTuple):
    sheets: dict[str, str]  # sheet name → zip member of its XML
    shared_strings: list[str]  # zip members of the shared-strings table
    worksheets: list[str]  # every worksheet-like member, for a sheet whose member is not found


def xlsx_parts(archive: zipfile.ZipFile) -> XlsxParts:
    """Which member holds which sheet, read from ``xl/workbook.xml`` and its relationships."""
    names = _xml_members(archive)
    targets: dict[str, tuple[str, str]] = {}

    def relationship(name, attrs):
        if _local(name) == "Relationship" and attrs.get("Id"):
            targets[attrs["Id"]] = (attrs.get("Target", ""), attrs.get("Type", ""))

    if "xl/_rels/workbook.xml.rels" in names:
        _parse(archive, "xl/_rels/workbook.xml.rels", relationship, None)
    declared: list[tuple[str, str]] = []

    def sheet(name, attrs):
        if _local(name) == "sheet":
            rid = next((v for k, v in attrs.items() if _local(k) == "id"), "")
            declared.append((attrs.get("name", ""), rid))

    _parse(archive, "xl/workbook.xml", sheet, None)

    def member(target: str) -> str:
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join("xl", target))

    sheets = {}
    for sheet_name, rid in declared:
        target = targets.get(rid)
        if target and member(target[0]) in names:
            sheets[sheet_name] = member(target[0])
    shared = {member(t) for t, kind in targets.values() if kind.endswith("/sharedStrings")}
    shared |= {n for n in names if n.lower() == "xl/sharedstrings.xml"}
    worksheets = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    return XlsxParts(sheets, sorted(shared & names), worksheets)


def shared_strings_count(archive: zipfile.ZipFile, members: list[str]) -> int:
    """The larger of the strings declared (``uniqueCount``, what calamine reserves room for) and present."""
    declared = present = 0

    def start(name, attrs):
        nonlocal declared, present
        if name == "si":
            present += 1
            return
        local = _local(name)
        if local == "si":
            present += 1
        elif local == "sst":
            declared = max(declared, _count(attrs.get("uniqueCount") or "0", 0))

    for member in members:
        _parse(archive, member, start, None)
    return max(declared, present)


def xlsx_sheet_extent(archive: zipfile.ZipFile, members: list[str], sheet: str) -> Extent:
    """Last row and column of a sheet: every ``<c>`` (at ``r``, or after the previous cell when it has
    none, as calamine places it) and the declared ``<dimension>``. Well-formedness is checked too.

    The references of a chunk's cells are collected as they come and measured once per chunk, by C loops
    (``translate``, ``set``, ``max``): a Python step per cell would double the time of the scan. Cells without
    ``r`` are placed one by one, as calamine does, after the last placed cell of the row."""
    rows = columns = 0
    row = 0  # the current ``<row>``, from 1
    column = 0  # in the current row, the column of the last cell placed one by one
    refs: list[str] = []  # references not measured yet
    collect = refs.append
    last_ref: str | None = None  # the last reference measured, until a cell without one follows it

    def measure() -> None:
        nonlocal rows, columns, last_ref
        if refs:
            # « XFD1048576 » → « XFD » and « 1048576 », for all references at once; anything else than
            # letters then digits leaves a part that column_number or int refuses (damaged).
            joined = "\n".join(refs)
            for letters in set(joined.translate(WITHOUT_DIGITS).split("\n")):
                columns = max(columns, column_number(letters))
            rows = max(rows, max(map(int, joined.translate(WITHOUT_LETTERS).split("\n"))))
            last_ref = refs[-1]
            refs.clear()

    def start(name, attrs):
        nonlocal rows, columns, row, column
        if name == "c":
            # Attributes in a list (``ordered``): ``r`` comes first in the files of every spreadsheet program.
            ref = attrs[1] if attrs and attrs[0] == "r" else _attribute(attrs, "r")
            if ref:
                collect(ref)
                return
            place()
        elif name == "row":
            ref = _attribute(attrs, "r")
            row = _count(ref) if ref else row + 1
            column = 0
        elif ":" in name:
            local = _local(name)
            if local in ("c", "row", "dimension"):
                start(local, attrs)
        elif name == "dimension":
            last = (_attribute(attrs, "ref") or "").rpartition(":")[2]
            try:
                declared_rows, declared_columns = cell_position(last)
            except ValueError:
                return  # calamine does not rely on it either
            rows, columns = max(rows, declared_rows), max(columns, declared_columns)

    def place() -> None:
        """A cell without ``r``: one column after the previous cell of the row."""
        nonlocal rows, columns, column, last_ref
        measure()
        if last_ref is not None:
            cell_row, cell_column = cell_position(last_ref)
            if cell_row == row:
                column = cell_column
            last_ref = None
        column += 1
        rows, columns = max(rows, row, 1), max(columns, column)

    for member in members:
        _parse(archive, member, start, sheet, after_chunk=measure, ordered=True)
    return Extent(rows, columns)


# --- ODS ----------------------------------------------------------------------------------------------


def ods_extents(archive: zipfile.ZipFile) -> dict[str, Extent]:
    """Each table of ``content.xml``: the last row and column holding something.

    Repeats are what ODS uses instead of cells: LibreOffice ends every sheet with a row repeated to the
    bottom (``number-rows-repeated="1048560"``) and rows with cells repeated to the right, all empty, and
    calamine skips them. So a repeat counts only when it carries content, or when content comes after it:
    the extent is where the last content ends."""
    extents: dict[str, Extent] = {}
    depth = 0  # nesting of tables: only the outermost one's rows count
    name = ""
    rows = columns = 0  # extent of the current table
    row_index = 0  # rows seen so far in the table, repeats included
    row_repeat = 1
    row_width = 0  # in the current row: where its last content ends
    column = 0  # cells seen so far in the current row, repeats included
    cell_repeat = 1
    cell_content = False
    in_cell = False

    def start(element, attrs):
        nonlocal depth, name, rows, columns, row_index, row_repeat, row_width, column, cell_repeat
        nonlocal cell_content, in_cell
        if in_cell:
            cell_content = True  # any element inside a cell (a paragraph, an annotation…) is content
            if element == "table:table":
                depth += 1
            return
        if element == "table:table-row":
            if depth == 1:
                row_repeat = _count(attrs.get(ODS_ROWS_REPEATED) or "1")
                row_width = column = 0
        elif element in ("table:table-cell", "table:covered-table-cell"):
            if depth == 1:
                in_cell = True
                cell_repeat = _count(attrs.get(ODS_COLUMNS_REPEATED) or "1")
                cell_content = any(attrs.get(a) for a in ODS_CONTENT_ATTRIBUTES)
        elif element == "table:table":
            depth += 1
            if depth == 1:
                name = attrs.get("table:name", "")
                rows = columns = row_index = 0

    def end(element):
        nonlocal depth, rows, columns, row_index, row_width, column, cell_content, in_cell
        if element == "table:table":
            depth -= 1
            if depth == 0:
                previous = extents.get(name, Extent(0, 0))
                extents[name] = Extent(max(rows, previous.rows), max(columns, previous.columns))
            return
        if depth != 1:
            return
        if element in ("table:table-cell", "table:covered-table-cell") and in_cell:
            in_cell = False
            column += cell_repeat
            if cell_content:
                row_width = column
        elif element == "table:table-row":
            row_index += row_repeat
            if row_width:
                rows = row_index
                columns = max(columns, row_width)

    def checked_start(element, attrs):
        if depth >= 1 or element == "table:table":
            start(element, attrs)

    def checked_end(element):
        if depth >= 1:
            end(element)

    try:
        _parse(archive, "content.xml", checked_start, None, checked_end)
    except Damaged as damaged:
        raise Damaged(name if depth else None, damaged.detail) from None
    return extents
