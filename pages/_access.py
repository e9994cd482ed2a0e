"""The pages' one door onto the database: a cached connection, a cursor per query, cached reads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indicators import db, importer


@st.cache_resource(show_spinner=False)
def connection():
    """One DuckDB connection per server process; sessions run in threads, so each read takes a cursor."""
    return db.connect()


def read(sql_name: str, params: dict | None = None) -> pd.DataFrame:
    cur = connection().cursor()
    try:
        return cur.execute(db.sql(sql_name), params or {}).df()
    finally:
        cur.close()


def structures() -> pd.DataFrame:
    return read("structures_list")


def imports() -> pd.DataFrame:
    return pd.DataFrame(importer.history(connection()))


def load_demo(n_structures: int = 300) -> list[importer.ImportReport]:
    from indicators.demo import load_demo as load

    return load(connection(), n_structures)
