"""The compliance engine: per structure and window, each indicator's value, level and status, each
engagement's status, the label level reached, what blocks the next one and by how much, and freshness.

DuckDB aggregates (sql/aggregate_window.sql); pandas applies the rules of DOMAIN.md on the aggregates,
one vectorised pass for every structure at once. The README's « Méthode » section says the choices."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum

import duckdb
import numpy as np
import pandas as pd

from indicators import db, settings
from indicators.periods import MONTHS_PER_PERIODICITY, Window, add_months, fixed_window, rolling_window
# The error resolve_window raises, named here too for its callers (its home is periods).
from indicators.periods import WindowError  # noqa: F401



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


def resolve_window(con: duckdb.DuckDBPyConnection, text: str | None, today: date | None = None) -> Window:
    """The window ``text`` names (periods.fixed_window), the default window of the settings when none is
    given; the rolling window ends with the latest data (``today`` on an empty base)."""
    window = fixed_window(text or settings.default_window())
    if window is None:
        window = rolling_window(db.query_value(con, "latest_period_end") or today or date.today())
    return window


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
    structures = db.query_df(con, "structures_for_status", {"structure": structure})
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
    methods = np.select(conditions, [Method.RATIO_DES_SOMMES, Method.MOYENNE_PONDEREE, Method.MOYENNE_PONDEREE,
                                     Method.DERNIERE_VALEUR, Method.MOYENNE_SIMPLE], default=Method.SANS_VALEUR)
    return values, methods


def sample_size(agg: pd.DataFrame) -> np.ndarray:
    """Σ sample size when every observation has one, else Σ denominator when every one has one, else NaN."""
    n_obs = _floats(agg["n_obs"])
    return np.where(_every(_floats(agg["n_eff"]), n_obs), _floats(agg["sum_eff"]),
                    np.where(_every(_floats(agg["n_den"]), n_obs), _floats(agg["sum_den"]), np.nan))


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
    rank = np.where(missing | too_small, Level.AUCUN, rank)
    status = np.select([missing, too_small, rank >= Level.BRONZE],
                       [Status.MANQUANT, Status.ECHANTILLON_INSUFFISANT, Status.CONFORME], default=Status.NON_CONFORME)
    next_rank = np.minimum(rank + 1, Level.OR)
    next_threshold = np.select([next_rank == level for level in (Level.BRONZE, Level.ARGENT, Level.OR)],
                               [thresholds["bronze"], thresholds["argent"], thresholds["or"]])
    next_threshold = np.where(rank < Level.OR, next_threshold, np.nan)
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
    required = rules["required"].to_numpy(bool)
    rank = _matrix(indicators, "level_rank", width)
    if len(rank) != len(out) or (len(out) and indicators["structure_code"].iloc[0] != out["code"].iloc[0]):
        raise AssertionError("indicators and structures must list structures in the same order")
    lowest = np.minimum(np.where(required, rank, Level.OR).min(axis=1, initial=Level.OR), Level.OR)
    blocking = (rank == lowest[:, None]) & required & (lowest[:, None] < Level.OR)
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


def structure_json(assessment: Assessment, code: str) -> dict:
    """One structure of ``status --format json``."""
    one = subset(assessment, [code])
    if one.structures.empty:
        raise KeyError(code)
    return status_json(one)["structures"][0]


def _iso(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date().isoformat()


# ``status --format json`` is written column by column: each column of the assessment becomes its JSON texts
# in one pass (texts, numbers, dates), the rows of each structure are found by one sort, and the objects are
# laid out as ``json.dumps(…, ensure_ascii=False, indent=2)`` lays them out. 15 000 structures: 0.3 s,
# where the object-by-object way took 100 s. tests/test_command_speed_and_empty.py checks it character for
# character against a plain per-structure build.


def _json_texts(values) -> np.ndarray:
    """JSON texts of a column of texts: the quoted text, ``null`` where the value is not a text."""
    codes, uniques = pd.factorize(pd.Series(values, copy=False))
    texts = [json.encoder.encode_basestring(u) if isinstance(u, str) else "null" for u in uniques]
    return np.array(texts + ["null"], dtype=object)[codes]  # code -1 (missing) takes the last: null


def _json_numbers(values) -> np.ndarray:
    """JSON texts of numbers: whole numbers without a decimal point, others as Python writes them, ``null`` for
    missing."""
    a = _floats(pd.Series(values, copy=False))
    out = np.full(len(a), "null", dtype=object)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(a) & (np.floor(a) == a)
        exact = whole & (np.abs(a) < 2.0 ** 62)
    out[exact] = np.array(list(map(str, a[exact].astype(np.int64).tolist())), dtype=object)
    out[whole & ~exact] = np.array([str(int(x)) for x in a[whole & ~exact].tolist()], dtype=object)
    decimal = np.isfinite(a) & ~whole
    out[decimal] = np.array(list(map(float.__repr__, a[decimal].tolist())), dtype=object)
    out[a == np.inf], out[a == -np.inf] = "Infinity", "-Infinity"
    return out


def _json_dates(values) -> np.ndarray:
    """JSON texts of :func:`_iso` of each value (few distinct dates: each is written once)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object, copy=False))
    texts = [_iso(u) for u in uniques]
    return np.array([json.encoder.encode_basestring(t) if t else "null" for t in texts] + ["null"],
                    dtype=object)[codes]


def _rows_of(codes: pd.Index, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(row order, offsets): ``frame``'s rows grouped by structure in ``codes``' order, each structure's rows
    in their order; structure ``i`` owns ``order[offsets[i]:offsets[i + 1]]``."""
    position = codes.get_indexer(frame["structure_code"])
    kept = np.flatnonzero(position >= 0)
    order = kept[np.argsort(position[kept], kind="stable")]
    offsets = np.concatenate(([0], np.cumsum(np.bincount(position[kept], minlength=len(codes)))))
    return order, offsets


def _json_list(items: list[str], indent: str) -> str:
    """A list laid out as ``indent=2`` does, its items already written, ``indent`` the list's own."""
    return "[\n" + ",\n".join(items) + f"\n{indent}]" if items else "[]"


def _indicator_texts(indicators: pd.DataFrame) -> np.ndarray:
    """Each indicator row's object, laid out at its depth. Rows without any number (an indicator never
    received is the same object for every structure) are written once per distinct row."""
    pad = " " * 10
    low, high = _json_numbers(indicators["wilson_low"]), _json_numbers(indicators["wilson_high"])
    wilson = np.where(np.isnan(_floats(indicators["wilson_low"])), "null",
                      f"[\n{pad}  " + low + f",\n{pad}  " + high + f"\n{pad}]")
    value, n, gap = (_json_numbers(indicators[c]) for c in ("value", "n", "gap_to_next"))
    texts = [_json_texts(indicators[c]) for c in ("indicator_code", "level", "status", "gap_unit", "next_level",
                                                  "freshness")]
    texts.append(_json_dates(indicators["last_period_end"]))
    columns = (texts[0], value, texts[1], texts[2], n, gap, texts[3], texts[4], wilson, texts[5], texts[6])

    def write(rows) -> list[str]:
        return [f'        {{\n{pad}"code": {code},\n{pad}"value": {value},\n{pad}"level": {level},\n'
                f'{pad}"status": {status},\n{pad}"n": {n},\n{pad}"gap_to_next": {gap},\n{pad}"gap_unit": {unit},\n'
                f'{pad}"next_level": {next_level},\n{pad}"wilson_95": {interval},\n{pad}"freshness": {fresh},\n'
                f'{pad}"last_period_end": {last}\n        }}'
                for code, value, level, status, n, gap, unit, next_level, interval, fresh, last
                in zip(*(column[rows].tolist() for column in columns))]

    out = np.empty(len(indicators), dtype=object)
    bare = (value == "null") & (n == "null") & (gap == "null") & (wilson == "null")
    rest = np.flatnonzero(~bare)
    if bare.any():
        # One integer per distinct combination of the texts left (a few codes, levels, dates each).
        key = np.zeros(int(bare.sum()), dtype=np.int64)
        for column in texts:
            codes, uniques = pd.factorize(column[bare])
            key = key * (len(uniques) + 1) + codes
        distinct, first, which = np.unique(key, return_index=True, return_inverse=True)
        bare_rows = np.flatnonzero(bare)
        out[bare_rows] = np.array(write(bare_rows[first]), dtype=object)[which]
    out[rest] = np.array(write(rest), dtype=object)
    return out


def _engagement_blocks(engagements: pd.DataFrame, offsets: np.ndarray) -> list[str]:
    """Each structure's ``"engagements"`` list. Few structures differ in their engagements' statuses: each
    distinct list is written once."""
    pad = " " * 10
    number_codes, numbers = pd.factorize(pd.Series(_json_numbers(engagements["number"]), dtype=object))
    status_codes, statuses = pd.factorize(pd.Series(_json_texts(engagements["status"]), dtype=object))
    pairs = (number_codes * len(statuses) + status_codes).astype(np.int64)  # JSON texts: never missing
    items = {pair: f'        {{\n{pad}"number": {numbers[pair // len(statuses)]},\n'
                   f'{pad}"status": {statuses[pair % len(statuses)]}\n        }}' for pair in np.unique(pairs).tolist()}
    blocks: dict[bytes, str] = {}
    out = []
    for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist()):
        key = pairs[start:end].tobytes()
        block = blocks.get(key)
        if block is None:
            block = blocks[key] = _json_list([items[p] for p in pairs[start:end].tolist()], " " * 6)
        out.append(block)
    return out


def status_json_chunks(assessment: Assessment, structures_per_chunk: int = 2000):
    """``status --format json`` in pieces, as ``json.dumps(status_json(…), ensure_ascii=False, indent=2)``
    writes it, built column by column (see above) and handed out a few thousand structures at a time: the
    command writes them as they come, with no copy of the whole text."""
    window = assessment.window
    head = json.dumps({"period": window.text,
                       "window": {"start": window.start.isoformat(), "end": window.end.isoformat(),
                                  "label": window.label},
                       "referentiel": assessment.version, "structures": []}, ensure_ascii=False, indent=2)
    s = assessment.structures
    if s.empty:
        yield head
        return
    codes = pd.Index(s["code"].astype(str))
    ind_order, ind_offsets = _rows_of(codes, assessment.indicators)
    eng_order, eng_offsets = _rows_of(codes, assessment.engagements)
    items = _indicator_texts(assessment.indicators.iloc[ind_order]).tolist()
    engagements = _engagement_blocks(assessment.engagements.iloc[eng_order], eng_offsets)
    encode, pad = json.encoder.encode_basestring, " " * 6
    blocking_texts: dict[tuple, str] = {}

    def blocking_text(codes: list) -> str:
        key = tuple(codes)
        if key not in blocking_texts:
            blocking_texts[key] = _json_list([f"        {encode(c)}" for c in key], pad)
        return blocking_texts[key]

    labelled = s["label_level"].map(lambda level: isinstance(level, str)).to_numpy(bool)
    labels = np.full(len(s), "null", dtype=object)
    if labelled.any():
        awarded, expires = _json_dates(s["label_awarded_on"])[labelled], _json_dates(s["label_expires_on"])[labelled]
        labels[labelled] = np.array([
            f'{{\n{pad}  "level": {encode(level)},\n{pad}  "awarded_on": {on},\n{pad}  "expires_on": {until},\n'
            f'{pad}  "supported": {"true" if supported else "false"},\n'
            f'{pad}  "expired": {"true" if expired else "false"}\n{pad}}}'
            for level, on, until, supported, expired in zip(
                s["label_level"][labelled].tolist(), awarded.tolist(), expires.tolist(),
                s["label_supported"][labelled].tolist(), s["label_expired"][labelled].tolist())], dtype=object)
    parts, separator = [head[:-len("[]\n}")] + "[\n"], ",\n"
    for i, (code, name, network, level, blocking, start, end, engagement_list, label) in enumerate(zip(
            _json_texts(codes).tolist(), _json_texts(s["name"]).tolist(), _json_texts(s["network"]).tolist(),
            _json_texts(s["level"]).tolist(), s["blocking"].tolist(), ind_offsets[:-1].tolist(),
            ind_offsets[1:].tolist(), engagements, labels.tolist())):
        parts.append(f'{separator if i else ""}    {{\n{pad}"code": {code},\n{pad}"name": {name},\n'
                     f'{pad}"network": {network},\n{pad}"level": {level},\n'
                     f'{pad}"blocking": {blocking_text(blocking)},\n{pad}"indicators": ')
        if end > start:
            parts.append("[\n")
            parts.append(",\n".join(items[start:end]))
            parts.append("\n      ]")
        else:
            parts.append("[]")
        parts.append(f',\n{pad}"engagements": {engagement_list},\n{pad}"label": {label}\n    }}')
        if i % structures_per_chunk == structures_per_chunk - 1:
            yield "".join(parts)
            parts.clear()
    parts.append("\n  ]\n}")
    yield "".join(parts)


def status_json_text(assessment: Assessment) -> str:
    """``status --format json`` exactly as ``json.dumps(status_json(…), ensure_ascii=False, indent=2)``
    writes it."""
    return "".join(status_json_chunks(assessment))


def status_json(assessment: Assessment) -> dict:
    """``{"period": …, "structures": [...]}`` as ``status --format json`` prints it."""
    return json.loads(status_json_text(assessment))


def subset(assessment: Assessment, codes) -> Assessment:
    """The same assessment restricted to some structures (a network, a filter of the Comparaison page)."""
    keep = set(codes)
    return Assessment(
        assessment.window, assessment.version, assessment.today, assessment.rules,
        assessment.indicators[assessment.indicators["structure_code"].isin(keep)].reset_index(drop=True),
        assessment.structures[assessment.structures["code"].isin(keep)].reset_index(drop=True),
        assessment.engagements[assessment.engagements["structure_code"].isin(keep)].reset_index(drop=True),
        assessment.engagement_labels)
