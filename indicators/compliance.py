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
from indicators.periods import MONTHS_PER_PERIODICITY, YEARS_TEXT, PeriodError, add_months, month_end, parse_window

LEVELS = ("aucun", "bronze", "argent", "or")
# Texts of the categorical columns, by code: computed as integers, named once.
STATUSES = ("manquant", "echantillon_insuffisant", "conforme", "non_conforme")
METHODS = ("", "ratio_des_sommes", "moyenne_ponderee", "derniere_valeur", "moyenne_simple")
FRESHNESS = ("a_jour", "en_retard", "manquant")
ENGAGEMENT_STATUSES = ("conforme", "incomplet", "non_conforme", "sans_indicateur")
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
    except PeriodError as error:
        problem = "non reconnue" if error.kind == "inconnu" else "impossible"
        raise WindowError(f"Période {problem} : « {text} » (attendu : 2025, 2025-T2, 2025-03 ou 12m, "
                          f"{YEARS_TEXT}).") from None
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


def aggregate(con: duckdb.DuckDBPyConnection, window: Window, version: str,
              structure: str | None = None) -> pd.DataFrame:
    """Every structure × indicator of ``version`` with its window aggregates (sql/aggregate_window.sql),
    structure by structure, indicators in the rules' order."""
    cur = con.cursor()
    try:
        # Through Arrow: a third faster than .df() for 120 000 rows.
        return cur.sql(db.sql("aggregate_window"), params={"start": window.start, "end": window.end,
                                                          "structure": structure, "version": version}
                       ).to_arrow_table().to_pandas()
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
    indicators = assess_indicators(aggregate(con, window, version, structure), rules, today)
    engagements = assess_engagements(indicators, rules, engagement_labels)
    summary = assess_structures(structures, indicators, rules, today)
    return Assessment(window, version, today, rules, indicators, summary, engagements, engagement_labels)


def _every(count, n_obs):
    return (count == n_obs) & (n_obs > 0)


def _floats(series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def indicator_values(agg: pd.DataFrame, kind) -> tuple[np.ndarray, np.ndarray]:
    """(value, method) per row, by the aggregation rules: ratio of sums when every observation has
    counts, else the mean weighted by volume when every one has a volume, else the plain mean."""
    kind = np.asarray(kind)
    n_obs = _floats(agg["n_obs"])
    sum_num, sum_den, sum_eff = _floats(agg["sum_num"]), _floats(agg["sum_den"]), _floats(agg["sum_eff"])
    sum_weight = _floats(agg["sum_weight_ratio"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_of_sums = 100 * sum_num / sum_den
        weighted_ratio = _floats(agg["sum_weighted_ratio"]) / sum_weight
        weighted_mean = _floats(agg["sum_weighted_mean"]) / sum_eff
        has_counts = _every(_floats(agg["n_num"]), n_obs) & _every(_floats(agg["n_den"]), n_obs) & (sum_den > 0)
        has_ratio_weights = _every(_floats(agg["n_weight_ratio"]), n_obs) & (sum_weight > 0)
        has_sizes = _every(_floats(agg["n_eff"]), n_obs) & (sum_eff > 0)
    conditions = [
        (kind == "ratio") & has_counts,
        (kind == "ratio") & has_ratio_weights,
        (kind == "mean") & has_sizes,
        kind == "latest",
        n_obs > 0,
    ]
    values = np.select(conditions, [ratio_of_sums, weighted_ratio, weighted_mean, _floats(agg["last_value"]),
                                    _floats(agg["mean_value"])], default=np.nan)
    methods = np.select(conditions, [1, 2, 2, 3, 4], default=0)  # codes into METHODS
    return values, methods


def sample_size(agg: pd.DataFrame) -> np.ndarray:
    """Σ sample size when every observation has one, else Σ denominator when every one has one, else NaN."""
    n_obs = _floats(agg["n_obs"])
    return np.where(_every(_floats(agg["n_eff"]), n_obs), _floats(agg["sum_eff"]),
                    np.where(_every(_floats(agg["n_den"]), n_obs), _floats(agg["sum_den"]), np.nan))


def levels_of(values, direction, thresholds) -> np.ndarray:
    """Rank (0 aucun … 3 or) of the highest level whose threshold is met (≥ when higher is better,
    ≤ for delays; the threshold itself counts as met). ``thresholds``: bronze, argent, or columns."""
    values, lower_is_better = np.asarray(values, dtype="float64"), np.asarray(direction) == "baisse"
    rank = np.zeros(len(values), dtype="int64")
    with np.errstate(invalid="ignore"):
        for level in ("bronze", "argent", "or"):
            limit = np.asarray(thresholds[level], dtype="float64")
            met = np.where(lower_is_better, values <= limit, values >= limit)
            rank = np.where(met, RANK[level], rank)
    return rank


def wilson_interval(rate_percent, n) -> tuple[np.ndarray, np.ndarray]:
    """95 % Wilson score interval of a proportion given in percent, in percent (display only)."""
    p, n = np.asarray(rate_percent, dtype="float64") / 100, np.asarray(n, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = 1 + Z_95 ** 2 / n
        centre = (p + Z_95 ** 2 / (2 * n)) / denominator
        half = Z_95 * np.sqrt(p * (1 - p) / n + Z_95 ** 2 / (4 * n ** 2)) / denominator
        valid = (n > 0) & (p >= 0) & (p <= 1)
    return np.where(valid, 100 * (centre - half), np.nan), np.where(valid, 100 * (centre + half), np.nan)


def _last_complete_period_end(today: date, months: int) -> date:
    """End of the last period of ``months`` months (aligned on the year) that is over before ``today``."""
    index = (today.year * 12 + today.month - 1) // months * months  # first month of the current period
    year, month = divmod(index, 12)
    return date(year, month + 1, 1) - timedelta(days=1)


def freshness(last_end, months, today: date) -> tuple[np.ndarray, np.ndarray]:
    """(status, periods overdue) from each indicator's last period received and its periodicity in
    months. A period's data is due by the end of the next period: monthly data for October is « à jour »
    until the end of November. « manquant »: nothing ever received."""
    months = np.asarray(months, dtype="int64")
    due_month = np.zeros(len(months), dtype="int64")
    for length in np.unique(months):
        due = add_months(_last_complete_period_end(today, int(length)) + timedelta(days=1), -int(length))
        due_month = np.where(months == length, due.year * 12 + due.month - 1, due_month)
    last = pd.to_datetime(pd.Series(last_end))
    received = last.notna().to_numpy()
    last_month = (last.dt.year * 12 + last.dt.month).to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        overdue = np.where(received, np.ceil(np.clip(due_month - last_month, 0, None) / months), np.nan)
    status = np.select([~received, overdue > 0], [2, 1], default=0)  # codes into FRESHNESS
    return status, overdue


def assess_indicators(frame: pd.DataFrame, rules: pd.DataFrame, today: date) -> pd.DataFrame:
    """One row per structure × référentiel indicator: value, n, level, status, gap to the next level.
    ``frame`` is :func:`aggregate`'s result: every structure × indicator, with or without data. The rules'
    columns are gathered by position (8 indicators, 120 000 rows): numpy, not merges."""
    # The SQL returns the full grid, structure by structure, indicators in the rules' order.
    position = np.tile(np.arange(len(rules)), len(frame) // max(len(rules), 1))
    if len(frame) and not (frame["indicator_code"].to_numpy()[:len(rules)] == rules["code"].to_numpy()).all():
        raise AssertionError("aggregate_window must list indicators in the rules' order")

    def rule(column: str) -> np.ndarray:
        return rules[column].to_numpy()[position]

    kind, direction, unit = rule("kind"), rule("direction"), rule("unit").astype(str)
    min_n = _floats(rules["min_n"])[position]
    thresholds = {level: _floats(rules[level])[position] for level in ("bronze", "argent", "or")}
    latest = kind == "latest"
    agg = frame.assign(
        n_obs=np.where(latest, _floats(frame["n_last_year"]), _floats(frame["n_obs"])),
        last_value=np.where(latest, _floats(frame["last_year_value"]), _floats(frame["last_value"])))
    n_obs = np.nan_to_num(_floats(agg["n_obs"])).astype("int64")
    value, method = indicator_values(agg, kind)
    # Rounded off float noise: (4,2 + 5,4 + 5,4) / 3 is 5,000000000000001 and must meet a threshold of 5.
    value = np.round(value, 9)
    n = sample_size(agg)
    rank = levels_of(value, direction, thresholds)

    missing = n_obs == 0
    with np.errstate(invalid="ignore"):
        too_small = ~np.isnan(min_n) & ~np.isnan(n) & (n < min_n) & ~missing
    rank = np.where(missing | too_small, 0, rank)
    status = np.select([missing, too_small, rank >= 1], [0, 1, 2], default=3)  # codes into STATUSES
    next_rank = np.minimum(rank + 1, 3)
    next_threshold = np.select([next_rank == 1, next_rank == 2, next_rank == 3],
                               [thresholds["bronze"], thresholds["argent"], thresholds["or"]])
    next_threshold = np.where(rank < 3, next_threshold, np.nan)
    units, unit_code = np.unique(rules["unit"].astype(str).to_numpy(), return_inverse=True)
    gap, gap_unit = _gaps(value, method, status, direction, unit_code[position], next_threshold,
                          _floats(frame["sum_num"]), _floats(frame["sum_den"]))
    sampled = ~np.isnan(min_n) & np.char.startswith(unit.astype("U"), "%") & (kind == "ratio")
    low, high = wilson_interval(value, n)
    fresh, overdue = freshness(frame["last_period_end"], rules["periodicity"].map(MONTHS_PER_PERIODICITY)
                               .fillna(12).to_numpy()[position], today)
    def rule_text(column: str) -> pd.Categorical:
        # Categoricals: 8 distinct texts, not 120 000 strings to convert.
        names, codes = np.unique(rules[column].fillna("").astype(str).to_numpy(), return_inverse=True)
        return pd.Categorical.from_codes(codes[position], names)

    return pd.DataFrame({
        "structure_code": frame["structure_code"], "indicator_code": rule_text("code"),
        "label": rule_text("label"), "numerator_label": rule_text("numerator_label"),
        "engagement": rule("engagement"), "unit": rule_text("unit"), "direction": rule_text("direction"),
        "kind": rule_text("kind"), "required": rule("required").astype(bool), "periodicity": rule_text("periodicity"),
        "min_n": min_n, "n_obs": n_obs, "value": value, "value_method": pd.Categorical.from_codes(method, METHODS),
        "n": n,
        "n_unknown": ~np.isnan(min_n) & np.isnan(n) & ~missing,
        "sum_num": _floats(frame["sum_num"]), "sum_den": _floats(frame["sum_den"]),
        "level": pd.Categorical.from_codes(rank, LEVELS), "level_rank": rank,
        "status": pd.Categorical.from_codes(status, STATUSES),
        "next_level": pd.Categorical.from_codes(np.where(rank < 3, next_rank, -1), LEVELS),
        "next_threshold": next_threshold, "gap_to_next": gap,
        "gap_unit": pd.Categorical.from_codes(gap_unit, ["numerateur", *units]),
        "wilson_low": np.where(sampled, low, np.nan), "wilson_high": np.where(sampled, high, np.nan),
        "last_period_end": frame["last_period_end"], "freshness": pd.Categorical.from_codes(fresh, FRESHNESS),
        "overdue_periods": overdue,
        "bronze": thresholds["bronze"], "argent": thresholds["argent"], "or": thresholds["or"],
    })


def _gaps(value, method, status, direction, unit_code, next_threshold, sum_num, sum_den) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the next level: extra numerator units at the same denominator for a ratio of sums
    (« 412 appels décrochés de plus »), else the gap in the indicator's unit, as a positive number.
    The unit comes back as a code: 0 « numerateur », 1 + the unit's code, -1 none."""
    judged = (status >= 2) & ~np.isnan(next_threshold)  # conforme or non conforme
    counts = method == 1  # ratio of sums
    with np.errstate(invalid="ignore"):
        # Rounded first so that 412.0000000001 does not become 413.
        extra_units = np.maximum(np.ceil(np.round(next_threshold / 100 * sum_den - sum_num, 6)), 1)
        in_unit = np.where(direction == "baisse", value - next_threshold, next_threshold - value)
    gap = np.where(judged, np.where(counts, extra_units, in_unit), np.nan)
    gap_unit = np.where(judged, np.where(counts, 0, 1 + unit_code), -1)
    return gap, gap_unit


def _matrix(indicators: pd.DataFrame, column: str, width: int) -> np.ndarray:
    """A column of the structure × indicator grid as a matrix: one row per structure."""
    return np.asarray(indicators[column]).reshape(-1, width)


def assess_engagements(indicators: pd.DataFrame, rules: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """« conforme » when every required indicator reaches bronze, « incomplet » when one lacks data
    (missing or too small a sample), else « non conforme »; « sans_indicateur » when none is defined."""
    width = len(rules)
    status = indicators["status"].cat.codes.to_numpy().reshape(-1, width)
    lacking = status <= 1  # manquant, échantillon insuffisant
    below = status == 3  # non conforme
    required, engagement_of = rules["required"].to_numpy(bool), rules["engagement"].to_numpy()
    codes = indicators["structure_code"].to_numpy()[::width] if width else np.array([], dtype=object)
    columns = []
    for number in labels["number"]:
        concerned = required & (engagement_of == number)
        if not concerned.any():
            columns.append(np.full(len(codes), 3))  # sans indicateur
            continue
        columns.append(np.select([lacking[:, concerned].any(axis=1), below[:, concerned].any(axis=1)], [1, 2],
                                 default=0))
    grid = np.column_stack(columns) if columns else np.empty((len(codes), 0), dtype="int64")
    return pd.DataFrame({
        "structure_code": np.repeat(codes, len(labels)),
        "number": np.tile(labels["number"].to_numpy(dtype="int64"), len(codes)),
        "status": pd.Categorical.from_codes(grid.reshape(-1), ENGAGEMENT_STATUSES),
    })


def assess_structures(structures: pd.DataFrame, indicators: pd.DataFrame, rules: pd.DataFrame,
                      today: date) -> pd.DataFrame:
    """Label readiness: the lowest level among required indicators, the indicators at that level
    (blocking), and the awarded label beside it."""
    width = len(rules)
    out = structures.copy()
    out["code"] = out["code"].astype(str)
    codes = rules["code"].to_numpy()
    required = rules["required"].to_numpy(bool)
    rank = _matrix(indicators, "level_rank", width)
    if len(rank) != len(out) or (len(out) and indicators["structure_code"].iloc[0] != out["code"].iloc[0]):
        raise AssertionError("indicators and structures must list structures in the same order")
    lowest = np.minimum(np.where(required, rank, 3).min(axis=1, initial=3), 3)
    blocking = (rank == lowest[:, None]) & required & (lowest[:, None] < 3)
    late = indicators["freshness"].cat.codes.to_numpy().reshape(-1, width) != 0  # not « à jour »
    out["level"] = pd.Categorical.from_codes(lowest, LEVELS)
    out["level_rank"] = lowest
    out["blocking"] = [codes[row].tolist() for row in blocking]
    out["late_indicators"] = [codes[row].tolist() for row in late]
    awarded = pd.to_datetime(out["label_awarded_on"])
    out["label_expires_on"] = (awarded + pd.DateOffset(years=LABEL_YEARS)).dt.date
    out["label_awarded_on"] = awarded.dt.date
    labelled = out["label_level"].notna().to_numpy()
    out["label_supported"] = np.where(labelled, lowest >= out["label_level"].map(RANK).fillna(4).to_numpy(), None)
    out["label_expired"] = np.where(labelled, (awarded + pd.DateOffset(years=LABEL_YEARS)) < pd.Timestamp(today),
                                    None)
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
             "next_level": r.next_level if isinstance(r.next_level, str) else None, "wilson_95": [_number(r.wilson_low), _number(r.wilson_high)]
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


def subset(assessment: Assessment, codes) -> Assessment:
    """The same assessment restricted to some structures (a network, a filter of the Comparaison page)."""
    keep = set(codes)
    return Assessment(
        assessment.window, assessment.version, assessment.today, assessment.rules,
        assessment.indicators[assessment.indicators["structure_code"].isin(keep)].reset_index(drop=True),
        assessment.structures[assessment.structures["code"].isin(keep)].reset_index(drop=True),
        assessment.engagements[assessment.engagements["structure_code"].isin(keep)].reset_index(drop=True),
        assessment.engagement_labels)


@dataclass
class Summary:
    """A network's or the programme's picture: levels, indicator quartiles, engagements, late senders."""

    levels: pd.DataFrame  # network × level counts (plus « Total »)
    quartiles: pd.DataFrame  # per indicator: structures with a value, q1, median, q3
    engagements: pd.DataFrame  # network × engagement: share of structures « conforme » (%)
    late: pd.DataFrame  # structures with at least one indicator late or missing


def summarize(assessment: Assessment) -> Summary:
    s, ind = assessment.structures, assessment.indicators
    levels = pd.crosstab(s["network"].fillna("(sans réseau)"), pd.Categorical(s["level"], LEVELS),
                         margins=True, margins_name="Total", dropna=False)
    judged = ind[ind["status"].isin(["conforme", "non_conforme"])]
    quartiles = judged.groupby("indicator_code", observed=True)["value"].describe(percentiles=[0.25, 0.5, 0.75])
    quartiles = quartiles[["count", "25%", "50%", "75%"]].rename(
        columns={"count": "structures", "25%": "q1", "50%": "mediane", "75%": "q3"})
    measured = assessment.engagements[assessment.engagements["status"] != "sans_indicateur"].merge(
        s[["code", "network"]], left_on="structure_code", right_on="code")
    measured["is_conforme"] = (measured["status"] == "conforme") * 100.0
    engagements = measured.pivot_table(index=measured["network"].fillna("(sans réseau)"), columns="number",
                                       values="is_conforme", aggfunc="mean", observed=True)
    late = s[s["late_indicators"].map(len) > 0][["code", "name", "network", "late_indicators"]]
    return Summary(levels, quartiles, engagements, late)
