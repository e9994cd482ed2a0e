"""Page « Mon service »: one structure's label readiness, KPI cards, time series against the level bands,
engagements, freshness and progress toward the next level."""

import pandas as pd
import streamlit as st

from indicators import charts, compliance, periods, reports, text, views, wording
from indicators.text import markdown_literal
from ui import access, actions_panel, frame, french, territories, trajectory
from ui import fiche as printable
from ui import widgets as ui

frame.require()

printable.print_stylesheet()  # printed from the browser: no sidebar, no chart cut across two sheets
st.title("Mon service")
if access.is_empty():
    ui.first_run_screen()

filters = ui.sidebar_filters(with_structure=True)
code = filters["structure"]
if code is None:
    st.warning("Aucune structure dans ce réseau.")
    st.stop()
today = ui.today()
who = frame.access()
# The structure's own window: with the rolling window, its own 12 months up to its latest data.
assessment = access.structure_assessment(filters["window"], code, filters["version"], today, who)
structure = assessment.structures.set_index("code").loc[code]
indicators = assessment.indicators[assessment.indicators["structure_code"] == code].reset_index(drop=True)

st.subheader(markdown_literal(f"{code} – {structure['name'] or ''}"))
where = (structure["network"], structure["typologie"], structure["departement"], structure["region"])
window_words = periods.window_words(assessment.window, filters["latest"])
st.caption(" · ".join(markdown_literal(x) for x in where if isinstance(x, str))
           + f" · fenêtre : {window_words} · référentiel {assessment.version}")
if filters["latest"] and assessment.window.end < periods.month_end(filters["latest"].year, filters["latest"].month):
    if assessment.window.text == periods.ROLLING:
        st.caption(f"Les dernières données de cette structure datent de {text.month_words(assessment.window.end)} "
                   "(celles du programme vont plus loin) : elle est évaluée sur ses propres 12 derniers mois.")

if indicators["value"].isna().all():  # nothing to judge: one sentence, not a page of empty panels
    last = pd.to_datetime(indicators["last_period_end"]).max()
    st.info("Aucune valeur reçue pour cette structure : importez ses données pour connaître son niveau."
            if pd.isna(last) else
            f"Aucune valeur de cette structure sur la fenêtre « {window_words} » : ses dernières données "
            f"datent de {text.month_words(last)}, choisissez une autre fenêtre.", icon=":material/info:")
    st.stop()

# Label readiness first: the question a director asks.
level = structure["level"]
readiness = f"Niveau atteignable : **{text.LEVEL_WORDS[level]}**"
(st.success if level in ("argent", "or") else st.warning if level == "bronze" else st.error)(readiness)
for sentence in charts.blocking_sentences(indicators, structure["blocking"]):
    st.markdown(f"- {sentence}")
ui.method_link()
if isinstance(structure["label_level"], str):
    st.info(charts.label_sentence(structure, today))

st.markdown("#### Indicateurs")
previous = access.previous_assessment(filters["window"], code, filters["version"], today, who)
# A wrapping row, not st.columns: a phone stacks the cards in reading order, and each card is as wide as its
# whole title.
with st.container(horizontal=True, wrap=True, gap="small"):
    for card in views.kpi_cards(assessment, previous, code):
        row = card.row
        st.metric(row["label"], text.format_compact(row["value"], row["unit"]),
                  text.format_change(card.change, row["unit"]),
                  delta_color=text.change_color(card.change, row["direction"]),
                  help=f"{text.status_word(row['status'])} · niveau {row['level']} · "
                       f"{wording.gap_sentence(row) or 'niveau or atteint'} · variation : fenêtre précédente",
                  border=True)

trajectory.section(code, filters["version"], today, who)

st.markdown("#### Évolution et progression vers le niveau suivant")
# Only what is open is drawn: a collapsed indicator, or a tab not shown, sends no chart (16 plotly figures drawn at
# each change of structure took the browser 2 to 4 s). Opening one reruns the page, which draws it.
for item in access.indicator_views(filters["window"], code, filters["version"], today, who):
    row = item.row
    indicator = row["indicator_code"]
    shown = st.expander(f"{row['label']} — {text.status_word(row['status'])}, niveau {row['level']}",
                        expanded=indicator in structure["blocking"], key=f"ouvert-{code}-{indicator}",
                        on_change="rerun")
    if not shown.open:
        continue
    with shown:
        st.write(item.reading)
        chart_tab, progress_tab, table_tab = st.tabs(["Évolution", "Progression", "Tableau"],
                                                     key=f"onglet-{code}-{indicator}", on_change="rerun")
        if chart_tab.open:
            with chart_tab:
                if item.time_series is None:
                    st.caption("Aucune valeur reçue pour cet indicateur.")
                else:
                    st.plotly_chart(item.time_series, key=f"serie-{indicator}", config=french.PLOTLY_CONFIG)
        if progress_tab.open:
            with progress_tab:
                st.plotly_chart(item.progress, key=f"progression-{indicator}", config=french.PLOTLY_CONFIG)
        if table_tab.open:
            with table_tab:
                st.dataframe(item.table, hide_index=True)

territories.other_indicators_section(code)  # open-data indicators outside the référentiel, apart
actions_panel.section(code, assessment.rules, who)

# One above the other, the status beside the name: side by side, each table had half the width and its
# « Statut » or « État » column beyond the scroll.
st.markdown("#### Engagements")
engagements = assessment.engagements[assessment.engagements["structure_code"] == code].merge(
    assessment.engagement_labels, on="number")
st.dataframe(pd.DataFrame({
    "N°": engagements["number"], "Statut": engagements["status"].map(text.status_word),
    "Engagement": engagements["label"], "Thème": engagements["theme"]}), hide_index=True,
    column_config={"N°": st.column_config.NumberColumn(width=40), "Statut": st.column_config.TextColumn(width=130),
                   "Engagement": st.column_config.TextColumn(width="large")})
st.caption(charts.engagements_sentence(engagements))
st.markdown("#### Fraîcheur des données")
st.dataframe(pd.DataFrame({
    "Indicateur": indicators["label"], "État": indicators["freshness"].map(text.status_word),
    "Dernière période reçue": pd.to_datetime(indicators["last_period_end"]).dt.strftime("%d/%m/%Y").fillna("jamais"),
    "Périodicité": indicators["periodicity"]}), hide_index=True,
    column_config={"Indicateur": st.column_config.TextColumn(width=220),
                   "État": st.column_config.TextColumn(width=100)})
st.caption(charts.freshness_sentence(indicators, structure["late_indicators"], window_words))

st.markdown("#### Exporter")
one = compliance.subset(assessment, [code])  # the programme's assessment, cut to this structure
left, middle, right = st.columns(3)
left.download_button("Rapport Excel", data=lambda: access.workbook(one, who, filters["version"]), on_click="ignore",
                     file_name=ui.download_name(f"rapport-{code}", assessment.window.text, "xlsx"),
                     mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
middle.download_button("Niveaux (CSV)", data=lambda: reports.csv_bytes(reports.status_table(one)),
                       on_click="ignore", file_name=ui.download_name(f"niveaux-{code}", assessment.window.text,
                                                                     "csv"), mime="text/csv")
right.download_button("Résultats open data (CSV)",
                      data=lambda: access.opendata_csv(one),
                      on_click="ignore", file_name=ui.download_name(f"resultats-{code}", assessment.window.text,
                                                                    "csv"), mime="text/csv")
printable.fiche_buttons(assessment, code, today, access.structure_actions(code, filters["version"], who))  # the one-page fiche and the poster, in PDF
