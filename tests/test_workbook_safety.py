"""Hostile and damaged workbooks: refused in French, nothing stored, and never the end of the process.

The files are real: a normal workbook written by openpyxl whose zip members are then rewritten. A workbook
that can abort calamine is only ever handed to the command line in a subprocess, so that these tests fail
by a refusal missing, not by killing pytest, if the protection goes."""

from __future__ import annotations

import io
import json
import os
import random
import re
import resource
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from helpers import CANONICAL_HEADER, PROJECT, snapshot
from indicators import workbook, workbook_child, workbook_scan

ROW = "S1;Accueil de Lyon;CAF;decroche;2025-01-01;2025-01-31;95;950;1000;"
SHEET = "Indicateurs"
SHEET_XML = "xl/worksheets/sheet1.xml"
CELL_RESOURCES = "Le classeur n'a pas pu être lu : sa lecture dépasse les ressources autorisées (mémoire ou temps)."


def normal_xlsx(rows: list[str] | None = None) -> bytes:
    book = openpyxl.Workbook()
    book.active.title = SHEET
    for line in [CANONICAL_HEADER, *(rows if rows is not None else [ROW])]:
        book.active.append([cell or None for cell in line.split(";")])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite(content: bytes, changes: dict[str, object]) -> bytes:
    """The same zip with some members' text changed (a function of the old text) or added (a string)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            change = changes.get(info.filename)
            if callable(change):
                data = change(data.decode("utf-8")).encode("utf-8")
            target.writestr(info, data)
        for name, change in changes.items():
            if name not in source.namelist():
                target.writestr(name, change)
    return buffer.getvalue()


def last_cell_bomb() -> bytes:
    """2 KB: a sheet declaring, and holding, a cell at the last column of the last row (XFD1048576)."""
    return rewrite(normal_xlsx(), {SHEET_XML: lambda xml: re.sub(
        r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml).replace(
        "</sheetData>", '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
                        "</sheetData>")})


def with_shared_strings(content: bytes, strings_xml: str) -> bytes:
    """The workbook with a shared-strings part (declared in its relationships and content types)."""
    return rewrite(content, {
        "xl/sharedStrings.xml": strings_xml,
        "xl/_rels/workbook.xml.rels": lambda xml: xml.replace(
            "</Relationships>", '<Relationship Id="rIdS" Target="sharedStrings.xml" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>'),
        "[Content_Types].xml": lambda xml: xml.replace(
            "</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'),
        SHEET_XML: lambda xml: xml.replace('t="inlineStr"><is><t>S1</t></is>', 't="s"><v>0</v>'),
    })


def shared_strings_bomb() -> bytes:
    """A shared-strings table declaring four billion strings: calamine reserves room for them (96 GB)."""
    return with_shared_strings(normal_xlsx(), (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4000000000" '
        'uniqueCount="4000000000"><si><t>S1</t></si></sst>'))


def run_subprocess_cli(*args, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "indicators", *map(str, args)], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def assert_french_refusal_only(err: str) -> None:
    assert "Traceback" not in err and "panicked" not in err and "memory allocation" not in err, err
    assert "Erreur inattendue" not in err, err
    assert "rien n'a été enregistré" in err


def history(db: Path) -> list:
    done = run_subprocess_cli("history", "--format", "json", "--db", db)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --- What calamine would do ------------------------------------------------------------------------


def test_the_last_cell_bomb_really_aborts_calamine(tmp_path):
    """The premise of these tests: read as it is, this 2 KB workbook ends the process reading it."""
    path = tmp_path / "bombe.xlsx"
    path.write_bytes(last_cell_bomb())
    assert path.stat().st_size < 8 * 1024
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from python_calamine import CalamineWorkbook as W; "
                               f"W.from_path(sys.argv[1]).get_sheet_by_name({SHEET!r}).to_python()", str(path)],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "RUST_BACKTRACE": "0"},
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
    assert done.returncode != 0


# --- The command line, as users run it -------------------------------------------------------------


@pytest.mark.parametrize("make, rules", [
    (last_cell_bomb, ["Le fichier dépasse le nombre maximal de colonnes.",
                      "Le fichier dépasse le nombre maximal de cellules."]),
    (shared_strings_bomb, ["Le fichier dépasse le nombre maximal de cellules.", "4000000000 textes partagés"]),
], ids=["derniere-cellule", "textes-partages"])
def test_command_line_refuses_an_aborting_workbook_in_french(tmp_path, make, rules):
    path = tmp_path / "bombe.xlsx"
    path.write_bytes(make())
    db = tmp_path / "base.duckdb"
    assert run_subprocess_cli("demo", "--db", db, "--structures", "3").returncode == 0
    before = history(db)
    started = time.monotonic()
    done = run_subprocess_cli("import", path, "--db", db)
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert time.monotonic() - started < 60
    assert_french_refusal_only(done.stderr)
    assert "bombe.xlsx : refusé" in done.stderr
    for text in rules:
        assert text in done.stderr
    if make is last_cell_bomb:
        assert "bombe.xlsx, feuille « Indicateurs » : Le fichier dépasse le nombre maximal de colonnes. " \
               "(trouvé « 16384 colonnes » ; attendu : au plus 500 colonnes)" in done.stderr
    assert history(db) == before


# --- Extent measured before calamine loads anything -------------------------------------------------


def test_declared_last_cell_is_refused_before_reading(con, run_cli, tmp_path):
    path = tmp_path / "dimension.xlsx"
    path.write_bytes(rewrite(normal_xlsx(), {SHEET_XML: lambda xml: re.sub(
        r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml)}))
    before = snapshot(con)
    code, _, err = run_cli("import", path)
    assert code == 1
    assert ("dimension.xlsx, feuille « Indicateurs » : Le fichier dépasse le nombre maximal de lignes. "
            "(trouvé « 1048576 lignes »" not in err)  # 1 048 576 lignes ≤ 2 000 000: only columns and cells
    assert ("dimension.xlsx, feuille « Indicateurs » : Le fichier dépasse le nombre maximal de colonnes. "
            "(trouvé « 16384 colonnes » ; attendu : au plus 500 colonnes)") in err
    assert "Le fichier dépasse le nombre maximal de cellules." in err
    assert_french_refusal_only(err)
    assert snapshot(con) == before


def test_far_cell_is_refused_without_this_process_loading_the_sheet(con, run_cli, tmp_path):
    """A single cell at ZZ50000: calamine would fill 35 million cells (over 1 GB) before any limit is
    checked. The refusal comes from the sheet's XML, and this process never holds the sheet."""
    path = tmp_path / "loin.xlsx"
    path.write_bytes(rewrite(normal_xlsx(), {SHEET_XML: lambda xml: xml.replace(
        "</sheetData>", '<row r="50000"><c r="ZZ50000"><v>1</v></c></row></sheetData>')}))
    before = snapshot(con)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    code, _, err = run_cli("import", path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 400 * 1024
    assert code == 1
    assert "(trouvé « 702 colonnes » ; attendu : au plus 500 colonnes)" in err
    assert "(trouvé « 35100000 cellules » ; attendu : au plus 30000000 cellules)" in err
    assert_french_refusal_only(err)
    assert snapshot(con) == before


def test_cells_without_reference_are_placed_like_calamine_does(con, run_cli, tmp_path, monkeypatch):
    """Cells may omit ``r``: each then follows the previous one. After J3, the cell without ``r`` is K3."""
    monkeypatch.setenv("INDICATEURS_MAX_COLUMNS", "10")
    path = tmp_path / "sans-ref.xlsx"
    path.write_bytes(rewrite(normal_xlsx(), {SHEET_XML: lambda xml: xml.replace(
        "</sheetData>", '<row r="3"><c r="J3"><v>1</v></c><c><v>2</v></c></row></sheetData>')}))
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "(trouvé « 11 colonnes » ; attendu : au plus 10 colonnes)" in err


# --- Damaged XML and zip features the readers do not know -------------------------------------------


def test_unclosed_element_in_a_sheet_is_refused_as_damaged(con, run_cli, tmp_path):
    """calamine reads « CAF01 » then the next cell inside the unclosed one: the structure code gets glued
    to the indicator. The XML is not well-formed: the whole file is refused, naming the sheet."""
    path = tmp_path / "abime.xlsx"
    path.write_bytes(rewrite(normal_xlsx(), {SHEET_XML: lambda xml: xml.replace(
        '<c r="C2" t="inlineStr"><is><t>CAF</t></is></c>', '<c r="C2" t="inlineStr"><is><t>CAF01')}))
    before = snapshot(con)
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "abime.xlsx, feuille « Indicateurs » : Le classeur est endommagé ou illisible." in err
    assert_french_refusal_only(err)
    assert snapshot(con) == before


def test_unclosed_element_in_shared_strings_is_refused_as_damaged(con, run_cli, tmp_path):
    path = tmp_path / "textes.xlsx"
    path.write_bytes(with_shared_strings(normal_xlsx(), (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">'
        "<si><t>S1</si><si><t>S2</t></si></sst>")))
    before = snapshot(con)
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "textes.xlsx : Le classeur est endommagé ou illisible." in err
    assert snapshot(con) == before


def test_shared_strings_are_read_when_well_formed(con, run_cli, tmp_path):
    path = tmp_path / "textes.xlsx"
    path.write_bytes(with_shared_strings(normal_xlsx(), (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        "<si><t>S1</t></si></sst>")))
    code, _, err = run_cli("import", path)
    assert code == 0, err
    assert con.cursor().execute("SELECT structure_code FROM observation").fetchall() == [("S1",)]


def _patch_zip(content: bytes, member: str, field: str, value: int) -> bytes:
    """Change one header field of a member, in its local header and its central-directory entry."""
    data = bytearray(content)
    info = zipfile.ZipFile(io.BytesIO(content)).getinfo(member)
    local, central = {"method": 8, "version": 4}[field], {"method": 10, "version": 6}[field]
    struct.pack_into("<H", data, info.header_offset + local, value)
    name = member.encode()
    start = data.find(b"PK\x01\x02")
    while start != -1:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if bytes(data[start + 46:start + 46 + name_length]) == name:
            struct.pack_into("<H", data, start + central, value)
        start = data.find(b"PK\x01\x02", start + 4)
    return bytes(data)


@pytest.mark.parametrize("field, value", [("method", 9), ("version", 99)],
                         ids=["methode-deflate64", "version-9-9"])
def test_zip_feature_the_readers_do_not_know_asks_to_resave(con, run_cli, tmp_path, field, value):
    path = tmp_path / "ancien-format.xlsx"
    path.write_bytes(_patch_zip(normal_xlsx(), SHEET_XML, field, value))
    before = snapshot(con)
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "Le classeur est endommagé ou illisible. Enregistrez-le de nouveau depuis Excel ou LibreOffice" in err
    assert_french_refusal_only(err)
    assert snapshot(con) == before


def test_zip_with_more_entries_than_any_workbook_is_refused(con, run_cli, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index in range(workbook.MAX_ZIP_ENTRIES + 1):
            archive.writestr(f"x{index}", b"")
    path = tmp_path / "entrees.xlsx"
    path.write_bytes(buffer.getvalue())
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "entrees.xlsx : Le classeur est endommagé ou illisible. (trouvé « 10001 fichiers dans l'archive »" in err


# --- The part measured is the part calamine reads -----------------------------------------------------


def renamed(content: bytes, rename) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(rename(info.filename), source.read(info.filename))
    return buffer.getvalue()


BOMB_COLUMNS = ("Le fichier dépasse le nombre maximal de colonnes. (trouvé « 16384 colonnes » ; "
                "attendu : au plus 500 colonnes)")


def test_parts_named_in_capitals_are_measured(con, run_cli, tmp_path):
    """calamine finds « XL/WORKBOOK.XML » and the sheets whatever the case of their names."""
    path = tmp_path / "majuscules.xlsx"
    path.write_bytes(renamed(last_cell_bomb(), lambda name: name.upper() if name.startswith("xl/") else name))
    code, _, err = run_cli("import", path)
    assert code == 1
    assert f"majuscules.xlsx, feuille « Indicateurs » : {BOMB_COLUMNS}" in err
    assert_french_refusal_only(err)


def test_sheet_read_through_dot_dot_is_the_one_measured(con, run_cli, tmp_path):
    """The relationship says « worksheets/../worksheets/sheet1.xml »: calamine reads the member of that very
    name, not the normalised one; both are measured."""
    normal = zipfile.ZipFile(io.BytesIO(normal_xlsx()))
    bomb = zipfile.ZipFile(io.BytesIO(last_cell_bomb())).read(SHEET_XML)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in normal.infolist():
            data = normal.read(info.filename)
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = re.sub(rb'Target="[^"]*sheet1\.xml"', b'Target="worksheets/../worksheets/sheet1.xml"', data)
            archive.writestr(info.filename, data)
        archive.writestr("xl/worksheets/../worksheets/sheet1.xml", bomb)
    path = tmp_path / "point-point.xlsx"
    path.write_bytes(buffer.getvalue())
    code, _, err = run_cli("import", path)
    assert code == 1
    assert f"point-point.xlsx, feuille « Indicateurs » : {BOMB_COLUMNS}" in err
    assert_french_refusal_only(err)


def test_zip_holding_one_member_twice_in_two_cases_is_refused(con, run_cli, tmp_path):
    bomb = zipfile.ZipFile(io.BytesIO(last_cell_bomb())).read(SHEET_XML)
    content = rewrite(normal_xlsx(), {"xl/worksheets/SHEET1.xml": bomb})
    path = tmp_path / "casse.xlsx"
    path.write_bytes(content)
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "casse.xlsx : Le classeur est endommagé ou illisible." in err
    assert_french_refusal_only(err)


# --- ODS: repeats ----------------------------------------------------------------------------------


def ods_bytes(rows_xml: str, columns_xml: str = "") -> bytes:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="Feuille1">{columns_xml}{rows_xml}'
        "</table:table></office:spreadsheet></office:body></office:document-content>")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def ods_row(values: list[str], tail: str = "") -> str:
    cells = "".join(f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
                    if v else "<table:table-cell/>" for v in values)
    return f"<table:table-row>{cells}{tail}</table:table-row>"


CANONICAL_ROWS = [CANONICAL_HEADER.split(";"), ROW.split(";")]


def test_ods_as_libreoffice_writes_it_is_imported(con, run_cli, tmp_path):
    """LibreOffice fills rows with empty cells to column AMJ and the sheet with empty rows to the bottom,
    as repeats: they hold nothing, they do not count."""
    empty_tail = '<table:table-cell table:number-columns-repeated="1014"/>'
    rows = "".join(ods_row(values, empty_tail) for values in CANONICAL_ROWS)
    rows += ('<table:table-row table:style-name="ro1" table:number-rows-repeated="1048574">'
             '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>')
    columns = ('<table:table-column table:style-name="co1" table:number-columns-repeated="1024" '
               'table:default-cell-style-name="Default"/>')
    path = tmp_path / "libreoffice.ods"
    path.write_bytes(ods_bytes(rows, columns))
    code, _, err = run_cli("import", path)
    assert code == 0, err
    assert con.cursor().execute("SELECT structure_code, value FROM observation").fetchall() == [("S1", 95.0)]


@pytest.mark.parametrize("repeated, expected", [
    # One row of text repeated down to the bottom and across to the last column.
    ('<table:table-row table:number-rows-repeated="1048576"><table:table-cell office:value-type="string" '
     'table:number-columns-repeated="16384"><text:p>x</text:p></table:table-cell></table:table-row>',
     ["(trouvé « 16384 colonnes » ; attendu : au plus 500 colonnes)",
      "(trouvé « 17179901952 cellules » ; attendu : au plus 30000000 cellules)"]),
    # Three million empty rows, then one with a value: the value is at row 3 000 003.
    ('<table:table-row table:number-rows-repeated="3000000"><table:table-cell/></table:table-row>'
     + ods_row(ROW.split(";")),
     ["(trouvé « 3000003 lignes » ; attendu : au plus 2000000 lignes)"]),
], ids=["texte-repete", "valeur-apres-3-millions-de-lignes-vides"])
def test_ods_repeats_holding_content_count(con, run_cli, tmp_path, repeated, expected):
    path = tmp_path / "repetitions.ods"
    path.write_bytes(ods_bytes("".join(ods_row(v) for v in CANONICAL_ROWS) + repeated))
    before = snapshot(con)
    code, _, err = run_cli("import", path)
    assert code == 1
    for text in expected:
        assert "repetitions.ods, feuille « Feuille1 » : " in err
        assert text in err
    assert_french_refusal_only(err)
    assert snapshot(con) == before


def test_damaged_ods_names_the_sheet(con, run_cli, tmp_path):
    path = tmp_path / "abime.ods"
    path.write_bytes(ods_bytes(ods_row(CANONICAL_HEADER.split(";")) + "<table:table-row><table:table-cell>"))
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "abime.ods, feuille « Feuille1 » : Le classeur est endommagé ou illisible." in err


# --- The reader's process dies: this one refuses and goes on ----------------------------------------


def test_reader_out_of_memory_is_refused_and_this_process_goes_on(con, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("INDICATEURS_WORKBOOK_MEMORY_MB", "64")  # not even enough to start Python's libraries
    path = tmp_path / "normal.xlsx"
    path.write_bytes(normal_xlsx())
    before = snapshot(con)
    code, _, err = run_cli("import", path)
    assert code == 1
    assert f"normal.xlsx : {CELL_RESOURCES}" in err
    assert_french_refusal_only(err)
    assert snapshot(con) == before
    monkeypatch.delenv("INDICATEURS_WORKBOOK_MEMORY_MB")
    code, _, err = run_cli("import", path)  # the same file, with the default limits: read and stored
    assert code == 0, err


def test_reader_aborted_by_calamine_is_refused_in_french(con, run_cli, tmp_path, monkeypatch):
    """Even without the pre-scan (a reader that hands the bytes straight to calamine), the abort of
    calamine on the 2 KB bomb ends the reader's process only."""
    straight_to_calamine = (
        "import io, sys; from python_calamine import CalamineWorkbook; stdin = sys.stdin.buffer; "
        "stdin.read(int.from_bytes(stdin.read(8), 'big')); "
        "book = CalamineWorkbook.from_filelike(io.BytesIO(stdin.read())); "
        "[book.get_sheet_by_name(name).to_python() for name in book.sheet_names]")
    monkeypatch.setattr(workbook, "child_command", lambda memory_mb, seconds: [
        sys.executable, "-c", "import resource; resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); "
                              + straight_to_calamine])
    path = tmp_path / "bombe.xlsx"
    path.write_bytes(last_cell_bomb())
    before = snapshot(con)
    code, _, err = run_cli("import", path)
    assert code == 1
    assert f"bombe.xlsx : {CELL_RESOURCES}" in err
    assert_french_refusal_only(err)
    assert snapshot(con) == before


def test_reader_over_its_time_is_stopped_and_refused(con, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("INDICATEURS_WORKBOOK_TIMEOUT", "1")
    monkeypatch.setattr(workbook, "child_command", lambda memory_mb, seconds: [
        sys.executable, "-c", "import time; time.sleep(60)"])
    path = tmp_path / "lent.xlsx"
    path.write_bytes(normal_xlsx())
    started = time.monotonic()
    code, _, err = run_cli("import", path)
    assert time.monotonic() - started < 20
    assert code == 1
    assert f"lent.xlsx : {CELL_RESOURCES}" in err


def test_wrong_reader_setting_is_a_usage_error_in_french(con, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("INDICATEURS_WORKBOOK_MEMORY_MB", "beaucoup")
    path = tmp_path / "normal.xlsx"
    path.write_bytes(normal_xlsx())
    code, _, err = run_cli("import", path)
    assert code == 2
    assert "Réglage INDICATEURS_WORKBOOK_MEMORY_MB invalide : « beaucoup »" in err


def test_zip_holding_one_member_twice_is_refused(con, run_cli, tmp_path):
    """The measure of one copy would say nothing of the other, which calamine might read."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        source = zipfile.ZipFile(io.BytesIO(normal_xlsx()))
        for info in source.infolist():
            archive.writestr(info, source.read(info.filename))
        bomb = zipfile.ZipFile(io.BytesIO(last_cell_bomb()))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr(SHEET_XML, bomb.read(SHEET_XML))
    path = tmp_path / "double.xlsx"
    path.write_bytes(buffer.getvalue())
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "double.xlsx : Le classeur est endommagé ou illisible." in err
    assert_french_refusal_only(err)


# --- The fast measure: byte searches before calamine, well-formedness beside it -----------------------

LIMITS = {"max_rows": 2_000_000, "max_columns": 500, "max_cells": 30_000_000}


def read_watched(content: bytes, monkeypatch, limits: dict | None = None) -> tuple[dict, list[str]]:
    """The reader's work (workbook_child.read) in this process, with calamine watched: the outcome, and the
    sheets calamine loaded. Only for files whose protection is being tested by the refusal expected."""
    import python_calamine

    loaded: list[str] = []

    class Book:
        def __init__(self, book):
            self.book, self.sheet_names = book, book.sheet_names

        def get_sheet_by_name(self, name):
            loaded.append(name)
            return self.book.get_sheet_by_name(name)

    class Watched:
        PasswordError = python_calamine.PasswordError

        class CalamineWorkbook:
            @staticmethod
            def from_filelike(stream):
                return Book(python_calamine.CalamineWorkbook.from_filelike(stream))

    monkeypatch.setitem(sys.modules, "python_calamine", Watched)
    from indicators.referentiel import load_default

    request = {"limits": limits or LIMITS, "referentiel": load_default(), "header_search_rows": 30}
    outcome, _ = workbook_child.read(request, content)
    return outcome, loaded


def sheet_xml_with(cells_xml: str, row: int = 3) -> bytes:
    """The normal workbook with one more row of cells, written as given."""
    return rewrite(normal_xlsx(), {SHEET_XML: lambda xml: xml.replace(
        "</sheetData>", f'<row r="{row}">{cells_xml}</row></sheetData>')})


@pytest.mark.parametrize("cells_xml, columns", [
    (('<x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="XFD1048576" t="inlineStr">'
      "<x:is><x:t>x</x:t></x:is></x:c>"), 16384),
    ('<c r="A3"><v>1</v></c>' + "<c><v>2</v></c>" * 599, 600),
    ('<c t="n" r="XFD3"><v>1</v></c>', 16384),
    ('<c r="A3" r="XFD3"><v>1</v></c>', None),  # two « r »: not well-formed, refused as damaged
    ("<c r='XFD3'><v>1</v></c>", 16384),
    ('<c\tr="XFD3"><v>1</v></c>', 16384),
    ('<c r="xfd3"><v>1</v></c>', 16384),
    ('<c r="&#88;FD3"><v>1</v></c>', 16384),
], ids=["prefixe-x-c", "sans-r", "r-en-second", "deux-r", "apostrophes", "tabulation", "minuscules", "entite"])
def test_unusual_cells_are_measured_exactly_before_calamine_loads_the_sheet(monkeypatch, cells_xml, columns):
    """Written otherwise than plainly, a cell goes to the exact measure, which refuses before calamine
    sees the sheet: it never loads it (this process would not survive it: the refusal proves it too)."""
    content = sheet_xml_with(cells_xml)
    members = [SHEET_XML]
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert not workbook_scan.xlsx_sheet_fits(archive, members, SHEET, **LIMITS)
    outcome, loaded = read_watched(content, monkeypatch)
    assert loaded == []
    if columns is None:
        assert outcome == {"status": "refused", "problems": [
            {"rule": "classeur_lisible", "sheet": SHEET, "detail": None}]}
    else:
        assert outcome["status"] == "shape" and outcome["sheet"] == SHEET and outcome["columns"] == columns


def test_prefixed_last_cell_bomb_is_refused_in_french(con, run_cli, tmp_path):
    path = tmp_path / "prefixe.xlsx"
    path.write_bytes(sheet_xml_with(
        '<x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="XFD1048576"><x:v>1</x:v>'
        "</x:c>", row=1048576))
    before = snapshot(con)
    code, _, err = run_cli("import", path)
    assert code == 1
    assert "prefixe.xlsx, feuille « Indicateurs » : Le fichier dépasse le nombre maximal de colonnes. " \
           "(trouvé « 16384 colonnes » ; attendu : au plus 500 colonnes)" in err
    assert_french_refusal_only(err)
    assert snapshot(con) == before


def test_plain_sheet_is_read_by_calamine_while_its_xml_is_checked(monkeypatch):
    outcome, loaded = read_watched(normal_xlsx(), monkeypatch)
    assert loaded == [SHEET] and outcome["status"] == "table"


def test_damaged_sheet_is_refused_though_calamine_read_it_meanwhile(monkeypatch):
    """Every cell plainly written, within the limits: calamine loads the sheet at once, and the check of
    its XML, beside it, finds the unclosed element: the whole file is refused, naming the sheet."""
    content = rewrite(normal_xlsx(), {SHEET_XML: lambda xml: xml.replace(
        '<c r="C2" t="inlineStr"><is><t>CAF</t></is></c>', '<c r="C2" t="inlineStr"><is><t>CAF01')})
    outcome, loaded = read_watched(content, monkeypatch)
    assert loaded == [SHEET]
    assert outcome == {"status": "refused", "problems": [{"rule": "classeur_lisible", "sheet": SHEET,
                                                          "detail": None}]}


def test_damaged_shared_strings_are_refused_though_calamine_opened_them(monkeypatch):
    content = with_shared_strings(normal_xlsx(), (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">'
        "<si><t>S1</si><si><t>S2</t></si></sst>"))
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert workbook_scan.shared_strings_fit(archive, ["xl/sharedStrings.xml"], LIMITS["max_cells"])
    outcome, _ = read_watched(content, monkeypatch)
    assert outcome == {"status": "refused", "problems": [{"rule": "classeur_lisible", "sheet": None,
                                                          "detail": None}]}


@pytest.mark.parametrize("strings_xml, fits", [
    ('<sst xmlns="urn:x" count="2" uniqueCount="2"><si><t>a</t></si><si><t>b</t></si></sst>', True),
    ('<sst xmlns="urn:x" uniqueCount="30000001"><si><t>a</t></si></sst>', False),
    ("<sst xmlns=\"urn:x\" uniqueCount='4000000000'><si><t>a</t></si></sst>", False),
    ('<sst xmlns="urn:x" uniqueCount="&#52;000000000"><si><t>a</t></si></sst>', False),
    ('<?xml version="1.0" encoding="UTF-16"?><sst xmlns="urn:x"><si><t>a</t></si></sst>', False),
], ids=["ordinaire", "trop", "apostrophes", "entite", "utf-16-declare"])
def test_shared_strings_fast_count(strings_xml, fits):
    content = with_shared_strings(normal_xlsx(), strings_xml)
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert workbook_scan.shared_strings_fit(archive, ["xl/sharedStrings.xml"], 30_000_000) is fits


def test_prefixed_shared_strings_are_counted_exactly():
    strings = "".join(f"<x:si><x:t>{i}</x:t></x:si>" for i in range(5))
    content = with_shared_strings(normal_xlsx(), f'<x:sst xmlns:x="urn:x">{strings}</x:sst>')
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert not workbook_scan.shared_strings_fit(archive, ["xl/sharedStrings.xml"], 30_000_000)
    assert workbook_scan.shared_strings_count(archive, ["xl/sharedStrings.xml"]) == 5


def _fits(xml: str | bytes, limits: dict = LIMITS) -> bool:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SHEET_XML, xml)
    return workbook_scan.xlsx_sheet_fits(zipfile.ZipFile(buffer), [SHEET_XML], SHEET, **limits)


def _sheet(cells: str, before: str = "", after: str = "") -> str:
    return (f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{before}'
            f'<sheetData><row r="1">{cells}</row></sheetData>{after}</worksheet>')


@pytest.mark.parametrize("xml, fits", [
    (_sheet('<c r="A1" s="1" t="n"><v>1</v></c><c r="Z1" /><c r="B1" s="2"/>'), True),
    (_sheet('<c r="A1"><v>1</v></c>', before='<dimension ref="A1:I200001"/>'), True),
    ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + _sheet('<c r="A1"><v>1</v></c>'), True),
    (_sheet('<c r="AD1"><v>1</v></c>'), True),  # beyond Z: the second bounds, up to the column limit
    (_sheet('<c r="SG1"><v>1</v></c>'), False),  # column 501
    (_sheet('<c r="A1153846"><v>1</v></c>'), True),  # 26 columns × 1 153 846 rows ≤ 30 000 000 cells
    (_sheet('<c r="A1153847"><v>1</v></c>'), False),
    (_sheet('<c r="CZ288461"><v>1</v></c>'), True),  # 104 columns × 288 461 rows ≤ 30 000 000 cells
    (_sheet('<c r="SF60000"><v>1</v></c>'), True),  # 500 columns × 60 000 rows
    (_sheet('<c r="CZ300000"><v>1</v></c>'), False),  # 104 columns × 300 000 rows > 30 000 000 cells
    (_sheet('<c r="A01"><v>1</v></c>'), False),
    (_sheet('<c r="A1" x:r="XFD1"><v>1</v></c>'), False),
    (_sheet('<c r="A1" t="a&amp;b"><v>1</v></c>'), False),
    (_sheet('<c r="A1"\n t="n"><v>1</v></c>'), False),
    (_sheet('<c r="A1"><v>1</v></c>', before='<dimension ref="A1:XFD1048576"/>'), False),
    (_sheet('<c r="A1"><v>1</v></c>', after='<dimension ref="A1:XFD1048576"/>'), False),
    (_sheet('<c r="A1"><v>1</v></c>', before="<x:dimension ref=\"A1\"/>"), False),
    (_sheet('<c r="A1"><v>1</v></c>', before="<!-- <c r=\"XFD1\"> -->"), False),  # a comment: unusual too
    (_sheet('<c r="A1"><v>1</v></c>').encode("utf-16"), False),
    ('<?xml version="1.0" encoding="ISO-8859-1"?>' + _sheet('<c r="A1"><v>1</v></c>'), False),
], ids=["ordinaire", "dimension", "declaration", "colonne-AD", "colonne-501", "lignes-26-colonnes",
        "lignes-au-dela", "colonne-CZ", "colonne-SF", "cellules-au-dela", "zero-en-tete", "r-prefixe",
        "entite-ailleurs", "saut-de-ligne",
        "dimension-enorme", "dimension-apres", "dimension-prefixee", "commentaire", "utf-16", "latin-1"])
def test_fast_measure_proves_only_plain_sheets_within_the_limits(xml, fits):
    assert _fits(xml) is fits


@pytest.mark.parametrize("cells, passes", [
    ('<c r="A1"><v>1</v></c><c><v>2</v></c>', 1),  # a cell without « r »: no bounds will do
    ('<c r="A1"><v>1</v></c><c r="SG1"><v>2</v></c>', 3),  # plainly written, beyond every bounds tried
], ids=["sans-r", "au-dela"])
def test_fast_measure_tries_wider_bounds_only_for_plain_cells(monkeypatch, cells, passes):
    calls = []
    check = workbook_scan._check_plain_sheet
    monkeypatch.setattr(workbook_scan, "_check_plain_sheet", lambda *args: calls.append(args) or check(*args))
    assert not _fits(_sheet(cells))
    assert len(calls) == passes


def test_fast_measure_reads_across_chunks(monkeypatch):
    """Chunks cut anywhere: windows end before a « < », so a tag is never split; a long text without one
    is taken by the exact measure."""
    monkeypatch.setattr(workbook_scan, "CHUNK", 7)
    cells = "".join(f'<c r="{letter}{row}" t="n"><v>{row}</v></c>' for row in range(1, 40) for letter in "ABZ")
    assert _fits(_sheet(cells))
    assert not _fits(_sheet(cells + '<c r="AAA1"><v>1</v></c>' + cells))
    monkeypatch.setattr(workbook_scan, "MAX_WINDOW", 100)
    assert not _fits(_sheet(f'<c r="A1" t="inlineStr"><is><t>{"x" * 200}</t></is></c>'))


TOKENS = ['<c r="', "<c", "<c>", "<c/>", "</c>", "<x:c ", ":c ", ' r="', " r='", '"', "'", ">", "/>", "<", " ",
          "\t", "A", "Z", "AA", "K", "xfd", "0", "1", "9", "11", "99", "&#65;", "&amp;", "<row>", '<row r="',
          "</row>", '<dimension ref="', "A1:", ":", "x:", " s=\"1\"", " t=\"n\"", "<!--", "-->", "<v>", "</v>",
          ' r="M1"', ' r="A99"', " r='M1'", ' x:r="M1"', '<c r="M1">']
# Whole cells and elements that would go beyond 12 columns or 40 rows, each written a way calamine reads.
ELEMENTS = ['<c r="M1"><v>1</v></c>', '<c r="A99"><v>1</v></c>', '<c r="A1" r="M1"><v>1</v></c>',
            '<c r="A1" t="n" r="M1"><v>1</v></c>', "<c r='M1'><v>1</v></c>", '<c\tr="M1"><v>1</v></c>',
            '<c r="m1"><v>1</v></c>', '<c r="A041"><v>1</v></c>', '<c r="&#77;1"><v>1</v></c>',
            '<c t="n" r="M1"><v>1</v></c>', '<c r="A1" x:r="M1"><v>1</v></c>', "<c><v>1</v></c>" * 12,
            '<x:c xmlns:x="urn:x" r="M1"><x:v>1</x:v></x:c>', '<c r="L1"><v>1</v></c><c><v>1</v></c>',
            '<dimension ref="A1:M99"/>', '<x:dimension xmlns:x="urn:x" ref="A1:M99"/>',
            '<c r="AAA1"><v>1</v></c>', '<c r="A4294967297"><v>1</v></c>', '<c r="L39"><v>1</v></c>']


def _mutate(xml: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        # Half the time at the start of a tag, where whole elements go.
        tags = [index for index, char in enumerate(xml) if char == "<"]
        at = rng.choice(tags) if tags and rng.random() < 0.5 else rng.randrange(len(xml) + 1)
        kind = rng.random()
        if kind < 0.4:
            xml = xml[:at] + rng.choice(TOKENS + ELEMENTS) + xml[at:]
        elif kind < 0.7:
            xml = xml[:at] + xml[at + rng.randint(1, 6):]
        else:
            xml = xml[:at] + rng.choice(TOKENS) + xml[at + rng.randint(1, 4):]
    return xml


def test_fast_measure_never_proves_what_the_exact_measure_or_calamine_would_refuse(tmp_path):
    """Seeded mutations of a small sheet, limits of 12 columns, 40 rows, 300 cells. Whenever the fast measure
    proves a sheet within them, the exact measure agrees or finds the XML damaged (and so does the check that
    runs beside calamine), and calamine itself, which loads the sheet before that check is over, places no
    cell beyond them, damaged or not (it runs in a process of its own, that a wrong proof could abort)."""
    limits = {"max_rows": 40, "max_columns": 12, "max_cells": 300}
    rng = random.Random(20261129)
    base = _sheet("".join(f'<c r="{letter}1" t="n"><v>1</v></c>' for letter in "ABCJ"),
                  before='<dimension ref="A1:J3"/>').replace(
        "</sheetData>", '<row r="3"><c r="B3"><v>2</v></c><c r="K3" t="inlineStr"><is><t>x</t></is></c></row>'
                        "</sheetData>")
    # Each element at the start of each tag, then random mutations.
    tags = [index for index, char in enumerate(base) if char == "<"]
    cases = [base[:at] + element + base[at:] for element in ELEMENTS for at in tags]
    cases += [_mutate(base, rng) for _ in range(2000)]
    proved, well_formed = [], 0
    workbook_bytes = normal_xlsx()
    for index, xml in enumerate(cases):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(SHEET_XML, xml)
        archive = zipfile.ZipFile(buffer)
        if not workbook_scan.xlsx_sheet_fits(archive, [SHEET_XML], SHEET, **limits):
            continue
        try:
            extent = workbook_scan.xlsx_sheet_extent(archive, [SHEET_XML], SHEET)
        except workbook_scan.Damaged:
            try:
                workbook_scan.check_well_formed(archive, [SHEET_XML], SHEET)
            except workbook_scan.Damaged:
                pass  # refused all the same, by the check beside calamine
            # Well-formed, but a row number the exact measure cannot read (« 3x »): no cell is placed by its
            # row (each has its own reference), so only calamine's verdict below matters.
        else:
            well_formed += 1
            assert extent.rows <= 40 and extent.columns <= 12 and extent.rows * extent.columns <= 300, (xml,
                                                                                                       extent)
        path = tmp_path / f"{index}.xlsx"
        path.write_bytes(rewrite(workbook_bytes, {SHEET_XML: lambda _old, new=xml: new}))
        proved.append(str(path))
    assert len(proved) > 500 and well_formed > 100  # many sheets stay plain enough to be proved
    script = ("import json, sys\nfrom python_calamine import CalamineWorkbook\nfor path in sys.argv[1:]:\n"
              "    try:\n        sheet = CalamineWorkbook.from_path(path).get_sheet_by_name('Indicateurs')\n"
              "    except Exception:\n        continue\n"
              "    print(json.dumps([path, sheet.total_height + 1, sheet.total_width + 1]))\n")
    done = subprocess.run([sys.executable, "-c", script, *proved], capture_output=True, text=True, timeout=300,
                          check=False, env={**os.environ, "RUST_BACKTRACE": "0"},
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
    assert done.returncode == 0, done.stderr[-2000:]
    for line in done.stdout.splitlines():
        path, rows, columns = json.loads(line)
        assert rows <= 40 and columns <= 12, (path, rows, columns)
