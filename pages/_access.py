"""The pages' one door onto the database: a cached connection, a cursor per query, cached reads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indicators import db, importer, settings
from indicators.layouts import BY_NAME

STATUS_LABELS = importer.STATUS_LABELS


def layout_label(name: str | None) -> str:
    """The French name of a detected layout, as the history shows it."""
    spec = BY_NAME.get(name or "")
    return spec.label if spec else {"demonstration": "données de démonstration"}.get(name, name or "")


@st.cache_resource(show_spinner=False)
def _connection(path: str):
    return db.connect(path)


def connection():
    """One DuckDB connection per server process and database file; sessions run in threads, so each
    read takes its own cursor."""
    return _connection(str(settings.db_path()))


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
