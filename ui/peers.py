"""The section « Vos structures parmi leurs pairs (anonymisés) » of Comparaison: places a peers.PeerView that the
domain computed; nothing here sees another structure."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from indicators import peers
from indicators.charts import LAYOUT, LINE_COLOR
from indicators.text import format_percent, markdown_literal
from ui import french

TITLE = "Vos structures parmi leurs pairs (anonymisés)"


def show(view: peers.PeerView) -> None:
    """Each own structure: who it is compared with, its level among the group, a table per indicator and
    the sentences that read it, with a chart of its position beside the table."""
    st.markdown(f"#### {TITLE}")
    st.caption(f"Groupe de comparaison : {peers.GROUPS[view.group]} · fenêtre : "
               f"{markdown_literal(view.window_label)} · référentiel {markdown_literal(view.version)}. Les autres "
               f"structures ne sont ni nommées ni situées : seuls le rang, la médiane et les quartiles sont "
               f"montrés, à partir de {peers.MIN_PEERS} structures comparables.")
    if not view.positions:
        st.info("Aucune structure à comparer.")
        return
    for position in view.positions:
        _show_position(view.group, position)


def _show_position(group: str, position: peers.Position) -> None:
    st.markdown(f"##### {markdown_literal(position.name or position.code)} ({markdown_literal(position.code)})")
    if not position.enough:
        st.info(position.summary, icon=":material/visibility_off:")
        st.text(position.level_sentence)
        return
    st.text(position.summary)
    st.text(position.level_sentence)
    table_tab, chart_tab = st.tabs(["Tableau", "Graphique"])
    with table_tab:
        st.dataframe(peers.display_table(position), hide_index=True)
    with chart_tab:
        st.plotly_chart(position_figure(position), key=f"peers_{group}_{position.code}",
                        config=french.PLOTLY_CONFIG)
    st.markdown("\n".join(f"- {markdown_literal(sentence)}" for sentence in position.indicators["sentence"]))


def position_figure(position: peers.Position) -> go.Figure:
    """Per indicator, the share of peers the structure outdoes (0 – 100 %): one bar each, the middle marked.
    Unit-free, so that every indicator fits one axis; built from the aggregates only."""
    table = position.indicators[position.indicators["better_than"].notna()]
    figure = go.Figure(go.Bar(
        x=table["better_than"], y=table["label"], orientation="h", marker_color=LINE_COLOR,
        text=[format_percent(share, 0) for share in table["better_than"]], textposition="outside",
        hovertemplate="%{y} : fait mieux que %{x:.0f}\u202f% des pairs<extra></extra>"))
    figure.add_vline(x=50, line_dash="dash", line_color="#333333", annotation_text="médiane",
                     annotation_position="top")
    figure.update_layout(**{**LAYOUT, "height": 80 + 40 * len(table)},
                         xaxis={"range": [0, 105], "title": "fait mieux que … des structures comparables (%)"},
                         yaxis={"autorange": "reversed"})
    return figure
