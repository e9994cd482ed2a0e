"""Exports of an assessment: the status table (CSV), the open-data results (export-resultats schema)
and the formatted Excel report. Every text cell is neutralised against formula injection."""

from __future__ import annotations

import io
import json
import math
import re
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from indicators import db, peers, rights
from indicators.export import copy_csv, csv_body, csv_header, csv_quoted, define_macros
from indicators.compliance import Assessment, as_floats, label_states
from indicators.periods import WINDOW_CHOICES, Window
from indicators.method import method_lines
from indicators.periods import MONTHS_PER_PERIODICITY
from indicators.text import (DIRECTION_WORDS, FORMULA_PATTERN, format_data_number, neutralize_formula,
                             status_word, window_label)
from indicators.wording import gap_sentence, indicator_lists, indicator_names

BLUE = "000091"
# Excel format codes are written in the en-US form; a French Excel shows them as « 10 600,0 ».
NUMBER = "#,##0.0"
COUNT = "#,##0"


def status_table(assessment: Assessment, sentences: pd.Categorical | None = None) -> pd.DataFrame:
    """One row per structure: level, blocking indicators and their gaps, label. ``sentences``: see
    :func:`blocking_gaps`."""
    s = assessment.structures
    return pd.DataFrame({
        "code_structure": s["code"], "nom_structure": s["name"], "reseau": s["network"],
        "niveau": s["level"], "indicateurs_bloquants": indicator_lists(s["blocking"], assessment.rules),
        "ecarts": pd.Series(blocking_gaps(assessment, sentences), index=s.index, dtype=object),
        "label": s["label_level"], "label_attribue_le": s["label_awarded_on"],
        "label_expire_le": s["label_expires_on"],
        "label_soutenu": s["label_supported"].map({True: "oui", False: "non"}),
        "label_etat": label_states(s),
        "indicateurs_en_retard": indicator_lists(s["late_indicators"], assessment.rules),
        "fenetre": assessment.window.label, "referentiel": assessment.version,
    })


# What wording.gap_sentence reads of an indicator row.
GAP_COLUMNS = ("gap_to_next", "gap_unit", "numerator_label", "unit", "direction", "status", "n", "min_n", "next_level")


def gap_sentences(indicators: pd.DataFrame) -> pd.Categorical:
    """:func:`~indicators.wording.gap_sentence` of every indicator row, as a categorical (few distinct
    sentences); rows alike (« aucune donnée sur la période »…) share one call: the rows are grouped on what the
    sentence reads, in one vectorised pass."""
    if indicators.empty:
        return pd.Categorical([], categories=[])
    groups = indicators.groupby(list(GAP_COLUMNS), dropna=False, observed=True, sort=False).ngroup().to_numpy()
    first = np.unique(groups, return_index=True)[1]  # a row of each group, groups numbered 0, 1, 2…
    values = {name: indicators[name].take(first).tolist() for name in GAP_COLUMNS}
    texts = [gap_sentence({name: values[name][i] for name in GAP_COLUMNS}) for i in range(len(first))]
    words, word_of_group = np.unique(np.array(texts, dtype=object), return_inverse=True)
    return pd.Categorical.from_codes(word_of_group[groups], words)


def blocking_gaps(assessment: Assessment, sentences: pd.Categorical | None = None) -> list[str]:
    """Per structure, « Taux de décroché : 51 appels décrochés de plus pour argent ; … » for its blocking indicators
    (in their order), "" when none. ``sentences``: :func:`gap_sentences` of the indicator rows when already
    computed; else only the blocking rows get one."""
    s, indicators = assessment.structures, assessment.indicators
    blocking = s["blocking"].tolist()
    if not sum(map(len, blocking)):
        return [""] * len(s)
    rule_codes = assessment.rules["code"].tolist()
    width = len(rule_codes)
    if (width and len(indicators) == len(s) * width
            and (indicators["structure_code"].to_numpy() == np.repeat(s["code"].to_numpy(), width)).all()
            and (indicators["indicator_code"].astype(str).to_numpy() == np.tile(rule_codes, len(s))).all()):
        # The grid as assess() returns it: structure after structure, indicators in the rules' order.
        position = {code: i for i, code in enumerate(rule_codes)}

        def row_of_pair(code_index: int, indicator: str) -> int | None:
            return code_index * width + position[indicator] if indicator in position else None
    else:
        row_of = {key: row for row, key in enumerate(zip(indicators["structure_code"].tolist(),
                                                          indicators["indicator_code"].astype(str).tolist()))}
        structure_codes = s["code"].tolist()

        def row_of_pair(code_index: int, indicator: str) -> int | None:
            return row_of.get((structure_codes[code_index], indicator))
    pairs = [(i, indicator) for i, codes in enumerate(blocking) for indicator in codes]
    rows = [row_of_pair(i, indicator) for i, indicator in pairs]
    if sentences is None:  # only the blocking rows, alike ones sharing a sentence
        found = [row for row in rows if row is not None]
        sentences = dict(zip(found, np.asarray(gap_sentences(indicators.iloc[found]), dtype=object).tolist()))
    else:
        sentences = np.asarray(sentences, dtype=object).tolist()
    names = indicator_names(assessment.rules)
    texts: list[list[str]] = [[] for _ in blocking]
    for (i, indicator), row in zip(pairs, rows):
        texts[i].append(f"{names.get(indicator, indicator)} : {'' if row is None else sentences[row]}")
    return [" ; ".join(parts) for parts in texts]


def no_data_sentence(con: duckdb.DuckDBPyConnection, selection: Assessment | Scope,
                     structure: str | None = None) -> str | None:
    """The French sentence that says why a report is empty (or all « manquant »), None when it has values:
    for an assessment, a value counted by some indicator; for an export of values, one in the window."""
    stored = db.query_value(con, "reports_any_value")
    if selection.structures.empty or not stored:
        what = "Aucune donnée" if selection.structures.empty else "Aucune valeur enregistrée"
        return (f"{what} : importez un fichier (python3 -m indicators import FICHIER) ou chargez la "
                "démonstration (python3 -m indicators demo).")
    if isinstance(selection, Assessment):
        found = bool((selection.indicators["n_obs"] > 0).any())
    else:
        found = db.query_value(con, "reports_any_value_in_window", {
            "start": selection.window.start, "end": selection.window.end, "structure": structure}) > 0
    if found:
        return None
    whom = f" pour « {structure} »" if structure else ""
    return (f"Aucune valeur{whom} sur la fenêtre « {window_label(selection.window)} » : choisissez une autre période "
            f"(--period {WINDOW_CHOICES}).")


def _text(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return format_data_number(value)
    if isinstance(value, (date, datetime, pd.Timestamp)):
        return pd.Timestamp(value).date().isoformat()
    return neutralize_formula(str(value))


def _float_field(values: np.ndarray) -> pa.Array:
    """:func:`_text` of every float of a column, in Arrow: whole numbers without decimals, others as Python
    writes them with a decimal comma, "" for missing. Arrow writes a float exactly as Python does between
    0.0001 and 10⁹ (checked on millions of values); the rare others go through Python."""
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(values) & (np.floor(values) == values) & (magnitude < 2.0 ** 62)
        plain = np.isfinite(values) & ~whole & (magnitude >= 1e-4) & (magnitude < 1e9)
    rare = ~np.isnan(values) & ~whole & ~plain
    text = pa.large_string()
    integers = pc.cast(pa.array(np.where(whole, values, 0).astype(np.int64)), text)
    decimals = pc.replace_substring(pc.cast(pa.array(np.where(plain, values, 0.5)), text), ".", ",")
    out = pc.if_else(pa.array(whole), integers, pc.if_else(pa.array(plain), decimals, pa.scalar("", text)))
    if rare.any():
        out = pc.replace_with_mask(out, pa.array(rare), pa.array([_text(x) for x in values[rare].tolist()], text))
    return out


def csv_field(column: pd.Series) -> pa.Array:
    """:func:`_text` of every cell of a column, quoted as the csv module quotes it: floats in one pass in Arrow,
    other columns through their distinct values (a few dates, network names, levels…)."""
    if column.dtype.kind == "f":
        return _float_field(column.to_numpy(dtype="float64", na_value=np.nan))
    if isinstance(column.dtype, pd.StringDtype):  # texts, maybe all distinct (identifiers): in Arrow
        text = pc.cast(pa.array(column, from_pandas=True), pa.large_string())
        formula = pc.match_substring_regex(text, FORMULA_PATTERN)  # as neutralize_formula
        return csv_quoted(pc.if_else(formula, pc.binary_join_element_wise(
            pa.scalar("'", pa.large_string()), text, pa.scalar("", pa.large_string())), text))
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    texts = csv_quoted(pa.array([_text(u) for u in uniques] + [""], pa.large_string()))
    return texts.take(pa.array(np.where(codes < 0, len(texts) - 1, codes)))


def write_csv(frame: pd.DataFrame, output: Path) -> None:
    """``;``, UTF-8 with BOM, decimal comma, ISO dates, formulas neutralised."""
    Path(output).write_bytes(csv_bytes(frame))


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as :func:`_text` writes each cell and Python's csv module lays out the lines, built column by
    column (720 000 rows × 18 columns in about a second)."""
    return b"".join([csv_header(frame.columns), csv_body([csv_field(frame.iloc[:, i]) for i in range(frame.shape[1])])])


def workbook_bytes(assessment: Assessment, peer_view=None, actions: pd.DataFrame | None = None) -> bytes:
    buffer = io.BytesIO()
    write_workbook(assessment, buffer, peer_view, actions)
    return buffer.getvalue()


def opendata_table(con: duckdb.DuckDBPyConnection, assessment: Assessment) -> pd.DataFrame:
    """The window's values in the DITP's ``export-resultats`` schema, one row per structure × indicator ×
    period, ready to publish (engagement 6). ``valeur_attendue`` is the bronze threshold."""
    cur = con.cursor()
    try:
        rows = cur.sql(db.sql("opendata_rows"), params={"start": assessment.window.start,
                                                        "end": assessment.window.end,
                                                        "version": assessment.version}).to_arrow_table()
    finally:
        cur.close()
    # In Arrow until the end: 720 000 rows filtered, identifiers joined and dates kept as dates without one
    # Python object per cell.
    codes = rows["structure_code"]
    rows = rows.filter(pc.is_in(codes, value_set=pa.array(assessment.structures["code"].astype(str).tolist(),
                                                          codes.type)))
    identifiers = pc.binary_join_element_wise(rows["structure_code"], rows["indicator_code"],
                                              _day_texts(rows["period_start"]), _day_texts(rows["period_end"]), "-")
    frame = rows.append_column("code_sp_du_resultat", identifiers).to_pandas(date_as_object=False)
    frequency_of = {months: name for name, months in MONTHS_PER_PERIODICITY.items()}
    months = frame["months"].astype("Int64")
    satisfaction = (frame["indicator_code"] == "satisfaction_globale").to_numpy()
    return pd.DataFrame({
        # The period's both ends: a month and a quarter may start on the same day.
        "code_sp_du_resultat": frame["code_sp_du_resultat"],
        "intitule_du_reseau": frame["network"], "typologie": frame["typologie"],
        "code_sp_structure": frame["structure_code"], "intitule_de_la_structure": frame["name"],
        "code_sp_de_l_indicateur": frame["indicator_code"], "titre_original_de_l_indicateur": frame["label"],
        "date_de_debut_de_l_evaluation": frame["period_start"],
        "duree_de_l_evaluation": months, "frequence": months.map(frequency_of),
        "valeur": frame["value"], "valeur_attendue": frame["bronze"],
        "satisfait": frame["numerator"].where(satisfaction),
        "insatisfait": (frame["denominator"] - frame["numerator"]).where(satisfaction),
        "ne_se_prononce_pas": pd.Series([None] * len(frame), dtype="object"),
        "date_de_mise_a_jour": date.today(), "actif": "Oui",
    })


OPENDATA_COLUMNS = ("code_sp_du_resultat", "intitule_du_reseau", "typologie", "code_sp_structure",
                    "intitule_de_la_structure", "code_sp_de_l_indicateur", "titre_original_de_l_indicateur",
                    "date_de_debut_de_l_evaluation", "duree_de_l_evaluation", "frequence", "valeur",
                    "valeur_attendue", "satisfait", "insatisfait", "ne_se_prononce_pas", "date_de_mise_a_jour",
                    "actif")


@dataclass(frozen=True)
class Scope:
    """What an export of values needs: the window, the référentiel version and the structures (register
    columns), without the assessment itself."""

    window: Window
    version: str
    structures: pd.DataFrame  # columns of sql/structures_for_status.sql


def scope(con: duckdb.DuckDBPyConnection, window: Window, access: rights.Access,
          structure: str | None = None) -> Scope:
    """The structures of an export of values: those the person sees named, or one of them."""
    if structure is not None:
        rights.check_structure(con, access, structure)
    structures = db.query_df(con, "structures_for_status", {"structure": structure,
                                                            "codes": rights.codes_filter(con, access)})
    return Scope(window, db.referentiel_in_force(con), structures)


def _opendata_query(selection: Assessment | Scope) -> tuple[str, pa.Table]:
    """The query of :func:`write_opendata_csv` and the structures it joins, their texts already written."""
    frequency = " ".join(f"WHEN {months} THEN '{name}'" for name, months in MONTHS_PER_PERIODICITY.items())
    # The rows' own ORDER BY left out: DuckDB would format the fields after it on one thread; they are
    # sorted once formatted instead (same keys, plus the period's end).
    rows = db.sql("opendata_rows").rstrip().rstrip(";")
    unordered, order = rows.rsplit("ORDER BY", 1)
    if order.split() != ["o.structure_code,", "o.indicator_code,", "o.period_start"]:
        raise AssertionError("opendata_rows.sql: the export expects its rows ordered by structure, indicator, start")
    fields = [
        "csv_cell(rows.structure_code || '-' || indicator_code || '-' || replace(CAST(period_start AS VARCHAR), "
        "'-', '') || '-' || replace(CAST(period_end AS VARCHAR), '-', ''))",
        "chosen.network", "chosen.typologie", "chosen.code", "chosen.name",
        "csv_cell(indicator_code)", "csv_cell(label)", "CAST(period_start AS VARCHAR)",
        "csv_cell(CAST(months AS VARCHAR))", f"csv_cell(CASE months {frequency} END)", "csv_number(value)",
        "csv_number(bronze)", "csv_number(CASE WHEN indicator_code = 'satisfaction_globale' THEN numerator END)",
        "csv_number(CASE WHEN indicator_code = 'satisfaction_globale' THEN denominator - numerator END)",
        "''", f"'{date.today().isoformat()}'", "'Oui'"]
    names = ["\ufeff" + OPENDATA_COLUMNS[0], *OPENDATA_COLUMNS[1:]]
    query = f"""
        SELECT {", ".join(f'{field} AS "{name}"' for field, name in zip(fields, names))}
        FROM ({unordered}) rows
        JOIN opendata_selection chosen ON chosen.key = rows.structure_code
        ORDER BY rows.structure_code, indicator_code, period_start, period_end"""
    for name, value in (("$start", selection.window.start), ("$end", selection.window.end),
                        ("$version", selection.version)):  # COPY takes no parameters
        query = query.replace(name, "'" + str(value).replace("'", "''") + "'")
    structures = selection.structures
    chosen = pa.table({"key": pa.array(structures["code"].astype(str).tolist(), pa.string()),
                       **{column: pa.array(csv_field(structures[column]).to_pylist(), pa.string())
                          for column in ("code", "name", "network", "typologie")}})
    return query, chosen


def write_opendata_csv(con: duckdb.DuckDBPyConnection, selection: Assessment | Scope, output: Path) -> None:
    """``csv_bytes(opendata_table(…))``, byte for byte, written by DuckDB itself: every field formatted and
    quoted in SQL as :func:`_text` and Python's csv module do (the structures' texts once each, in Python),
    then DuckDB's CSV writer, told not to quote, lays them out. 720 000 values in about a second, no Python
    object per cell, nothing held in memory. The BOM rides on the first column's name."""
    query, chosen = _opendata_query(selection)
    cur = con.cursor()
    try:
        define_macros(cur)  # csv_cell and csv_number: :func:`_text` and the csv module's quoting, in DuckDB
        cur.register("opendata_selection", chosen)
        copy_csv(cur, query, output)
        cur.unregister("opendata_selection")
    finally:
        cur.close()


def opendata_csv(con: duckdb.DuckDBPyConnection, selection: Assessment | Scope) -> bytes:
    """:func:`write_opendata_csv` as bytes (for a download button)."""
    with tempfile.TemporaryDirectory(prefix="opendata-") as folder:
        path = Path(folder) / "export-resultats.csv"
        write_opendata_csv(con, selection, path)
        return path.read_bytes()


def _day_texts(dates) -> pa.Array:
    """``20250131`` for each date, each distinct date (a few months) formatted once."""
    encoded = pc.dictionary_encode(dates)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    texts = pa.array([d.strftime("%Y%m%d") if d else None for d in encoded.dictionary.to_pylist()],
                     pa.string())
    return texts.take(encoded.indices)


def write_workbook(assessment: Assessment, output, peer_view=None, actions: pd.DataFrame | None = None) -> None:
    """The formatted report: summary, indicators, engagements, method; French number formats,
    frozen headers, filters, column widths. ``output``: a path or a binary file. A director's report adds
    ``peer_view`` (indicators/peers.py): their structures among anonymised peers, aggregates only. ``actions``
    (indicators/actions.comparison_table of the same structures) adds the sheet « Actions ».

    Written as SpreadsheetML directly, column by column (see :class:`_Book`): openpyxl took 60 s for
    15 000 structures (20 s in its write-only mode), this takes a few seconds, cell for cell the same XML."""
    book = _Book()
    try:
        _fill_workbook(book, assessment)
        if peer_view is not None:
            _peer_sheets(book, peer_view)
        if actions is not None:
            _actions_sheet(book, actions, 7 if peer_view is not None else 5)
        book.save(output)
    finally:
        book.close()


def _fill_workbook(book: "_Book", assessment: Assessment) -> None:
    # Built biggest first (see _Book.sheet), placed Synthèse, Indicateurs, Engagements, Méthode.
    engagements = assessment.engagements
    labels = dict(zip(assessment.engagement_labels["number"], assessment.engagement_labels["label"]))
    book.sheet("Engagements", 3).table(
        ["Code structure", "Engagement", "Libellé", "Statut"],
        [engagements["structure_code"], engagements["number"], engagements["number"].map(labels),
         _french(engagements["status"])], {})

    ind = assessment.indicators
    gaps = gap_sentences(ind)
    book.sheet("Indicateurs", 2).table(
        ["Code structure", "Indicateur", "Libellé", "Engagement", "Unité", "Valeur", "Effectif", "Niveau", "Statut",
         "Écart au niveau suivant", "IC 95 % bas", "IC 95 % haut", "Fraîcheur", "Dernière période"],
        [ind["structure_code"], ind["indicator_code"], ind["label"], ind["engagement"], ind["unit"], ind["value"],
         ind["n"], ind["level"], _french(ind["status"]), pd.Series(gaps), ind["wilson_low"], ind["wilson_high"],
         _french(ind["freshness"]), ind["last_period_end"]],
        {6: NUMBER, 7: COUNT, 11: NUMBER, 12: NUMBER, 14: DATE})

    table = status_table(assessment, gaps)
    book.sheet("Synthèse", 1).table(
        ["Code", "Structure", "Réseau", "Niveau atteignable", "Indicateurs bloquants", "Écart au niveau suivant",
         "Label", "Attribué le", "Expire le", "Label soutenu", "État du label", "Indicateurs en retard"],
        [table[c] for c in ("code_structure", "nom_structure", "reseau", "niveau", "indicateurs_bloquants",
                            "ecarts", "label", "label_attribue_le", "label_expire_le", "label_soutenu",
                            "label_etat", "indicateurs_en_retard")],
        {8: DATE, 9: DATE})

    sheet = book.sheet("Méthode", 4)
    window = assessment.window
    for label, value in (("Référentiel", assessment.version), ("Fenêtre", window_label(window)), ("Du", window.start),
                         ("Au", window.end), ("Calculé le", assessment.today)):
        sheet.row([label, value], {2: DATE} if isinstance(value, date) else {})
    rules = assessment.rules
    sheet.table(["Indicateur", "Libellé", "Unité", "Sens", "Bronze", "Argent", "Or", "Provenance bronze",
                 "Provenance argent", "Provenance or", "Effectif minimal"],
                [rules["code"], rules["label"], rules["unit"],
                 rules["direction"].map(lambda d: DIRECTION_WORDS.get(d, d)),
                 rules["bronze"], rules["argent"], rules["or"], rules["provenance_bronze"],
                 rules["provenance_argent"], rules["provenance_or"], rules["min_n"]],
                {5: NUMBER, 6: NUMBER, 7: NUMBER}, first_row=sheet.max_row + 1, frozen=False)
    sheet.skip_row()
    for line in method_lines():  # docs/methode.md, the text the Référentiel page shows
        sheet.row([line], {})


def _peer_sheets(book: "_Book", view) -> None:
    """« Pairs (anonymisés) » and « Pairs – niveaux »: the tables of indicators/peers.py as they are."""
    for title, table, position in (("Pairs (anonymisés)", peers.peer_table(view), 5),
                                   ("Pairs – niveaux", peers.peer_levels_table(view), 6)):
        decimals = {i: NUMBER for i, c in enumerate(table.columns, start=1) if pd.api.types.is_float_dtype(table[c])}
        book.sheet(title, position).table(list(table.columns), [table[c] for c in table.columns], decimals)


def _actions_sheet(book: "_Book", table: pd.DataFrame, position: int) -> None:
    """« Actions »: the improvement actions and their before/after, one row per action × indicator aimed at."""
    book.sheet("Actions", position).table(
        ["N°", "Code structure", "Structure", "Action", "Début", "Fin", "Responsable", "Indicateur", "Avant",
         "Après", "Écart", "Effectif avant", "Effectif après", "Avant / après"],
        [table[c] for c in ("action_id", "structure_code", "structure_name", "title", "start_on", "end_on", "owner",
                            "indicator_label", "value_before", "value_after", "change", "n_before", "n_after",
                            "sentence")],
        {5: DATE, 6: DATE, 9: NUMBER, 10: NUMBER, 11: NUMBER, 12: COUNT, 13: COUNT})


def _french(codes: pd.Series) -> pd.Series:
    """Status codes as the report writes them (« non conforme », « à jour »…), each distinct code once."""
    if isinstance(codes.dtype, pd.CategoricalDtype):
        return codes.cat.rename_categories([status_word(code) for code in codes.cat.categories])
    numbers, distinct = pd.factorize(codes)
    words = np.array([status_word(code) for code in distinct] + [None], dtype=object)
    return pd.Series(words[numbers], index=codes.index, dtype=object)


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


# --- The xlsx writer ----------------------------------------------------------------------------------------
# The parts openpyxl wrote, the same way (inline strings, numbers as « %.16g », dates as serial numbers with a
# date format), without building one Python object per cell: each column's distinct values are written
# once, numbers in one pass, and rows are joined from the columns' texts.

DATE = "DD/MM/YYYY"
_STYLE_OF = {None: 0, "header": 1, DATE: 2, NUMBER: 3, COUNT: 4, "yyyy-mm-dd": 5}
_NUMBER_FORMAT_IDS = {DATE: 165, NUMBER: 166, COUNT: 3, "yyyy-mm-dd": 164}
_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037]")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"


_XML_SPECIAL = re.compile(r"[&<>\000-\010\013\014\016-\037]")


def _xml(text: str) -> str:
    if not _XML_SPECIAL.search(text):
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Control characters have no place in XML: written as Excel escapes them (_x0001_).
    return _ILLEGAL_XML.sub(lambda m: f"_x{ord(m[0]):04X}_", text)


def _attribute(text: str) -> str:
    return _xml(text).replace('"', "&quot;")


def _excel_serial(value) -> float:
    moment = value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())
    delta = moment - _EXCEL_EPOCH
    days = delta.days - 1 if 0 < delta.days <= 60 else delta.days  # Excel's 29/02/1900
    return days + delta.seconds / 86400 + delta.microseconds / 86400e6


def _cell(value, number_format: str | None) -> tuple[str | None, int]:
    """What follows ``<c r="B7"`` for one value, and its width (characters, at most 60); None: no cell."""
    value = neutralize_formula(value) if type(value) is str else _cell_value(value)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None, 0
    width = min(len(str(value or "")), 60)
    style = _STYLE_OF[number_format]
    if isinstance(value, (date, datetime)):
        style = style or _STYLE_OF["yyyy-mm-dd"]  # as openpyxl does for a date without a format
        return f' s="{style}" t="n"><v>{_excel_serial(value):.16g}</v></c>', width
    styled = f' s="{style}"' if style else ""
    if isinstance(value, bool):
        return f'{styled} t="b"><v>{int(value)}</v></c>', width
    if isinstance(value, (int, float)):
        return f'{styled} t="n"><v>{value:.16g}</v></c>', width
    text = str(value)
    if not text:
        return f'{styled} t="inlineStr" />', width
    return f'{styled} t="inlineStr"><is><t{_space(text)}>{_xml(text)}</t></is></c>', width


def _column_cells(values, number_format: str | None) -> tuple[list, int]:
    """:func:`_cell` of every value of a column: floats in one pass, others through their distinct values."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if series.dtype.kind == "f":
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(numbers)
        styled = f' s="{_STYLE_OF[number_format]}"' if number_format else ""
        cells = np.full(len(numbers), None, dtype=object)
        kept = numbers[finite].tolist()
        cells[finite] = np.array([f'{styled} t="n"><v>{x:.16g}</v></c>' for x in kept], dtype=object)
        width = max([min(len(str(x)), 60) for x in kept if x != 0], default=0)
        return cells.tolist(), width
    if isinstance(series.dtype, pd.CategoricalDtype):  # its codes are already the factorisation
        codes, uniques = series.cat.codes.to_numpy(), list(series.cat.categories)
    else:
        codes, uniques = pd.factorize(series if isinstance(series.dtype, pd.StringDtype) else series.astype(object),
                                      use_na_sentinel=True)
        uniques = list(uniques)
    if number_format is None and all(type(u) is str and u for u in uniques):
        # Texts only (names, sentences…): the common case of _cell, without its questions.
        texts = [neutralize_formula(u) for u in uniques]
        written = [f' t="inlineStr"><is><t{_space(t)}>{_xml(t)}</t></is></c>' for t in texts] + [None]
        width = max([min(len(t), 60) for t in texts], default=0)
    else:
        pairs = [_cell(u, number_format) for u in uniques]
        written = [c for c, _ in pairs] + [None]
        width = max([w for _, w in pairs], default=0)
    return np.array(written, dtype=object)[codes].tolist(), width


def _space(text: str) -> str:
    """openpyxl keeps a text's outer spaces (and so does Excel) with xml:space="preserve"."""
    stripped = text.strip()
    return ' xml:space="preserve"' if stripped and stripped != text else ""


def _letter(column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class _Sheet:
    def __init__(self, title: str, position: int):
        self.title, self.position = title, position
        self.rows: list[str] = []  # <row> elements, in order
        self.max_row = self.max_column = 0
        self.widths: dict[int, int] = {}
        self.frozen = False
        self.filter: str | None = None

    def _add(self, row: int, cells: str, columns: int) -> None:
        self.rows.append(f'<row r="{row}">{cells}</row>')
        self.max_row, self.max_column = max(self.max_row, row), max(self.max_column, columns)

    def row(self, values: list, formats: dict[int, str]) -> None:
        """One row after the last, as openpyxl's ``append`` writes it."""
        row = self.max_row + 1
        cells = []
        for column, value in enumerate(values, start=1):
            cell, _ = _cell(value, formats.get(column))
            if cell is not None:
                cells.append(f'<c r="{_letter(column)}{row}"{cell}')
        self._add(row, "".join(cells), len(values))

    def skip_row(self) -> None:
        self.max_row += 1

    def table(self, headers: list[str], columns: list, formats: dict[int, str], first_row: int = 1,
              frozen: bool = True) -> None:
        """Header in bold on blue (frozen and filtered on a sheet's first row); cells neutralised; widths from
        the content."""
        letters = [_letter(c) for c in range(1, len(headers) + 1)]
        self._add(first_row, "".join(f'<c r="{letter}{first_row}" s="1" t="inlineStr"><is><t>{_xml(h)}</t></is></c>'
                                     for letter, h in zip(letters, headers)), len(headers))
        count = len(columns[0]) if columns else 0
        rows = [str(r) for r in range(first_row + 1, first_row + 1 + count)]
        # One generated f-string per row (a third of the time of joining cell by cell); a column with empty
        # cells brings its cells already written with their reference, or nothing.
        cells_of, template = [], []
        for column, (letter, values) in enumerate(zip(letters, columns), start=1):
            cells, width = _column_cells(values, formats.get(column))
            self.widths[column] = max(len(headers[column - 1]), width) + 2
            if None in cells:
                head = f'<c r="{letter}'
                cells = [head + r + '"' + c if c is not None else "" for r, c in zip(rows, cells)]
                template.append(f"{{c{column}}}")
            else:
                template.append(f'<c r="{letter}{{r}}"{{c{column}}}')
            cells_of.append(cells)
        arguments = ", ".join(f"c{column}" for column in range(1, len(columns) + 1))
        write_row = eval(f"lambda r, {arguments}: f'<row r=\"{{r}}\">{''.join(template)}</row>'")  # noqa: S307
        self.rows.extend(map(write_row, rows, *cells_of))
        last = first_row + count
        self.max_row, self.max_column = max(self.max_row, last), max(self.max_column, len(headers))
        if frozen:
            self.frozen = True
            self.filter = f"A1:{letters[-1]}{last}"

    def xml_parts(self):
        view = ('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen" />'
                '<selection pane="bottomLeft" activeCell="A1" sqref="A1" />') if self.frozen else \
            '<selection activeCell="A1" sqref="A1" />'
        dimension = f"A1:{_letter(max(self.max_column, 1))}{max(self.max_row, 1)}"
        cols = "".join(f'<col width="{w}" customWidth="1" min="{c}" max="{c}" />' for c, w in self.widths.items())
        yield (f'<worksheet xmlns="{_MAIN}"><sheetPr><outlinePr summaryBelow="1" summaryRight="1" /><pageSetUpPr />'
               f'</sheetPr><dimension ref="{dimension}" /><sheetViews><sheetView workbookViewId="0">{view}</sheetView>'
               f'</sheetViews><sheetFormatPr baseColWidth="8" defaultRowHeight="15" />'
               + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>")
        for start in range(0, len(self.rows), 20_000):
            yield "".join(self.rows[start:start + 20_000])
        yield ("</sheetData>" + (f'<autoFilter ref="{self.filter}" />' if self.filter else "")
               + '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5" /></worksheet>')


class _Book:
    """The few parts of an xlsx package the report needs: workbook, styles, sheets, properties. Each sheet is
    compressed by a second thread as soon as the next one is begun (zlib lets go of the interpreter while it
    works); the package is assembled in memory and written out whole at the end, nothing on failure."""

    def __init__(self):
        self.sheets: list[_Sheet] = []
        self._buffer = io.BytesIO()
        # Level 1: the sheets are very repetitive XML; a third of the time of the default level, a file a
        # fifth larger.
        self._package = zipfile.ZipFile(self._buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._writer = ThreadPoolExecutor(max_workers=1)
        self._written: list = []

    def sheet(self, title: str, position: int) -> _Sheet:
        """A new sheet, ``position``-th in the workbook (sheets may be built in any order: the big ones first,
        so that their compression overlaps the building of the next)."""
        self._hand_over()
        self.sheets.append(_Sheet(title, position))
        return self.sheets[-1]

    def _hand_over(self) -> None:
        if len(self._written) < len(self.sheets):
            self._written.append(self._writer.submit(self._write_sheet, self.sheets[-1]))

    def _write_sheet(self, sheet: _Sheet) -> None:
        with self._package.open(f"xl/worksheets/sheet{sheet.position}.xml", "w", force_zip64=True) as part:
            for chunk in sheet.xml_parts():
                part.write(chunk.encode("utf-8"))
        sheet.rows = []

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._package.close()

    def save(self, output) -> None:
        self._hand_over()
        for done in self._written:
            done.result()
        self.sheets.sort(key=lambda sheet: sheet.position)
        if [sheet.position for sheet in self.sheets] != list(range(1, len(self.sheets) + 1)):
            raise AssertionError("sheets numbered 1, 2, 3…")
        sheets = self.sheets
        worksheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
        content_types = (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />'
            '<Default Extension="xml" ContentType="application/xml" />'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml" />'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml" />'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml" />'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{worksheet_type}" />'
                      for i in range(1, len(sheets) + 1))
            + '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml" /></Types>')
        package_rels = (
            f'<Relationships xmlns="{_PACKAGE}">'
            f'<Relationship Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml" Id="rId1" />'
            f'<Relationship Type="{_PACKAGE}/metadata/core-properties" Target="docProps/core.xml" Id="rId2" />'
            f'<Relationship Type="{_RELATIONSHIPS}/extended-properties" Target="docProps/app.xml" Id="rId3" />'
            '</Relationships>')
        filters = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{_xml(quote)}!{_absolute(s.filter)}</definedName>"
            for i, s in enumerate(sheets) if s.filter
            for quote in ["'" + s.title.replace("'", "''") + "'"])
        workbook = (
            f'<workbook xmlns:r="{_RELATIONSHIPS}" xmlns="{_MAIN}"><workbookPr /><workbookProtection /><bookViews>'
            '<workbookView visibility="visible" minimized="0" showHorizontalScroll="1" showVerticalScroll="1" '
            'showSheetTabs="1" tabRatio="600" firstSheet="0" activeTab="0" autoFilterDateGrouping="1" />'
            '</bookViews><sheets>'
            + "".join(f'<sheet name="{_attribute(s.title)}" sheetId="{i}" state="visible" r:id="rId{i}" />'
                      for i, s in enumerate(sheets, start=1))
            + "</sheets>" + (f"<definedNames>{filters}</definedNames>" if filters else "")
            + '<calcPr calcId="124519" fullCalcOnLoad="1" /></workbook>')
        workbook_rels = (
            f'<Relationships xmlns="{_PACKAGE}">'
            + "".join(f'<Relationship Type="{_RELATIONSHIPS}/worksheet" Target="/xl/worksheets/sheet{i}.xml" '
                      f'Id="rId{i}" />' for i in range(1, len(sheets) + 1))
            + f'<Relationship Type="{_RELATIONSHIPS}/styles" Target="styles.xml" Id="rId{len(sheets) + 1}" />'
            "</Relationships>")
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        core = ('<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>Indicateurs Services Publics+'
                f'</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
                f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified></cp:coreProperties>')
        app = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
               "<Application>Microsoft Excel Compatible</Application></Properties>")
        package = self._package
        package.writestr("[Content_Types].xml", content_types)
        package.writestr("_rels/.rels", package_rels)
        package.writestr("docProps/app.xml", app)
        package.writestr("docProps/core.xml", core)
        package.writestr("xl/workbook.xml", workbook)
        package.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        package.writestr("xl/styles.xml", _STYLES)
        self.close()
        if isinstance(output, (str, Path)):
            Path(output).write_bytes(self._buffer.getbuffer())
        else:
            output.write(self._buffer.getbuffer())


def _absolute(reference: str) -> str:
    """``A1:K51`` → ``$A$1:$K$51``."""
    return ":".join("$" + re.sub(r"(\d)", r"$\1", corner, count=1) for corner in reference.split(":"))


_STYLES = (
    f'<styleSheet xmlns="{_MAIN}"><numFmts count="3">'
    + "".join(f'<numFmt numFmtId="{_NUMBER_FORMAT_IDS[f]}" formatCode="{f}" />' for f in ("yyyy-mm-dd", DATE, NUMBER))
    + '</numFmts><fonts count="2"><font><sz val="11" /><color rgb="FF000000" /><name val="Calibri" />'
    '<family val="2" /></font><font><b val="1" /><sz val="11" /><color rgb="00FFFFFF" /><name val="Calibri" />'
    '<family val="2" /></font></fonts>'
    f'<fills count="3"><fill><patternFill /></fill><fill><patternFill patternType="gray125" /></fill>'
    f'<fill><patternFill patternType="solid"><fgColor rgb="00{BLUE}" /></patternFill></fill></fills>'
    '<borders count="1"><border><left /><right /><top /><bottom /><diagonal /></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" /></cellStyleXfs>'
    '<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" />'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" applyFont="1" applyFill="1" applyAlignment="1" xfId="0">'
    '<alignment vertical="top" wrapText="1" /></xf>'
    + "".join(f'<xf numFmtId="{_NUMBER_FORMAT_IDS[f]}" fontId="0" fillId="0" borderId="0" applyNumberFormat="1" '
              'xfId="0" />' for f in (DATE, NUMBER, COUNT, "yyyy-mm-dd"))
    + '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0" /></cellStyles>'
    '<tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16" />'
    "</styleSheet>")


# The JSON contract of ``status --format json`` (DESIGN.md), written from the engine's frames.

def _iso(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date().isoformat()


# ``status --format json`` is written column by column: each column of the assessment becomes its JSON texts
# in one pass (texts, numbers, dates), the rows of each structure are found by one sort, and the objects are
# laid out as ``json.dumps(…, ensure_ascii=False, indent=2)`` lays them out. 15 000 structures: 0.3 s,
# where the object-by-object way took 100 s. tests/test_command_speed_and_empty.py checks it character for
# character against a plain per-structure build.


def _json_texts(values) -> np.ndarray:
    """JSON texts of a column of texts: the quoted text, ``null`` where the value is not a text."""
    codes, uniques = pd.factorize(pd.Series(values, copy=False))
    texts = [json.encoder.encode_basestring(u) if isinstance(u, str) else "null" for u in uniques]
    return np.array(texts + ["null"], dtype=object)[codes]  # code -1 (missing) takes the last: null


def _json_numbers(values) -> np.ndarray:
    """JSON texts of numbers: whole numbers without a decimal point, others as Python writes them, ``null`` for
    missing."""
    a = as_floats(pd.Series(values, copy=False))
    out = np.full(len(a), "null", dtype=object)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(a) & (np.floor(a) == a)
        exact = whole & (np.abs(a) < 2.0 ** 62)
    out[exact] = np.array(list(map(str, a[exact].astype(np.int64).tolist())), dtype=object)
    out[whole & ~exact] = np.array([str(int(x)) for x in a[whole & ~exact].tolist()], dtype=object)
    decimal = np.isfinite(a) & ~whole
    out[decimal] = np.array(list(map(float.__repr__, a[decimal].tolist())), dtype=object)
    out[a == np.inf], out[a == -np.inf] = "Infinity", "-Infinity"
    return out


def _json_dates(values) -> np.ndarray:
    """JSON texts of :func:`_iso` of each value (few distinct dates: each is written once)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object, copy=False))
    texts = [_iso(u) for u in uniques]
    return np.array([json.encoder.encode_basestring(t) if t else "null" for t in texts] + ["null"],
                    dtype=object)[codes]


def _rows_of(codes: pd.Index, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(row order, offsets): ``frame``'s rows grouped by structure in ``codes``' order, each structure's rows
    in their order; structure ``i`` owns ``order[offsets[i]:offsets[i + 1]]``."""
    position = codes.get_indexer(frame["structure_code"])
    kept = np.flatnonzero(position >= 0)
    order = kept[np.argsort(position[kept], kind="stable")]
    offsets = np.concatenate(([0], np.cumsum(np.bincount(position[kept], minlength=len(codes)))))
    return order, offsets


def _json_list(items: list[str], indent: str) -> str:
    """A list laid out as ``indent=2`` does, its items already written, ``indent`` the list's own."""
    return "[\n" + ",\n".join(items) + f"\n{indent}]" if items else "[]"


def _indicator_texts(indicators: pd.DataFrame) -> np.ndarray:
    """Each indicator row's object, laid out at its depth. Rows without any number (an indicator never
    received is the same object for every structure) are written once per distinct row."""
    pad = " " * 10
    low, high = _json_numbers(indicators["wilson_low"]), _json_numbers(indicators["wilson_high"])
    wilson = np.where(np.isnan(as_floats(indicators["wilson_low"])), "null",
                      f"[\n{pad}  " + low + f",\n{pad}  " + high + f"\n{pad}]")
    value, n, gap = (_json_numbers(indicators[c]) for c in ("value", "n", "gap_to_next"))
    texts = [_json_texts(indicators[c]) for c in ("indicator_code", "level", "status", "gap_unit", "next_level",
                                                  "freshness")]
    texts.append(_json_dates(indicators["last_period_end"]))
    columns = (texts[0], value, texts[1], texts[2], n, gap, texts[3], texts[4], wilson, texts[5], texts[6])

    def write(rows) -> list[str]:
        return [f'        {{\n{pad}"code": {code},\n{pad}"value": {value},\n{pad}"level": {level},\n'
                f'{pad}"status": {status},\n{pad}"n": {n},\n{pad}"gap_to_next": {gap},\n{pad}"gap_unit": {unit},\n'
                f'{pad}"next_level": {next_level},\n{pad}"wilson_95": {interval},\n{pad}"freshness": {fresh},\n'
                f'{pad}"last_period_end": {last}\n        }}'
                for code, value, level, status, n, gap, unit, next_level, interval, fresh, last
                in zip(*(column[rows].tolist() for column in columns))]

    out = np.empty(len(indicators), dtype=object)
    bare = (value == "null") & (n == "null") & (gap == "null") & (wilson == "null")
    rest = np.flatnonzero(~bare)
    if bare.any():
        # One integer per distinct combination of the texts left (a few codes, levels, dates each).
        key = np.zeros(int(bare.sum()), dtype=np.int64)
        for column in texts:
            codes, uniques = pd.factorize(column[bare])
            key = key * (len(uniques) + 1) + codes
        distinct, first, which = np.unique(key, return_index=True, return_inverse=True)
        bare_rows = np.flatnonzero(bare)
        out[bare_rows] = np.array(write(bare_rows[first]), dtype=object)[which]
    out[rest] = np.array(write(rest), dtype=object)
    return out


def _engagement_blocks(engagements: pd.DataFrame, offsets: np.ndarray) -> list[str]:
    """Each structure's ``"engagements"`` list. Few structures differ in their engagements' statuses: each
    distinct list is written once."""
    pad = " " * 10
    number_codes, numbers = pd.factorize(pd.Series(_json_numbers(engagements["number"]), dtype=object))
    status_codes, statuses = pd.factorize(pd.Series(_json_texts(engagements["status"]), dtype=object))
    pairs = (number_codes * len(statuses) + status_codes).astype(np.int64)  # JSON texts: never missing
    items = {pair: f'        {{\n{pad}"number": {numbers[pair // len(statuses)]},\n'
                   f'{pad}"status": {statuses[pair % len(statuses)]}\n        }}' for pair in np.unique(pairs).tolist()}
    blocks: dict[bytes, str] = {}
    out = []
    for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist()):
        key = pairs[start:end].tobytes()
        block = blocks.get(key)
        if block is None:
            block = blocks[key] = _json_list([items[p] for p in pairs[start:end].tolist()], " " * 6)
        out.append(block)
    return out


def status_json_chunks(assessment: Assessment, structures_per_chunk: int = 2000):
    """``status --format json`` in pieces, as ``json.dumps(status_json(…), ensure_ascii=False, indent=2)``
    writes it, built column by column (see above) and handed out a few thousand structures at a time: the
    command writes them as they come, with no copy of the whole text."""
    window = assessment.window
    head = json.dumps({"period": window.text,
                       "window": {"start": window.start.isoformat(), "end": window.end.isoformat(),
                                  "label": window.label},
                       "referentiel": assessment.version, "structures": []}, ensure_ascii=False, indent=2)
    s = assessment.structures
    if s.empty:
        yield head
        return
    codes = pd.Index(s["code"].astype(str))
    ind_order, ind_offsets = _rows_of(codes, assessment.indicators)
    eng_order, eng_offsets = _rows_of(codes, assessment.engagements)
    items = _indicator_texts(assessment.indicators.iloc[ind_order]).tolist()
    engagements = _engagement_blocks(assessment.engagements.iloc[eng_order], eng_offsets)
    encode, pad = json.encoder.encode_basestring, " " * 6
    blocking_texts: dict[tuple, str] = {}

    def blocking_text(codes: list) -> str:
        key = tuple(codes)
        if key not in blocking_texts:
            blocking_texts[key] = _json_list([f"        {encode(c)}" for c in key], pad)
        return blocking_texts[key]

    labelled = s["label_level"].map(lambda level: isinstance(level, str)).to_numpy(bool)
    labels = np.full(len(s), "null", dtype=object)
    if labelled.any():
        awarded, expires = _json_dates(s["label_awarded_on"])[labelled], _json_dates(s["label_expires_on"])[labelled]
        labels[labelled] = np.array([
            f'{{\n{pad}  "level": {encode(level)},\n{pad}  "awarded_on": {on},\n{pad}  "expires_on": {until},\n'
            f'{pad}  "supported": {"true" if supported else "false"},\n'
            f'{pad}  "expired": {"true" if expired else "false"}\n{pad}}}'
            for level, on, until, supported, expired in zip(
                s["label_level"][labelled].tolist(), awarded.tolist(), expires.tolist(),
                s["label_supported"][labelled].tolist(), s["label_expired"][labelled].tolist())], dtype=object)
    parts, separator = [head[:-len("[]\n}")] + "[\n"], ",\n"
    for i, (code, name, network, level, blocking, start, end, engagement_list, label) in enumerate(zip(
            _json_texts(codes).tolist(), _json_texts(s["name"]).tolist(), _json_texts(s["network"]).tolist(),
            _json_texts(s["level"]).tolist(), s["blocking"].tolist(), ind_offsets[:-1].tolist(),
            ind_offsets[1:].tolist(), engagements, labels.tolist())):
        parts.append(f'{separator if i else ""}    {{\n{pad}"code": {code},\n{pad}"name": {name},\n'
                     f'{pad}"network": {network},\n{pad}"level": {level},\n'
                     f'{pad}"blocking": {blocking_text(blocking)},\n{pad}"indicators": ')
        if end > start:
            parts.append("[\n")
            parts.append(",\n".join(items[start:end]))
            parts.append("\n      ]")
        else:
            parts.append("[]")
        parts.append(f',\n{pad}"engagements": {engagement_list},\n{pad}"label": {label}\n    }}')
        if i % structures_per_chunk == structures_per_chunk - 1:
            yield "".join(parts)
            parts.clear()
    parts.append("\n  ]\n}")
    yield "".join(parts)


def status_json_text(assessment: Assessment) -> str:
    """``status --format json`` exactly as ``json.dumps(status_json(…), ensure_ascii=False, indent=2)``
    writes it."""
    return "".join(status_json_chunks(assessment))


def status_json(assessment: Assessment) -> dict:
    """``{"period": …, "structures": [...]}`` as ``status --format json`` prints it."""
    return json.loads(status_json_text(assessment))
