"""Exports of an assessment: the status table (CSV), the open-data results (export-resultats schema)
and the formatted Excel report. Every text cell is neutralised against formula injection."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from indicators import db
from indicators.compliance import Assessment
from indicators.periods import MONTHS_PER_PERIODICITY
from indicators.text import neutralize_formula
from indicators.wording import gap_sentence

STATUS_FR = {"conforme": "conforme", "non_conforme": "non conforme", "echantillon_insuffisant":
             "échantillon insuffisant", "manquant": "manquant", "incomplet": "incomplet",
             "sans_indicateur": "sans indicateur", "a_jour": "à jour", "en_retard": "en retard"}
BLUE = "000091"
# Excel format codes are written in the en-US form; a French Excel shows them as « 10 600,0 ».
NUMBER = "#,##0.0"
COUNT = "#,##0"


def status_table(assessment: Assessment) -> pd.DataFrame:
    """One row per structure: level, blocking indicators and their gaps, label."""
    blocking = (assessment.structures[["code", "blocking"]].explode("blocking").dropna()
                .rename(columns={"code": "structure_code", "blocking": "indicator_code"}))
    # Sentences for the blocking rows only, joined per structure: not a scan of every row per structure.
    rows = blocking.merge(assessment.indicators.astype({"indicator_code": str}),
                          on=["structure_code", "indicator_code"], how="left")
    rows["text"] = [f"{r['indicator_code']} : {gap_sentence(r)}" for r in rows.to_dict("records")]
    blocking_gaps = rows.groupby("structure_code", sort=False)["text"].agg(" ; ".join)
    s = assessment.structures
    return pd.DataFrame({
        "code_structure": s["code"], "nom_structure": s["name"], "reseau": s["network"],
        "niveau": s["level"], "indicateurs_bloquants": s["blocking"].map(", ".join),
        "ecarts": s["code"].map(blocking_gaps).fillna(""),
        "label": s["label_level"], "label_attribue_le": s["label_awarded_on"],
        "label_expire_le": s["label_expires_on"],
        "label_soutenu": s["label_supported"].map({True: "oui", False: "non"}),
        "indicateurs_en_retard": s["late_indicators"].map(", ".join),
        "fenetre": assessment.window.label, "referentiel": assessment.version,
    })


def _text(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value).replace(".", ",")
    if isinstance(value, (date, datetime, pd.Timestamp)):
        return pd.Timestamp(value).date().isoformat()
    return neutralize_formula(str(value))


def write_csv(frame: pd.DataFrame, output: Path) -> None:
    """``;``, UTF-8 with BOM, decimal comma, ISO dates, formulas neutralised."""
    Path(output).write_bytes(csv_bytes(frame))


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        writer.writerow([_text(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def workbook_bytes(assessment: Assessment) -> bytes:
    buffer = io.BytesIO()
    write_workbook(assessment, buffer)
    return buffer.getvalue()


def opendata_table(con: duckdb.DuckDBPyConnection, assessment: Assessment) -> pd.DataFrame:
    """The window's values in the DITP's ``export-resultats`` schema, one row per structure × indicator ×
    period, ready to publish (engagement 6). ``valeur_attendue`` is the bronze threshold."""
    cur = con.cursor()
    rows = cur.execute(db.sql("opendata_rows"), {"start": assessment.window.start, "end": assessment.window.end,
                                                 "version": assessment.version}).df()
    cur.close()
    rows = rows[rows["structure_code"].isin(assessment.structures["code"])]
    frequency_of = {months: name for name, months in MONTHS_PER_PERIODICITY.items()}
    months = rows["months"].astype("Int64")
    return pd.DataFrame({
        # The period's both ends: a month and a quarter may start on the same day.
        "code_sp_du_resultat": rows["structure_code"] + "-" + rows["indicator_code"] + "-"
        + pd.to_datetime(rows["period_start"]).dt.strftime("%Y%m%d") + "-"
        + pd.to_datetime(rows["period_end"]).dt.strftime("%Y%m%d"),
        "intitule_du_reseau": rows["network"], "typologie": rows["typologie"],
        "code_sp_structure": rows["structure_code"], "intitule_de_la_structure": rows["name"],
        "code_sp_de_l_indicateur": rows["indicator_code"], "titre_original_de_l_indicateur": rows["label"],
        "date_de_debut_de_l_evaluation": pd.to_datetime(rows["period_start"]).dt.date,
        "duree_de_l_evaluation": months, "frequence": months.map(frequency_of),
        "valeur": rows["value"], "valeur_attendue": rows["bronze"],
        "satisfait": rows["numerator"].where(rows["indicator_code"] == "satisfaction_globale"),
        "insatisfait": (rows["denominator"] - rows["numerator"]).where(rows["indicator_code"] == "satisfaction_globale"),
        "ne_se_prononce_pas": pd.Series([None] * len(rows), dtype="object"),
        "date_de_mise_a_jour": date.today(), "actif": "Oui",
    })


def write_workbook(assessment: Assessment, output: Path) -> None:
    """The formatted report: summary, indicators, engagements, method; French number formats,
    frozen headers, filters, column widths."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Synthèse"
    table = status_table(assessment)
    _sheet(summary, ["Code", "Structure", "Réseau", "Niveau atteignable", "Indicateurs bloquants",
                     "Écart au niveau suivant", "Label", "Attribué le", "Expire le", "Label soutenu",
                     "Indicateurs en retard"],
           table.drop(columns=["fenetre", "referentiel"]).itertuples(index=False),
           {8: "DD/MM/YYYY", 9: "DD/MM/YYYY"})

    indicators = assessment.indicators
    sheet = workbook.create_sheet("Indicateurs")
    rows = ([r.structure_code, r.indicator_code, r.label, r.engagement, r.unit, r.value, r.n, r.level,
             STATUS_FR.get(r.status, r.status), gap_sentence(r._asdict()), r.wilson_low, r.wilson_high,
             STATUS_FR.get(r.freshness, r.freshness), r.last_period_end]
            for r in indicators.itertuples(index=False))
    _sheet(sheet, ["Code structure", "Indicateur", "Libellé", "Engagement", "Unité", "Valeur", "Effectif",
                   "Niveau", "Statut", "Écart au niveau suivant", "IC 95 % bas", "IC 95 % haut", "Fraîcheur",
                   "Dernière période"],
           rows, {6: NUMBER, 7: COUNT, 11: NUMBER, 12: NUMBER, 14: "DD/MM/YYYY"})

    sheet = workbook.create_sheet("Engagements")
    labels = dict(zip(assessment.engagement_labels["number"], assessment.engagement_labels["label"]))
    _sheet(sheet, ["Code structure", "Engagement", "Libellé", "Statut"],
           ([r.structure_code, r.number, labels.get(r.number), STATUS_FR.get(r.status, r.status)]
            for r in assessment.engagements.itertuples(index=False)), {})

    sheet = workbook.create_sheet("Méthode")
    sheet.append(["Référentiel", assessment.version])
    sheet.append(["Fenêtre", assessment.window.label])
    sheet.append(["Du", assessment.window.start])
    sheet.append(["Au", assessment.window.end])
    sheet.append(["Calculé le", assessment.today])
    for cell in ("B3", "B4", "B5"):
        sheet[cell].number_format = "DD/MM/YYYY"
    sheet.append([])
    header_row = sheet.max_row + 1
    _sheet(sheet, ["Indicateur", "Libellé", "Unité", "Sens", "Bronze", "Argent", "Or", "Provenance bronze",
                   "Provenance argent", "Provenance or", "Effectif minimal"],
           ([r.code, r.label, r.unit, "plus haut = mieux" if r.direction == "hausse" else "plus bas = mieux",
             r.bronze, r.argent, r.gold, r.provenance_bronze, r.provenance_argent, r.provenance_or, r.min_n]
            for r in assessment.rules.rename(columns={"or": "gold"}).itertuples(index=False)),
           {5: NUMBER, 6: NUMBER, 7: NUMBER}, first_row=header_row)
    sheet.append([])
    for line in METHOD_LINES:
        sheet.append([line])
    workbook.save(output)


METHOD_LINES = (
    "Valeur d'un taux : somme des numérateurs / somme des dénominateurs quand chaque valeur a ses comptes ; "
    "sinon moyenne pondérée par les volumes ; sinon moyenne simple.",
    "Délais et durées : moyenne pondérée par l'effectif quand chaque valeur en a un, sinon moyenne simple.",
    "Niveau d'un indicateur : le plus haut seuil atteint (≥ si plus haut = mieux, ≤ pour les délais ; le seuil "
    "compte comme atteint). Sous l'effectif minimal : « échantillon insuffisant », niveau aucun.",
    "Niveau d'une structure : le plus bas de ses indicateurs requis ; les indicateurs bloquants sont ceux à ce "
    "niveau.",
    "Label : valable 3 ans à compter de son attribution ; « soutenu » quand le niveau calculé l'atteint.",
)


def _sheet(sheet, headers: list[str], rows, formats: dict[int, str], first_row: int = 1) -> None:
    """Header in bold on blue, frozen, filtered; cells neutralised; widths from the content."""
    for column, title in enumerate(headers, start=1):
        cell = sheet.cell(row=first_row, column=column, value=title)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor=BLUE)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [len(h) for h in headers]
    row_index = first_row
    for row_index, row in enumerate(rows, start=first_row + 1):
        for column, value in enumerate(row, start=1):
            value = _cell_value(value)
            cell = sheet.cell(row=row_index, column=column, value=value)
            if column in formats and value is not None:
                cell.number_format = formats[column]
            widths[column - 1] = max(widths[column - 1], min(len(str(value or "")), 60))
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width + 2
    if first_row == 1:
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(row_index, 1)}"


def _cell_value(value):
    if value is None or (not isinstance(value, (str, list)) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return neutralize_formula(value)
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
