"""The honest projection: for each blocking indicator of a structure, the trend of its period values over the last
12 months (Theil–Sen, scipy) and, only when that trend is clear and heads for the next threshold, the month the
12-month value would reach it at that pace, with an interval; otherwise the French sentence that says why not.

Every value is the engine's (compliance.aggregate → assess_indicators over each period alone): no second set of
rules. The README's « Méthode » says the choices (/tmp/brief13/projection_api.md holds its text)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from indicators import compliance, rights, wording
from indicators.periods import MONTHS_PER_PERIODICITY, Window, add_months, month_end, rolling_window
from indicators.text import LEVEL_WORDS, MONTH_NAMES, format_number_fr, format_value, month_words, plural

# 95 %, as the engine's Wilson intervals. With 4 values, four rises in a row happen by chance once in 12 (2 of
# the 24 orders): Sen's interval would call that clear at 95 %; from 5 values on (2 in 120) it holds.
CONFIDENCE = 0.95
MIN_POINTS = 5
HORIZON_MONTHS = 24

# Why a projection gives a date or not: the codes of the JSON, each with its sentence (see _sentence).
DATE, BEYOND, AWAY, NO_TREND, TOO_FEW, SMALL_SAMPLE, YES_NO, ALREADY = (
    "date", "au_dela_de_24_mois", "s_eloigne", "pas_de_tendance", "trop_peu_de_valeurs", "echantillon_insuffisant",
    "oui_non", "seuil_deja_atteint")
NO_DATE = "aucune date ne peut être annoncée"
PERIOD_NOUNS = {1: ("mois", "mois"), 3: ("trimestre", "trimestres"), 6: ("semestre", "semestres"),
                12: ("année", "années")}
# The first word of a label that takes « la » (an indicator's label is a noun group; « l' » before a vowel).
_FEMININE = frozenset({"satisfaction", "qualité", "part", "proportion", "durée", "note", "moyenne", "publication",
                       "réponse", "démarche", "conformité", "disponibilité", "joignabilité"})
_SINGULAR_IN_S = frozenset({"taux", "temps", "prix"})


@dataclass(frozen=True)
class Point:
    """One period's value as the engine computes it for that period alone."""

    period_end: date
    month: int  # the time axis: months since year 0 of the period's last month
    value: float
    weight: float | None  # Σ denominator for a ratio of sums, else the sample size (None: unknown)
    n: float | None  # the sample size the engine compares with the minimum (None: unknown)
    n_obs: int
    below_minimum: bool  # « échantillon insuffisant » for this period alone: not used for the trend


@dataclass(frozen=True)
class Series:
    """An indicator's period values over the 12 months up to the structure's latest data."""

    indicator_code: str
    window: Window
    period_months: int  # 1 for monthly indicators, 3 for quarterly ones
    periods: int  # how many periods of that length lie wholly inside the window
    points: tuple[Point, ...]  # the periods with a value, oldest first
    min_n: float | None

    @property
    def judged(self) -> list[Point]:
        """The points the trend is drawn on: the engine gives no value to a period below the minimum sample."""
        return [p for p in self.points if not p.below_minimum]

    @property
    def below_minimum(self) -> int:
        return sum(p.below_minimum for p in self.points)


@dataclass(frozen=True)
class Trend:
    """Theil–Sen slope per month, in the indicator's unit, and its interval at ``CONFIDENCE``; ``clear`` when
    there are enough points and the interval excludes zero."""

    slope: float | None
    low: float | None
    high: float | None
    points: int
    clear: bool
    confidence: float = CONFIDENCE


@dataclass(frozen=True)
class Crossing:
    """When the 12-month value would reach a threshold at the trend's pace: ``outcome`` says whether there is a
    date; months are the last day of a month; ``latest`` is None when the late end lies beyond the horizon."""

    outcome: str
    months: float | None = None  # months after the latest data, at the central slope
    month: date | None = None
    earliest: date | None = None
    latest: date | None = None


@dataclass(frozen=True)
class Projection:
    """One blocking indicator of a structure: its trend, the crossing month and interval or why there is none."""

    indicator_code: str
    label: str
    unit: str
    direction: str
    level: str
    next_level: str | None
    threshold: float | None
    value: float | None  # over the 12 months up to the structure's latest data
    series: Series
    trend: Trend
    crossing: Crossing
    sentence: str

    @property
    def outcome(self) -> str:
        return self.crossing.outcome

    def as_dict(self) -> dict:
        """The projection as JSON holds it: codes, numbers, ISO dates, the sentence."""
        return {
            "indicator": self.indicator_code, "label": self.label, "unit": self.unit, "direction": self.direction,
            "level": self.level, "next_level": self.next_level, "threshold": _number(self.threshold),
            "value_12_months": _number(self.value),
            "window": {"start": self.series.window.start.isoformat(), "end": self.series.window.end.isoformat()},
            "period_months": self.series.period_months,
            "series": [{"period_end": p.period_end.isoformat(), "value": _number(p.value), "weight": _number(p.weight),
                        "n": _number(p.n), "n_obs": p.n_obs, "below_minimum": p.below_minimum}
                       for p in self.series.points],
            "trend": {"slope_per_month": _number(self.trend.slope), "low": _number(self.trend.low),
                      "high": _number(self.trend.high), "confidence": self.trend.confidence,
                      "points": self.trend.points, "clear": self.trend.clear},
            "outcome": self.outcome,
            "months_to_threshold": _number(self.crossing.months),
            "crossing_month": _iso(self.crossing.month), "earliest": _iso(self.crossing.earliest),
            "latest": _iso(self.crossing.latest), "sentence": self.sentence,
        }


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def period_windows(window: Window, period_months: int) -> list[Window]:
    """The periods of ``period_months`` months aligned on the calendar (quarters T1…T4) lying wholly inside
    ``window``, oldest first: 12 months, or 4 quarters for a window that ends with a quarter (3 otherwise)."""
    out = []
    for offset in range(window.months):
        start = add_months(window.start.replace(day=1), offset)
        last = add_months(start, period_months - 1)
        end = month_end(last.year, last.month)
        if (start.month - 1) % period_months == 0 and end <= window.end:
            out.append(Window(f"{start:%Y-%m}", start, end))
    return out


def _verdicts(con: duckdb.DuckDBPyConnection, structure: str, version: str, rules: pd.DataFrame, today: date,
              windows: list[Window]) -> list[dict[str, dict]]:
    """The engine's verdict on each window alone for one structure (aggregate → assess_indicators, one pass over
    the windows' grids stacked): per window, indicator code → its row (value, n, status, sums…)."""
    frames = [compliance.aggregate(con, window, version, structure) for window in windows]
    if not frames or any(frame.empty for frame in frames):  # a territory, or no structure of that code
        return [{} for _ in windows]
    # Each frame lists the indicators in the rules' order: stacked, they form the grid assess_indicators expects.
    grid = compliance.assess_indicators(pd.concat(frames, ignore_index=True), rules, today)
    grid["indicator_code"] = grid["indicator_code"].astype(str)
    records, width = grid.to_dict("records"), len(rules)
    return [{row["indicator_code"]: row for row in records[i * width:(i + 1) * width]} for i in range(len(windows))]


def _period_months(rule: dict) -> int:
    return MONTHS_PER_PERIODICITY.get(str(rule.get("periodicity")), 12)


def _point(window: Window, row: dict | None) -> Point | None:
    if row is None or row["status"] == "manquant" or _number(row["value"]) is None:
        return None
    weight = row["sum_den"] if row["value_method"] == "ratio_des_sommes" else row["n"]
    return Point(window.end, _month_index(window.end), float(row["value"]), _number(weight), _number(row["n"]),
                 int(row["n_obs"]), row["status"] == "echantillon_insuffisant")


def _series(indicator: str, rule: dict, window: Window, periods: list[tuple[Window, dict[str, dict]]]) -> Series:
    """``periods``: each period of the indicator's length in ``window`` with the engine's verdicts on it."""
    points = [_point(period, rows.get(indicator)) for period, rows in periods]
    return Series(indicator, window, _period_months(rule), len(periods), tuple(p for p in points if p is not None),
                  _number(rule.get("min_n")))


def _periods_by_length(con: duckdb.DuckDBPyConnection, structure: str, version: str, rules: pd.DataFrame,
                       today: date, window: Window, lengths) -> tuple[dict[str, dict], dict[int, list]]:
    """The verdicts on ``window`` itself, and per period length the periods inside it with their verdicts: one
    aggregate per window, one pass of the engine's rules over them all."""
    periods = {length: period_windows(window, length) for length in sorted(set(lengths))}
    windows = [window, *(period for length in periods for period in periods[length])]
    verdicts = iter(_verdicts(con, structure, version, rules, today, windows))
    whole = next(verdicts)
    return whole, {length: [(period, next(verdicts)) for period in periods[length]] for length in periods}


def indicator_series(con: duckdb.DuckDBPyConnection, access: rights.Access, structure: str, indicator: str,
                     version: str | None = None, today: date | None = None) -> Series:
    """The values of one indicator of one structure, period by period (months for a monthly indicator, quarters for
    a quarterly one), over the 12 months up to the structure's latest data, each by the engine's rules."""
    rights.check_structure(con, access, structure)
    version, rules, _ = compliance.load_rules(con, version)
    known = rules[rules["code"] == indicator]
    if known.empty:
        raise ValueError(f"Indicateur inconnu du référentiel {version} : « {indicator} ».")
    rule = known.iloc[0].to_dict()
    today = today or date.today()
    window = rolling_window(compliance.latest_data(con, structure) or today)
    length = _period_months(rule)
    _, periods = _periods_by_length(con, structure, version, rules, today, window, [length])
    return _series(indicator, rule, window, periods[length])


def trend(series: Series) -> Trend:
    """Theil–Sen slope of the period values against time in months (scipy.stats.theilslopes) with its interval
    at ``CONFIDENCE``, on the periods the engine judges (not those below the minimum sample)."""
    points = series.judged
    if len(points) < MIN_POINTS:
        return Trend(None, None, None, len(points), False)
    from scipy import stats  # imported when a trend is asked for: a second to load, not paid by every page

    result = stats.theilslopes([p.value for p in points], [p.month for p in points], alpha=CONFIDENCE)
    # Rounded as the engine rounds values: float noise of a flat series must not make a trend.
    slope, low, high = (round(float(x), 9) for x in (result.slope, result.low_slope, result.high_slope))
    return Trend(slope, low, high, len(points), low > 0 or high < 0)


def _whole_months(months: float) -> int:
    """The first whole month at which a crossing ``months`` after the latest data has happened."""
    return max(1, math.ceil(round(months, 6)))


def _month_after(latest: date, months: int) -> date:
    day = add_months(latest.replace(day=1), months)
    return month_end(day.year, day.month)


def project(found: Trend, value: float, threshold: float, direction: str, latest: date) -> Crossing:
    """When the 12-month ``value`` would reach ``threshold`` at the trend's pace: a window of 12 months moves
    like the monthly values it holds once they follow the trend, so after k months it is value + slope × k. The
    interval comes from the slope's; no date beyond ``HORIZON_MONTHS`` after ``latest`` (the latest data)."""
    lower_is_better = direction == "baisse"
    gap = value - threshold if lower_is_better else threshold - value
    if gap <= 0:
        return Crossing(ALREADY)
    if found.points < MIN_POINTS:
        return Crossing(TOO_FEW)
    if not found.clear:
        return Crossing(NO_TREND)
    sign = -1 if lower_is_better else 1
    pace = sign * found.slope
    slow, fast = sorted((sign * found.low, sign * found.high))
    if pace <= 0:
        return Crossing(AWAY)
    months = gap / pace
    if _whole_months(months) > HORIZON_MONTHS:
        return Crossing(BEYOND, months)
    late = _whole_months(gap / slow)
    return Crossing(DATE, months, _month_after(latest, _whole_months(months)),
                    _month_after(latest, _whole_months(gap / fast)),
                    _month_after(latest, late) if late <= HORIZON_MONTHS else None)


def _subject(label: str) -> tuple[str, bool]:
    """An indicator's label as the subject of a sentence, and whether it is plural: « Taux de décroché » → « le
    taux de décroché », « Satisfaction globale » → « la satisfaction globale », « Démarches traitées… » → « les
    démarches traitées… » (plural); an acronym keeps its capitals."""
    text = wording.in_sentence(label)
    first = text.split(" ")[0].lower()
    if first.endswith(("s", "x")) and first not in _SINGULAR_IN_S:
        return f"les {text}", True
    if first[:1] in "aeiouyéèêàâîôh":
        return f"l'{text}", False
    return f"{'la' if first in _FEMININE else 'le'} {text}", False


def _threshold_words(level: str, threshold: float, unit: str) -> str:
    """« seuil argent (85 %) »."""
    return f"seuil {LEVEL_WORDS.get(level, level)} ({format_value(threshold, unit, trim=True)})"


def _pace_words(slope: float, unit: str) -> str:
    """« en hausse de 0,5 point par mois », « en baisse de 0,25 jour ouvré par mois »."""
    size = abs(slope)
    decimals = max(2, 1 - math.floor(math.log10(size))) if size else 2
    noun = "points" if str(unit).startswith("%") else str(unit)
    return (f"en {'hausse' if slope > 0 else 'baisse'} de {format_number_fr(size, decimals, trim=True)} "
            f"{plural(round(size, decimals), noun)} par mois")


def _interval_words(crossing: Crossing) -> str:
    """« entre janvier et juillet 2027 », « entre décembre 2026 et février 2027 »."""
    early, late = crossing.earliest, crossing.latest
    if late is None:
        return f"pas avant {month_words(early)}, peut-être au-delà de {HORIZON_MONTHS} mois"
    if early == late:
        return "intervalle réduit à ce mois"
    first = MONTH_NAMES[early.month - 1] if early.year == late.year else month_words(early)
    return f"entre {first} et {month_words(late)}"


def _count_words(count: int, period_months: int) -> str:
    singular_noun, plural_noun = PERIOD_NOUNS.get(period_months, ("période", "périodes"))
    return f"{count} {singular_noun if count < 2 else plural_noun}"


def _sentence(crossing: Crossing, found: Trend, series: Series, rule: dict, level: str | None,
              threshold: float | None, value: float | None, n: float | None) -> str:
    """The French sentence of a projection's outcome (the README's method lists them)."""
    outcome, unit = crossing.outcome, str(rule["unit"])
    subject, many = _subject(str(rule["label"]))
    verb_ending = "aient" if many else "ait"
    if outcome == YES_NO:
        return "Indicateur oui/non : pas de tendance ni de date à annoncer."
    if outcome == SMALL_SAMPLE:
        minimum = format_number_fr(series.min_n, 0)
        if series.below_minimum:
            below = series.below_minimum
            return (f"Échantillon insuffisant : {_count_words(below, series.period_months)} sur "
                    f"{len(series.points)} {'comptent' if below > 1 else 'compte'} moins de {minimum} réponses, "
                    f"le minimum du référentiel ; aucune projection n'est faite.")
        return (f"Échantillon insuffisant sur 12 mois ({format_number_fr(n, 0)} réponses, {minimum} au minimum) : "
                f"aucune projection n'est faite.")
    if outcome == TOO_FEW:
        count = len(series.judged)
        if not count:
            return f"Aucune valeur sur les 12 derniers mois : {NO_DATE}."
        return (f"Trop peu de valeurs pour une tendance : {_count_words(count, series.period_months)} sur les "
                f"12 derniers mois, il en faut au moins {MIN_POINTS} ; {NO_DATE}.")
    if outcome == NO_TREND:
        return f"Pas de tendance nette sur 12 mois : {NO_DATE}."
    seuil = _threshold_words(level, threshold, unit)
    if outcome == ALREADY:
        return (f"Sur les 12 derniers mois, {subject} ({format_value(value, unit)}) "
                f"{'atteignent' if many else 'atteint'} déjà le {seuil}.")
    pace = _pace_words(found.slope, unit)
    if outcome == AWAY:
        return f"Au rythme actuel ({pace}), {subject} s'éloign{'ent' if many else 'e'} du {seuil} : {NO_DATE}."
    if outcome == BEYOND:
        return (f"Au rythme actuel ({pace}), {subject} n'atteindr{verb_ending} pas le {seuil} dans les "
                f"{HORIZON_MONTHS} mois : {NO_DATE}.")
    return (f"Au rythme actuel, {subject} atteindr{verb_ending} le {seuil} vers {month_words(crossing.month)} "
            f"({_interval_words(crossing)}).")


def _projection(indicator: str, rule: dict, assessed: dict, series: Series, rolling: dict | None) -> Projection:
    """One blocking indicator: the outcome decided in the order the README gives (yes/no, sample, trend)."""
    value = _number(rolling["value"]) if rolling else None
    n = _number(rolling["n"]) if rolling else None
    level, threshold = str(assessed["level"]), _number(assessed["next_threshold"])
    next_level = None if pd.isna(assessed["next_level"]) else str(assessed["next_level"])
    found = trend(series)
    if rule["kind"] == "latest" or rule["unit"] == "oui/non":
        crossing = Crossing(YES_NO)
    elif series.min_n is not None and (series.below_minimum or (rolling or {}).get("status")
                                       == "echantillon_insuffisant"):
        crossing = Crossing(SMALL_SAMPLE)
    elif value is None or threshold is None:
        crossing = Crossing(TOO_FEW)
    else:
        crossing = project(found, value, threshold, str(rule["direction"]), series.window.end)
    sentence = _sentence(crossing, found, series, rule, next_level, threshold, value, n)
    return Projection(indicator, str(rule["label"]), str(rule["unit"]), str(rule["direction"]), level, next_level,
                      threshold, value, series, found, crossing, sentence)


def structure_projections(con: duckdb.DuckDBPyConnection, access: rights.Access, assessment: compliance.Assessment,
                          code: str) -> list[Projection]:
    """One projection per blocking indicator of structure ``code`` in ``assessment`` (its level and next threshold
    are the assessment's), the trend and the 12-month value taken over the 12 months up to the structure's latest
    data; none for a structure at « or » or outside the assessment. Refused outside the person's scope."""
    rights.check_structure(con, access, code)
    summary = assessment.structures.loc[assessment.structures["code"] == code]
    if summary.empty or not len(summary.iloc[0]["blocking"]):
        return []
    blocking = [str(indicator) for indicator in summary.iloc[0]["blocking"]]
    rules = {row["code"]: row for row in assessment.rules.to_dict("records")}
    window = rolling_window(compliance.latest_data(con, code) or assessment.window.end)
    whole, periods = _periods_by_length(con, code, assessment.version, assessment.rules, assessment.today, window,
                                        [_period_months(rules[indicator]) for indicator in blocking])
    frame = assessment.indicators
    mine = frame.loc[frame["structure_code"] == code].assign(indicator_code=lambda f: f["indicator_code"].astype(str))
    assessed = {row["indicator_code"]: row for row in mine.to_dict("records")}
    return [_projection(indicator, rules[indicator], assessed[indicator],
                        _series(indicator, rules[indicator], window, periods[_period_months(rules[indicator])]),
                        whole.get(indicator))
            for indicator in blocking]
