"""Exports of stored data; every text cell a spreadsheet could run as a formula is neutralised."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from indicators import db
from indicators.text import FORMULA_CODE_POINTS

# One line ending for every CSV the product writes: a line feed. DuckDB's CSV writer, which writes the big
# exports in a second, ends its lines so; Excel and LibreOffice read it as well as CRLF; and every export is
# checked byte for byte against Python's csv module with this ending.
CSV_LINE_END = "\n"


def define_macros(cur) -> None:
    """The exports' cell rules as DuckDB macros (sql/export_macros.sql), neutralising the prefixes of
    indicators.text.FORMULA_PREFIXES (the same rule as neutralize_formula, on whole columns)."""
    codes = ", ".join(str(point) for point in FORMULA_CODE_POINTS)  # digits from the code, no user text
    cur.execute(db.sql("export_macros").replace("{formula_codes}", codes))


def copy_csv(cur, query: str, output: Path) -> None:
    """Write the rows of ``query`` (fields already formatted and quoted) to ``output`` with DuckDB's CSV writer:
    sql/export_csv_copy.sql. COPY takes no parameters: the path goes in as a quoted literal."""
    target = str(Path(output)).replace("'", "''")
    cur.execute(db.sql("export_csv_copy").format(query=query, target=target))


def canonical_table(con: duckdb.DuckDBPyConnection, window: tuple[date, date] | None = None) -> pa.Table:
    """Live values in the canonical long layout (the template's columns), as text in French formats."""
    cur = con.cursor()
    try:
        define_macros(cur)
        start, end = window if window else (None, None)
        table = cur.sql(db.sql("export_canonical"), params={"start": start, "end": end}).to_arrow_table()
    finally:
        cur.close()
    # Only values imported from open data carry these: other exports keep the template's exact columns.
    optional = ["valeur_attendue", "libelle_indicateur", "unite"]
    empty = [c for c in optional if table.num_rows == 0 or pc.all(pc.is_null(table.column(c))).as_py()]
    return table.drop_columns(empty)


def write_canonical_csv(table: pa.Table, output: Path) -> None:
    """``;``-separated, UTF-8 with BOM (what Excel opens right), decimal comma, ISO dates, quotes only where needed
    (as Python's csv module: a field holding ``;``, ``"`` or a line feed). Written by DuckDB's CSV writer from the
    table in Arrow, each field quoted beforehand in SQL (the writer itself told not to quote): twice as fast as
    joining the lines in Arrow. Rows keep the table's order (DuckDB preserves insertion order)."""
    fields = ", ".join(
        f"""CASE WHEN contains({quoted}, ';') OR contains({quoted}, '"') OR contains({quoted}, chr(10))
                 THEN '"' || replace({quoted}, '"', '""') || '"' ELSE {quoted} END AS {header}"""
        for quoted, header in ((_identifier(name), _identifier(("\ufeff" if i == 0 else "") + name))
                               for i, name in enumerate(table.column_names)))
    with duckdb.connect() as scratch:
        scratch.register("canonical", table)
        copy_csv(scratch, f"SELECT {fields} FROM canonical", output)


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def csv_header(names) -> bytes:
    """The BOM and the header line, quoted as Python's csv module quotes."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=";", lineterminator=CSV_LINE_END).writerow(names)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def csv_quoted(column) -> pa.Array:
    """A column of texts as Python's csv module writes it (``;`` separator, ``\\n`` line end): null as nothing,
    a field holding ``;``, ``"`` or a line feed between quotes, its quotes doubled."""
    text = pc.fill_null(pc.cast(column, pa.large_string()), "")
    special = pc.match_substring_regex(text, '[;"\n]')
    if not pc.any(special).as_py():
        return text
    quote, nothing = pa.scalar('"', pa.large_string()), pa.scalar("", pa.large_string())
    quoted = pc.binary_join_element_wise(quote, pc.replace_substring(text, '"', '""'), quote, nothing)
    return pc.if_else(special, quoted, text)


def csv_body(columns: list) -> memoryview:
    """The lines of a CSV from columns of final texts (see :func:`csv_quoted`; no null), joined in Arrow: no
    Python object per cell."""
    # One chunk each: joining columns whose chunks do not line up is several times slower.
    columns = [pc.cast(c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c, pa.large_string())
               for c in columns]
    if not columns or len(columns[0]) == 0:
        return memoryview(b"")
    large = pa.large_string()
    if len(columns) == 1:  # a lone empty field is written "" (else the line would be blank)
        columns = [pc.if_else(pc.equal(columns[0], ""), pa.scalar('""', large), columns[0])]
    lines = pc.binary_join_element_wise(*columns, pa.scalar(";", large)) if len(columns) > 1 else columns[0]
    return joined_texts(pc.binary_join_element_wise(lines, pa.scalar("", large), pa.scalar(CSV_LINE_END, large)))


def joined_texts(texts) -> memoryview:
    """Every text of a column one after the other, in UTF-8: a view of its data buffer, without a Python
    string each (``b"".join([header, view])`` copies it once)."""
    texts = pc.cast(texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts, pa.large_string())
    if len(texts) == 0:
        return memoryview(b"")
    texts = pc.fill_null(texts, "")
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset:texts.offset + len(texts) + 1]
    return memoryview(texts.buffers()[2])[offsets[0]:offsets[-1]]


def template_table() -> pa.Table:
    """The empty canonical template users download."""
    names = ["code_structure", "nom_structure", "reseau", "code_indicateur", "debut_periode", "fin_periode",
             "valeur", "numerateur", "denominateur", "effectif"]
    return pa.table({n: pa.array([], pa.string()) for n in names})
