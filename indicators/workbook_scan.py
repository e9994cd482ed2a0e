"""The extent of a workbook read from its XML before calamine loads anything.

calamine turns a sheet into one dense block from its first to its last cell: a 2 KB sheet holding a single
cell at XFD1048576 asks for 512 GiB, and a shared-strings table declaring four billion strings for 96 GB,
and the process aborts. Each XML member is streamed out of the zip in chunks (bounded memory whatever the
size) and measured two ways:

- fast (:func:`xlsx_sheet_fits`, :func:`shared_strings_fit`): byte searches and one regular expression per
  chunk, at C speed, prove that every cell is written the plain way spreadsheet programs write it (``<c r="B7"
  …>``) at a row and column within the limits. Anything else — a cell without ``r``, a namespace prefix,
  attributes in another order, entities, lowercase, another encoding, a reference beyond the limits — is
  « unusual » and goes to the exact measure. Well-formedness is then checked by expat alone
  (:func:`check_well_formed`), while calamine loads the sheet (:mod:`indicators.workbook_child`);
- exact (:func:`xlsx_sheet_extent`, :func:`shared_strings_count`): expat places every cell as calamine does
  and checks the XML is well-formed (calamine does not: an unclosed element glues two cells together), all
  before calamine loads the sheet; it gives the figures of a refusal.

Standard library only: this runs in the reader's child process (:mod:`indicators.workbook_child`), under
its memory and time limits."""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from functools import lru_cache
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
           ordered: bool = False, chunk_size: int = CHUNK) -> None:
    """Stream one zip member through expat, chunk by chunk; any fault becomes :class:`Damaged`.
    ``ordered``: attributes come as a list ``[name, value, …]``, cheaper than a dict. Without ``start``, expat
    runs without any Python step but the refusal of a DTD: a well-formedness check at C speed."""
    parser = expat.ParserCreate()
    parser.ordered_attributes = ordered
    parser.StartDoctypeDeclHandler = _refuse_doctype
    if start is not None:
        parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(chunk_size):
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
    """« xlsx », « ods », or None (xlsb, or not a workbook: calamine decides). calamine finds the parts of an
    xlsx whatever their case: so does this."""
    names = _xml_members(archive)
    if "xl/workbook.xml" in {name.lower() for name in names}:
        return "xlsx"
    if "content.xml" in names:
        return "ods"
    return None


def holds_ods_content(archive: zipfile.ZipFile) -> bool:
    """An ODS part in an xlsx: calamine may read the file as an ODS if it cannot as an xlsx."""
    return "content.xml" in _xml_members(archive)


# --- XLSX ---------------------------------------------------------------------------------------------


class XlsxParts(NamedTuple):
    sheets: dict[str, list[str]]  # sheet name → the zip members calamine may read it from
    shared_strings: list[str]  # zip members of the shared-strings table
    worksheets: list[str]  # every worksheet-like member, for a sheet whose member is not found


def xlsx_parts(archive: zipfile.ZipFile) -> XlsxParts:
    """Which members hold which sheet, read from ``xl/workbook.xml`` and its relationships.

    A part is looked for where the standard says (the target resolved from ``xl/``) and where calamine looks
    (« xl/ » then the target, « .. » left as it is), in any case: a zip may hold a member at each place, and
    the one measured must be the one read. A sheet's every ``…:id`` counts, whichever calamine takes."""
    names = _xml_members(archive)
    folded: dict[str, list[str]] = {}
    for name in sorted(names):
        folded.setdefault(name.lower(), []).append(name)

    def found(path: str) -> list[str]:
        return folded.get(path.lower(), [])

    def members(target: str) -> list[str]:
        standard = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        calamine = target[1:] if target.startswith("/xl/") else target if target.startswith("xl/") else "xl/" + target
        return sorted({member for path in (standard, calamine) for member in found(path)})

    targets: dict[str, tuple[str, str]] = {}

    def relationship(name, attrs):
        if _local(name) == "Relationship" and attrs.get("Id"):
            targets[attrs["Id"]] = (attrs.get("Target", ""), attrs.get("Type", ""))

    for rels in found("xl/_rels/workbook.xml.rels"):
        _parse(archive, rels, relationship, None)
    declared: list[tuple[str, list[str]]] = []

    def sheet(name, attrs):
        if _local(name) == "sheet":
            declared.append((attrs.get("name", ""), [v for k, v in attrs.items() if _local(k) == "id"]))

    for book in found("xl/workbook.xml") or ["xl/workbook.xml"]:
        _parse(archive, book, sheet, None)

    sheets: dict[str, list[str]] = {}
    for sheet_name, ids in declared:
        held = sorted({member for rid in ids if rid in targets for member in members(targets[rid][0])})
        if held:
            sheets[sheet_name] = sorted(set(sheets.get(sheet_name, [])) | set(held))
    shared = {member for target, kind in targets.values() if kind.endswith("/sharedStrings")
              for member in members(target)}
    shared |= set(found("xl/sharedStrings.xml"))
    worksheets = sorted(n for n in names if n.lower().startswith(("xl/worksheets/", "xl/chartsheets/",
                                                                 "xl/dialogsheets/")))
    return XlsxParts(sheets, sorted(shared), worksheets)


# --- Fast measure: byte searches at C speed, well-formedness apart ----------------------------------

# A window of a member never ends inside a tag: it is cut just before a « < ». More bytes than this without
# one (no spreadsheet writes a text that long) is unusual: the exact measure takes the member.
MAX_WINDOW = 16 << 20
# Expat alone reads this much at a time: short steps, so that the reader's other thread gets its turn.
WELL_FORMED_CHUNK = 64 << 10
# What a spreadsheet program writes on a cell after its reference, the way it writes it.
_CELL_ATTRIBUTES = rb'(?: (?:s|t|cm|vm|ph)="[^"<>&]{0,64}")*+ ?/?>'
# A cell of any prefix (« <x:c »): calamine reads it as a cell.
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_DIMENSION = re.compile(rb'<dimension ref="(?:[A-Z]{1,3}[1-9][0-9]{0,6}:)?([A-Z]{1,3})([1-9][0-9]{0,6})" ?/>')
_UNIQUE_COUNT = re.compile(rb'uniqueCount="([0-9]{1,10})"')
_DECLARATION = re.compile(rb'<\?xml[^<>]*?\?>')
_ENCODING = re.compile(rb'encoding\s*=\s*["\']([^"\'<>]*)["\']')
_UTF8 = (b"utf-8", b"utf8", b"us-ascii", b"ascii")


class _Unusual(Exception):
    """Written otherwise than plainly: the exact measure decides."""


class _Beyond(Exception):
    """Written plainly, beyond the bounds tried: wider bounds, fewer rows, may do."""


# The plainly written references: a column up to XFD, a row of up to 7 digits.
_LOOSEST = (16384, 9_999_999)


def column_letters(number: int) -> str:
    """16384 → « XFD »."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _up_to(top: str, lowest_first: str, lowest: str, any_class: str) -> str:
    """A regular expression of the words of ``top``'s alphabet from the first one up to ``top``: shorter
    words, then for each position a smaller symbol after the same beginning, then ``top`` itself."""
    alternatives = [f"{lowest_first}{any_class}{{0,{len(top) - 2}}}"] if len(top) > 1 else []
    for index, symbol in enumerate(top):
        smallest = lowest_first[1] if index == 0 else lowest
        if symbol > smallest:
            rest = len(top) - index - 1
            alternatives.append(top[:index] + f"[{smallest}-{chr(ord(symbol) - 1)}]"
                                + (f"{any_class}{{{rest}}}" if rest else ""))
    alternatives.append(top)
    return "(?:" + "|".join(alternatives) + ")"


def numbers_up_to(number: int) -> str:
    """A regular expression of the row numbers 1 … ``number`` as written in a reference (no leading zero)."""
    return _up_to(str(number), "[1-9]", "0", "[0-9]") if number >= 1 else "(?!)"


def columns_up_to(number: int) -> str:
    """A regular expression of the columns A … ``number`` in capitals."""
    return _up_to(column_letters(number), "[A-Z]", "A", "[A-Z]") if number >= 1 else "(?!)"


@lru_cache(maxsize=16)
def _unusual_cell(columns: int, rows: int) -> re.Pattern:
    """A cell's start tag (``<c`` then a space, ``/`` or ``>``) other than ``<c r="REF" …>`` written plainly
    with REF up to ``columns`` and ``rows``: only the attributes programs write after ``r``, one space apart,
    double quotes, no entity."""
    plain = (f' r="{columns_up_to(columns)}{numbers_up_to(rows)}"').encode() + _CELL_ATTRIBUTES
    return re.compile(rb"<c(?!" + plain + rb")(?=[\s/>])")


def _bounds(max_rows: int, max_columns: int, max_cells: int) -> list[tuple[int, int]]:
    """(columns, rows) tried by the fast measure, each within the three limits: up to column Z first (nearly
    every sheet, and the most rows), then up to CZ, then up to the column limit."""
    bounds = []
    for columns in dict.fromkeys(min(max_columns, width) for width in (26, 104, max_columns, 16384)):
        rows = min(max_rows, max_cells // columns) if columns >= 1 else 0
        if rows >= 1:
            bounds.append((columns, rows))
    return bounds


def _windows(archive: zipfile.ZipFile, member: str, sheet: str | None) -> Iterator[tuple[bytes, int]]:
    """The member in pieces ``buffer[:end]`` each cut just before a « < »: a tag is never split, nor anything
    else without a « < ». Bounded memory: a chunk, and at most MAX_WINDOW bytes without a « < »."""
    carry = b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(CHUNK):
                buffer = carry + chunk if carry else chunk
                cut = buffer.rfind(b"<")
                if cut <= 0:
                    if len(buffer) > MAX_WINDOW:
                        raise _Unusual()
                    carry = buffer
                    continue
                yield buffer, cut
                carry = buffer[cut:]
        if carry:
            yield carry, len(carry)
    except (NotImplementedError, RuntimeError):
        raise Damaged(sheet, RESAVE) from None
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError):
        raise Damaged(sheet) from None


def _check_encoding(head: bytes) -> None:
    """The byte searches read UTF-8: another encoding (UTF-16 has NUL bytes; a declaration) is unusual."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in head:
        raise _Unusual()
    if head.startswith(b"<?xml"):
        declaration = _DECLARATION.match(head)
        if declaration is None:
            raise _Unusual()
        encoding = _ENCODING.search(declaration[0])
        if encoding is not None and encoding[1].strip().lower() not in _UTF8:
            raise _Unusual()


def _check_dimensions(buffer: bytes, start: int, end: int, columns: int, rows: int) -> None:
    """Every « dimension » between start and end is ``<dimension ref="…"/>`` within the bounds (calamine reads
    the one before ``sheetData``; the exact measure, any: so does this)."""
    at = buffer.find(b"dimension", start, end)
    while at != -1:
        declared = _DIMENSION.match(buffer, at - 1, end) if at > 0 else None
        if declared is None:
            raise _Unusual()
        if column_number(declared[1].decode()) > columns or int(declared[2]) > rows:
            raise _Beyond()
        at = buffer.find(b"dimension", at + 1, end)


def _check_plain_sheet(archive: zipfile.ZipFile, member: str, sheet: str, columns: int, rows: int) -> None:
    unusual = _unusual_cell(columns, rows)
    first = True
    for buffer, end in _windows(archive, member, sheet):
        if first:
            _check_encoding(buffer[:min(end, 4096)])
            first = False
        found = unusual.search(buffer, 0, end)
        if found is not None:
            # Not plain even within the widest bounds: no bounds will do.
            raise _Unusual() if _unusual_cell(*_LOOSEST).match(buffer, found.start(), end) else _Beyond()
        # Spreadsheet programs that write prefixes write them on rows (« x14ac:dyDescent »): one colon is
        # looked for first, at memchr speed.
        if (buffer.find(b":", 0, end) != -1 and buffer.find(b":c", 0, end) != -1
                and _PREFIXED_CELL.search(buffer, 0, end) is not None):
            raise _Unusual()
        _check_dimensions(buffer, 0, end, columns, rows)


def xlsx_sheet_fits(archive: zipfile.ZipFile, members: list[str], sheet: str, max_rows: int, max_columns: int,
                    max_cells: int) -> bool:
    """Whether byte searches prove the sheet within the limits: every cell written ``<c r="B7" …>`` the plain
    way, at a row and column within bounds whose product is within ``max_cells``, and so is a declared
    dimension. True leaves its well-formedness to check (:func:`check_well_formed`); False (over the limits,
    or written otherwise: no ``r``, a prefix, another order, an entity…) leaves it to :func:`xlsx_sheet_extent`.

    Conservative by construction: the searches look at the raw bytes, comments and texts included, so they
    see every tag calamine can see (it reads the same raw bytes) and more."""
    for columns, rows in _bounds(max_rows, max_columns, max_cells):
        try:
            for member in members:
                _check_plain_sheet(archive, member, sheet, columns, rows)
        except _Beyond:
            continue
        except _Unusual:
            return False
        return True
    return False


def shared_strings_fit(archive: zipfile.ZipFile, members: list[str], max_cells: int) -> bool:
    """Whether byte counts prove the shared strings within ``max_cells``: every ``<si`` counted wherever it is
    (more than calamine reads), every ``uniqueCount`` plainly written and within it. A prefix (« <x:si »),
    another encoding or anything else written otherwise leaves it, like a count over the limit, to
    :func:`shared_strings_count`, which gives the figure of a refusal."""
    present = declared = 0
    try:
        for member in members:
            first = True
            for buffer, end in _windows(archive, member, None):
                if first:
                    _check_encoding(buffer[:min(end, 4096)])
                    first = False
                if buffer.find(b":si", 0, end) != -1:
                    raise _Unusual()
                present += buffer.count(b"<si", 0, end)
                at = buffer.find(b"uniqueCount", 0, end)
                while at != -1:
                    written = _UNIQUE_COUNT.match(buffer, at, end)
                    if written is None:
                        raise _Unusual()
                    declared = max(declared, int(written[1]))
                    at = buffer.find(b"uniqueCount", at + 1, end)
    except _Unusual:
        return False
    return max(present, declared) <= max_cells


def check_well_formed(archive: zipfile.ZipFile, members: list[str], sheet: str | None) -> None:
    """Expat over each member with no Python step: :class:`Damaged` (naming ``sheet``) if one is not
    well-formed XML. Run while calamine loads what :func:`xlsx_sheet_fits` or :func:`shared_strings_fit`
    proved within the limits."""
    for member in members:
        _parse(archive, member, None, sheet, chunk_size=WELL_FORMED_CHUNK)


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
