"""Mon service's « Trajectoire »: the level reached month by month (a band), the dates a level was reached and lost,
and for each blocking indicator its trend and the month it would reach the next threshold at that pace."""

from __future__ import annotations

from datetime import date

import streamlit as st

from indicators import charts, history, rights
from indicators.text import markdown_literal
from ui import access, french, widgets


def section(code: str, version: tuple, today: date, who: rights.Access) -> None:
    st.markdown("#### Trajectoire")
    levels = access.level_history(code, version, who)
    if levels.empty:
        st.caption("Pas encore assez de données pour suivre le niveau mois par mois.")
    else:
        st.plotly_chart(charts.level_band(levels), key=f"trajectoire-{code}", config=french.PLOTLY_CONFIG)
        for sentence in history.change_sentences(levels, code, access.rules(version)):
            st.markdown(f"- {markdown_literal(sentence[:1].upper() + sentence[1:])}")
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
