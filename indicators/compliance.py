"""The compliance engine: per structure and window, each indicator's value, level and status, each
engagement's status, the label level reached, what blocks the next one and by how much, and freshness.

DuckDB aggregates (sql/aggregate_window.sql); pandas applies the rules of DOMAIN.md on the aggregates,
one vectorised pass for every structure at once. The README's « Méthode » section says the choices."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from indicators import db
from indicators.periods import MONTHS_PER_PERIODICITY, PeriodError, add_months, month_end, parse_window

LEVELS = ("aucun", "bronze", "argent", "or")
RANK = {level: rank for rank, level in enumerate(LEVELS)}
LABEL_YEARS = 3
ROLLING = "12m"
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Window:
    """A compliance window: ``text`` as given (``2025``, ``2025-T2``, ``2025-03``, ``12m``)."""

    text: str
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.text == ROLLING:
            return f"12 mois glissants ({self.start:%m/%Y} – {self.end:%m/%Y})"
        return self.text

    def previous(self) -> "Window":
        """The window of the same length just before (for deltas)."""
        months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        start = add_months(self.start, -months)
        return Window(f"précédent:{self.text}", start, self.start - timedelta(days=1))


class WindowError(ValueError):
    """A window that cannot be read; the message is French."""


def resolve_window(con: duckdb.DuckDBPyConnection, text: str | None, today: date | None = None) -> Window:
    """``2025``, ``2025-T2``, ``2025-03``, or ``12m`` (default): the 12 months up to the latest data."""
    text = (text or ROLLING).strip()
    if text == ROLLING:
        latest = con.cursor().execute(db.sql("latest_period_end")).fetchall()[0][0] or (today or date.today())
        end = month_end(latest.year, latest.month)
        return Window(ROLLING, add_months(end.replace(day=1), -11), end)
    try:
        start, end = parse_window(text)
    except PeriodError:
        raise WindowError(f"Période non reconnue : « {text} » (attendu : 2025, 2025-T2, 2025-03 ou 12m).") from None
    return Window(text, start, end)


@dataclass
class Assessment:
    """Everything the status command, the exports and the pages show, for one window."""

    window: Window
    version: str
    today: date
    rules: pd.DataFrame  # one row per indicator of the référentiel version
    indicators: pd.DataFrame  # one row per structure × indicator (every required one, data or not)
    structures: pd.DataFrame  # one row per structure
    engagements: pd.DataFrame  # one row per structure × engagement
    engagement_labels: pd.DataFrame  # number, theme, label


def load_rules(con: duckdb.DuckDBPyConnection, version: str | None = None) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    cur = con.cursor()
    version = version or db.referentiel_in_force(cur)
    rules = cur.execute(db.sql("rules_in_force"), {"version": version}).df()
    engagements = cur.execute("SELECT number, theme, label FROM engagement WHERE version = ? ORDER BY number",
                              [version]).df()
    cur.close()
    return version, rules, engagements


def aggregate(con: duckdb.DuckDBPyConnection, window: Window, structure: str | None = None) -> pd.DataFrame:
    cur = con.cursor()
    try:
        return cur.execute(db.sql("aggregate_window"),
                           {"start": window.start, "end": window.end, "structure": structure}).df()
    finally:
        cur.close()


def assess(con: duckdb.DuckDBPyConnection, window: Window, structure: str | None = None,
           today: date | None = None, version: str | None = None) -> Assessment:
    """The whole assessment of one window, for every structure or one."""
    today = today or date.today()
    version, rules, engagement_labels = load_rules(con, version)
    cur = con.cursor()
    structures = cur.execute(db.sql("structures_for_status"), {"structure": structure}).df()
    cur.close()
    indicators = assess_indicators(aggregate(con, window, structure), rules, structures["code"], today)
    engagements = assess_engagements(indicators, rules, engagement_labels)
    summary = assess_structures(structures, indicators, today)
    return Assessment(window, version, today, rules, indicators, summary, engagements, engagement_labels)


def _every(count: pd.Series, n_obs: pd.Series) -> pd.Series:
    return (count == n_obs) & (n_obs > 0)


def indicator_values(agg: pd.DataFrame, kind: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(value, method) per row, by the aggregation rules: ratio of sums when every observation has
    counts, else the mean weighted by volume when every one has a volume, else the plain mean."""
    n_obs = agg["n_obs"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_of_sums = 100 * agg["sum_num"] / agg["sum_den"]
        weighted_ratio = agg["sum_weighted_ratio"] / agg["sum_weight_ratio"]
        weighted_mean = agg["sum_weighted_mean"] / agg["sum_eff"]
    has_counts = _every(agg["n_num"], n_obs) & _every(agg["n_den"], n_obs) & (agg["sum_den"] > 0)
    has_ratio_weights = _every(agg["n_weight_ratio"], n_obs) & (agg["sum_weight_ratio"] > 0)
    has_sizes = _every(agg["n_eff"], n_obs) & (agg["sum_eff"] > 0)
    conditions = [
        (kind == "ratio") & has_counts,
        (kind == "ratio") & has_ratio_weights,
        (kind == "mean") & has_sizes,
        kind == "latest",
        n_obs > 0,
    ]
    values = np.select(conditions, [ratio_of_sums, weighted_ratio, weighted_mean, agg["last_value"],
                                    agg["mean_value"]], default=np.nan)
    methods = np.select(conditions, ["ratio_des_sommes", "moyenne_ponderee", "moyenne_ponderee", "derniere_valeur",
                                     "moyenne_simple"], default="")
    return pd.Series(values, index=agg.index, dtype="float64"), pd.Series(methods, index=agg.index)


def sample_size(agg: pd.DataFrame) -> pd.Series:
    """Σ sample size when every observation has one, else Σ denominator when every one has one, else NaN."""
    n_obs = agg["n_obs"]
    return pd.Series(np.where(_every(agg["n_eff"], n_obs), agg["sum_eff"],
                              np.where(_every(agg["n_den"], n_obs), agg["sum_den"], np.nan)),
                     index=agg.index, dtype="float64")


def levels_of(values: pd.Series, direction: pd.Series, thresholds: pd.DataFrame) -> pd.Series:
    """Highest level whose threshold is met (≥ when higher is better, ≤ for delays; met at equality)."""
    rank = pd.Series(0, index=values.index)
    for level in ("bronze", "argent", "or"):
        limit = thresholds[level]
        met = np.where(direction == "baisse", values <= limit, values >= limit) & limit.notna() & values.notna()
        rank = rank.where(~met, RANK[level])
    return rank


def wilson_interval(rate_percent: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    """95 % Wilson score interval of a proportion given in percent, in percent (display only)."""
    p = rate_percent / 100
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = 1 + Z_95 ** 2 / n
        centre = (p + Z_95 ** 2 / (2 * n)) / denominator
        half = Z_95 * np.sqrt(p * (1 - p) / n + Z_95 ** 2 / (4 * n ** 2)) / denominator
    valid = (n > 0) & p.between(0, 1)
    return (100 * (centre - half)).where(valid), (100 * (centre + half)).where(valid)


def _last_complete_period_end(today: date, months: int) -> date:
    """End of the last period of ``months`` months (aligned on the year) that is over before ``today``."""
    index = (today.year * 12 + today.month - 1) // months * months  # first month of the current period
    year, month = divmod(index, 12)
    return date(year, month + 1, 1) - timedelta(days=1)


def freshness(last_end: pd.Series, periodicity: pd.Series, today: date) -> tuple[pd.Series, pd.Series]:
    """(status, periods overdue). A period's data is due by the end of the next period: monthly data
    for October is « à jour » until the end of November. « manquant »: nothing ever received."""
    statuses, overdue = [], []
    due_by = {}
    for name, months in MONTHS_PER_PERIODICITY.items():
        due_by[name] = (add_months(_last_complete_period_end(today, months) + timedelta(days=1), -months)
                        - timedelta(days=1), months)
    for last, period in zip(last_end, periodicity):
        if last is None or pd.isna(last):
            statuses.append("manquant")
            overdue.append(np.nan)
            continue
        due, months = due_by.get(period, due_by["annuelle"])
        last = pd.Timestamp(last).date()
        gap = (due.year * 12 + due.month) - (last.year * 12 + last.month)
        periods = max(0, math.ceil(gap / months)) if last < due else 0
        statuses.append("a_jour" if periods == 0 else "en_retard")
        overdue.append(periods)
    return pd.Series(statuses, index=last_end.index), pd.Series(overdue, index=last_end.index, dtype="float64")


def assess_indicators(agg: pd.DataFrame, rules: pd.DataFrame, structure_codes: pd.Series,
                      today: date) -> pd.DataFrame:
    """One row per structure × référentiel indicator: value, n, level, status, gap to the next level."""
    grid = pd.MultiIndex.from_product([structure_codes.astype(str), rules["code"]],
                                      names=["structure_code", "indicator_code"]).to_frame(index=False)
    frame = grid.merge(agg, on=["structure_code", "indicator_code"], how="left")
    frame = frame.merge(rules.rename(columns={"code": "indicator_code"}), on="indicator_code", how="left")
    latest = frame["kind"] == "latest"
    frame["n_obs"] = frame["n_obs"].where(~latest, frame["n_last_year"]).fillna(0).astype("int64")
    frame["last_value"] = frame["last_value"].where(~latest, frame["last_year_value"])
    for column in ("n_num", "n_den", "n_eff", "n_weight_ratio"):
        frame[column] = frame[column].fillna(0)
    frame["value"], frame["value_method"] = indicator_values(frame, frame["kind"])
    frame["n"] = sample_size(frame)
    rank = levels_of(frame["value"], frame["direction"], frame[["bronze", "argent", "or"]])

    missing = frame["n_obs"] == 0
    too_small = frame["min_n"].notna() & frame["n"].notna() & (frame["n"] < frame["min_n"]) & ~missing
    rank = rank.where(~(missing | too_small), 0)
    frame["level"] = [LEVELS[r] for r in rank]
    frame["level_rank"] = rank.astype("int64")
    frame["status"] = np.select([missing, too_small, rank >= 1], ["manquant", "echantillon_insuffisant", "conforme"],
                                default="non_conforme")
    # An unknown n is flagged, not penalised.
    frame["n_unknown"] = frame["min_n"].notna() & frame["n"].isna() & ~missing

    frame["next_level"] = [LEVELS[r + 1] if r < 3 else None for r in rank]
    _gaps(frame)
    low, high = wilson_interval(frame["value"], frame["n"])
    sampled = frame["min_n"].notna() & frame["unit"].str.startswith("%") & (frame["kind"] == "ratio")
    frame["wilson_low"], frame["wilson_high"] = low.where(sampled), high.where(sampled)
    frame["freshness"], frame["overdue_periods"] = freshness(frame["last_period_end"], frame["periodicity"], today)
    columns = ["structure_code", "indicator_code", "label", "numerator_label", "engagement", "unit", "direction",
               "kind", "required",
               "periodicity", "min_n", "n_obs", "value", "value_method", "n", "n_unknown", "sum_num", "sum_den",
               "level", "level_rank", "status", "next_level", "next_threshold", "gap_to_next", "gap_unit",
               "wilson_low", "wilson_high", "last_period_end", "freshness", "overdue_periods", "bronze", "argent",
               "or"]
    return frame[columns]


def _gaps(frame: pd.DataFrame) -> None:
    """Distance to the next level: extra numerator units at the same denominator for a ratio of sums
    (« 412 appels décrochés de plus »), else the gap in the indicator's unit, as a positive number."""
    next_threshold = pd.Series(np.nan, index=frame.index)
    for level in ("bronze", "argent", "or"):
        next_threshold = next_threshold.where(frame["next_level"] != level, frame[level])
    frame["next_threshold"] = next_threshold
    counts = (frame["value_method"] == "ratio_des_sommes") & frame["status"].isin(["conforme", "non_conforme"])
    # Rounded first so that 412.0000000001 does not become 413.
    extra_units = np.ceil((next_threshold / 100 * frame["sum_den"] - frame["sum_num"]).round(6))
    in_unit = np.where(frame["direction"] == "baisse", frame["value"] - next_threshold,
                       next_threshold - frame["value"])
    judged = frame["status"].isin(["conforme", "non_conforme"]) & next_threshold.notna()
    frame["gap_to_next"] = np.where(judged, np.where(counts, np.maximum(extra_units, 1), in_unit), np.nan)
    frame["gap_unit"] = np.where(judged, np.where(counts, "numerateur", frame["unit"]), None)


def assess_engagements(indicators: pd.DataFrame, rules: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """« conforme » when every required indicator reaches bronze, « incomplet » when one lacks data
    (missing or too small a sample), else « non conforme »; « sans_indicateur » when none is defined."""
    required = indicators[indicators["required"].astype(bool) & indicators["engagement"].notna()].copy()
    required["lacking"] = required["status"].isin(["manquant", "echantillon_insuffisant"])
    required["below"] = required["status"] == "non_conforme"
    per = required.groupby(["structure_code", "engagement"]).agg(lacking=("lacking", "any"), below=("below", "any"))
    per = per.reset_index()
    per["status"] = np.select([per["lacking"], per["below"]], ["incomplet", "non_conforme"], default="conforme")
    codes = indicators["structure_code"].drop_duplicates()
    grid = pd.MultiIndex.from_product([codes, labels["number"]], names=["structure_code", "number"]).to_frame(
        index=False)
    per = per.rename(columns={"engagement": "number"})
    per["number"] = per["number"].astype("int64")
    out = grid.merge(per[["structure_code", "number", "status"]], on=["structure_code", "number"], how="left")
    out["status"] = out["status"].fillna("sans_indicateur")
    return out


def assess_structures(structures: pd.DataFrame, indicators: pd.DataFrame, today: date) -> pd.DataFrame:
    """Label readiness: the lowest level among required indicators, the indicators at that level
    (blocking), and the awarded label beside it."""
    required = indicators[indicators["required"].astype(bool)]
    lowest = required.groupby("structure_code")["level_rank"].min()
    joined = required.join(lowest.rename("lowest"), on="structure_code")
    blocking = (joined[(joined["level_rank"] == joined["lowest"]) & (joined["lowest"] < 3)]
                .groupby("structure_code")["indicator_code"].agg(list))
    late = (indicators[indicators["freshness"] != "a_jour"].groupby("structure_code")["indicator_code"].agg(list))
    out = structures.copy()
    out["code"] = out["code"].astype(str)
    rank = out["code"].map(lowest).fillna(0).astype("int64")
    out["level"] = [LEVELS[r] for r in rank]
    out["level_rank"] = rank
    out["blocking"] = out["code"].map(blocking).apply(lambda v: v if isinstance(v, list) else [])
    out["late_indicators"] = out["code"].map(late).apply(lambda v: v if isinstance(v, list) else [])
    awarded = pd.to_datetime(out["label_awarded_on"])
    out["label_expires_on"] = (awarded + pd.DateOffset(years=LABEL_YEARS)).dt.date
    out["label_awarded_on"] = awarded.dt.date
    out["label_supported"] = np.where(out["label_level"].notna(),
                                      rank >= out["label_level"].map(RANK).fillna(4), None)
    out["label_expired"] = np.where(out["label_level"].notna(),
                                    pd.to_datetime(out["label_expires_on"]) < pd.Timestamp(today), None)
    return out


def structure_json(assessment: Assessment, code: str) -> dict:
    """One structure of ``status --format json``."""
    row = assessment.structures.set_index("code").loc[code]
    indicators = assessment.indicators[assessment.indicators["structure_code"] == code]
    engagements = assessment.engagements[assessment.engagements["structure_code"] == code]
    return _structure_dict(code, row, indicators, engagements)


def _number(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return float(value) if not float(value).is_integer() else int(value)


def _structure_dict(code, row, indicators: pd.DataFrame, engagements: pd.DataFrame) -> dict:
    label = None
    if isinstance(row["label_level"], str):
        label = {"level": row["label_level"], "awarded_on": _iso(row["label_awarded_on"]),
                 "expires_on": _iso(row["label_expires_on"]), "supported": bool(row["label_supported"]),
                 "expired": bool(row["label_expired"])}
    return {
        "code": code,
        "name": row["name"] if isinstance(row["name"], str) else None,
        "network": row["network"] if isinstance(row["network"], str) else None,
        "level": row["level"],
        "blocking": list(row["blocking"]),
        "indicators": [
            {"code": r.indicator_code, "value": _number(r.value), "level": r.level, "status": r.status,
             "n": _number(r.n), "gap_to_next": _number(r.gap_to_next),
             "gap_unit": r.gap_unit if isinstance(r.gap_unit, str) else None,
             "next_level": r.next_level, "wilson_95": [_number(r.wilson_low), _number(r.wilson_high)]
             if not pd.isna(r.wilson_low) else None, "freshness": r.freshness,
             "last_period_end": _iso(r.last_period_end)}
            for r in indicators.itertuples()
        ],
        "engagements": [{"number": int(r.number), "status": r.status} for r in engagements.itertuples()],
        "label": label,
    }


def _iso(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date().isoformat()


def status_json(assessment: Assessment) -> dict:
    """``{"period": …, "structures": [...]}`` as ``status --format json`` prints it."""
    indicators = dict(tuple(assessment.indicators.groupby("structure_code", sort=False)))
    engagements = dict(tuple(assessment.engagements.groupby("structure_code", sort=False)))
    empty_i, empty_e = assessment.indicators.iloc[0:0], assessment.engagements.iloc[0:0]
    return {
        "period": assessment.window.text,
        "window": {"start": assessment.window.start.isoformat(), "end": assessment.window.end.isoformat(),
                   "label": assessment.window.label},
        "referentiel": assessment.version,
        "structures": [
            _structure_dict(row.code, row._asdict(), indicators.get(row.code, empty_i),
                            engagements.get(row.code, empty_e))
            for row in assessment.structures.itertuples(index=False)
        ],
    }
