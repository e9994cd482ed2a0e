"""What the two Pilotage pages show, computed once per selection: tables, figures and sentences.

The pages cache these objects (st.cache_resource) and only place them, so that a rerun (a tab, a
widget) costs the sending, not the computing. Pure pandas and plotly: testable without Streamlit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import plotly.graph_objects as go

import duckdb

from indicators import charts, compliance, db, rights, text, wording
from indicators.text import format_number_fr

LABEL_FILTERS = ("Toutes", "Labellisées", "Non labellisées")
# What a table shows for a name, a network or a date it does not have: never « None » nor « nan ».
NOTHING = "—"


@dataclass
class Comparison:
    selection: compliance.Assessment
    counts: pd.Series
    level_figure: go.Figure
    ranking: pd.DataFrame
    below: pd.DataFrame
    soon: pd.DataFrame
    candidates: pd.DataFrame
    engagement_matrix: pd.DataFrame
    engagement_sentence: str
    engagement_figure: go.Figure
    late: pd.DataFrame
    holders: int  # structures holding a label today (an expired one is not held)
    expired: int  # structures whose label has expired
    options: dict[str, list] = field(default_factory=dict)


def select(assessment: compliance.Assessment, network: str | None, labelled: str, typologies: tuple,
           regions: tuple, departements: tuple) -> compliance.Assessment:
    s = assessment.structures
    mask = pd.Series(True, index=s.index)
    if network:
        mask &= s["network"] == network
    if labelled != "Toutes":
        mask &= compliance.holds_label(s) == (labelled == "Labellisées")
    for column, chosen in (("typologie", typologies), ("region", regions), ("departement", departements)):
        if chosen:
            mask &= s[column].isin(chosen)
    return assessment if mask.all() else compliance.subset(assessment, s.loc[mask, "code"])


def label_words(structures: pd.DataFrame) -> pd.Series:
    """The label as the tables show it: « argent », « argent (expiré le 08/07/2026) », « — » without one."""
    states = compliance.label_states(structures)
    expired = states.str.startswith("expiré")
    words = structures["label_level"].fillna(NOTHING).astype(object)
    words[expired] = words[expired] + " (" + states[expired] + ")"
    return words


def _texts(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), NOTHING)


def _dates(values: pd.Series) -> pd.Series:
    """« 08/07/2026 », « — » without a date."""
    return _texts(pd.to_datetime(values).dt.strftime("%d/%m/%Y"))


def structures_table(structures: pd.DataFrame) -> pd.DataFrame:
    """The register as « Structures et imports » shows it (sql/structures_list.sql): every cell French text,
    « — » for what a structure lacks, « sans label », counts « 61 607 » and dates « 31/10/2026 »."""
    return pd.DataFrame({
        "Code": structures["code"], "Nom": _texts(structures["name"]), "Réseau": _texts(structures["network"]),
        "Typologie": _texts(structures["typologie"]), "Département": _texts(structures["departement"]),
        "Région": _texts(structures["region"]), "Label": structures["label_level"].fillna("sans label"),
        "Label attribué le": _dates(structures["label_awarded_on"]),
        "Valeurs": structures["n_values"].map(lambda n: format_number_fr(n, 0)),
        "Dernière période": _dates(structures["last_period_end"]),
    })


def _label_table(frame: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Code": frame["code"], "Structure": _texts(frame["name"]), "Réseau": _texts(frame["network"]),
                         "Label": label_words(frame), "Niveau calculé": frame["level"].astype(str),
                         "Expire le": _dates(frame["label_expires_on"]),
                         "Bloquants": wording.indicator_lists(frame["blocking"], rules)})


def comparison(assessment: compliance.Assessment, today: date, network: str | None = None,
               labelled: str = "Toutes", typologies: tuple = (), regions: tuple = (),
               departements: tuple = ()) -> Comparison:
    """Everything the Comparaison page shows for one selection of structures."""
    all_structures = assessment.structures
    options = {"typologie": sorted(all_structures["typologie"].dropna().unique()),
               "region": sorted(all_structures["region"].dropna().unique()),
               "departement": sorted(all_structures["departement"].dropna().unique())}
    selection = select(assessment, network, labelled, typologies, regions, departements)
    chosen = selection.structures
    counts = chosen["level"].value_counts()
    ranking = pd.DataFrame({
        "Code": chosen["code"], "Structure": _texts(chosen["name"]), "Réseau": _texts(chosen["network"]),
        "Niveau": chosen["level"].astype(str), "Rang": chosen["level_rank"],
        "Bloquants": wording.indicator_lists(chosen["blocking"], selection.rules), "Label": label_words(chosen),
        "Expire le": _dates(chosen["label_expires_on"]),
        "Label soutenu": chosen["label_supported"].map({True: "oui", False: "non"}).fillna(NOTHING),
        "En retard": chosen["late_indicators"].map(len),
    }).sort_values(["Rang", "Code"], ascending=[False, True]).reset_index(drop=True)

    # An expired label counts nowhere: not among the holders, and its structure may be a candidate again.
    holding = compliance.holds_label(chosen)
    holders = chosen[holding]
    expires = pd.to_datetime(holders["label_expires_on"])
    below = holders[holders["label_supported"].eq(False)]
    renewal_due = pd.Timestamp(today + timedelta(days=compliance.RENEWAL_NOTICE_DAYS))
    soon = holders[(expires >= pd.Timestamp(today)) & (expires <= renewal_due)]
    candidates = chosen[~holding & (chosen["level_rank"] >= compliance.Level.BRONZE)]

    engagement = compliance.EngagementStatus
    engagements = selection.engagements[selection.engagements["status"] != engagement.SANS_INDICATEUR.text]
    by_structure = len(chosen) <= 40
    rows_of = (engagements["structure_code"] if by_structure
               else engagements["structure_code"].map(chosen.set_index("code")["network"]).fillna("(sans réseau)"))
    conforme = (engagements["status"] == engagement.CONFORME.text) * 100.0
    matrix = (engagements.assign(row=rows_of.to_numpy(), ok=conforme)
              .pivot_table(index="row", columns="number", values="ok", aggfunc="mean", observed=True))
    sentence = ""
    if not matrix.empty:
        means = matrix.mean()
        who = "structures" if by_structure else "structures, en moyenne par réseau"
        sentence = (f"L'engagement {means.idxmax()} est le plus souvent conforme "
                    f"({text.format_percent(means.max(), 0)} des {who}), l'engagement {means.idxmin()} le moins "
                    f"souvent ({text.format_percent(means.min(), 0)}).")
    title = ("Structures × engagements (% conforme)" if by_structure
             else "Réseaux × engagements (% de structures conformes)")
    late = chosen[chosen["late_indicators"].map(len) > 0]
    return Comparison(
        selection=selection, counts=counts, level_figure=charts.level_distribution(counts), ranking=ranking,
        holders=len(holders), expired=int((chosen["label_expired"].eq(True)).sum()),
        below=_label_table(below, selection.rules),
        soon=_label_table(soon.sort_values("label_expires_on"), selection.rules),
        candidates=_label_table(candidates.sort_values("level_rank", ascending=False), selection.rules),
        engagement_matrix=matrix, engagement_sentence=sentence,
        engagement_figure=charts.engagement_heatmap(matrix, title),
        late=pd.DataFrame({"Code": late["code"], "Structure": _texts(late["name"]), "Réseau": _texts(late["network"]),
                           "Indicateurs en retard ou manquants": wording.indicator_lists(late["late_indicators"],
                                                                                         selection.rules)}),
        options=options)


@dataclass
class IndicatorView:
    row: dict
    reading: str
    time_series: go.Figure | None
    progress: go.Figure
    table: pd.DataFrame


def structure_series(con: duckdb.DuckDBPyConnection, access: rights.Access, code: str) -> pd.DataFrame:
    """Every value of one structure the person sees, oldest first, for its time series (rights.AccessRefused,
    worded as for an unknown structure, otherwise)."""
    rights.check_structure(con, access, code)
    return db.query_df(con, "structure_series", {"structure": code})


def indicator_views(assessment: compliance.Assessment, code: str, series: pd.DataFrame,
                    actions: pd.DataFrame | None = None) -> list[IndicatorView]:
    """Per indicator of one structure: the sentence, the time series with level bands (and the start of each
    improvement action aimed at it: ``actions``, actions.listing of the structure), the progress bar, the table."""
    rows = assessment.indicators[assessment.indicators["structure_code"] == code].to_dict("records")
    aimed = [] if actions is None else list(zip(actions["id"], actions["start_on"], actions["indicators"]))
    views = []
    for row in rows:
        values = series[series["indicator_code"] == row["indicator_code"]]
        starts = tuple((number, start) for number, start, codes in aimed if row["indicator_code"] in list(codes))
        views.append(IndicatorView(row, charts.indicator_reading(row, values, text.window_label(assessment.window)),
                                   charts.time_series(row, values, assessment.window, starts)
                                   if not values.empty else None,
                                   charts.progress_bar(row), charts.series_table(row, values)))
    return views


@dataclass
class KpiCard:
    row: dict  # the indicator's row of the assessment
    change: float | None  # value minus the previous window's; None (no delta shown) when either is missing


def kpi_cards(assessment: compliance.Assessment, previous: compliance.Assessment, code: str) -> list[KpiCard]:
    """One structure's indicators for the cards of « Mon service », each with its change since the window of
    the same length just before."""
    earlier = previous.indicators[previous.indicators["structure_code"] == code]
    before = earlier.set_index("indicator_code")["value"]
    rows = assessment.indicators[assessment.indicators["structure_code"] == code].to_dict("records")
    cards = []
    for row in rows:
        change = row["value"] - before.get(row["indicator_code"], np.nan)
        cards.append(KpiCard(row, None if np.isnan(change) else float(change)))
    return cards


@dataclass
class Distribution:
    """One indicator across a selection: the values judged (conforme or not), in words and by level."""

    rule: dict  # the indicator's rule, with its code
    values: pd.DataFrame  # the judged rows of the assessment, for the histogram
    quartiles: tuple[float, float, float]  # first quartile, median, third quartile (NaN without values)
    sentence: str  # median, interquartile range and how many reach bronze; empty without values
    by_level: pd.DataFrame  # per level: structures, minimum, median, maximum, as French text


def distribution(selection: compliance.Assessment, code: str) -> Distribution:
    rule = {**selection.rules.set_index("code").loc[code].to_dict(), "code": code}
    indicators = selection.indicators
    judged = (compliance.Status.CONFORME.text, compliance.Status.NON_CONFORME.text)
    values = indicators[(indicators["indicator_code"] == code) & indicators["status"].isin(judged)]
    q1, median, q3 = values["value"].quantile([0.25, 0.5, 0.75]).to_numpy(dtype="float64", na_value=np.nan)
    sentence = ""
    if not values.empty:
        unit = rule["unit"]
        reaching = int((values["level_rank"] >= compliance.Level.BRONZE).sum())
        sentence = (f"{rule['label']} : médiane {text.format_value(median, unit)}, la moitié des "
                    f"{text.format_count(len(values), 'structure')} entre {text.format_value(q1, unit)} et "
                    f"{text.format_value(q3, unit)} ; {format_number_fr(reaching, 0)} "
                    f"{'atteignent' if reaching > 1 else 'atteint'} au moins bronze.")
    stats = values.groupby(values["level"].astype(str))["value"].agg(["count", "min", "median", "max"])
    # In French, as the sentence and the cards write them (« 89,0 % »): a table's numbers follow the browser.
    by_level = pd.DataFrame({"Structures": stats["count"].map(lambda n: format_number_fr(n, 0)),
                             **{title: stats[name].map(lambda v: text.format_value(v, rule["unit"]))
                                for name, title in (("min", "Minimum"), ("median", "Médiane"), ("max", "Maximum"))}},
                            index=stats.index)
    return Distribution(rule, values, (q1, median, q3), sentence, by_level)
