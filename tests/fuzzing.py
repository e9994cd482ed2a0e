"""Seeded mutation fuzzing of ``python -m indicators import``: seeds, mutators, the worker that runs cases and
the invariant each case must keep. Shared by ``tests/test_fuzz.py`` (a few hundred cases in CI) and
``bench/fuzz.py`` (long campaigns).

A case is ``make_case(seed, index)``: the seed family is ``FAMILIES[index % len(FAMILIES)]``, the mutations are
drawn from ``random.Random(f"{seed}/{index}")``, so (seed, index) alone reproduces the file, byte for byte.

Cases run in child worker processes (``python3 tests/fuzzing.py --worker …``), never in the caller: a mutated
workbook can abort or exhaust a process. Each worker imports the product once, then for each case writes the
file, copies a fresh database (schema and référentiel loaded, made once per worker), calls the real command
line ``indicators.cli.main(["import", FILE, "--db", DB])`` with file descriptors 1 and 2 captured (native
libraries included), and reports the exit code, both outputs, the row counts left in the database, the
process's peak RSS for that case and any scratch file left behind. A worker that dies or overruns its time is
killed (its whole process group) and restarted; the case counts as a failure.

The invariant (:func:`violations`): exit 0 or 1; on 1, stderr is French, non-empty, and holds no traceback, no
« Erreur inattendue », no English library text, no scratch path; a refused file leaves the database as it was
and no scratch file behind; peak memory stays under the bound (the worker runs under RLIMIT_AS a little above
it, so a runaway allocation fails the case instead of the machine; « Mémoire insuffisante » on a small file is
a failure too: bounds are judged before parsing)."""

from __future__ import annotations

import argparse
import codecs
import io
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
PROJECT = TESTS_DIR.parent
DEFAULT_SEED = 20261129
DEFAULT_MEMORY_MB = 2048
DEFAULT_TIMEOUT_S = 30.0

CANONICAL_HEADER = ("code_structure;nom_structure;reseau;code_indicateur;debut_periode;fin_periode;valeur;"
                    "numerateur;denominateur;effectif")
# The same values as tests/helpers.py GOLD (test_fuzz.py checks they agree): one value per indicator,
# (valeur, numérateur, dénominateur, effectif). Copied, so that the parent process never imports the product.
GOLD = {
    "attente_guichet": ("8", "", "", "500"),
    "decroche": ("95", "950", "1000", ""),
    "delai_courriels": ("1,5", "", "", "200"),
    "delai_courriers": ("5", "", "", "100"),
    "delais_annonces": ("97", "970", "1000", ""),
    "demarches_en_ligne_8": ("85", "170", "200", ""),
    "publication_resultats": ("oui", "", "", ""),
    "satisfaction_globale": ("92", "184", "200", "200"),
}
BAROMETRE_EXCERPT = TESTS_DIR / "data" / "barometre-detail-departemental-extrait.csv"
FIXED_ZIP_TIME = (2025, 1, 1, 0, 0, 0)
# Cases are reproducible for one version of this file: a worker started from another one is refused.
FUZZER_VERSION = __import__("hashlib").sha256(Path(__file__).read_bytes()).hexdigest()[:12]


# --- Seeds ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    family: str
    kind: str  # "csv" or "xlsx"
    data: bytes
    sep: bytes = b";"
    codec: str = "utf-8"
    sheet: str | None = None  # xlsx: the zip member holding the data


def _canonical_csv() -> bytes:
    rows = [CANONICAL_HEADER]
    for code, (value, num, den, n) in GOLD.items():
        rows.append(f"CAF01;Caf de l'Ain;CAF;{code};2025-01-01;2025-03-31;{value};{num};{den};{n}")
    rows.append("CAF02;Caf de l'Aisne – accueil;CAF;decroche;2025-04-01;2025-06-30;88,5;885;1000;")
    rows.append("URS01;Urssaf Île-de-France;Urssaf;delai_courriels;2025-04-01;2025-06-30;2,25;;;1 200")
    return ("\n".join(rows) + "\n").encode("utf-8-sig")


def _windows_1252_csv() -> bytes:
    rows = [CANONICAL_HEADER,
            "CAF01;Caf de l’Ain – Œuvre € sociale;CAF;decroche;01/01/2025;31/03/2025;95,5;955;1000;",
            "CAF01;Caf de l’Ain – Œuvre € sociale;CAF;satisfaction_globale;01/01/2025;31/03/2025;92;184;200;200",
            "CAF02;Caf de l'Aisne « accueil »;CAF;delai_courriels;01/04/2025;30/06/2025;1,5;;;200",
            "MSA01;MSA Côtes-d’Armor;MSA;attente_guichet;01/04/2025;30/06/2025;8;;;500"]
    return ("\r\n".join(rows) + "\r\n").encode("cp1252")


def _wide_csv() -> bytes:
    rows = ["Code structure;Nom structure;Période;Taux de décroché (%);Appels reçus;Appels décrochés;Commentaire;"
            "Délai de réponse aux courriels (jours ouvrés)",
            "W1;Plateforme Lyon;2025-01;85,3;1 000;853;RAS;4,5",
            "W1;Plateforme Lyon;2025-02;;2 000;1 700;;",
            "W2;Plateforme Caen;2025-T1;90;;;grève;",
            "W3;Plateforme Lille;mars 2025;91,2;500;456;;2"]
    return ("\n".join(rows) + "\n").encode("utf-8")


def _barometre_csv() -> bytes:
    return b"".join(BAROMETRE_EXCERPT.read_bytes().splitlines(keepends=True)[:30])


def _deterministic_xlsx(workbook, shared_strings: bool = False) -> bytes:
    """openpyxl stamps the save time in docProps/core.xml and in each zip entry: fixed here, so that a seed,
    hence every case, is the same bytes in every process. ``shared_strings``: text cells moved to
    xl/sharedStrings.xml as Excel writes them (openpyxl writes them inline)."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src:
        members = {info.filename: src.read(info.filename) for info in src.infolist()}
    members["docProps/core.xml"] = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                                          rb"\g<1>2025-01-01T00:00:00Z", members["docProps/core.xml"])
    if shared_strings:
        table: dict[bytes, int] = {}

        def shared(m: re.Match) -> bytes:
            index = table.setdefault(m.group(2), len(table))
            return m.group(1) + b' t="s"><v>' + str(index).encode() + b"</v></c>"

        inline = re.compile(rb'(<c r="[A-Z]+\d+"(?: s="\d+")?) t="inlineStr"><is><t>([^<]*)</t></is></c>')
        count = 0
        for name in [n for n in members if n.startswith("xl/worksheets/")]:
            members[name], found = inline.subn(shared, members[name])
            count += found
        members["xl/sharedStrings.xml"] = (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            b'2006/main" count="' + str(count).encode() + b'" uniqueCount="' + str(len(table)).encode() + b'">'
            + b"".join(b"<si><t>" + text + b"</t></si>" for text in table) + b"</sst>")
        members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
            b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                         b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        members["xl/_rels/workbook.xml.rels"] = members["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>", b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/'
                                 b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, content in members.items():
            dst.writestr(zipfile.ZipInfo(name, FIXED_ZIP_TIME), content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _xlsx_canonical() -> bytes:
    import openpyxl
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Valeurs"
    sheet.append(["Indicateurs de qualité – export du 1er trimestre 2025"])
    sheet.append(CANONICAL_HEADER.split(";"))
    for code, (value, num, den, n) in GOLD.items():
        number = value if value == "oui" else float(value.replace(",", "."))
        sheet.append(["CAF01", "Caf de l'Ain", "CAF", code, datetime(2025, 1, 1), datetime(2025, 3, 31), number,
                      int(num) if num else None, int(den) if den else None, int(n) if n else None])
    sheet.append(["CAF02", "Caf de l'Aisne", "CAF", "decroche", "2025-04-01", "30/06/2025", 88.5, 885, 1000, None])
    return _deterministic_xlsx(workbook, shared_strings=True)


def _xlsx_wide() -> bytes:
    import openpyxl
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Notice"
    notes["A1"] = "Ce classeur contient les résultats du trimestre."
    sheet = workbook.create_sheet("Données")
    sheet.append(["Tableau de bord qualité – accueil téléphonique"])
    sheet.append(["Code structure", "Mois", "Taux de décroché (%)", "Appels reçus", "Appels décrochés"])
    sheet.append(["X1", datetime(2025, 3, 1), 85.3, 1000, 853])
    sheet.append(["X1", datetime(2025, 4, 1), None, 2000, 1500])
    sheet.append(["X2", datetime(2025, 3, 1), 92, 300, 276])
    return _deterministic_xlsx(workbook)


FAMILIES = ("csv_canonique", "csv_windows1252", "csv_large", "csv_barometre", "xlsx_canonique", "xlsx_large")


@lru_cache(maxsize=None)
def seed_of(family: str) -> Seed:
    if family == "csv_canonique":
        return Seed(family, "csv", _canonical_csv(), b";", "utf-8-sig")
    if family == "csv_windows1252":
        return Seed(family, "csv", _windows_1252_csv(), b";", "cp1252")
    if family == "csv_large":
        return Seed(family, "csv", _wide_csv(), b";", "utf-8")
    if family == "csv_barometre":
        return Seed(family, "csv", _barometre_csv(), b",", "utf-8")
    if family == "xlsx_canonique":
        return Seed(family, "xlsx", _xlsx_canonical(), sheet="xl/worksheets/sheet1.xml")
    if family == "xlsx_large":
        return Seed(family, "xlsx", _xlsx_wide(), sheet="xl/worksheets/sheet2.xml")
    raise KeyError(family)


# --- Byte and text mutators (CSV; the byte ones also for a workbook's raw bytes) ---------------------------


def _positions(rng: random.Random, data: bytes, count: int) -> list[int]:
    return sorted(rng.randrange(len(data) + 1) for _ in range(count))


def _insert_at(data: bytes, positions: list[int], piece) -> bytes:
    out, last = [], 0
    for i, pos in enumerate(positions):
        out += [data[last:pos], piece(i) if callable(piece) else piece]
        last = pos
    return b"".join(out + [data[last:]])


def m_flip_bytes(rng, data, seed):
    if not data:
        return data, "vide"
    buf = bytearray(data)
    places = []
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        pos = rng.randrange(len(buf))
        if rng.random() < 0.5:
            buf[pos] ^= 1 << rng.randrange(8)
        else:
            buf[pos] = rng.randrange(256)
        places.append(pos)
    return bytes(buf), "@" + ",".join(map(str, places))


def m_truncate(rng, data, seed):
    r = rng.random()
    if r < 0.1:
        cut = 0
    elif r < 0.3:
        cut = rng.randrange(min(len(data), 200) + 1)  # inside or near the header line
    elif r < 0.5:
        cut = max(0, len(data) - rng.randrange(1, 8))  # the last bytes, maybe half a UTF-8 character
    else:
        cut = rng.randrange(len(data) + 1)
    return data[:cut], f"à {cut}/{len(data)} octets"


def m_insert_quote(rng, data, seed):
    r = rng.random()
    if r < 0.4:  # opening a quoted cell right after a separator: the quote is never closed
        seps = [m.end() for m in re.finditer(re.escape(seed.sep), data)]
        positions = sorted(rng.sample(seps, min(len(seps), rng.choice((1, 2))))) if seps else [0]
    else:
        positions = _positions(rng, data, rng.choice((1, 1, 2, 3)))
    quote = rng.choice((b'"', b'"', b'""', b"'", b"\xe2\x80\x9c"))
    return _insert_at(data, positions, quote), f"{quote!r} @" + ",".join(map(str, positions))


def m_insert_separator(rng, data, seed):
    sep = rng.choice((b";", b",", b"\t"))
    positions = _positions(rng, data, rng.choice((1, 1, 2, 3)))
    return _insert_at(data, positions, sep), f"{sep!r} @" + ",".join(map(str, positions))


def m_swap_separator(rng, data, seed):
    new = rng.choice([s for s in (b";", b",", b"\t", b"|") if s != seed.sep])
    return data.replace(seed.sep, new), f"{seed.sep!r}→{new!r} partout"


def m_insert_nul(rng, data, seed):
    r = rng.random()
    if r < 0.15:  # UTF-16 without a BOM, as seen by a byte reader
        return b"".join(bytes((b, 0)) for b in data), "NUL après chaque octet"
    if r < 0.3:
        pos = rng.randrange(len(data) + 1)
        run = rng.choice((2, 16, 1024, 70_000))
        return data[:pos] + b"\x00" * run + data[pos:], f"{run} NUL @{pos}"
    if r < 0.4:
        pos = rng.randrange(len(data) + 1)
        return data[:pos] + b"\x00", f"coupé @{pos} + NUL final"
    positions = _positions(rng, data, rng.choice((1, 1, 2)))
    return _insert_at(data, positions, b"\x00"), "NUL @" + ",".join(map(str, positions))


BOMS = {"utf8": codecs.BOM_UTF8, "utf16le": codecs.BOM_UTF16_LE, "utf16be": codecs.BOM_UTF16_BE,
        "utf32le": codecs.BOM_UTF32_LE}


def m_bom(rng, data, seed):
    name = rng.choice(list(BOMS))
    where = rng.choice(("début", "début", "double", "ligne"))
    bom = BOMS[name]
    if where == "double":
        return bom + bom + data, f"{name} deux fois"
    if where == "ligne":
        starts = [m.end() for m in re.finditer(rb"\n", data)] or [0]
        pos = rng.choice(starts)
        return data[:pos] + bom + data[pos:], f"{name} en début de ligne @{pos}"
    return bom + data, f"{name} en tête"


def _text(data: bytes) -> str:
    for codec in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    return data.decode("cp1252", errors="replace")


def m_reencode(rng, data, seed):
    target = rng.choice(("utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-8", "cp1252", "latin-1",
                         "utf-32", "mac-roman"))
    return _text(data).encode(target, errors="replace"), f"réencodé en {target}"


def m_line_endings(rng, data, seed):
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    how = rng.choice(("crlf", "cr", "mixte", "cr_isole", "sans_fin", "lignes_vides", "cr_cr_lf", "lf_cr"))
    if how == "crlf":
        return b"\r\n".join(lines), how
    if how == "cr":
        return b"\r".join(lines), how
    if how == "mixte":
        out = lines[0]
        for line in lines[1:]:
            out += rng.choice((b"\n", b"\r\n", b"\r")) + line
        return out, how
    if how == "cr_isole":
        positions = _positions(rng, data, rng.choice((1, 2, 3)))
        return _insert_at(data, positions, b"\r"), f"{how} @" + ",".join(map(str, positions))
    if how == "sans_fin":
        return data.rstrip(b"\r\n"), how
    if how == "lignes_vides":
        pos = rng.randrange(len(lines) + 1)
        blank = rng.choice((b"", b" ", b";;;;", b"\t"))
        return b"\n".join(lines[:pos] + [blank] * rng.choice((1, 3, 40)) + lines[pos:]), f"{how} @ligne {pos}"
    if how == "cr_cr_lf":
        return b"\r\r\n".join(lines), how
    return b"\n\r".join(lines), how


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def m_lines(rng, data, seed):
    lines = _lines(data)
    how = rng.choice(("dupliquer", "supprimer", "echanger", "en_tete_repete", "garder_en_tete", "multiplier"))
    i = rng.randrange(len(lines))
    if how == "multiplier":
        copies = rng.choice((1_000, 30_000))
        line = lines[i] if lines[i].endswith(b"\n") else lines[i] + b"\n"
        lines.insert(i, line * copies)
        return b"".join(lines), f"ligne {i} × {copies}"
    if how == "dupliquer":
        lines.insert(i, lines[i])
    elif how == "supprimer":
        del lines[i]
    elif how == "echanger":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines), f"{how} {i}↔{j}"
    elif how == "en_tete_repete":
        lines.insert(i, lines[0] if lines[0].endswith(b"\n") else lines[0] + b"\n")
    else:
        return b"".join(lines[:1]), how
    return b"".join(lines), f"{how} ligne {i}"


_NUMBER = re.compile(rb"(?<![\w-])\d+(?:[.,]\d+)?(?![\w/-])")
HUGE_NUMBERS = (b"1e308", b"1e309", b"-1e308", b"1E+400", b"99999999999999999999999999", b"1" * 400, b"NaN",
                b"inf", b"-inf", b"-0", b"0,00000000000000000000001", b"1 000 000 000 000 000", b"85,3,2",
                b"1.234,5", b"9223372036854775808", b"-9223372036854775809", b"\xd9\xa3", b"\xc2\xbd",
                b"1e-400", b"0x1F", b"12%%", b"-85,3 %")


def m_huge_number(rng, data, seed):
    found = list(_NUMBER.finditer(data))
    if not found:
        return data, "aucun nombre"
    m = rng.choice(found)
    new = rng.choice(HUGE_NUMBERS)
    return data[:m.start()] + new + data[m.end():], f"{m.group().decode(errors='replace')}→{new!r} @{m.start()}"


_DATE = re.compile(rb"\b(\d{4})-(\d{2})-(\d{2})\b|\b(\d{2})/(\d{2})/(\d{4})\b|\b(\d{4})-(T\d|\d{2})\b")
BAD_DATES = (b"31/02/2025", b"2025-13-01", b"29/02/2023", b"9999-12-31", b"0001-01-01", b"2025-W01", b"",
             b"2025-00-00", b"00/00/0000", b"2025-02-30", b"1899-12-31", b"2200-01-01", b"45678", b"-2025-01-01")


def m_bad_date(rng, data, seed):
    found = list(_DATE.finditer(data))
    if not found:
        return data, "aucune date"
    m = rng.choice(found)
    text = m.group()
    if rng.random() < 0.6:
        year = rng.choice((b"0000", b"99999", b"0", b"0025", b"20255", b"-2025", b"1900", b"2199"))
        new = re.sub(rb"\d{4}", year, text, count=1) if re.search(rb"\d{4}", text) else year
    else:
        new = rng.choice(BAD_DATES)
    return data[:m.start()] + new + data[m.end():], f"{text.decode()}→{new.decode(errors='replace')} @{m.start()}"


def m_long_field(rng, data, seed):
    size = rng.choice((300, 5_000, 140_000, 1_000_000, 300, 5_000, 140_000, 1_000_000, 11_000_000))
    filler = rng.choice((b"a", b"\xc3\xa9", b"9", b" "))
    pos = rng.randrange(len(data) + 1)
    return data[:pos] + filler * (size // len(filler)) + data[pos:], f"{size} octets de {filler!r} @{pos}"


CONTROLS = (b"\x01", b"\x1a", b"\x7f", b"\x0c", b"\x0b", b"\x1b[31m", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9",
            b"\xef\xbf\xbd", b"\xe2\x80\x8b", b"\xef\xbb\xbf")


def m_control_chars(rng, data, seed):
    piece = rng.choice(CONTROLS)
    positions = _positions(rng, data, rng.choice((1, 2, 5)))
    return _insert_at(data, positions, piece), f"{piece!r} @" + ",".join(map(str, positions))


INVALID_UTF8 = (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\x81", b"\xe9")


def m_invalid_utf8(rng, data, seed):
    piece = rng.choice(INVALID_UTF8)
    positions = _positions(rng, data, rng.choice((1, 2)))
    return _insert_at(data, positions, piece), f"{piece!r} @" + ",".join(map(str, positions))


def m_many_columns(rng, data, seed):
    """Extra cells on one or more lines (the header among them sometimes): empty, as Excel leaves them, or
    filled, which a reader must refuse for their count without holding every cell of every such line."""
    lines = _lines(data)
    extra = rng.choice((1, 3, 600, 20_000))
    filled = rng.random() < 0.5
    targets = sorted({rng.choice((0, rng.randrange(len(lines)))) for _ in range(rng.choice((1, 1, 2, 5)))})
    for i in targets:
        line = lines[i].rstrip(b"\r\n")
        lines[i] = line + (seed.sep + b"x" if filled else seed.sep) * extra + lines[i][len(line):]
    return b"".join(lines), f"+{extra} {'cellules remplies' if filled else 'séparateurs'} lignes {targets}"


def m_splice(rng, data, seed):
    if len(data) < 2:
        return data, "trop court"
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.randrange(1, 200))
    pos = rng.randrange(len(data) + 1)
    return data[:pos] + data[a:b] + data[pos:], f"[{a}:{b}] copié @{pos}"


def m_header(rng, data, seed):
    lines = _lines(data)
    header = lines[0]
    cells = header.rstrip(b"\r\n").split(seed.sep)
    how = rng.choice(("supprimer", "dupliquer", "majuscules", "vider", "espaces", "renommer"))
    i = rng.randrange(len(cells))
    if how == "supprimer":
        del cells[i]
    elif how == "dupliquer":
        cells.insert(i, cells[i])
    elif how == "majuscules":
        cells = [c.upper() for c in cells]
    elif how == "vider":
        cells[i] = b""
    elif how == "espaces":
        cells[i] = b"  " + cells[i] + b" \xc2\xa0"
    else:
        cells[i] = rng.choice((b"valeur", b"code_structure", b"Taux", b"\xc3\xa9\xc3\xa9", b"x" * 5000))
    lines[0] = seed.sep.join(cells) + header[len(header.rstrip(b"\r\n")):]
    return b"".join(lines), f"{how} colonne {i}"


def m_blank_field(rng, data, seed):
    lines = _lines(data)
    if len(lines) < 2:
        return data, "pas de ligne de données"
    i = rng.randrange(1, len(lines))
    cells = lines[i].split(seed.sep)
    j = rng.randrange(len(cells))
    ending = cells[j][len(cells[j].rstrip(b"\r\n")):]
    cells[j] = rng.choice((b"", b" ", b"-", b"NA", b"#N/A", b"=1+1", b"'0")) + ending
    lines[i] = seed.sep.join(cells)
    return b"".join(lines), f"ligne {i} cellule {j}"


MAGICS = (b"PK\x03\x04", b"PK\x05\x06" + bytes(18), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
          b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le"), b"%PDF-1.4\n", b"\x1f\x8b\x08",
          b"<?xml version=\"1.0\"?>\n", b"<html><body>", b"{\"data\": ", b"\x89PNG\r\n\x1a\n")


def m_magic(rng, data, seed):
    magic = rng.choice(MAGICS)
    if rng.random() < 0.5:
        return magic + data, f"{magic[:12]!r} en tête"
    return magic + data[len(magic):], f"{magic[:12]!r} à la place des premiers octets"


def m_preamble(rng, data, seed):
    how = rng.choice(("sep", "titres", "au_dela_de_30", "vides", "garbage"))
    if how == "sep":  # Excel's hint line
        return b"sep=" + seed.sep + b"\n" + data, how
    if how == "titres":
        return "Export du 03/04/2025 ; source : SI qualité\n\n".encode() * rng.choice((1, 3)) + data, how
    if how == "au_dela_de_30":
        return b"titre\n" * rng.choice((29, 30, 31, 500)) + data, how
    if how == "vides":
        return b"\n" * rng.choice((1, 29, 31, 10_000)) + data, how
    return rng.randbytes(rng.choice((1, 64, 4096))) + b"\n" + data, how


@dataclass(frozen=True)
class Mutator:
    name: str
    fn: object
    stage: int  # order of application in a case: xml members (0), zip headers (1), raw bytes (2)
    weight: int = 1


TEXT_MUTATORS = [Mutator(f.__name__[2:], f, 2) for f in (
    m_flip_bytes, m_truncate, m_insert_quote, m_insert_separator, m_swap_separator, m_insert_nul, m_bom,
    m_reencode, m_line_endings, m_lines, m_huge_number, m_bad_date, m_long_field, m_control_chars,
    m_invalid_utf8, m_many_columns, m_splice, m_header, m_blank_field, m_magic, m_preamble)]
RAW_MUTATORS = [Mutator(f.__name__[2:], f, 2) for f in (m_flip_bytes, m_truncate, m_insert_nul, m_splice, m_magic)]


# --- Workbooks: a zip model that keeps local and central headers apart -----------------------------------


@dataclass
class Entry:
    name: bytes
    data: bytes  # as stored (compressed)
    method: int
    crc: int
    csize: int
    usize: int
    version: int = 20
    flags: int = 0
    local: dict = field(default_factory=dict)  # fields written differently in the local header
    central: dict = field(default_factory=dict)  # … or in the central directory

    def content(self) -> bytes:
        if self.method == 0:
            return self.data
        return zlib.decompressobj(-15).decompress(self.data)

    def set_content(self, content: bytes) -> None:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.data = packer.compress(content) + packer.flush()
        self.method, self.crc, self.csize, self.usize = 8, zlib.crc32(content), len(self.data), len(content)


@dataclass
class ZipModel:
    entries: list[Entry]
    eocd: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: bytes) -> "ZipModel":
        entries = []
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            for info in archive.infolist():
                start = info.header_offset
                name_len, extra_len = struct.unpack("<HH", raw[start + 26:start + 30])
                begin = start + 30 + name_len + extra_len
                entries.append(Entry(info.filename.encode(), raw[begin:begin + info.compress_size],
                                     info.compress_type, info.CRC, info.compress_size, info.file_size,
                                     info.extract_version, info.flag_bits))
        return cls(entries)

    def find(self, name: str | None) -> Entry | None:
        return next((e for e in self.entries if name and e.name == name.encode()), None)

    def serialise(self) -> bytes:
        out, central = bytearray(), bytearray()
        dos_time, dos_date = 0, (2025 - 1980) << 9 | 1 << 5 | 1
        for e in self.entries:
            offset = len(out)
            f = {"version": e.version, "flags": e.flags, "method": e.method, "crc": e.crc, "csize": e.csize,
                 "usize": e.usize, "name": e.name}
            loc, cen = {**f, **e.local}, {**f, **e.central}
            out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", loc["version"], loc["flags"], loc["method"],
                               dos_time, dos_date, loc["crc"] & 0xFFFFFFFF, loc["csize"] & 0xFFFFFFFF,
                               loc["usize"] & 0xFFFFFFFF, len(loc["name"]), 0) + loc["name"] + e.data
            central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, cen["version"], cen["flags"],
                                   cen["method"], dos_time, dos_date, cen["crc"] & 0xFFFFFFFF,
                                   cen["csize"] & 0xFFFFFFFF, cen["usize"] & 0xFFFFFFFF, len(cen["name"]), 0, 0,
                                   0, 0, 0, cen.get("offset", offset)) + cen["name"]
        count = self.eocd.get("count", len(self.entries))
        out_offset = self.eocd.get("offset", len(out))
        return bytes(out + central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count & 0xFFFF,
                                                 count & 0xFFFF, len(central), out_offset, 0))


class Missing(LookupError):
    """The member a mutator edits is gone (an earlier step of the case removed it)."""


def _need(model: ZipModel, name: str) -> Entry:
    entry = model.find(name)
    if entry is None:
        raise Missing(name)
    return entry


def _member(rng, model: ZipModel, seed: Seed, prefer_sheet: float = 0.7) -> Entry:
    sheet = model.find(seed.sheet)
    if sheet is not None and rng.random() < prefer_sheet:
        return sheet
    return rng.choice(model.entries)


def _edit(entry: Entry, fn) -> None:
    entry.set_content(fn(entry.content()))


def x_unclosed_element(rng, model, seed):
    entry = _member(rng, model, seed)
    content = entry.content()
    closings = list(re.finditer(rb"</[A-Za-z:]+>", content))
    if not closings:
        return "aucune balise fermante"
    m = rng.choice(closings)
    entry.set_content(content[:m.start()] + content[m.end():])
    return f"{m.group().decode()} retiré de {entry.name.decode()}"


XML_GARBAGE = (b"<", b"&", b"\x00", b"]]>", b"<x>", b"&bogus;", b"\xff\xfe", b"</c>", b"<c r=\"A1\">",
               b"&#0;", b"&#xFFFF;", b"<?xml version=\"1.0\"?>", b"<!-- -->")


def x_xml_garbage(rng, model, seed):
    entry = _member(rng, model, seed)
    content = entry.content()
    piece = rng.choice(XML_GARBAGE) if rng.random() < 0.7 else rng.randbytes(rng.randrange(1, 17))
    pos = rng.randrange(len(content) + 1)
    entry.set_content(content[:pos] + piece + content[pos:])
    return f"{piece!r} @{pos} dans {entry.name.decode()}"


def x_xml_truncated(rng, model, seed):
    entry = _member(rng, model, seed)
    content = entry.content()
    cut = rng.randrange(len(content) + 1)
    entry.set_content(content[:cut])
    return f"{entry.name.decode()} coupé à {cut}/{len(content)}"


DIMENSIONS = (b"A1:XFD1048576", b"A1:XFD1048576", b"A1:XFE1048577", b"A1:ZZZZ99999999", b"XFD1048576",
              b"XFD1:A1", b"A0:B0", b"", b"A1:A", b"A1:XFD4294967295")


def x_huge_dimension(rng, model, seed):
    entry = _need(model, seed.sheet)
    ref = rng.choice(DIMENSIONS)
    content = entry.content()
    if b"<dimension" in content:
        content = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + ref + b'"', content, count=1)
    else:
        content = re.sub(rb"(<worksheet[^>]*>)", rb"\g<1><dimension ref=\"" + ref + rb"\"/>", content, count=1)
    entry.set_content(content)
    return ref.decode()


FAR_CELLS = ("XFD1048576", "XFD1048576", "A1048576", "XFD3", "XFE1", "AAAA1", "A99999999999", "A4294967297")


def x_far_cell(rng, model, seed):
    entry = _need(model, seed.sheet)
    ref = rng.choice(FAR_CELLS)
    row = re.sub(r"^[A-Z]+", "", ref)
    value = rng.choice(('t="inlineStr"><is><t>x</t></is>', "><v>1</v>", ' t="s"><v>0</v>'))
    cell = f'<row r="{row}"><c r="{ref}"{value}</c></row>'.encode()
    content = entry.content()
    if b"</sheetData>" in content:
        content = content.replace(b"</sheetData>", cell + b"</sheetData>", 1)
    else:
        content = content.replace(b"<sheetData/>", b"<sheetData>" + cell + b"</sheetData>", 1)
    entry.set_content(content)
    return ref


def x_shared_strings(rng, model, seed):
    entry = _need(model, "xl/sharedStrings.xml")
    content = entry.content()
    how = rng.choice(("compte_annonce", "compte_annonce", "beaucoup", "chaine_longue", "index_hors_table"))
    if how == "compte_annonce":
        count = rng.choice((b"4294967295", b"2147483647", b"99999999999", b"-1", b"abc"))
        content = re.sub(rb'(count|uniqueCount)="\d+"', rb'\1="' + count + b'"', content)
        entry.set_content(content)
        return f"count={count.decode()}"
    if how == "beaucoup":
        n = rng.choice((1000, 50_000))
        extra = b"<si><t>a</t></si>" * n
        entry.set_content(content.replace(b"</sst>", extra + b"</sst>"))
        return f"+{n} chaînes"
    if how == "chaine_longue":
        text = rng.randbytes(rng.choice((100_000, 1_000_000))).translate(bytes(97 + b % 26 for b in range(256)))
        entry.set_content(content.replace(b"</sst>", b"<si><t>" + text + b"</t></si></sst>"))
        return f"chaîne de {len(text)} caractères"
    sheet = _need(model, seed.sheet)
    sheet_content = sheet.content()
    refs = list(re.finditer(rb'(<c [^>]*t="s"[^>]*><v>)(\d+)(</v>)', sheet_content))
    if not refs:
        return "aucune cellule partagée"
    m = rng.choice(refs)
    index = rng.choice((b"999999", b"-1", b"4294967296", b"1.5"))
    sheet.set_content(sheet_content[:m.start(2)] + index + sheet_content[m.end(2):])
    return f"index {index.decode()}"


CELL_VALUES = (b"999999", b"-1", b"1E+308", b"1E+309", b"NaN", b"INF", b"", b"abc", b"2958466", b"-700000", b"1.5",
               b"1e-320", b"0x10", b"  12  ")


def x_cell_value(rng, model, seed):
    entry = _need(model, seed.sheet)
    content = entry.content()
    values = list(re.finditer(rb"<v>([^<]*)</v>", content))
    if not values:
        return "aucune valeur"
    m = rng.choice(values)
    new = rng.choice(CELL_VALUES)
    entry.set_content(content[:m.start(1)] + new + content[m.end(1):])
    return f"{m.group(1).decode()}→{new.decode()}"


def x_cell_type(rng, model, seed):
    entry = _need(model, seed.sheet)
    content = entry.content()
    cells = list(re.finditer(rb"<c r=\"[A-Z]+\d+\"( [^>]*)?>", content))
    if not cells:
        return "aucune cellule"
    m = rng.choice(cells)
    kind = rng.choice((b"b", b"e", b"d", b"str", b"inlineStr", b"x", b"n", b"s"))
    tag = re.sub(rb' t="[^"]*"', b"", m.group())
    tag = tag[:-1] + b' t="' + kind + b'">' if not tag.endswith(b"/>") else tag[:-2] + b' t="' + kind + b'"/>'
    entry.set_content(content[:m.start()] + tag + content[m.end():])
    return f"{m.group().decode()} t={kind.decode()}"


def x_row_numbers(rng, model, seed):
    entry = _need(model, seed.sheet)
    content = entry.content()
    rows = list(re.finditer(rb'<row r="(\d+)"', content))
    if not rows:
        return "aucune ligne"
    m = rng.choice(rows)
    new = rng.choice((b"0", b"-3", b"1048577", b"99999999999", b"2", b"1", b"", b"A"))
    what = rng.choice(("ligne", "cellules"))
    if what == "ligne":
        content = content[:m.start(1)] + new + content[m.end(1):]
    else:  # the row's cells point elsewhere than their row
        end = content.find(b"</row>", m.end())
        body = re.sub(rb'(<c r="[A-Z]+)\d+"', rb"\g<1>" + new + b'"', content[m.end():end])
        content = content[:m.end()] + body + content[end:]
    entry.set_content(content)
    return f"{what} {m.group(1).decode()}→{new.decode()}"


def x_remove_member(rng, model, seed):
    names = [e.name for e in model.entries]
    name = rng.choice(names)
    model.entries = [e for e in model.entries if e.name != name]
    return name.decode()


def x_doctype(rng, model, seed):
    entry = _member(rng, model, seed, 0.5)
    content = entry.content()
    dtd = (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
           b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    content = re.sub(rb"^(<\?xml[^>]*\?>)?", lambda m: (m.group(1) or b"") + dtd, content, count=1)
    content = re.sub(rb"<t>([^<]*)</t>", rb"<t>&c;</t>", content, count=1)
    entry.set_content(content)
    return entry.name.decode()


def x_styles(rng, model, seed):
    styles = _need(model, "xl/styles.xml")
    how = rng.choice(("dates_partout", "style_inconnu", "format_bizarre"))
    if how == "dates_partout":  # every number becomes a date: 1E+308 or 2958466 as a date
        styles.set_content(re.sub(rb'numFmtId="\d+"', b'numFmtId="14"', styles.content()))
        sheet = _need(model, seed.sheet)
        content = sheet.content()
        values = list(re.finditer(rb"(<c r=\"[A-Z]+\d+\"(?! t=)[^>]*><v>)([^<]*)(</v>)", content))
        if values:
            m = rng.choice(values)
            big = rng.choice((b"1E+308", b"2958466", b"-1", b"99999999", b"NaN"))
            sheet.set_content(content[:m.start(2)] + big + content[m.end(2):])
        return how
    if how == "style_inconnu":
        sheet = _need(model, seed.sheet)
        sheet.set_content(re.sub(rb' s="\d+"', b' s="99999"', sheet.content()))
        return how
    content = styles.content()
    if b"<numFmts" not in content:
        content = re.sub(rb"(<styleSheet[^>]*>)", rb'\g<1><numFmts count="1"><numFmt numFmtId="200" '
                         rb'formatCode="[h]:mm:ss;@;;yyyy-mm-dd\\&quot;"/></numFmts>', content, count=1)
    styles.set_content(re.sub(rb'numFmtId="\d+"', b'numFmtId="200"', content))
    return how


SHEET_NAMES = (b"", b"x" * 300, b"a&#1;b", b"Donn\xc3\xa9es/../..", b"&amp;&lt;", b"[Feuille]", b"Valeurs",
               b"\xf0\x9f\x93\x8a")


def x_sheet_name(rng, model, seed):
    entry = _need(model, "xl/workbook.xml")
    name = rng.choice(SHEET_NAMES)
    content = entry.content()
    names = list(re.finditer(rb'<sheet [^>]*name="([^"]*)"', content))
    m = rng.choice(names)
    entry.set_content(content[:m.start(1)] + name + content[m.end(1):])
    return f"{m.group(1).decode()}→{name.decode(errors='replace')[:20]}"


def x_xml_encoding(rng, model, seed):
    entry = _member(rng, model, seed)
    content = entry.content()
    how = rng.choice(("utf16", "declare_utf16", "declare_latin1", "declare_inconnu"))
    if how == "utf16":
        text = content.replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode("utf-8", errors="replace")
        entry.set_content(text.encode("utf-16"))
    elif how == "declare_utf16":
        entry.set_content(content.replace(b'encoding="UTF-8"', b'encoding="UTF-16"'))
    elif how == "declare_latin1":
        entry.set_content(content.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"'))
    else:
        entry.set_content(content.replace(b'encoding="UTF-8"', b'encoding="x-inconnu"'))
    return f"{how} {entry.name.decode()}"


def x_zip_bomb(rng, model, seed):
    size = rng.choice((8, 32, 200)) << 20
    entry = Entry(b"xl/media/zero.bin", b"", 8, 0, 0, 0)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\x00" * (1 << 20)
    data = b"".join(packer.compress(chunk) for _ in range(size >> 20)) + packer.flush()
    entry.data, entry.csize, entry.usize = data, len(data), size
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(chunk, crc)
    entry.crc = crc
    model.entries.append(entry)
    return f"{size >> 20} Mo de zéros"


# Header-level damage: applied to the model's fields after the XML edits.


def _where(rng) -> str:
    return rng.choice(("local", "central", "les deux"))


def _set(entry: Entry, where: str, **fields) -> None:
    if where in ("local", "les deux"):
        entry.local.update(fields)
    if where in ("central", "les deux"):
        entry.central.update(fields)


def z_crc(rng, model, seed):
    entry, where = _member(rng, model, seed), _where(rng)
    _set(entry, where, crc=entry.crc ^ (1 << rng.randrange(32)))
    return f"{entry.name.decode()} ({where})"


def z_method(rng, model, seed):
    entry, where = _member(rng, model, seed), _where(rng)
    method = rng.choice((0, 1, 6, 9, 12, 14, 93, 95, 98, 99, 65535))
    _set(entry, where, method=method)
    return f"méthode {method} {entry.name.decode()} ({where})"


def z_version(rng, model, seed):
    entry, where = _member(rng, model, seed), _where(rng)
    version = rng.choice((45, 51, 63, 99, 255, 65535))
    _set(entry, where, version=version)
    return f"version {version} {entry.name.decode()} ({where})"


def z_flags(rng, model, seed):
    entry, where = _member(rng, model, seed), _where(rng)
    flags = entry.flags | rng.choice((0x1, 0x1, 0x8, 0x40, 0x41, 0x2000))
    _set(entry, where, flags=flags)
    return f"drapeaux {flags:#x} {entry.name.decode()} ({where})"


def z_sizes(rng, model, seed):
    entry, where = _member(rng, model, seed), _where(rng)
    which = rng.choice(("usize", "csize"))
    value = rng.choice((0, 1, 0xFFFFFFFF, 0xFFFFFFFE, getattr(entry, which) + 1, 0x7FFFFFFF))
    _set(entry, where, **{which: value})
    return f"{which}={value} {entry.name.decode()} ({where})"


def z_deflate_damage(rng, model, seed):
    entry = _member(rng, model, seed)
    data = bytearray(entry.data)
    if not data:
        return "membre vide"
    how = rng.choice(("octets", "octets", "zeros", "tronque"))
    if how == "octets":
        places = [rng.randrange(len(data)) for _ in range(rng.choice((1, 2, 4)))]
        for pos in places:
            data[pos] ^= rng.randrange(1, 256)
        entry.data = bytes(data)
        return f"{entry.name.decode()} octets {places}"
    if how == "zeros":
        half = len(data) // 2
        entry.data = bytes(data[:half]) + bytes(len(data) - half)
        return f"{entry.name.decode()} seconde moitié à zéro"
    cut = rng.randrange(len(data))
    entry.data, entry.csize = bytes(data[:cut]), cut  # headers agree with the shorter stream
    return f"{entry.name.decode()} flux coupé à {cut}/{len(data)}"


def z_names(rng, model, seed):
    entry = _member(rng, model, seed)
    how = rng.choice(("doublon", "casse", "antislash", "local_different", "absolu"))
    if how == "doublon":
        model.entries.append(replace(entry, local={}, central={}))
    elif how == "casse":
        entry.name = entry.name.upper()
    elif how == "antislash":
        entry.name = entry.name.replace(b"/", b"\\")
    elif how == "local_different":
        entry.local["name"] = entry.name + b".bak"
    else:
        entry.name = b"/../../" + entry.name
    return f"{how} {entry.name.decode()}"


def z_directory(rng, model, seed):
    how = rng.choice(("compte", "decalage"))
    if how == "compte":
        model.eocd["count"] = rng.choice((0, 1, 65535, len(model.entries) + 1))
        return f"{model.eocd['count']} entrées annoncées"
    model.eocd["offset"] = rng.choice((0, 0xFFFFFFFF, 12345))
    return f"répertoire central annoncé @{model.eocd['offset']}"


XLSX_MUTATORS = [Mutator(f.__name__[2:], f, 0, w) for f, w in (
    (x_unclosed_element, 2), (x_xml_garbage, 2), (x_xml_truncated, 1), (x_huge_dimension, 2), (x_far_cell, 2),
    (x_shared_strings, 2), (x_cell_value, 2), (x_cell_type, 1), (x_row_numbers, 1), (x_remove_member, 1),
    (x_doctype, 1), (x_styles, 1), (x_sheet_name, 1), (x_xml_encoding, 1), (x_zip_bomb, 1))] + [
    Mutator(f.__name__[2:], f, 1, w) for f, w in (
        (z_crc, 2), (z_method, 2), (z_version, 2), (z_flags, 1), (z_sizes, 1), (z_deflate_damage, 3),
        (z_names, 1), (z_directory, 1))]


# --- Cases ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    seed: int
    index: int
    family: str
    kind: str
    data: bytes
    steps: list[str]

    @property
    def id(self) -> str:
        return f"seed={self.seed} index={self.index}"

    @property
    def filename(self) -> str:
        return "cas.xlsx" if self.kind == "xlsx" else "cas.csv"

    def describe(self) -> str:
        return f"{self.id} {self.family}: " + (" + ".join(self.steps) or "graine intacte")


def family_of(index: int) -> str:
    return FAMILIES[index % len(FAMILIES)]


def _pick(rng: random.Random, pool: list[Mutator]) -> Mutator:
    return rng.choices(pool, weights=[m.weight for m in pool])[0]


def make_case(seed: int, index: int, plain: bool = False) -> Case:
    """The case (seed, index): same bytes in every process. ``plain``: the seed itself, unmutated."""
    family = family_of(index)
    base = seed_of(family)
    if plain:
        return Case(seed, index, family, base.kind, base.data, [])
    rng = random.Random(f"{seed}/{index}")
    if base.kind == "csv":
        chosen = [_pick(rng, TEXT_MUTATORS) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
    else:
        chosen = [_pick(rng, XLSX_MUTATORS) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        if rng.random() < 0.2:
            chosen.append(_pick(rng, RAW_MUTATORS))
    chosen.sort(key=lambda m: m.stage)  # stable: XML edits, then zip headers, then raw bytes
    data, steps = base.data, []
    model = ZipModel.parse(data) if base.kind == "xlsx" else None
    for mutator in chosen:
        if mutator.stage < 2:
            try:
                what = mutator.fn(rng, model, base)
            except Missing as missing:  # an earlier step removed the member this one edits
                what = f"sans effet : {missing} absent"
        else:
            if model is not None:
                data, model = model.serialise(), None
            data, what = mutator.fn(rng, data, base)
        steps.append(f"{mutator.name}({what})")
    if model is not None:
        data = model.serialise()
    return Case(seed, index, family, base.kind, data, steps)


# --- The invariant -----------------------------------------------------------------------------------

# Words of the messages users get; a refusal holds at least one.
FRENCH_WORDS = ("fichier", "ligne", "colonne", "refusé", "rien", "aucun", "été", "enregistr", "classeur", "valeur",
                "attendu", "feuille", "base", "import", "lisible", "endommagé", "trop", "mémoire", "vide", "texte")
# Text only a library, the interpreter or a scratch path would put on stderr.
FOREIGN = [(re.compile(p), why) for p, why in (
    (r"Traceback", "traceback"),
    (r"Erreur inattendue", "« Erreur inattendue »"),
    (r"\b[A-Z][A-Za-z]*(Error|Exception)\b", "nom d'exception"),
    (r"\b(Error|error|Exception|exception)\b", "mot anglais error/exception"),
    (r"Parser|state machine|Invalid Input|Conversion|Could not|not well-formed|unexpected|Unexpected",
     "message de bibliothèque en anglais"),
    (r"DuckDB|duckdb|calamine|openpyxl|zipfile|expat|pyarrow|Arrow", "nom de bibliothèque"),
    (r"panicked|thread '|RUST_BACKTRACE|Aborted|core dumped|Segmentation", "arrêt d'une bibliothèque native"),
    (r"NoneType|object has no attribute|Errno|\[Errno", "message Python"),
    (r"/dev/shm|/proc/|/tmp/|\bimport-\d+", "chemin de fichier temporaire"),
)]
# Memory an import may add to the process, whatever the file: beyond max(floor, factor × size) it is out of
# proportion (an 11 MB line legitimately costs a few hundred MiB; a 40 KB file has no reason to cost 1 GiB).
PROPORTIONAL_FLOOR, PROPORTIONAL_FACTOR = 512 << 20, 64
COUNTED_TABLES = ("observation", "observation_history", "structure", "structure_history", "import_batch",
                  "extra_indicator")


def violations(result: dict, memory_bound: int) -> list[tuple[str, str]]:
    """(kind, detail) for each way the result breaks the invariant; empty when the case passed."""
    found = []
    if result.get("timeout"):
        return [("délai dépassé", f"plus de {result['timeout']:g} s")]
    if result.get("died") is not None:
        sig = result["died"]
        name = signal.Signals(-sig).name if isinstance(sig, int) and sig < 0 else f"code {sig}"
        return [("processus mort", f"{name}: {_death_line(result.get('stderr', ''))}")]
    if result.get("uncaught"):
        found.append(("exception non rattrapée", result["uncaught"]))
    code, out, err = result.get("rc"), result.get("stdout", ""), result.get("stderr", "")
    if code not in (0, 1):
        found.append(("code de sortie", f"{code} (attendu 0 ou 1)"))
    own_paths = result.get("own_paths", [])
    for stream, text in (("stderr", err), ("stdout", out)):
        cleaned = text
        for path in sorted(own_paths, key=len, reverse=True):
            cleaned = cleaned.replace(path, "<fichier>")
        for pattern, why in FOREIGN:
            m = pattern.search(cleaned)
            if m:
                found.append((why, f"{stream}: {_line_at(cleaned, m.start())}"))
                break
    if code == 1:
        if not err.strip():
            found.append(("refus sans message", "stderr vide"))
        elif not any(w in err.lower() for w in FRENCH_WORDS):
            found.append(("message pas en français", _last_line(err)))
        if "Mémoire insuffisante" in err:
            size = result.get("size")
            found.append(("mémoire non bornée", f"« Mémoire insuffisante » pour un fichier de {size} octets"))
        if result.get("counts_error"):
            found.append(("base illisible après un refus", result["counts_error"]))
        elif result.get("counts") != result.get("counts_before"):
            changed = {t: f"{result['counts_before'].get(t)}→{n}" for t, n in result.get("counts", {}).items()
                       if result["counts_before"].get(t) != n}
            found.append(("base modifiée malgré le refus", str(changed)))
    if result.get("leftovers"):
        found.append(("fichiers temporaires laissés", ", ".join(result["leftovers"][:3])))
    peak = max(result.get("peak_rss", 0), result.get("children_peak_rss", 0))
    if peak > memory_bound:
        found.append(("mémoire non bornée", f"pic {peak >> 20} Mio > {memory_bound >> 20} Mio"))
    elif result.get("rss_before") and result.get("size") is not None:
        # Under the absolute bound, but out of proportion to the file: a few such lines or cells would pass it.
        grown = result.get("peak_rss", 0) - result["rss_before"]
        allowed = max(PROPORTIONAL_FLOOR, PROPORTIONAL_FACTOR * result["size"])
        if grown > allowed:
            found.append(("mémoire disproportionnée", f"+{grown >> 20} Mio pour un fichier de "
                                                      f"{result['size'] >> 10} Kio (au plus {allowed >> 20} Mio)"))
    return found


def _line_at(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start:end if end >= 0 else len(text)].strip()[:300]


def _death_line(text: str) -> str:
    """The line that says why a process died (a native allocation failure, a panic), not its backtrace."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if re.search(r"memory allocation|panicked|Fatal Python error|Segmentation|MemoryError|Aborted", line):
            return line[:300]
    return lines[0][:300] if lines else "(rien sur stderr)"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else "(rien sur stderr)"


def normalise(text: str) -> str:
    """A message with what varies from case to case blanked: quoted values, numbers, the file's name."""
    text = re.sub(r"«[^»]*»", "«…»", text)
    text = re.sub(r"'[^']{0,200}'", "'…'", text)
    text = re.sub(r"\bcas\.(csv|xlsx)\b", "<fichier>", text)
    text = re.sub(r"0x[0-9a-fA-F]+", "0x…", text)
    text = re.sub(r"\d+", "N", text)
    return text[:200]


def signature(kind: str, detail: str) -> str:
    return f"{kind}: {normalise(detail)}"


# --- Worker process ------------------------------------------------------------------------------------


def _status_kb(field_name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _worker(workdir: str, memory_mb: int) -> None:
    """Serve cases read as JSON lines on stdin; one JSON line of result each on the original stdout. The product
    fuzzed is the one on PYTHONPATH (see ``Worker.start``)."""
    import resource

    work = Path(workdir)
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # nothing but results on the protocol channel
    os.chdir(work)
    import duckdb

    from indicators import cli, db

    template, case_db = work / "modele.duckdb", work / "cas.duckdb"
    scratch = Path(tempfile.gettempdir())
    db.connect(template)
    db.close(template)

    def counts(path: Path) -> dict:
        con = duckdb.connect(str(path), read_only=True)
        try:
            return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in COUNTED_TABLES}
        finally:
            con.close()

    counts_before = counts(template)
    shm_prefix = f"import-{os.getpid()}-"

    def leftovers() -> list[str]:
        left = [str(p) for p in scratch.iterdir()]
        if os.path.isdir("/dev/shm"):
            left += [f"/dev/shm/{n}" for n in os.listdir("/dev/shm") if n.startswith(shm_prefix)]
        return left

    def run(case: Case) -> dict:
        (work / "in").mkdir(exist_ok=True)
        source = work / "in" / case.filename
        source.write_bytes(case.data)
        for stale in (case_db, Path(f"{case_db}.wal")):
            stale.unlink(missing_ok=True)
        shutil.copyfile(template, case_db)
        for entry in scratch.iterdir():
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        out_path, err_path = work / "stdout.txt", work / "stderr.txt"
        peak_resettable = _reset_peak()
        rss_before = _status_kb("VmRSS")
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        result: dict = {}
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        with open(out_path, "wb") as out_file, open(err_path, "wb") as err_file:
            os.dup2(out_file.fileno(), 1)
            os.dup2(err_file.fileno(), 2)
            started = time.perf_counter()
            try:
                result["rc"] = cli.main(["import", str(source), "--db", str(case_db)])
            except SystemExit as exit_:
                result["rc"] = exit_.code
            except BaseException as error:  # noqa: BLE001 - anything escaping main is the finding
                result["rc"] = None
                result["uncaught"] = f"{type(error).__name__}: {error}"[:500]
            finally:
                result["seconds"] = time.perf_counter() - started
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
        db.close_all()
        result["stdout"] = out_path.read_bytes().decode("utf-8", errors="replace")
        result["stderr"] = err_path.read_bytes().decode("utf-8", errors="replace")
        result["peak_rss"] = _status_kb("VmHWM") if peak_resettable else 0
        result["rss_before"] = rss_before if peak_resettable else 0
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        result["children_peak_rss"] = children_after if children_after > children_before else 0
        result["own_paths"] = [str(source), str(case_db)]
        result["counts_before"] = counts_before
        if result["rc"] != 0:
            try:
                result["counts"] = counts(case_db)
            except Exception as error:  # noqa: BLE001
                result["counts_error"] = f"{type(error).__name__}: {error}"[:300]
        result["leftovers"] = leftovers()
        return result

    # Warm up on every seed (threads, arenas, caches), then cap the address space a little above the bound.
    for i in range(len(FAMILIES)):
        run(make_case(0, i, plain=True))
    limit = _status_kb("VmSize") + (memory_mb << 20) + (1 << 30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    proto.write(json.dumps({"ready": os.getpid(), "rlimit_as": limit, "version": FUZZER_VERSION}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        case = make_case(request["seed"], request["index"], request.get("plain", False))
        result = run(case)
        result.update(family=case.family, steps=case.steps, size=len(case.data))
        for stream in ("stdout", "stderr"):  # a refusal echoing a 1 MB cell stays a readable result
            if len(result[stream]) > 256_000:
                result[stream] = result[stream][:256_000] + "\n[… tronqué par le fuzzer]"
        proto.write(json.dumps(result) + "\n")


class Worker:
    """One worker process, restarted when it dies or overruns a case."""

    def __init__(self, project: Path, workdir: Path, memory_mb: int, timeout_s: float):
        self.project, self.workdir, self.memory_mb, self.timeout_s = project, workdir, memory_mb, timeout_s
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        if getattr(self, "log", None):
            self.log.close()
        if self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)
        (self.workdir / "tmp").mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("INDICATEURS_")}
        env.update(TMPDIR=str(self.workdir / "tmp"), PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1",
                   INDICATEURS_DB=str(self.workdir / "defaut.duckdb"), PYTHONPATH=str(self.project))
        self.log = open(self.workdir / "worker.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", "--dir", str(self.workdir),
             "--memory-mb", str(self.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env, start_new_session=True)
        self.starts += 1
        ready = self._read(max(120.0, self.timeout_s))
        if not ready or "ready" not in ready:
            self.kill()
            log = (self.workdir / "worker.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"le processus de fuzzing n'a pas démarré :\n{log}")
        if ready["version"] != FUZZER_VERSION:
            self.kill()
            raise RuntimeError("tests/fuzzing.py a changé depuis le début de la campagne : les cas ne seraient plus "
                               "ceux annoncés ; relancez-la.")

    def _read(self, timeout: float) -> dict | None:
        timer = threading.Timer(timeout, self.kill)
        timer.start()
        try:
            line = self.proc.stdout.readline()
        finally:
            timer.cancel()
        return json.loads(line) if line else None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and any child it started
            except ProcessLookupError:
                pass

    def run(self, seed: int, index: int, plain: bool = False) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        started = time.perf_counter()
        try:
            self.proc.stdin.write((json.dumps({"seed": seed, "index": index, "plain": plain}) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        result = self._read(self.timeout_s)
        if result is not None:
            return result
        elapsed = time.perf_counter() - started
        self.kill()
        code = self.proc.wait()
        err = (self.workdir / "stderr.txt")
        result = {"stderr": err.read_bytes().decode("utf-8", errors="replace") if err.exists() else "",
                  "seconds": elapsed}
        if elapsed >= self.timeout_s - 0.05:
            result["timeout"] = self.timeout_s
        else:
            result["died"] = code
        self.proc = None
        return result

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()


@dataclass
class Outcome:
    seed: int
    index: int
    result: dict
    problems: list[tuple[str, str]]

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    @property
    def family(self) -> str:
        return self.result.get("family", family_of(self.index))

    @property
    def signatures(self) -> list[str]:
        return [signature(kind, detail) for kind, detail in self.problems]

    def describe(self) -> str:
        steps = self.result.get("steps") or []
        return f"seed={self.seed} index={self.index} {self.family}: " + (" + ".join(steps) or "graine intacte")

    def report(self, stderr_lines: int = 6) -> str:
        lines = [self.describe()]
        lines += [f"    ✗ {kind} — {detail}" for kind, detail in self.problems]
        lines.append(f"    code {self.result.get('rc')}, {self.result.get('seconds', 0):.2f} s, pic "
                     f"{self.result.get('peak_rss', 0) >> 20} Mio, {self.result.get('size')} octets ; stderr :")
        err = [line for line in self.result.get("stderr", "").splitlines() if line.strip()]
        lines += [f"      | {line[:240]}" for line in err[:stderr_lines]]
        if len(err) > stderr_lines:
            lines.append(f"      | … ({len(err) - stderr_lines} lignes de plus)")
        lines.append(f"    rejouer : python3 -m bench.fuzz --seed {self.seed} --case {self.index}")
        return "\n".join(lines)


class Pool:
    """``jobs`` workers fed from one queue of case indices; results in index order."""

    def __init__(self, jobs: int = 2, project: Path = PROJECT, memory_mb: int = DEFAULT_MEMORY_MB,
                 timeout_s: float = DEFAULT_TIMEOUT_S, workdir: Path | None = None):
        self.base = Path(workdir or tempfile.mkdtemp(prefix="fuzz-"))
        self.memory_bound = memory_mb << 20
        self.workers = [Worker(Path(project), self.base / f"w{i}", memory_mb, timeout_s) for i in range(jobs)]

    def __enter__(self) -> "Pool":
        threads = [threading.Thread(target=w.start) for w in self.workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if any(w.proc is None or w.proc.poll() is not None for w in self.workers):
            self.close()
            raise RuntimeError(f"un processus de fuzzing n'a pas démarré (voir {self.base}/w*/worker.log)")
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for w in self.workers:
            w.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    @property
    def restarts(self) -> int:
        return sum(max(0, w.starts - 1) for w in self.workers)

    def run(self, seed: int, indices, plain: bool = False, deadline: float | None = None,
            on_outcome=None) -> list[Outcome]:
        todo = list(indices)
        todo.reverse()
        lock = threading.Lock()
        outcomes: list[Outcome] = []
        errors: list[BaseException] = []

        def serve(worker: Worker) -> None:
            try:
                serve_cases(worker)
            except BaseException as error:  # a worker that cannot start: stop the campaign, say why
                with lock:
                    errors.append(error)
                    todo.clear()

        def serve_cases(worker: Worker) -> None:
            while True:
                with lock:
                    if not todo or (deadline is not None and time.monotonic() > deadline):
                        return
                    index = todo.pop()
                result = worker.run(seed, index, plain)
                if "steps" not in result:  # the worker died or overran: describe the case from here
                    case = make_case(seed, index, plain)
                    result.update(family=case.family, steps=case.steps, size=len(case.data))
                outcome = Outcome(seed, index, result, violations(result, self.memory_bound))
                with lock:
                    outcomes.append(outcome)
                    if on_outcome:
                        on_outcome(outcome)

        threads = [threading.Thread(target=serve, args=(w,)) for w in self.workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        outcomes.sort(key=lambda o: o.index)
        return outcomes


def group(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    """Failures by signature, most frequent first."""
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        for sig in dict.fromkeys(outcome.signatures):
            groups.setdefault(sig, []).append(outcome)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB)
    args = parser.parse_args()
    _worker(args.dir, args.memory_mb)
