"""Mon service's « Trajectoire »: the level reached month by month (a band), the dates a level was reached and lost,
and for each blocking indicator its trend and the month it would reach the next threshold at that pace."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from indicators import charts, history, rights, text
from indicators.text import markdown_literal
from ui import access, french, widgets


def section(code: str, version: tuple, today: date, who: rights.Access) -> None:
    st.markdown("#### Trajectoire")
    levels = access.level_history(code, version, who)
    if levels.empty:
        st.caption("Pas encore assez de données pour suivre le niveau mois par mois.")
    else:
        with st.container(key=f"trajectoire-{code}"):
            st.html(charts.level_strip_html(levels))
        for sentence in history.change_sentences(levels, code, access.rules(version)):
            st.markdown(f"- {markdown_literal(text.capital(sentence))}")
    # Computed only when opened: 13 to 17 aggregates per structure, too many for every change of structure.
    trend = st.expander("Tendance des indicateurs bloquants et date possible du niveau suivant",
                        key=f"tendance-{code}", on_change="rerun", icon=":material/trending_up:")
    if not trend.open:
        return
    with trend:
        found = access.projections(code, version, today, who)
        if not found:
            st.caption("Aucun indicateur bloquant : pas de projection à faire.")
        for projected in found:
            st.markdown(f"- **{markdown_literal(projected.label)}** : {markdown_literal(projected.sentence)}")
        st.caption("Une projection prolonge le rythme des 12 derniers mois (pente de Theil–Sen) : ce n'est pas une "
                   "prévision de ce que le service fera. Aucune date au-delà de 24 mois.")
        widgets.method_link()


def network_section(structures: pd.DataFrame, version: tuple, who: rights.Access) -> None:
    """Comparaison: how many structures of the selection stood at each level, month by month (drawn when opened:
    the whole scope's history takes seconds at national scale, then is shared by the sessions of that scope)."""
    shown = st.expander("Niveaux mois par mois : combien de structures à chaque niveau", key="historique-selection",
                        on_change="rerun", icon=":material/stacked_bar_chart:")
    if not shown.open:
        return
    with shown:
        levels = access.scope_history(version, who)
        mine = levels[levels["structure_code"].isin(structures["code"])]
        counts = history.network_counts(mine, structures)
        whole = counts[counts["network"] == history.WHOLE_SELECTION]
        if whole.empty or not whole["total"].any():
            st.caption("Pas encore assez de données pour suivre les niveaux mois par mois.")
            return
        st.write(_counts_sentence(whole))
        chart_tab, table_tab = st.tabs(["Graphique", "Tableau"])
        with chart_tab:
            st.plotly_chart(charts.level_counts(whole), key="historique-niveaux", config=french.PLOTLY_CONFIG)
        with table_tab:
            st.dataframe(counts.assign(month=pd.to_datetime(counts["month"])).rename(columns={
                "network": "Réseau", "month": "Mois", "total": "Total"}), hide_index=True,
                column_config={"Mois": st.column_config.DateColumn(format="MM/YYYY")})


def _counts_sentence(whole: pd.DataFrame) -> str:
    """« En octobre 2026, 12 structures au niveau or, 30 argent, … ; il y a 12 mois : … »."""
    def said(row) -> str:
        parts = [f"{text.format_number_fr(int(row[level]), 0)} {level}" for level in ("or", "argent", "bronze")]
        return ", ".join(parts) + f" et {text.format_number_fr(int(row['aucun']), 0)} sans niveau"
    last = whole.iloc[-1]
    sentence = f"En {text.month_words(last['month'])} : {said(last)}"
    if len(whole) > 12:
        before = whole.iloc[-13]
        sentence += f" ; en {text.month_words(before['month'])} : {said(before)}"
    return sentence + "."
