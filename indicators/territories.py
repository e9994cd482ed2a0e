"""The open data kept apart: the baromètre's territories (départements, régions, national) and the indicators outside
the référentiel, read for views of their own; never counted among the structures nor in the levels.

Territories are public open data: every person with a grant sees them all. A structure's « Autres indicateurs »
follow the structure's rights, like every other read of its values."""

from __future__ import annotations

import duckdb
import pandas as pd

from indicators import db, rights
from indicators.staging import Catalog, Staged
from indicators.text import format_count, format_date, format_number_fr

LISTING_COLUMNS = ("code", "name", "n_values", "n_indicators", "last_period_end")
VALUE_COLUMNS = ("label", "period", "value", "unit")
# Open-data values carry their own precision (353, 12,5, 0,63): shown as written, up to this many decimals.
VALUE_DECIMALS = 3


def listing(con: duckdb.DuckDBPyConnection, access: rights.Access) -> pd.DataFrame:
    """Every territory by code: code, name, n_values, n_indicators, last_period_end (none without a grant)."""
    if not access.has_grant:
        return pd.DataFrame(columns=list(LISTING_COLUMNS))
    return db.query_df(con, "territories_list")


def values(con: duckdb.DuckDBPyConnection, access: rights.Access, code: str) -> pd.DataFrame:
    """One territory's values (label, period, value, unit), by indicator, latest period first; empty for a code
    that is no territory."""
    if not access.has_grant:
        return _values_frame(None)
    return _values_frame(db.query_df(con, "territories_values",
                                     {"code": code, "version": db.referentiel_in_force(con)}))


def other_indicators(con: duckdb.DuckDBPyConnection, access: rights.Access, structure_code: str) -> pd.DataFrame:
    """One structure's values whose indicator is not in the référentiel in force (label, period, value, unit),
    by indicator, latest period first; empty when it has none or the structure is outside the person's scope
    (or no structure at all)."""
    try:
        rights.check_structure(con, access, structure_code)
    except rights.AccessRefused:
        return _values_frame(None)
    return _values_frame(db.query_df(con, "territories_other_indicators",
                                     {"code": structure_code, "version": db.referentiel_in_force(con)}))


def period_text(start, end) -> str:
    """« 31/01/2020 » for a value dated by one day (the baromètre's), « 01/01/2025 – 31/03/2025 » for a span."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    return format_date(end) if start == end else f"{format_date(start)} – {format_date(end)}"


def _values_frame(rows: pd.DataFrame | None) -> pd.DataFrame:
    if rows is None or rows.empty:
        return pd.DataFrame({"label": pd.Series(dtype="str"), "period": pd.Series(dtype="str"),
                             "value": pd.Series(dtype="float64"), "unit": pd.Series(dtype="str")})
    return pd.DataFrame({"label": rows["label"],
                         "period": [period_text(s, e) for s, e in zip(rows["period_start"], rows["period_end"])],
                         "value": rows["value"].astype("float64"), "unit": rows["unit"]})


def listing_table(territories: pd.DataFrame) -> pd.DataFrame:
    """The territories as the page shows them, in French formats."""
    return pd.DataFrame({
        "Code": territories["code"], "Nom": territories["name"],
        "Valeurs": territories["n_values"].map(lambda n: format_number_fr(n, 0)),
        "Indicateurs": territories["n_indicators"].map(lambda n: format_number_fr(n, 0)),
        "Dernière période": territories["last_period_end"].map(format_date),
    })


def values_table(values_found: pd.DataFrame) -> pd.DataFrame:
    """Values of :func:`values` or :func:`other_indicators` as the pages show them, in French formats."""
    return pd.DataFrame({
        "Indicateur": values_found["label"], "Période": values_found["period"],
        "Valeur": values_found["value"].map(lambda v: format_number_fr(v, VALUE_DECIMALS, trim=True)),
        "Unité": values_found["unit"].fillna(""),
    })


def preview_sentence(staged: Staged, catalog: Catalog) -> str | None:
    """What the preview of an import says of the open data it holds, before anything is stored: its territories
    and its indicators outside the référentiel (« Ce fichier décrit 102 territoires et 57 indicateurs hors
    référentiel ; ils ne comptent pas dans les niveaux. »). None for a file of services whose indicators are all
    in the référentiel, and for a file that cannot be stored."""
    if staged.kind != "observations" or staged.rows is None:
        return None
    codes = staged.rows.column("indicator_code").unique().to_pylist()
    outside = sum(1 for code in codes if code is not None and catalog.referentiel.indicator(code) is None)
    indicators = f"{format_count(outside, 'indicateur')} hors référentiel"
    if staged.territorial:
        places = len(staged.structures) if staged.structures is not None else 0
        described = format_count(places, "territoire") + (f" et {indicators}" if outside else "")
        they = "ils ne comptent" if places + outside > 1 else "il ne compte"
        return f"Ce fichier décrit {described} ; {they} pas dans les niveaux."
    if not outside:
        return None
    they = "il est montré" if outside == 1 else "ils sont montrés"
    count = "ne compte" if outside == 1 else "ne comptent"
    return (f"Ce fichier contient {indicators} : {they} à part (« Autres indicateurs ») et {count} pas dans "
            "les niveaux.")
