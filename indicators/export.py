"""Exports of stored data; every text cell a spreadsheet could run as a formula is neutralised."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from indicators import db

# Same rule as indicators.text.neutralize_formula, applied inside DuckDB on whole columns.
EXPORT_MACROS = """
CREATE OR REPLACE TEMP MACRO protect(x) AS
    CASE WHEN left(x, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || x ELSE x END;
CREATE OR REPLACE TEMP MACRO fr_number(x) AS
    CASE WHEN x IS NULL THEN NULL
         WHEN x = trunc(x) AND abs(x) < 1e15 THEN CAST(CAST(x AS BIGINT) AS VARCHAR)
         ELSE replace(CAST(x AS VARCHAR), '.', ',') END;
"""


def canonical_table(con: duckdb.DuckDBPyConnection, window: tuple[date, date] | None = None) -> pa.Table:
    """Live values in the canonical long layout (the template's columns), as text in French formats."""
    cur = con.cursor()
    try:
        cur.execute(EXPORT_MACROS)
        start, end = window if window else (None, None)
        table = cur.sql(db.sql("export_canonical"), params={"start": start, "end": end}).to_arrow_table()
    finally:
        cur.close()
    # Only values imported from open data carry these: other exports keep the template's exact columns.
    optional = ["valeur_attendue", "libelle_indicateur", "unite"]
    empty = [c for c in optional if table.num_rows == 0 or pc.all(pc.is_null(table.column(c))).as_py()]
    return table.drop_columns(empty)


def write_canonical_csv(table: pa.Table, output: Path) -> None:
    """``;``-separated, UTF-8 with BOM (what Excel opens right), decimal comma, ISO dates, quotes only where needed."""
    with open(output, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\n")
        writer.writerow(table.column_names)
        for batch in table.to_batches(max_chunksize=50_000):
            writer.writerows(zip(*(column.to_pylist() for column in batch.columns)))


def template_table() -> pa.Table:
    """The empty canonical template users download."""
    names = ["code_structure", "nom_structure", "reseau", "code_indicateur", "debut_periode", "fin_periode",
             "valeur", "numerateur", "denominateur", "effectif"]
    return pa.table({n: pa.array([], pa.string()) for n in names})
