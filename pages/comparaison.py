"""Page « Comparaison »: every structure of the selection (a network or the programme): levels, ranking,
awarded vs computed labels, candidates, engagements, indicator distributions and late senders.

Everything is aggregated before it reaches the browser: at 15 000 structures the ranking is loaded lazily
and the charts receive counts, not raw observations."""

import pandas as pd
import streamlit as st

from indicators import charts, compliance, peers, periods, reports, text, views
from ui import access, actions_panel, frame, french, trajectory
from ui import peers as peer_section
from ui import widgets as ui

# The columns a person needs first, in this order, each table's others after them: a phone shows two or three
# columns, a desktop the label columns without scrolling.
RANKING_COLUMNS = ("Structure", "Niveau", "Bloquants", "Label", "Expire le", "Label soutenu", "En retard", "Réseau",
                   "Code", "Rang")
LABEL_COLUMNS = ("Structure", "Niveau calculé", "Bloquants", "Label", "Expire le", "Réseau", "Code")
LATE_COLUMNS = ("Structure", "Indicateurs en retard ou manquants", "Réseau", "Code")
WIDTHS = {"Structure": st.column_config.Column(width=180), "Niveau": st.column_config.Column(width=70),
          "Niveau calculé": st.column_config.Column(width=110), "Bloquants": st.column_config.Column(width=220),
          "Label": st.column_config.Column(width=130), "Expire le": st.column_config.Column(width=95),
          "Label soutenu": st.column_config.Column(width=110),
          "Indicateurs en retard ou manquants": st.column_config.Column(width=360)}

frame.require()

st.title("Comparaison")
if access.is_empty():
    ui.first_run_screen()

filters = ui.sidebar_filters()
today = ui.today()
who = frame.access()
base = access.comparison(filters["window"], filters["version"], today, who, None, "Toutes", (), (), ())
with st.sidebar:
    labelled = st.radio("Label", views.LABEL_FILTERS, key="labelled", horizontal=True)
    typologies = st.multiselect("Typologie", base.options["typologie"], key="typologies", placeholder="Toutes")
    regions = st.multiselect("Région", base.options["region"], key="regions", placeholder="Toutes")
    departements = st.multiselect("Département", base.options["departement"], key="departements",
                                  placeholder="Tous")
view = access.comparison(filters["window"], filters["version"], today, who, filters["network"], labelled,
                         tuple(typologies), tuple(regions), tuple(departements))
selection, counts = view.selection, view.counts
chosen = selection.structures
scope = filters["network"] or ("l'ensemble du programme" if who.admin else "votre périmètre")
st.caption(f"{text.format_count(len(chosen), 'structure')} · {scope} · "
           f"fenêtre : {periods.window_words(selection.window, filters['latest'])} · "
           f"référentiel {selection.version}")
if chosen.empty:
    st.warning("Aucune structure ne correspond aux filtres.")
    st.stop()

peer_view = None
if who.director_only:  # the other structures only as anonymised aggregates, computed in indicators/
    group = st.radio("Comparer à", list(peers.GROUPS), format_func=peers.GROUPS.get, key="peer_group",
                     horizontal=True)
    peer_view = access.peer_view(filters["window"], filters["version"], today, who, group)
    peer_section.show(peer_view)
    st.markdown("#### Vos structures")

with st.container(horizontal=True, wrap=True, gap="small"):  # a phone puts two cards a row, in reading order
    st.metric("Structures", text.format_value(len(chosen), decimals=0), border=True)
    for level in ("or", "argent", "bronze", "aucun"):
        st.metric(f"Niveau {level}", text.format_value(int(counts.get(level, 0)), decimals=0), border=True)

st.markdown("#### Répartition des niveaux")
st.write(charts.level_sentence(counts))
ui.method_link()
chart_tab, table_tab = st.tabs(["Graphique", "Tableau"])
with chart_tab:
    st.plotly_chart(view.level_figure, key="levels", config=french.PLOTLY_CONFIG)
with table_tab:
    st.dataframe(pd.DataFrame({"Niveau": list(compliance.LEVELS),
                               "Structures": [int(counts.get(level, 0)) for level in compliance.LEVELS]}),
                 hide_index=True)

trajectory.network_section(chosen, filters["version"], who)

rest = access.rest_of_programme_levels(filters["window"], filters["version"], today, who)
if rest is not None:  # a network head: the rest of the programme, anonymised
    st.markdown("#### Le reste du programme (anonymisé)")
    st.write(charts.level_sentence(rest))
    st.dataframe(pd.DataFrame({"Niveau": list(rest.index), "Structures": rest.to_numpy()}), hide_index=True)

st.markdown("#### Classement")
ranking = view.ranking
st.caption("Cliquez sur un en-tête pour trier. Les lignes arrivent au fil du défilement.")
st.dataframe(
    ranking, hide_index=True, key="ranking", lazy=True, column_order=RANKING_COLUMNS,
    column_config={**WIDTHS, "Rang": st.column_config.NumberColumn("Rang (0 aucun – 3 or)"),
                   "En retard": st.column_config.NumberColumn("Indicateurs en retard", width=150)})
search, open_column = st.columns([3, 1], vertical_alignment="bottom")
query = search.text_input("Ouvrir une structure dans « Mon service » (code ou nom)", key="drill_query")
matches = ranking[ranking["Code"].str.contains(query, case=False, regex=False)
                  | ranking["Structure"].fillna("").str.contains(query, case=False, regex=False)] if query else ranking
options = matches["Code"].head(50).tolist()
names = dict(zip(options, matches["Structure"].head(50)))
code = search.selectbox("Structure", options, format_func=lambda c: f"{c} – {names.get(c) or ''}",
                        key="drill_code", label_visibility="collapsed") if options else None
open_column.button("Ouvrir", type="primary", disabled=code is None, key="drill_open", on_click=ui.open_structure,
                   args=(code,))
if st.session_state.pop("open_mon_service", False):
    st.switch_page("pages/mon_service.py")

st.markdown("#### Labels : attribués et calculés")
expired = (f" Label expiré pour {text.format_count(view.expired, 'structure')} (voir « expiré le » dans les "
           "tableaux) : elles ne comptent plus parmi les labellisées." if view.expired else "")
candidates = len(view.candidates)
st.write(f"{text.format_count(view.holders, 'structure labellisée')} : {text.format_number_fr(len(view.below), 0)} "
         "dont les indicateurs sont aujourd'hui sous le niveau attribué, "
         f"{text.format_number_fr(len(view.soon), 0)} dont le label expire dans les 6 mois (audit de renouvellement)."
         f"{expired} {text.format_count(candidates, 'structure')} sans label en cours "
         f"{'atteignent' if candidates > 1 else 'atteint'} déjà au moins bronze "
         f"({'candidates' if candidates > 1 else 'candidate'}).")
below_tab, soon_tab, candidates_tab = st.tabs(["Sous le niveau attribué", "Expirent dans 6 mois", "Candidates"])
with below_tab:
    st.dataframe(view.below, hide_index=True, lazy=True, column_order=LABEL_COLUMNS, column_config=WIDTHS)
with soon_tab:
    st.dataframe(view.soon, hide_index=True, lazy=True, column_order=LABEL_COLUMNS, column_config=WIDTHS)
with candidates_tab:
    st.dataframe(view.candidates, hide_index=True, lazy=True, column_order=LABEL_COLUMNS, column_config=WIDTHS)

st.markdown("#### Engagements")
st.write(view.engagement_sentence)
heat_tab, heat_table_tab = st.tabs(["Carte de chaleur", "Tableau"])
with heat_tab:
    st.plotly_chart(view.engagement_figure, key="heatmap", config=french.PLOTLY_CONFIG)
with heat_table_tab:
    st.dataframe(view.engagement_matrix.round(0).rename(columns=lambda n: f"Engagement {n}"))

st.markdown("#### Distribution d'un indicateur")
rules = selection.rules.set_index("code")
indicator = st.selectbox("Indicateur", list(rules.index), format_func=lambda c: rules.loc[c, "label"],
                         key="distribution_indicator")
spread = views.distribution(selection, indicator)
if spread.values.empty:
    st.caption("Aucune valeur sur la fenêtre.")
else:
    st.write(spread.sentence)
    dist_tab, dist_table_tab = st.tabs(["Histogramme", "Tableau"])
    with dist_tab:
        st.plotly_chart(charts.histogram(spread.values["value"], spread.rule), key="histogram",
                        config=french.PLOTLY_CONFIG)
    with dist_table_tab:
        st.dataframe(spread.by_level)

st.markdown("#### Structures en retard dans l'envoi des données")
late = len(view.late)
st.write(f"{text.format_count(late, 'structure')} {'ont' if late > 1 else 'a'} au moins un indicateur en retard ou "
         "manquant.")
st.dataframe(view.late, hide_index=True, lazy=True, column_order=LATE_COLUMNS, column_config=WIDTHS)

actions_panel.comparison_section(selection.structures["code"].tolist(), who)

st.markdown("#### Exporter la sélection")
left, middle, right = st.columns(3)
left.download_button("Rapport Excel", data=lambda: access.workbook(selection, who, filters["version"], peer_view), on_click="ignore",
                     file_name=ui.download_name("rapport", selection.window.text, "xlsx"),
                     mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
middle.download_button("Niveaux (CSV)", data=lambda: reports.csv_bytes(reports.status_table(selection)),
                       on_click="ignore", file_name=ui.download_name("niveaux", selection.window.text, "csv"),
                       mime="text/csv")
right.download_button("Résultats open data (CSV)",
                      data=lambda: access.opendata_csv(selection),
                      on_click="ignore", file_name=ui.download_name("resultats", selection.window.text, "csv"),
                      mime="text/csv")
