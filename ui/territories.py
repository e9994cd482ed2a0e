"""The open data kept apart, on the pages: the territories' own section (« Structures et imports ») and a
structure's « Autres indicateurs » (Mon service). The reads are indicators/territories.py's."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indicators import rights, territories
from indicators.text import format_count, plural
from ui import access, frame

RIGHT = {name: st.column_config.TextColumn(name, alignment="right") for name in ("Valeurs", "Indicateurs", "Valeur")}


@st.cache_data(max_entries=access.CACHE_ENTRIES, show_spinner=False, hash_funcs=access.BY_SCOPE)
def _listing(version: tuple, who: rights.Access) -> pd.DataFrame:
    return territories.listing(access.connection(), who)


@st.cache_data(max_entries=access.CACHE_ENTRIES, show_spinner=False, hash_funcs=access.BY_SCOPE)
def _values(code: str, version: tuple, who: rights.Access) -> pd.DataFrame:
    return territories.values(access.connection(), who, code)


@st.cache_data(max_entries=access.CACHE_ENTRIES, show_spinner=False, hash_funcs=access.BY_SCOPE)
def _other_indicators(code: str, version: tuple, who: rights.Access) -> pd.DataFrame:
    return territories.other_indicators(access.connection(), who, code)


def section() -> None:
    """« Territoires (open data) »: the territories, then one territory's values, chosen in a select; nothing at
    all before a file of the baromètre is imported (the demo data and the services' files hold none)."""
    who, version = frame.access(), access.data_version()
    found = _listing(version, who)
    if found.empty:
        return
    st.subheader("Territoires (open data)")
    st.caption(f"{format_count(len(found), 'territoire')} {plural(len(found), 'décrit', 'décrits')} par les fichiers "
               "open data du Baromètre des résultats. Ce ne sont pas des structures : ils ne comptent ni dans les "
               "niveaux, ni dans la comparaison.")
    st.dataframe(territories.listing_table(found), hide_index=True, column_config=RIGHT)
    names = dict(zip(found["code"], found["name"]))
    code = st.selectbox("Valeurs du territoire", found["code"].tolist(), key="territory",
                        format_func=lambda c: f"{c} – {names.get(c) or c}")
    st.dataframe(territories.values_table(_values(code, version, who)), hide_index=True, column_config=RIGHT)


def other_indicators_section(code: str) -> None:
    """« Autres indicateurs (hors référentiel) » of one structure; nothing at all when it has none."""
    found = _other_indicators(code, access.data_version(), frame.access())
    if found.empty:
        return
    st.subheader("Autres indicateurs (hors référentiel)")
    st.caption("Valeurs d'indicateurs que le référentiel ne définit pas (fichiers open data) : montrées à part, "
               "elles ne comptent pas dans les niveaux.")
    st.dataframe(territories.values_table(found), hide_index=True, column_config=RIGHT)
