"""Page « Comparaison »: every structure of the selection (a network or the programme): levels, ranking,
awarded vs computed labels, candidates, engagements, indicator distributions and late senders.

Everything is aggregated before it reaches the browser: at 15 000 structures the ranking is loaded lazily
and the charts receive counts, not raw observations."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from indicators import charts, compliance, reports
from pages import _access as access
from pages import _ui as ui

st.title("Comparaison")
if access.is_empty():
    ui.first_run_screen()

filters = ui.sidebar_filters()
today = ui.today()
assessment = access.assessment(filters["window"], filters["version"], today)
structures = assessment.structures

with st.sidebar:
    labelled = st.radio("Label", ["Toutes", "Labellisées", "Non labellisées"], key="labelled", horizontal=True)
    typologies = st.multiselect("Typologie", sorted(structures["typologie"].dropna().unique()), key="typologies", placeholder="Toutes")
    regions = st.multiselect("Région", sorted(structures["region"].dropna().unique()), key="regions", placeholder="Toutes")
    departements = st.multiselect("Département", sorted(structures["departement"].dropna().unique()),
                                  key="departements", placeholder="Tous")

mask = pd.Series(True, index=structures.index)
if filters["network"]:
    mask &= structures["network"] == filters["network"]
if labelled != "Toutes":
    mask &= structures["label_level"].notna() == (labelled == "Labellisées")
for column, chosen in (("typologie", typologies), ("region", regions), ("departement", departements)):
    if chosen:
        mask &= structures[column].isin(chosen)
selection = compliance.subset(assessment, structures.loc[mask, "code"])
chosen = selection.structures
scope = filters["network"] or "l'ensemble du programme"
st.caption(f"{ui.number(len(chosen), decimals=0)} structure(s) · {scope} · fenêtre : {assessment.window.label} · "
           f"référentiel {assessment.version}")
if chosen.empty:
    st.warning("Aucune structure ne correspond aux filtres.")
    st.stop()

counts = chosen["level"].value_counts()
cards = st.columns(5)
cards[0].metric("Structures", ui.number(len(chosen), decimals=0), border=True)
for column, level in zip(cards[1:], ("or", "argent", "bronze", "aucun")):
    column.metric(f"Niveau {level}", ui.number(int(counts.get(level, 0)), decimals=0), border=True)

st.markdown("#### Répartition des niveaux")
st.write(charts.level_sentence(counts))
chart_tab, table_tab = st.tabs(["Graphique", "Tableau"])
with chart_tab:
    st.plotly_chart(charts.level_distribution(counts), key="levels")
with table_tab:
    st.dataframe(pd.DataFrame({"Niveau": list(compliance.LEVELS),
                               "Structures": [int(counts.get(level, 0)) for level in compliance.LEVELS]}),
                 hide_index=True)

st.markdown("#### Classement")
ranking = pd.DataFrame({
    "Code": chosen["code"], "Structure": chosen["name"], "Réseau": chosen["network"],
    "Niveau": chosen["level"].astype(str), "Rang": chosen["level_rank"],
    "Bloquants": chosen["blocking"].map(", ".join),
    "Label": chosen["label_level"].fillna("—"),
    "Expire le": pd.to_datetime(chosen["label_expires_on"]),
    "Label soutenu": chosen["label_supported"].map({True: "oui", False: "non"}).fillna("—"),
    "En retard": chosen["late_indicators"].map(len),
}).sort_values(["Rang", "Code"], ascending=[False, True])
st.caption("Cliquez sur un en-tête pour trier. Les lignes arrivent au fil du défilement.")
st.dataframe(
    ranking, hide_index=True, key="ranking", lazy=True,
    column_config={"Rang": st.column_config.NumberColumn("Rang (0 aucun – 3 or)"),
                   "Expire le": st.column_config.DateColumn("Expire le", format="DD/MM/YYYY"),
                   "En retard": st.column_config.NumberColumn("Indicateurs en retard")})
search, open_column = st.columns([3, 1], vertical_alignment="bottom")
query = search.text_input("Ouvrir une structure dans « Mon service » (code ou nom)", key="drill_query")
matches = ranking[ranking["Code"].str.contains(query, case=False, regex=False)
                  | ranking["Structure"].fillna("").str.contains(query, case=False, regex=False)] if query else ranking
options = matches["Code"].head(50).tolist()
names = dict(zip(ranking["Code"], ranking["Structure"]))
code = search.selectbox("Structure", options, format_func=lambda c: f"{c} – {names.get(c) or ''}",
                        key="drill_code", label_visibility="collapsed") if options else None
open_column.button("Ouvrir", type="primary", disabled=code is None, key="drill_open", on_click=ui.open_structure,
                   args=(code,))
if st.session_state.pop("open_mon_service", False):
    st.switch_page("pages/mon_service.py")

st.markdown("#### Labels : attribués et calculés")
holders = chosen[chosen["label_level"].notna()]
below = holders[holders["label_supported"] == False]  # noqa: E712 (object column of True/False/None)
soon = holders[(pd.to_datetime(holders["label_expires_on"]) >= pd.Timestamp(today))
               & (pd.to_datetime(holders["label_expires_on"]) <= pd.Timestamp(today + timedelta(days=183)))]
candidates = chosen[chosen["label_level"].isna() & (chosen["level_rank"] >= 1)]
st.write(f"{len(holders)} structure(s) labellisée(s) : {len(below)} dont les indicateurs sont aujourd'hui sous le "
         f"niveau attribué, {len(soon)} dont le label expire dans les 6 mois (audit de renouvellement). "
         f"{len(candidates)} structure(s) non labellisée(s) atteignent déjà au moins bronze (candidates).")
below_tab, soon_tab, candidates_tab = st.tabs(["Sous le niveau attribué", "Expirent dans 6 mois", "Candidates"])


def label_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Code": frame["code"], "Structure": frame["name"], "Réseau": frame["network"],
                         "Label": frame["label_level"].fillna("—"), "Niveau calculé": frame["level"].astype(str),
                         "Expire le": pd.to_datetime(frame["label_expires_on"]).dt.strftime("%d/%m/%Y"),
                         "Bloquants": frame["blocking"].map(", ".join)})


with below_tab:
    st.dataframe(label_table(below), hide_index=True)
with soon_tab:
    st.dataframe(label_table(soon.sort_values("label_expires_on")), hide_index=True)
with candidates_tab:
    st.dataframe(label_table(candidates.sort_values("level_rank", ascending=False)), hide_index=True)

st.markdown("#### Engagements")
engagements = selection.engagements[selection.engagements["status"] != "sans_indicateur"]
by_structure = len(chosen) <= 40
rows_of = (engagements["structure_code"] if by_structure
           else engagements["structure_code"].map(chosen.set_index("code")["network"]).fillna("(sans réseau)"))
matrix = (engagements.assign(row=rows_of.to_numpy(), ok=(engagements["status"] == "conforme") * 100.0)
          .pivot_table(index="row", columns="number", values="ok", aggfunc="mean", observed=True))
best = matrix.mean().idxmax() if not matrix.empty else None
worst = matrix.mean().idxmin() if not matrix.empty else None
if best is not None:
    st.write(f"L'engagement {best} est le plus souvent conforme ({ui.number(matrix[best].mean(), decimals=0)} % des "
             f"{'structures' if by_structure else 'structures, en moyenne par réseau'}), l'engagement {worst} le "
             f"moins souvent ({ui.number(matrix[worst].mean(), decimals=0)} %).")
heat_tab, heat_table_tab = st.tabs(["Carte de chaleur", "Tableau"])
with heat_tab:
    title = "Structures × engagements (% conforme)" if by_structure else "Réseaux × engagements (% de structures conformes)"
    st.plotly_chart(charts.engagement_heatmap(matrix, title), key="heatmap")
with heat_table_tab:
    st.dataframe(matrix.round(0).rename(columns=lambda n: f"Engagement {n}"))

st.markdown("#### Distribution d'un indicateur")
rules = selection.rules.set_index("code")
indicator = st.selectbox("Indicateur", list(rules.index), format_func=lambda c: rules.loc[c, "label"],
                         key="distribution_indicator")
values = selection.indicators[(selection.indicators["indicator_code"] == indicator)
                              & selection.indicators["status"].isin(["conforme", "non_conforme"])]
rule = {**rules.loc[indicator].to_dict(), "code": indicator}
quartiles = values["value"].quantile([0.25, 0.5, 0.75])
if values.empty:
    st.caption("Aucune valeur sur la fenêtre.")
else:
    st.write(f"{rule['label']} : médiane {charts.value_text(quartiles[0.5], rule['unit'])}, la moitié des "
             f"{len(values)} structures entre {charts.value_text(quartiles[0.25], rule['unit'])} et "
             f"{charts.value_text(quartiles[0.75], rule['unit'])} ; "
             f"{int((values['level_rank'] >= 1).sum())} atteignent au moins bronze.")
    dist_tab, dist_table_tab = st.tabs(["Histogramme", "Tableau"])
    with dist_tab:
        st.plotly_chart(charts.histogram(values["value"], rule), key="histogram")
    with dist_table_tab:
        summary = values.groupby(values["level"].astype(str))["value"].agg(["count", "min", "median", "max"])
        st.dataframe(summary.rename(columns={"count": "Structures", "min": "Minimum", "median": "Médiane",
                                             "max": "Maximum"}))

st.markdown("#### Structures en retard dans l'envoi des données")
late = chosen[chosen["late_indicators"].map(len) > 0]
st.write(f"{len(late)} structure(s) ont au moins un indicateur en retard ou manquant.")
st.dataframe(pd.DataFrame({"Code": late["code"], "Structure": late["name"], "Réseau": late["network"],
                           "Indicateurs en retard ou manquants": late["late_indicators"].map(", ".join)}),
             hide_index=True, lazy=True)

st.markdown("#### Exporter la sélection")
left, middle, right = st.columns(3)
left.download_button("Rapport Excel", data=lambda: reports.workbook_bytes(selection), on_click="ignore",
                     file_name=ui.download_name("rapport", assessment.window.text, "xlsx"),
                     mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
middle.download_button("Niveaux (CSV)", data=lambda: reports.csv_bytes(reports.status_table(selection)),
                       on_click="ignore", file_name=ui.download_name("niveaux", assessment.window.text, "csv"),
                       mime="text/csv")
right.download_button("Résultats open data (CSV)",
                      data=lambda: reports.csv_bytes(reports.opendata_table(access.connection(), selection)),
                      on_click="ignore", file_name=ui.download_name("resultats", assessment.window.text, "csv"),
                      mime="text/csv")
