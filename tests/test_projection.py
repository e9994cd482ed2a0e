"""The honest projection (indicators/projection.py) on hand-computed cases.

Every structure goes through the real importer (canonical CSV → ``python -m indicators import``) into a real DuckDB
file, then ``compliance.assess`` over its 12 months and ``projection.structure_projections``. Thresholds are those
of the default référentiel 2023: decroche bronze 80 %, argent 85 %; satisfaction_globale bronze 75 %, argent 85 %,
at least 100 answers. The other indicators sit at « or » (GOLD over Q4 2025), so the one under test blocks."""

from __future__ import annotations

import json
from datetime import date

import pytest

from helpers import GOLD, canonical
from indicators import compliance, projection, rights
from indicators.periods import Window, month_end, rolling_window

TODAY = date(2026, 1, 15)
CODE = "S-PROJ"
NNBSP = "\u202f"  # format_percent's narrow no-break space: « 85 % »


def line(indicator: str, start: str, end: str, valeur="", num="", den="", eff="", code: str = CODE) -> str:
    return f"{code};Structure {code};Réseau test;{indicator};{start};{end};{valeur};{num};{den};{eff}"


def gold_rows(without: str, code: str = CODE) -> list[str]:
    """« or » on every indicator over Q4 2025 but ``without``."""
    return [line(ind, "2025-10-01", "2025-12-31", *values, code=code) for ind, values in GOLD.items()
            if ind != without]


def decroche_months(numerators: list[int], code: str = CODE, year: int = 2025) -> list[str]:
    """decroche from January of ``year`` on, one month per numerator, each month over 1 000 calls."""
    return [line("decroche", f"{year}-{m:02d}-01", month_end(year, m).isoformat(),
                 f"{num / 10:.1f}".replace(".", ","), num, 1000, code=code)
            for m, num in enumerate(numerators, start=1)]


@pytest.fixture
def load(run_cli, tmp_path):
    counter = iter(range(1000))

    def run(rows: list[str]) -> None:
        code, out, err = run_cli("import", canonical(tmp_path / f"valeurs_{next(counter)}.csv", rows))
        assert code == 0, out + err
    return run


def projections(con, code: str = CODE) -> list[projection.Projection]:
    access = rights.COMMAND_LINE
    window = compliance.structure_window(con, access, "12m", code, TODAY)
    assessment = compliance.assess(con, window, access, code, today=TODAY)
    return projection.structure_projections(con, access, assessment, code)


def only(found: list[projection.Projection], indicator: str) -> projection.Projection:
    assert [p.indicator_code for p in found] == [indicator]
    return found[0]


def test_clear_rise_gives_the_month_the_12_month_rate_reaches_argent(con, load):
    # decroche rises 0,5 point a month: 78,0 % in January 2025 … 83,5 % in December (780 + 5i calls of 1 000).
    # 12 months: (12 × 780 + 5 × 66) / 12 000 = 9 690 / 12 000 = 80,75 % → bronze, blocking; next: argent 85 %.
    # Every pair of months has the slope 0,5 point a month: the interval is [0,5 ; 0,5].
    # A 12-month window moves by the slope each month: 80,75 + 0,5 k ≥ 85 ⇔ k ≥ 8,5 → 9 months after
    # December 2025: September 2026 (August: 84,75 %).
    load(gold_rows("decroche") + decroche_months([780 + 5 * i for i in range(12)]))
    found = only(projections(con), "decroche")
    assert (found.level, found.next_level, found.threshold, found.value) == ("bronze", "argent", 85.0, 80.75)
    assert [p.value for p in found.series.points] == [78 + 0.5 * i for i in range(12)]
    assert [p.weight for p in found.series.points] == [1000.0] * 12
    assert (found.trend.slope, found.trend.low, found.trend.high, found.trend.points, found.trend.clear) == (
        0.5, 0.5, 0.5, 12, True)
    assert found.crossing.months == 8.5
    assert (found.crossing.month, found.crossing.earliest, found.crossing.latest) == (
        date(2026, 9, 30), date(2026, 9, 30), date(2026, 9, 30))
    assert found.sentence == (f"Au rythme actuel, le taux de décroché atteindrait le seuil argent (85{NNBSP}%) "
                              "vers septembre 2026 (intervalle réduit à ce mois).")
    data = json.loads(json.dumps(found.as_dict(), ensure_ascii=False))
    assert (data["outcome"], data["crossing_month"], data["label"]) == ("date", "2026-09-30", "Taux de décroché")
    assert data["trend"] == {"slope_per_month": 0.5, "low": 0.5, "high": 0.5, "confidence": 0.95, "points": 12,
                             "clear": True}

    # The pace kept for 2026 (84,0 % in January … 88,0 % in September): the engine itself says argent in
    # September 2026 and not in August, the projected month.
    load(decroche_months([840 + 5 * i for i in range(9)], year=2026))
    levels = {}
    for end in (date(2026, 8, 31), date(2026, 9, 30)):
        indicators = compliance.assess(con, rolling_window(end), rights.COMMAND_LINE, CODE, today=TODAY).indicators
        levels[end.month] = indicators.loc[indicators["indicator_code"] == "decroche", "level"].iloc[0]
    assert levels == {8: "bronze", 9: "argent"}


def test_noisy_series_announces_no_date(con, load):
    # 84, 80, 83, 81 % repeated: 12 months at 82 % → bronze. The pairwise slopes are as many below zero as above:
    # Theil–Sen gives 0 and its 95 % interval (-0,44 ; 0,33) holds zero.
    load(gold_rows("decroche") + decroche_months([840, 800, 830, 810] * 3))
    found = only(projections(con), "decroche")
    assert found.value == 82.0
    assert found.trend.slope == 0 and found.trend.low < 0 < found.trend.high and not found.trend.clear
    assert (found.outcome, found.crossing.month) == ("pas_de_tendance", None)
    assert found.sentence == "Pas de tendance nette sur 12 mois : aucune date ne peut être annoncée."


def test_trend_away_from_the_threshold_says_so(con, load):
    # 84,0 % falling 0,5 point a month to 78,5 %: 12 months at (12 × 840 − 5 × 66) / 12 000 = 81,25 % → bronze.
    load(gold_rows("decroche") + decroche_months([840 - 5 * i for i in range(12)]))
    found = only(projections(con), "decroche")
    assert (found.value, found.trend.slope, found.trend.clear) == (81.25, -0.5, True)
    assert (found.outcome, found.crossing.month) == ("s_eloigne", None)
    assert found.sentence == ("Au rythme actuel (en baisse de 0,5 point par mois), le taux de décroché s'éloigne du "
                              f"seuil argent (85{NNBSP}%) : aucune date ne peut être annoncée.")


def test_crossing_beyond_24_months_gives_no_date(con, load):
    # 80,0 % rising 0,1 point a month: 12 months at (12 × 800 + 66) / 12 000 = 80,55 %; (85 − 80,55) / 0,1 = 44,5
    # months, beyond the 24 months after December 2025.
    load(gold_rows("decroche") + decroche_months([800 + i for i in range(12)]))
    found = only(projections(con), "decroche")
    assert found.value == 80.55 and found.trend.clear
    assert found.crossing.months == pytest.approx(44.5)
    assert (found.outcome, found.crossing.month) == ("au_dela_de_24_mois", None)
    assert found.sentence == ("Au rythme actuel (en hausse de 0,1 point par mois), le taux de décroché n'atteindrait "
                              f"pas le seuil argent (85{NNBSP}%) dans les 24 mois : aucune date ne peut être "
                              "annoncée.")


def test_survey_under_its_minimum_sample_gets_no_projection(con, load):
    # satisfaction_globale by quarter: 45/60, 48/60, 123/150, 126/150. 12 months: 342 / 420 = 81,4 % with 420
    # answers ≥ 100 → bronze, blocking. Q1 and Q2 alone hold 60 answers < 100: « échantillon insuffisant ».
    quarters = [("2025-01-01", "2025-03-31", 45, 60), ("2025-04-01", "2025-06-30", 48, 60),
                ("2025-07-01", "2025-09-30", 123, 150), ("2025-10-01", "2025-12-31", 126, 150)]
    load(gold_rows("satisfaction_globale") + [
        line("satisfaction_globale", start, end, f"{100 * num / den:.1f}".replace(".", ","), num, den, den)
        for start, end, num, den in quarters])
    found = only(projections(con), "satisfaction_globale")
    assert found.level == "bronze" and found.series.period_months == 3
    assert [(p.period_end, p.n, p.below_minimum) for p in found.series.points] == [
        (date(2025, 3, 31), 60, True), (date(2025, 6, 30), 60, True), (date(2025, 9, 30), 150, False),
        (date(2025, 12, 31), 150, False)]
    assert (found.outcome, found.crossing.month) == ("echantillon_insuffisant", None)
    assert found.sentence == ("Échantillon insuffisant : 2 trimestres sur 4 comptent moins de 100 réponses, le "
                              "minimum du référentiel ; aucune projection n'est faite.")


def test_quarterly_survey_has_too_few_values_for_a_trend(con, load):
    # 4 quarters of 200 answers, 70, 72, 74, 76 % (12 months 73 % → aucun): 4 values, fewer than the 5 a 95 %
    # interval needs (four rises in a row happen by chance once in 12).
    quarters = [("2025-01-01", "2025-03-31", 140), ("2025-04-01", "2025-06-30", 144),
                ("2025-07-01", "2025-09-30", 148), ("2025-10-01", "2025-12-31", 152)]
    load(gold_rows("satisfaction_globale") + [
        line("satisfaction_globale", start, end, f"{num / 2:.1f}".replace(".", ","), num, 200, 200)
        for start, end, num in quarters])
    found = only(projections(con), "satisfaction_globale")
    assert (found.level, found.next_level, found.trend.points, found.trend.clear) == ("aucun", "bronze", 4, False)
    assert found.sentence == ("Trop peu de valeurs pour une tendance : 4 trimestres sur les 12 derniers mois, il en "
                              "faut au moins 5 ; aucune date ne peut être annoncée.")


def test_interval_of_the_crossing_comes_from_the_slope_interval():
    # 5 months: 0, 2, 3, 5, 6 %. The 10 pairwise slopes: 2, 1,5, 5/3, 1,5, 1, 1,5, 4/3, 2, 1,5, 1 → median 1,5;
    # with 5 points Sen's 95 % interval is the whole range [1 ; 2]. From 80 % to 85 %: 5 / 1,5 = 3,33 → 4 months,
    # 5 / 2 = 2,5 → 3 months, 5 / 1 = 5 months after December 2025: April 2026, between March and May 2026.
    points = tuple(projection.Point(date(2025, m, 28), 2025 * 12 + m - 1, value, None, None, 1, False)
                   for m, value in zip(range(8, 13), (0, 2, 3, 5, 6)))
    series = projection.Series("decroche", Window("12m", date(2025, 1, 1), date(2025, 12, 31)), 1, 12, points, None)
    found = projection.trend(series)
    assert (found.slope, found.low, found.high, found.clear) == (1.5, 1.0, 2.0, True)
    crossing = projection.project(found, 80.0, 85.0, "hausse", date(2025, 12, 31))
    assert (crossing.outcome, crossing.month, crossing.earliest, crossing.latest) == (
        "date", date(2026, 4, 30), date(2026, 3, 31), date(2026, 5, 31))
    # A delay (lower is better) falling at the same pace toward 3 days from 8: 5 / 1,5 → the same months.
    falling = projection.Trend(-1.5, -2.0, -1.0, 5, True)
    assert projection.project(falling, 8.0, 3.0, "baisse", date(2025, 12, 31)) == crossing
    # From 66 % to 85 %: 19 / 1,5 = 12,7 → 13 months; the slow end 19 / 1 = 19; the fast 19 / 2 = 9,5 → 10.
    # From 60 %: 25 / 1,5 = 16,7 → 17 months; 25 / 1 = 25 months lies beyond 24: no late date.
    late = projection.project(found, 60.0, 85.0, "hausse", date(2025, 12, 31))
    assert (late.month, late.earliest, late.latest) == (date(2027, 5, 31), date(2027, 1, 31), None)
    assert projection._interval_words(crossing) == "entre mars et mai 2026"
    assert projection._interval_words(late) == "pas avant janvier 2027, peut-être au-delà de 24 mois"


def test_yes_no_indicator_has_no_trend(con, load):
    load(gold_rows("publication_resultats") + [line("publication_resultats", "2025-10-01", "2025-12-31", "non")])
    found = only(projections(con), "publication_resultats")
    assert (found.outcome, found.sentence) == ("oui_non", "Indicateur oui/non : pas de tendance ni de date à annoncer.")


def test_structure_at_or_has_no_projection_and_scope_is_enforced(con, load):
    load(gold_rows("") + gold_rows("decroche", code="S-AUTRE") + decroche_months([780] * 12, code="S-AUTRE"))
    assert projections(con) == []
    director = rights.Access(rights.Person("Directrice"), frozenset({rights.DIRECTOR}), structures=frozenset({CODE}))
    assessment = compliance.assess(con, compliance.structure_window(con, rights.COMMAND_LINE, "12m", "S-AUTRE"),
                                   rights.COMMAND_LINE, "S-AUTRE", today=TODAY)
    with pytest.raises(rights.AccessRefused, match="^Structure inconnue : « S-AUTRE ».$"):
        projection.structure_projections(con, director, assessment, "S-AUTRE")
    with pytest.raises(rights.AccessRefused):
        projection.indicator_series(con, director, "S-AUTRE", "decroche")
    series = projection.indicator_series(con, rights.COMMAND_LINE, "S-AUTRE", "decroche", today=TODAY)
    assert [p.value for p in series.points] == [78.0] * 12 and series.periods == 12


def test_label_as_subject():
    assert projection._subject("Taux de décroché") == ("le taux de décroché", False)
    assert projection._subject("Satisfaction globale") == ("la satisfaction globale", False)
    assert projection._subject("Temps d'attente au guichet") == ("le temps d'attente au guichet", False)
    assert projection._subject("Démarches traitées dans les délais annoncés") == (
        "les démarches traitées dans les délais annoncés", True)
    assert projection._subject("Accueil téléphonique") == ("l'accueil téléphonique", False)
