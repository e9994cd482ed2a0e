"""Charts (plotly figures) and the French sentences that read them, built from assessment rows.

No Streamlit here: the pages only place what these functions return. Every chart has a table and a
sentence beside it; colours repeat what the words say, never replace them."""

from __future__ import annotations

import html
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from indicators.compliance import RENEWAL_NOTICE_DAYS, wilson_interval
from indicators.periods import Window
from indicators.text import format_count, format_date, format_number_fr, format_percent, format_value
from indicators.wording import indicator_list, need_words

LEVELS = ("bronze", "argent", "or")
BAND_COLORS = {"aucun": "rgba(206,5,0,0.08)", "bronze": "rgba(179,64,0,0.10)", "argent": "rgba(146,146,146,0.15)",
               "or": "rgba(195,153,42,0.18)"}
LINE_COLOR = "#000091"
# « aucun » and « bronze » are two close shades: the band below bronze is hatched too, and each band is named.
NO_LEVEL_PATTERN = dict(shape="/", fgcolor="rgba(206,5,0,0.45)", size=8, solidity=0.15)
BAND_LABEL_FONT = dict(size=11, color="#3a3a3a")
WINDOW_COLOR = "rgba(0,0,145,0.05)"
ACTION_COLOR = "#c9191e"  # the start of an improvement action: the DSFR red, apart from the bands and the line
WINDOW_LABEL = "fenêtre évaluée"
LAYOUT = dict(separators=", ", margin=dict(l=10, r=10, t=30, b=10), height=320, showlegend=False,
              plot_bgcolor="white", font=dict(family="Arial, sans-serif", size=13))


# The one value-with-unit format lives in indicators.text; this name stays for views.py and the tests that
# still reach it here.


def blocking_sentences(indicators: pd.DataFrame, blocking: list[str]) -> list[str]:
    """One sentence per blocking indicator: what is missing for the next level."""
    sentences = []
    for row in indicators[indicators["indicator_code"].isin(blocking)].to_dict("records"):
        label = row["label"]
        if row["status"] == "manquant":
            sentences.append(f"{label} : aucune valeur sur la fenêtre ; envoyez les données pour être évalué.")
        elif row["status"] == "echantillon_insuffisant":
            sentences.append(f"{label} : échantillon insuffisant ({format_number_fr(row['n'], 0)} réponses sur "
                             f"{format_number_fr(row['min_n'], 0)} requises).")
        elif pd.notna(row["gap_to_next"]):
            sentences.append(f"{need_words(row)} pour le niveau {row['next_level']} ({label} : "
                             f"{format_value(row['value'], row['unit'])}, seuil "
                             f"{format_value(row['next_threshold'], row['unit'])}).")
    return sentences


def label_sentence(structure, today: date) -> str:
    """The awarded label, its expiry, and whether today's indicators still support it."""
    awarded, expires = structure["label_awarded_on"], structure["label_expires_on"]
    if expires < today:  # an expired label is no longer held: nothing supports it any more
        return (f"Label {structure['label_level']} attribué le {format_date(awarded)}, expiré le "
                f"{format_date(expires)} : la structure n'est plus labellisée "
                f"(niveau calculé : {structure['level']}).")
    text = (f"Label {structure['label_level']} attribué le {format_date(awarded)}, "
            f"valable jusqu'au {format_date(expires)}")
    if (expires - today).days <= RENEWAL_NOTICE_DAYS:
        text += " : audit de renouvellement à prévoir (moins de 6 mois)."
    else:
        text += "."
    support = ("Les indicateurs actuels le soutiennent." if structure["label_supported"]
               else f"Les indicateurs actuels ne le soutiennent plus (niveau calculé : {structure['level']}).")
    return f"{text} {support}"


def freshness_sentence(indicators: pd.DataFrame, late: list[str], window_words: str) -> str:
    """What the freshness block of one structure says: the indicators late or never received, then those without
    a value on the window. « Toutes les données attendues sont arrivées » only when there is neither: data can be
    up to date and still say nothing of a window that has not been received (a running year, an old quarter)."""
    names = dict(zip(indicators["indicator_code"].astype(str), indicators["label"].astype(str)))
    sentences = []
    if late:
        sentences.append(f"{format_count(len(late), 'indicateur')} en retard ou manquant{'s' if len(late) > 1 else ''}"
                         f" : {indicator_list(late, names)}.")
    missing = indicators.loc[indicators["status"] == "manquant", "indicator_code"].astype(str).tolist()
    if missing:
        sentences.append(f"{format_count(len(missing), 'indicateur')} sans valeur sur la fenêtre "
                         f"« {window_words} » : {indicator_list(missing, names)}.")
    return " ".join(sentences) or "Toutes les données attendues sont arrivées."


def trend_words(values: pd.Series, unit: str | None, direction: str) -> str:
    """Direction of the last values, said in words (better/worse, not only up/down)."""
    recent = values.dropna().tail(6)
    if len(recent) < 3:
        return ""
    slope = np.polyfit(np.arange(len(recent)), recent.to_numpy(dtype=float), 1)[0] * (len(recent) - 1)
    if abs(slope) < 1e-9 or (unit and abs(slope) < 0.05 * max(abs(recent.mean()), 1e-9) / 10):
        return "stable sur les dernières valeurs"
    better = (slope > 0) == (direction == "hausse")
    change = format_value(abs(slope), "points" if unit and unit.startswith("%") else unit)
    return f"{'en amélioration' if better else 'en dégradation'} sur les dernières valeurs ({change})"


def indicator_reading(row: dict, values: pd.DataFrame, window_label: str) -> str:
    """One French sentence generated from the numbers."""
    label = row["label"]
    if row["status"] == "manquant":
        return f"{label} : aucune valeur sur la fenêtre « {window_label} »."
    text = f"{label} : {format_value(row['value'], row['unit'])} sur « {window_label} », niveau {row['level']}"
    if row["status"] == "echantillon_insuffisant":
        text += f" (échantillon insuffisant : {format_number_fr(row['n'], 0)} réponses)"
    elif pd.notna(row["gap_to_next"]):
        text += f" ; {need_words(row)[0].lower()}{need_words(row)[1:]} pour {row['next_level']}"
    else:
        text += " ; niveau or atteint"
    if pd.notna(row.get("wilson_low")):
        text += (f" (intervalle de confiance à 95 % : {format_value(row['wilson_low'], row['unit'])} – "
                 f"{format_value(row['wilson_high'], row['unit'])})")
    trend = trend_words(values["value"], row["unit"], row["direction"]) if not values.empty else ""
    return text + (f" ; {trend}." if trend else ".")


def band_edges(row: dict, low: float, high: float) -> list[tuple[str, float, float]]:
    """(level, lower, upper) of each band between the thresholds, « aucun » included; none when a
    threshold is missing. For delays the « or » band is the lowest one."""
    limits = [row[level] for level in LEVELS]
    if any(pd.isna(x) for x in limits):
        return []
    edges = [low, *limits, high] if row["direction"] != "baisse" else [high, *limits, low]
    return [(name, min(a, b), max(a, b)) for name, a, b in zip(["aucun", *LEVELS], edges[:-1], edges[1:])]


def axis_range(row: dict, values: list[float], margin_share: float) -> tuple[float, float] | None:
    """Values and thresholds with a margin around them; a rate stays within 0–100."""
    span = [x for x in [*values, *(row[level] for level in LEVELS)] if pd.notna(x)]
    if not span:
        return None
    margin = (max(span) - min(span)) * margin_share or 1
    low, high = min(span) - margin, max(span) + margin
    return (max(low, 0), min(high, 100)) if str(row["unit"]).startswith("%") else (low, high)


def _no_level_hatch(x: list, y: list) -> go.Scatter:
    """The « aucun » band as a hatched area (plotly's shapes take no pattern, a filled trace does)."""
    return go.Scatter(x=x, y=y, fill="toself", mode="lines", line_width=0, fillcolor="rgba(0,0,0,0)",
                      fillpattern=NO_LEVEL_PATTERN, hoverinfo="skip", showlegend=False)


def time_series(row: dict, values: pd.DataFrame, window: Window | None = None,
                actions: tuple[tuple[int, date], ...] = ()) -> go.Figure:
    """Values over time with the bronze / argent / or bands (« aucun » hatched, each band named), the evaluated
    window shaded, for surveys the Wilson interval, and the start of each improvement action aimed at the
    indicator (``actions``: its number and start date), a vertical line named « action n° 3 »."""
    figure = go.Figure()
    y = values["value"].astype(float)
    starts = pd.to_datetime(values["period_start"])
    # The x axis is fixed so that the hatched band, a trace, spans it whole as the other bands do.
    first, last = [starts.min(), starts.max()]
    if window is not None:
        first, last = min(first, pd.Timestamp(window.start)), max(last, pd.Timestamp(window.end))
    x_range = [first - pd.Timedelta(days=20), last + pd.Timedelta(days=20)]
    axis = axis_range(row, y.dropna().tolist(), 0.15)
    if axis:
        for name, lower, upper in band_edges(row, *axis):
            figure.add_hrect(y0=lower, y1=upper, fillcolor=BAND_COLORS[name], line_width=0, layer="below",
                             annotation_text=name, annotation_position="right", annotation_font=BAND_LABEL_FONT)
            if name == "aucun":
                figure.add_trace(_no_level_hatch([*x_range, *x_range[::-1], x_range[0]],
                                                 [lower, lower, upper, upper, lower]))
        for level in LEVELS:
            if pd.notna(row[level]):
                figure.add_hline(y=row[level], line_dash="dot", line_width=1, line_color="#666666")
        figure.update_yaxes(range=list(axis))
    if window is not None:
        figure.add_vrect(x0=pd.Timestamp(window.start), x1=pd.Timestamp(window.end), fillcolor=WINDOW_COLOR,
                         line=dict(color=LINE_COLOR, width=1, dash="dash"), layer="below",
                         annotation_text=WINDOW_LABEL, annotation_position="top left",
                         annotation_font=dict(size=11, color=LINE_COLOR))
    error = None
    if pd.notna(row.get("wilson_low")) and values["sample_size"].notna().any():
        low, high = wilson_interval(y, values["sample_size"].fillna(values["denominator"]))
        error = dict(type="data", symmetric=False, array=high - y, arrayminus=y - low, color="#6a6af4",
                     thickness=1)
    figure.add_trace(go.Scatter(x=starts, y=y, mode="lines+markers",
                                line=dict(color=LINE_COLOR, width=2), error_y=error, name=row["label"],
                                hovertemplate="%{x|%m/%Y} : %{y:,.1f}<extra></extra>"))
    for number, start in actions:
        # A shape and an annotation rather than add_vline, whose annotation fails on a date axis.
        figure.add_shape(type="line", x0=pd.Timestamp(start), x1=pd.Timestamp(start), y0=0, y1=1, yref="paper",
                         line=dict(color=ACTION_COLOR, width=2, dash="dashdot"))
        # Above the plot: « fenêtre évaluée » sits at its top edge.
        figure.add_annotation(x=pd.Timestamp(start), y=1, yref="paper", text=f"action n° {number}",
                              showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=11, color=ACTION_COLOR))
    figure.update_xaxes(range=x_range)
    figure.update_layout(**LAYOUT, yaxis_title=row["unit"], xaxis_tickformat="%m/%Y")
    return figure


def progress_bar(row: dict) -> go.Figure:
    """Where the value sits between the bronze, argent and or thresholds (« aucun » hatched, each band named)."""
    figure = go.Figure()
    axis = axis_range(row, [row["value"]], 0.25)
    if axis is None:
        return figure
    for name, lower, upper in band_edges(row, *axis):
        figure.add_vrect(x0=lower, x1=upper, fillcolor=BAND_COLORS[name], line_width=0,
                         annotation_text=name, annotation_position="top left", annotation_font=BAND_LABEL_FONT)
        if name == "aucun":
            figure.add_trace(_no_level_hatch([lower, upper, upper, lower, lower], [-1, -1, 1, 1, -1]))
    if pd.notna(row["value"]):
        figure.add_trace(go.Scatter(x=[row["value"]], y=[0], mode="markers+text", marker=dict(size=16,
                                    color=LINE_COLOR, symbol="diamond"), text=[format_value(row["value"], row["unit"])],
                                    textposition="bottom center", hoverinfo="skip"))
    figure.update_yaxes(visible=False, range=[-1, 1])
    figure.update_xaxes(range=list(axis), title=row["unit"])
    figure.update_layout(**{**LAYOUT, "height": 160})
    return figure


def series_table(row: dict, values: pd.DataFrame) -> pd.DataFrame:
    """The chart's table alternative, in French formats."""
    return pd.DataFrame({
        "Période": [f"{format_date(pd.Timestamp(s))} – {format_date(pd.Timestamp(e))}"
                    for s, e in zip(values["period_start"], values["period_end"])],
        "Valeur": [format_value(v, row["unit"]) for v in values["value"]],
        "Numérateur": [format_number_fr(v, 0) if pd.notna(v) else "" for v in values["numerator"]],
        "Dénominateur": [format_number_fr(v, 0) if pd.notna(v) else "" for v in values["denominator"]],
        "Effectif": [format_number_fr(v, 0) if pd.notna(v) else "" for v in values["sample_size"]],
    })


def engagements_sentence(engagements: pd.DataFrame) -> str:
    """« 6 engagements conformes sur 7 mesurés ; 1 non conforme, 0 incomplet. »"""
    counts = engagements["status"].value_counts()
    measured = len(engagements) - int(counts.get("sans_indicateur", 0))
    passing = format_count(int(counts.get("conforme", 0)), "engagement conforme")
    failing = format_count(int(counts.get("non_conforme", 0)), "non conforme", "non conformes")
    incomplete = format_count(int(counts.get("incomplet", 0)), "incomplet")
    return f"{passing} sur {format_count(measured, 'mesuré')} ; {failing}, {incomplete}."


def level_distribution(counts: pd.Series) -> go.Figure:
    """Structures per level (aucun → or), each bar named."""
    order = ["aucun", *LEVELS]
    colors = ["#CE0500", "#B34000", "#929292", "#C3992A"]
    figure = go.Figure(go.Bar(x=order, y=[int(counts.get(level, 0)) for level in order], marker_color=colors,
                              text=[format_number_fr(int(counts.get(level, 0)), 0) for level in order],
                              textposition="outside", hovertemplate="%{x} : %{y:,}<extra></extra>"))
    figure.update_layout(**LAYOUT, yaxis_title="structures")
    if int(counts.max() if len(counts) else 0) < 10:
        figure.update_yaxes(dtick=1)  # whole structures, not 0,2 of one
    return figure


def level_sentence(counts: pd.Series) -> str:
    total = int(counts.sum())
    if total == 0:
        return "Aucune structure dans la sélection."
    ready = int(counts.get("bronze", 0) + counts.get("argent", 0) + counts.get("or", 0))
    return (f"Sur {format_number_fr(total, 0)} structures, {format_number_fr(ready, 0)} "
            f"({format_percent(100 * ready / total, 0)}) atteignent au moins le niveau bronze, dont "
            f"{format_number_fr(int(counts.get('or', 0)), 0)} le niveau or.")


# The level band: the bands' hues, full enough to read as a strip; « aucun » hatched, as on the time series.
LEVEL_BAND_COLORS = {"aucun": "rgba(206,5,0,0.35)", "bronze": "#b34000", "argent": "#929292", "or": "#c3992a"}


def level_strip_html(levels: pd.DataFrame) -> str:
    """One structure's level month by month (history.monthly_levels) as a strip of HTML cells, one a month,
    coloured by level (« aucun » hatched), each named in its tooltip and for screen readers, January of each year
    marked below, and a legend. HTML rather than a chart: the browser draws it at once (a plotly chart more on
    Mon service cost every click a quarter of a second). Only levels and dates: no text from a file."""
    months = pd.to_datetime(levels["month"])
    words = levels["level"].astype(str).tolist()
    cells, ticks = [], []
    for month, level in zip(months, words):
        said = f"{month:%m/%Y} : {level}"
        cells.append(f'<span data-niveau="{level}" title="{said}" aria-label="{said}" '
                     f'style="flex:1;height:26px;{_strip_fill(level)}"></span>')
        ticks.append(f'<span style="flex:1;font-size:11px;color:#666">{f"{month:%m/%Y}" if month.month == 1 else ""}'
                     "</span>")
    legend = "".join(f'<span style="margin-right:14px"><span style="display:inline-block;width:12px;height:12px;'
                     f'vertical-align:middle;{_strip_fill(level)}"></span> {level}</span>'
                     for level in ("aucun", *LEVELS) if level in words)
    first, last = f"{months.iloc[0]:%m/%Y}", f"{months.iloc[-1]:%m/%Y}"
    return (f'<div role="img" aria-label="Niveau atteint chaque mois, de {first} à {last}">'
            f'<div style="display:flex;gap:2px">{"".join(cells)}</div>'
            f'<div style="display:flex;gap:2px;margin-top:2px;white-space:nowrap">{"".join(ticks)}</div>'
            f'<div style="font-size:12px;margin-top:6px">{legend}</div></div>')


def _strip_fill(level: str) -> str:
    if level == "aucun":  # hatched, as on the curves: told apart from bronze by more than a shade
        return ("background:repeating-linear-gradient(45deg,rgba(206,5,0,0.45) 0 2px,rgba(206,5,0,0.10) 2px 6px);")
    return f"background:{LEVEL_BAND_COLORS[level]};"


def level_counts(counts: pd.DataFrame) -> go.Figure:
    """How many structures stood at each level, month by month (history.network_counts of one network): stacked
    bars in the levels' colours, « aucun » hatched at the bottom."""
    figure = go.Figure()
    months = pd.to_datetime(counts["month"])
    for level in ("aucun", *LEVELS):
        figure.add_trace(go.Bar(
            x=months, y=counts[level], name=level,
            marker=dict(color=LEVEL_BAND_COLORS[level], line_width=0,
                        pattern=NO_LEVEL_PATTERN if level == "aucun" else None),
            hovertemplate="%{x|%m/%Y} : %{y} structures " + level + "<extra></extra>"))
    figure.update_layout(**{**LAYOUT, "showlegend": True}, barmode="stack", bargap=0.1, xaxis_tickformat="%m/%Y",
                         yaxis_title="structures", legend=dict(orientation="h", y=-0.2, x=0))
    return figure


def histogram(values: pd.Series, row: dict, bins: int = 30) -> go.Figure:
    """Distribution of an indicator across structures with its thresholds; only bin counts are sent."""
    finite = values.dropna().astype(float)
    figure = go.Figure()
    if finite.empty:
        return figure
    counts, edges = np.histogram(finite, bins=bins)
    figure.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges),
                            marker_color=LINE_COLOR, hovertemplate="%{x:,.1f} : %{y} structures<extra></extra>"))
    for level in LEVELS:
        if pd.notna(row[level]):
            figure.add_vline(x=row[level], line_dash="dash", line_color="#333333", annotation_text=level,
                             annotation_position="top")
    figure.update_layout(**LAYOUT, xaxis_title=row["unit"], yaxis_title="structures")
    return figure


def engagement_heatmap(matrix: pd.DataFrame, title: str) -> go.Figure:
    """Share of structures « conforme » (0–100 %) per row (network or structure) and engagement."""
    figure = go.Figure(go.Heatmap(z=matrix.to_numpy(dtype=float), x=[f"E{c}" for c in matrix.columns],
                                  # network or structure names from files: plotly reads tags in labels
                                  y=[html.escape(str(i)) for i in matrix.index], zmin=0, zmax=100,
                                  colorscale="Blues",
                                  colorbar=dict(title="% conformes"),
                                  hovertemplate="%{y} · %{x} : %{z:.0f} %<extra></extra>"))
    figure.update_layout(**{**LAYOUT, "height": max(260, 26 * len(matrix) + 80)}, title=title)
    return figure
