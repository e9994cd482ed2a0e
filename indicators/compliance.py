"""The compliance engine: per structure and window, each indicator's value, level and status, each
engagement's status, the label level reached, what blocks the next one and by how much, and freshness.

DuckDB aggregates (sql/aggregate_window.sql); pandas applies the rules of DOMAIN.md on the aggregates,
one vectorised pass for every structure at once. The README's « Méthode » section says the choices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum

import duckdb
import numpy as np
import pandas as pd

from indicators import db, rights, settings
from indicators.periods import MONTHS_PER_PERIODICITY, Window, add_months, fixed_window, rolling_window



class Code(IntEnum):
    """The code of a categorical column as numpy computes it; its text (the name in lower case) is what the
    tables and the JSON show."""

    @property
    def text(self) -> str:
        return self.name.lower()

    @classmethod
    def texts(cls) -> tuple[str, ...]:
        """The texts by code, for ``pd.Categorical.from_codes``."""
        return tuple(code.text for code in cls)


class Level(Code):
    """A level, ranked: a higher level meets every lower one."""

    AUCUN = 0
    BRONZE = 1
    ARGENT = 2
    OR = 3


class Status(Code):
    MANQUANT = 0
    ECHANTILLON_INSUFFISANT = 1
    CONFORME = 2
    NON_CONFORME = 3


class Method(Code):
    """How an indicator's value was computed (see indicator_values)."""

    SANS_VALEUR = 0
    RATIO_DES_SOMMES = 1
    MOYENNE_PONDEREE = 2
    DERNIERE_VALEUR = 3
    MOYENNE_SIMPLE = 4

    @property
    def text(self) -> str:
        return "" if self is Method.SANS_VALEUR else self.name.lower()


class Freshness(Code):
    A_JOUR = 0
    EN_RETARD = 1
    MANQUANT = 2


class EngagementStatus(Code):
    CONFORME = 0
    INCOMPLET = 1
    NON_CONFORME = 2
    SANS_INDICATEUR = 3


LEVELS, STATUSES, METHODS = Level.texts(), Status.texts(), Method.texts()
FRESHNESS, ENGAGEMENT_STATUSES = Freshness.texts(), EngagementStatus.texts()
RANK = {level.text: int(level) for level in Level}
LABEL_YEARS = 3  # a label is valid this many years from the day it is awarded
# A label expiring within this many days is due for its renewal audit (« moins de 6 mois »).
RENEWAL_NOTICE_DAYS = 183
Z_95 = 1.959963984540054


def latest_data(con: duckdb.DuckDBPyConnection, structure: str | None = None) -> date | None:
    """The end of the latest period received from the structures (the baromètre's territories never count),
    or from one of them; None without data."""
    return db.query_value(con, "latest_period_end", {"structure": structure})


def resolve_window(con: duckdb.DuckDBPyConnection, text: str | None, today: date | None = None,
                   structure: str | None = None) -> Window:
    """The window ``text`` names (periods.fixed_window), the default window of the settings when none is
    given; the rolling window ends with the latest data, of ``structure`` when given and it has some (``today``
    on an empty base)."""
    window = fixed_window(text or settings.default_window())
    if window is None:
        latest = (latest_data(con, structure) if structure else None) or latest_data(con)
        window = rolling_window(latest or today or date.today())
    return window


def structure_window(con: duckdb.DuckDBPyConnection, access: rights.Access, text: str | None, structure: str,
                     today: date | None = None) -> Window:
    """The window one structure is evaluated on: a fixed window as named; the rolling window is the 12 months up
    to *that structure's* latest data, so that a structure that sends late is judged on its own 12 months, not
    on the 2 of them that fall in everybody's window (the common window when it has no data)."""
    rights.check_structure(con, access, structure)
    return resolve_window(con, text, today, structure)


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
    """(version, its indicators with their thresholds, its engagements): the version in force by default."""
    version = version or db.referentiel_in_force(con)
    return (version, db.query_df(con, "rules_in_force", {"version": version}),
            db.query_df(con, "compliance_engagements", {"version": version}))


def aggregate(con: duckdb.DuckDBPyConnection, window: Window, version: str,
              structure: str | None = None, codes: list[str] | None = None) -> pd.DataFrame:
    """Every structure × indicator of ``version`` with its window aggregates (sql/aggregate_window.sql),
    structure by structure, indicators in the rules' order."""
    cur = con.cursor()
    try:
        # Through Arrow: a third faster than .df() for 120 000 rows.
        return cur.sql(db.sql("aggregate_window"), params={"start": window.start, "end": window.end,
                                                          "structure": structure, "codes": codes,
                                                          "version": version}
                       ).to_arrow_table().to_pandas()
    finally:
        cur.close()


def assess(con: duckdb.DuckDBPyConnection, window: Window, access: rights.Access, structure: str | None = None,
           today: date | None = None, version: str | None = None) -> Assessment:
    """The whole assessment of one window, for the structures the person sees named, or one of them (a
    structure outside the scope is refused as an unknown one)."""
    today = today or date.today()
    if structure is not None:
        rights.check_structure(con, access, structure)
    codes = rights.codes_filter(con, access)
    version, rules, engagement_labels = load_rules(con, version)
    structures = db.query_df(con, "structures_for_status", {"structure": structure, "codes": codes})
    indicators = assess_indicators(aggregate(con, window, version, structure, codes), rules, today)
    engagements = assess_engagements(indicators, rules, engagement_labels)
    summary = assess_structures(structures, indicators, rules, today)
    return Assessment(window, version, today, rules, indicators, summary, engagements, engagement_labels)


def _every(count, n_obs):
    return (count == n_obs) & (n_obs > 0)


def as_floats(series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def indicator_values(agg: pd.DataFrame, kind) -> tuple[np.ndarray, np.ndarray]:
    """(value, method) per row, by the aggregation rules: ratio of sums when every observation has
    counts, else the mean weighted by volume when every one has a volume, else the plain mean."""
    kind = np.asarray(kind)
    n_obs = as_floats(agg["n_obs"])
    sum_num, sum_den, sum_eff = as_floats(agg["sum_num"]), as_floats(agg["sum_den"]), as_floats(agg["sum_eff"])
    sum_weight = as_floats(agg["sum_weight_ratio"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_of_sums = 100 * sum_num / sum_den
        weighted_ratio = as_floats(agg["sum_weighted_ratio"]) / sum_weight
        weighted_mean = as_floats(agg["sum_weighted_mean"]) / sum_eff
        has_counts = _every(as_floats(agg["n_num"]), n_obs) & _every(as_floats(agg["n_den"]), n_obs) & (sum_den > 0)
        has_ratio_weights = _every(as_floats(agg["n_weight_ratio"]), n_obs) & (sum_weight > 0)
        has_sizes = _every(as_floats(agg["n_eff"]), n_obs) & (sum_eff > 0)
    conditions = [
        (kind == "ratio") & has_counts,
        (kind == "ratio") & has_ratio_weights,
        (kind == "mean") & has_sizes,
        kind == "latest",
        n_obs > 0,
    ]
    values = np.select(conditions, [ratio_of_sums, weighted_ratio, weighted_mean, as_floats(agg["last_value"]),
                                    as_floats(agg["mean_value"])], default=np.nan)
    methods = np.select(conditions, [Method.RATIO_DES_SOMMES, Method.MOYENNE_PONDEREE, Method.MOYENNE_PONDEREE,
                                     Method.DERNIERE_VALEUR, Method.MOYENNE_SIMPLE], default=Method.SANS_VALEUR)
    return values, methods


def sample_size(agg: pd.DataFrame) -> np.ndarray:
    """Σ sample size when every observation has one, else Σ denominator when every one has one, else NaN."""
    n_obs = as_floats(agg["n_obs"])
    return np.where(_every(as_floats(agg["n_eff"]), n_obs), as_floats(agg["sum_eff"]),
                    np.where(_every(as_floats(agg["n_den"]), n_obs), as_floats(agg["sum_den"]), np.nan))


def levels_of(values, direction, thresholds) -> np.ndarray:
    """Rank (Level: aucun … or) of the highest level whose threshold is met (≥ when higher is better,
    ≤ for delays; the threshold itself counts as met). ``thresholds``: bronze, argent, or columns."""
    values, lower_is_better = np.asarray(values, dtype="float64"), np.asarray(direction) == "baisse"
    rank = np.full(len(values), Level.AUCUN, dtype="int64")
    with np.errstate(invalid="ignore"):
        for level in (Level.BRONZE, Level.ARGENT, Level.OR):
            limit = np.asarray(thresholds[level.text], dtype="float64")
            met = np.where(lower_is_better, values <= limit, values >= limit)
            rank = np.where(met, level, rank)
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
    status = np.select([~received, overdue > 0], [Freshness.MANQUANT, Freshness.EN_RETARD], default=Freshness.A_JOUR)
    return status, overdue


@dataclass
class Judged:
    """Each structure × indicator row of an aggregate judged by the rules: the level and what decided it."""

    position: np.ndarray  # the indicator's row in the rules
    kind: np.ndarray
    direction: np.ndarray
    min_n: np.ndarray
    thresholds: dict[str, np.ndarray]
    n_obs: np.ndarray
    value: np.ndarray
    method: np.ndarray
    n: np.ndarray
    missing: np.ndarray
    too_small: np.ndarray
    rank: np.ndarray


def judge(frame, rules: pd.DataFrame) -> Judged:
    """The level of every row of ``frame`` (:func:`aggregate`'s grid, or any mapping of its columns), by the rules:
    the part of :func:`assess_indicators` that decides levels, which the level history runs on 4 million rows."""
    frame = pd.DataFrame(frame, copy=False)
    position = np.tile(np.arange(len(rules)), len(frame) // max(len(rules), 1))
    kind, direction = rules["kind"].to_numpy()[position], rules["direction"].to_numpy()[position]
    min_n = as_floats(rules["min_n"])[position]
    thresholds = {level: as_floats(rules[level])[position] for level in ("bronze", "argent", "or")}
    latest = kind == "latest"
    agg = frame.assign(
        n_obs=np.where(latest, as_floats(frame["n_last_year"]), as_floats(frame["n_obs"])),
        last_value=np.where(latest, as_floats(frame["last_year_value"]), as_floats(frame["last_value"])))
    n_obs = np.nan_to_num(as_floats(agg["n_obs"])).astype("int64")
    value, method = indicator_values(agg, kind)
    # Rounded off float noise: (4,2 + 5,4 + 5,4) / 3 is 5,000000000000001 and must meet a threshold of 5.
    value = np.round(value, 9)
    n = sample_size(agg)
    rank = levels_of(value, direction, thresholds)
    missing = n_obs == 0
    with np.errstate(invalid="ignore"):
        too_small = ~np.isnan(min_n) & ~np.isnan(n) & (n < min_n) & ~missing
    rank = np.where(missing | too_small, Level.AUCUN, rank)
    return Judged(position, kind, direction, min_n, thresholds, n_obs, value, method, n, missing, too_small, rank)


def lowest_levels(rank: np.ndarray, rules: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """From the level ranks of a structures × indicators matrix: each structure's level (the lowest of its required
    indicators) and its blocking indicators (a boolean matrix: the required ones at that level, none at « or »)."""
    required = rules["required"].to_numpy(bool)
    lowest = np.minimum(np.where(required, rank, Level.OR).min(axis=1, initial=Level.OR), Level.OR)
    return lowest, (rank == lowest[:, None]) & required & (lowest[:, None] < Level.OR)


def assess_indicators(frame: pd.DataFrame, rules: pd.DataFrame, today: date) -> pd.DataFrame:
    """One row per structure × référentiel indicator: value, n, level, status, gap to the next level.
    ``frame`` is :func:`aggregate`'s result: every structure × indicator, with or without data. The rules'
    columns are gathered by position (8 indicators, 120 000 rows): numpy, not merges."""
    # The SQL returns the full grid, structure by structure, indicators in the rules' order.
    if len(frame) and not (frame["indicator_code"].to_numpy()[:len(rules)] == rules["code"].to_numpy()).all():
        raise AssertionError("aggregate_window must list indicators in the rules' order")
    judged = judge(frame, rules)
    position, kind, direction, min_n, thresholds = (judged.position, judged.kind, judged.direction, judged.min_n,
                                                    judged.thresholds)
    n_obs, value, method, n, rank = judged.n_obs, judged.value, judged.method, judged.n, judged.rank
    missing, too_small = judged.missing, judged.too_small

    def rule(column: str) -> np.ndarray:
        return rules[column].to_numpy()[position]

    unit = rule("unit").astype(str)
    status = np.select([missing, too_small, rank >= Level.BRONZE],
                       [Status.MANQUANT, Status.ECHANTILLON_INSUFFISANT, Status.CONFORME], default=Status.NON_CONFORME)
    next_rank = np.minimum(rank + 1, Level.OR)
    next_threshold = np.select([next_rank == level for level in (Level.BRONZE, Level.ARGENT, Level.OR)],
                               [thresholds["bronze"], thresholds["argent"], thresholds["or"]])
    next_threshold = np.where(rank < Level.OR, next_threshold, np.nan)
    units, unit_code = np.unique(rules["unit"].astype(str).to_numpy(), return_inverse=True)
    gap, gap_unit = _gaps(value, method, status, direction, unit_code[position], next_threshold,
                          as_floats(frame["sum_num"]), as_floats(frame["sum_den"]))
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
        "sum_num": as_floats(frame["sum_num"]), "sum_den": as_floats(frame["sum_den"]),
        "level": pd.Categorical.from_codes(rank, LEVELS), "level_rank": rank,
        "status": pd.Categorical.from_codes(status, STATUSES),
        "next_level": pd.Categorical.from_codes(np.where(rank < Level.OR, next_rank, -1), LEVELS),
        "next_threshold": next_threshold, "gap_to_next": gap,
        "gap_unit": pd.Categorical.from_codes(gap_unit, ["numerateur", *units]),
        "wilson_low": np.where(sampled, low, np.nan), "wilson_high": np.where(sampled, high, np.nan),
        "last_period_end": frame["last_period_end"], "freshness": pd.Categorical.from_codes(fresh, FRESHNESS),
        "overdue_periods": overdue,
        "bronze": thresholds["bronze"], "argent": thresholds["argent"], "or": thresholds["or"],
    })


def _gaps(value, method, status, direction, unit_code, next_threshold, sum_num,
          sum_den) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the next level: extra numerator units at the same denominator for a ratio of sums
    (« 412 appels décrochés de plus »), else the gap in the indicator's unit, as a positive number.
    The unit comes back as a code: 0 « numerateur », 1 + the unit's code, -1 none."""
    judged = np.isin(status, (Status.CONFORME, Status.NON_CONFORME)) & ~np.isnan(next_threshold)
    counts = method == Method.RATIO_DES_SOMMES
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
    lacking = np.isin(status, (Status.MANQUANT, Status.ECHANTILLON_INSUFFISANT))
    below = status == Status.NON_CONFORME
    required, engagement_of = rules["required"].to_numpy(bool), rules["engagement"].to_numpy()
    codes = indicators["structure_code"].to_numpy()[::width] if width else np.array([], dtype=object)
    columns = []
    for number in labels["number"]:
        concerned = required & (engagement_of == number)
        if not concerned.any():
            columns.append(np.full(len(codes), EngagementStatus.SANS_INDICATEUR))
            continue
        columns.append(np.select([lacking[:, concerned].any(axis=1), below[:, concerned].any(axis=1)],
                                 [EngagementStatus.INCOMPLET, EngagementStatus.NON_CONFORME],
                                 default=EngagementStatus.CONFORME))
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
    rank = _matrix(indicators, "level_rank", width)
    if len(rank) != len(out) or (len(out) and indicators["structure_code"].iloc[0] != out["code"].iloc[0]):
        raise AssertionError("indicators and structures must list structures in the same order")
    lowest, blocking = lowest_levels(rank, rules)
    late = indicators["freshness"].cat.codes.to_numpy().reshape(-1, width) != Freshness.A_JOUR
    out["level"] = pd.Categorical.from_codes(lowest, LEVELS)
    out["level_rank"] = lowest
    out["blocking"] = [codes[row].tolist() for row in blocking]
    out["late_indicators"] = [codes[row].tolist() for row in late]
    awarded = pd.to_datetime(out["label_awarded_on"])
    expires = awarded + pd.DateOffset(years=LABEL_YEARS)
    out["label_expires_on"] = expires.dt.date
    out["label_awarded_on"] = awarded.dt.date
    labelled = out["label_level"].notna().to_numpy()
    # A label level the référentiel does not know ranks above « or »: never supported.
    awarded_rank = out["label_level"].map(RANK).fillna(Level.OR + 1).to_numpy()
    out["label_supported"] = np.where(labelled, lowest >= awarded_rank, None)
    out["label_expired"] = np.where(labelled, expires < pd.Timestamp(today), None)
    return out


def holds_label(structures: pd.DataFrame) -> pd.Series:
    """Whether each structure holds a label today: awarded and not expired (an expired label counts nowhere)."""
    return structures["label_level"].notna() & ~structures["label_expired"].eq(True)


def label_states(structures: pd.DataFrame) -> pd.Series:
    """Each structure's label said: « valide », « expiré le 08/07/2026 », empty without a label."""
    expired = structures["label_expired"].eq(True)
    states = pd.Series("", index=structures.index, dtype=object)
    states[structures["label_level"].notna()] = "valide"
    dates = pd.to_datetime(structures.loc[expired, "label_expires_on"])  # only the expired: few of 15 000
    states[expired] = "expiré le " + dates.dt.strftime("%d/%m/%Y")
    return states


def subset(assessment: Assessment, codes) -> Assessment:
    """The same assessment restricted to some structures (a network, a filter of the Comparaison page)."""
    keep = set(codes)
    return Assessment(
        assessment.window, assessment.version, assessment.today, assessment.rules,
        assessment.indicators[assessment.indicators["structure_code"].isin(keep)].reset_index(drop=True),
        assessment.structures[assessment.structures["code"].isin(keep)].reset_index(drop=True),
        assessment.engagements[assessment.engagements["structure_code"].isin(keep)].reset_index(drop=True),
        assessment.engagement_labels)
