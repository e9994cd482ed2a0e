"""What the Import page offers around a file: its cleaned name, the empty templates and the problems report.

The page only lays these out; the command line and tests reach the same bytes."""

from __future__ import annotations

import io
import re
from functools import lru_cache

import pandas as pd
import pyarrow as pa
from openpyxl import Workbook
from openpyxl.styles import Font

from indicators.export import template_table
from indicators.problems import Problem
from indicators.referentiel import Referentiel
from indicators.reports import csv_bytes
from indicators.importer import STATUS_IMPORTED, ImportReport, Prepared
from indicators.text import IMPORT_STATUS_WORDS, format_number_fr, layout_label, markdown_literal

# The message comes before what was expected: the table stays readable where it is narrow.
PROBLEM_COLUMNS = {"file": "fichier", "sheet": "feuille", "line": "ligne", "column": "colonne",
                   "value": "valeur trouvée", "message": "problème", "expected": "attendu"}
TEMPLATE_SHEET = "valeurs"


def display_name(name: str) -> str:
    """The uploaded name is metadata: its last component, without control characters, bounded."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-200:] or "fichier sans nom"


def safe_stem(name: str) -> str:
    """A file name's stem fit for a download name: letters, digits, dots and dashes only."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return re.sub(r"[^\w.-]+", "_", stem).strip("._")[:80] or "fichier"


@lru_cache(maxsize=1)
def template_csv() -> bytes:
    """The empty canonical long layout, written by the one CSV writer."""
    return csv_bytes(pd.DataFrame(columns=template_table().column_names))


@lru_cache(maxsize=1)
def template_xlsx() -> bytes:
    """The empty canonical long layout as a workbook: one sheet, bold frozen header."""
    book = Workbook()
    sheet = book.active
    sheet.title = TEMPLATE_SHEET
    names = template_table().column_names
    sheet.append(names)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell, name in zip(sheet[1], names):
        sheet.column_dimensions[cell.column_letter].width = max(14, len(name) + 4)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """The validation report as a table with French headers, every cell text: a problem about the whole file
    has an empty « ligne », never « None » (a table shows a missing number so)."""
    frame = pd.DataFrame([p.as_dict() for p in problems], columns=[*PROBLEM_COLUMNS, "rule"])
    frame = frame[list(PROBLEM_COLUMNS)].rename(columns=PROBLEM_COLUMNS)
    frame["ligne"] = frame["ligne"].map(lambda line: "" if pd.isna(line) else str(int(line)))
    return frame.astype(object).where(frame.notna(), "")


def problems_csv(frame: pd.DataFrame) -> bytes:
    """The validation report for a spreadsheet, by the one CSV writer: no cell a spreadsheet would run."""
    return csv_bytes(frame.astype("string"))


# The preview's columns, in French: numbers as French text, dates as dates.
PREVIEW_LABELS = {
    "structure_code": "Code structure", "indicator_code": "Indicateur", "value": "Valeur",
    "numerator": "Numérateur", "denominator": "Dénominateur", "sample_size": "Effectif",
    "expected_value": "Valeur attendue", "source_line": "Ligne", "code": "Code", "name": "Nom",
    "network": "Réseau", "typologie": "Typologie", "departement": "Département", "region": "Région",
    "parent_code": "Structure parente", "label_level": "Niveau de label",
}
PREVIEW_NUMBERS = ("value", "numerator", "denominator", "sample_size", "expected_value")
PREVIEW_DATES = {"period_start": "Début de période", "period_end": "Fin de période",
                 "label_awarded_on": "Label attribué le"}
_ALWAYS_SHOWN = ("source_line", "structure_code", "indicator_code", "value", "code")


def preview_frame(preview: pa.Table, referentiel: Referentiel | None = None) -> pd.DataFrame:
    """The first rows a file would store, in file order, without empty optional columns, numbers in French,
    indicators by the référentiel's labels (« decroche » → « Taux de décroché »; a code outside it as it is),
    texts and line numbers empty rather than « None »."""
    frame = preview.to_pandas()
    if referentiel is not None and "indicator_code" in frame:
        labels = {indicator.code: indicator.label for indicator in referentiel.indicators}
        frame["indicator_code"] = frame["indicator_code"].map(lambda code: labels.get(code, code))
    if "source_line" in frame:
        frame = frame.sort_values("source_line", kind="stable")
    keep = [c for c in frame.columns if c in _ALWAYS_SHOWN or frame[c].notna().any()]
    if "source_line" in keep:
        keep = ["source_line", *[c for c in keep if c != "source_line"]]
    frame = frame[keep].copy()
    for name in PREVIEW_NUMBERS:
        if name in frame:
            # As the user wrote it (85.3 → « 85,3 », 1000 → « 1 000 »); an empty cell stays empty.
            frame[name] = frame[name].map(lambda v: "" if pd.isna(v) else format_number_fr(v, 9, trim=True))
    texts = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    frame[texts] = frame[texts].astype(object).where(frame[texts].notna(), "")
    return frame


def file_facts(report: ImportReport) -> str | None:
    """What was recognised in a file, as one Markdown line: layout, encoding, delimiter, sheet, rows read."""
    if not report.layout_label:
        return None
    facts = [f"**Mise en page détectée** : {report.layout_label}"]
    if report.encoding:
        facts.append(f"**Encodage** : {report.encoding}")
    if report.delimiter:
        facts.append(f"**Séparateur** : {report.delimiter}")
    if report.sheet:
        facts.append(f"**Feuille** : {markdown_literal(report.sheet)}")
    facts.append(f"**Lignes lues** : {format_number_fr(report.rows_read, 0)}")
    return " · ".join(facts)


def not_offered_notice(prepared: Prepared) -> str | None:
    """Why a file of the batch is not offered for import (Markdown), or None when it is new."""
    if prepared.duplicate_of is not None:
        return f"Même contenu que « {markdown_literal(prepared.duplicate_of)} » : il ne sera importé qu'une fois."
    if prepared.report.outcome == "deja_importe":
        return (f"Fichier déjà importé (import n°{prepared.report.previous_import}) : il n'est pas proposé à "
                "nouveau. Pour le réimporter, annulez d'abord cet import dans l'historique ci-dessous.")
    return None


HISTORY_COLUMNS = ("id", "created_at", "filename", "layout", "status", "rows_added", "rows_replaced",
                   "rows_unchanged", "structures_added", "structures_updated", "created_by")
HISTORY_COUNTS = {"rows_added": "Ajoutées", "rows_replaced": "Remplacées", "rows_unchanged": "Inchangées",
                  "structures_added": "Structures créées", "structures_updated": "Structures mises à jour"}


def history_frame(imports: pd.DataFrame) -> pd.DataFrame:
    """The import history as shown: French words for states and layouts, every count as French text
    (« 61 607 », whatever the browser's language)."""
    shown = imports[list(HISTORY_COLUMNS)].copy()
    shown["status"] = shown["status"].map(lambda s: IMPORT_STATUS_WORDS.get(s, s))
    shown["layout"] = shown["layout"].map(layout_label)
    shown["created_by"] = shown["created_by"].fillna("")
    for name in HISTORY_COUNTS:
        shown[name] = shown[name].map(lambda n: format_number_fr(n, 0))
    return shown


def undo_choices(imports: pd.DataFrame) -> dict[int, tuple[str, str]]:
    """The imports in force, which can be undone: number → (file name, its line in the list)."""
    active = imports[imports["status"] == STATUS_IMPORTED]
    return {int(number): (name, f"n°{number} – {name} ({at:%d/%m/%Y %H:%M})")
            for number, name, at in zip(active["id"], active["filename"], active["created_at"])}
