"""The compliance engine, rule by rule (DOMAIN.md « Rules the product computes »), on hand-computed cases.

Every case goes through the real importer (canonical CSV → ``python -m indicators import``) and then
``compliance.assess``; the arithmetic that gives each expected figure is written beside it.
Thresholds are those of the default référentiel 2023 (indicators/referentiel/2023.toml)."""

from __future__ import annotations

import functools
import re
from datetime import date

import pandas as pd
import pytest

from helpers import GOLD, canonical
from indicators import compliance, periods, reports, rights, settings, views
from indicators.text import format_value

TODAY = date(2026, 11, 27)
Q4 = ("2025-10-01", "2025-12-31")


def line(code: str, indicator: str, start: str, end: str, valeur="", num="", den="", eff="",
         name: str | None = None, network: str = "Réseau test") -> str:
    return f"{code};{name or 'Structure ' + code};{network};{indicator};{start};{end};{valeur};{num};{den};{eff}"


# GOLD (tests/conftest.py) holds one value per indicator, each at « or », with its arithmetic.


def gold_rows(code: str, year: int = 2025, without: tuple[str, ...] = (),
              network: str = "Réseau test") -> list[str]:
    """A structure at « or » on every indicator over Q4 of ``year``, except the indicators ``without``."""
    start, end = f"{year}-10-01", f"{year}-12-31"
    return [line(code, ind, start, end, *values, network=network) for ind, values in GOLD.items()
            if ind not in without]


@pytest.fixture
def load(run_cli, tmp_path):
    """Import canonical rows through the command line; returns nothing, fails loudly on a refusal."""
    counter = iter(range(1000))

    def run(rows: list[str]) -> None:
        path = canonical(tmp_path / f"valeurs_{next(counter)}.csv", rows)
        code, out, err = run_cli("import", path)
        assert code == 0, out + err
    return run


@pytest.fixture
def load_register(run_cli, tmp_path):
    def run(rows: list[str]) -> None:
        path = tmp_path / "structures.csv"
        path.write_text("\n".join(["code_structure;nom_structure;reseau;niveau_label;date_label", *rows]) + "\n",
                        encoding="utf-8-sig")
        code, out, err = run_cli("import", path)
        assert code == 0, out + err
    return run


def assess(con, window: str = "2025", today: date = TODAY, structure: str | None = None):
    return compliance.assess(con, compliance.resolve_window(con, window), rights.COMMAND_LINE, structure, today=today)


def ind(assessment, structure: str, indicator: str) -> dict:
    frame = assessment.indicators
    rows = frame[(frame["structure_code"] == structure) & (frame["indicator_code"] == indicator)]
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def structure_json(assessment, code: str) -> dict:
    """One structure of ``status --format json``: the whole JSON of the assessment cut to that structure."""
    structures = reports.status_json(compliance.subset(assessment, [code]))["structures"]
    assert len(structures) == 1
    return structures[0]


def struct(assessment, code: str) -> dict:
    rows = assessment.structures[assessment.structures["code"] == code]
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def engagement_statuses(assessment, structure: str) -> dict[int, str]:
    frame = assessment.engagements[assessment.engagements["structure_code"] == structure]
    return dict(zip(frame["number"].astype(int), frame["status"]))


def missing(value) -> bool:
    return value is None or pd.isna(value)


# --- Aggregation of a window ---------------------------------------------------------------------------


def test_call_answer_rate_is_the_ratio_of_summed_counts_not_the_mean_of_monthly_rates(con, load):
    # January: 95 of 100 calls (95 %); February: 8 000 of 10 000 (80 %).
    # Naive mean of the monthly rates: (95 + 80) / 2 = 87,5 % → argent (≥ 85) — wrong.
    # Ratio of sums: (95 + 8 000) / (100 + 10 000) = 8 095 / 10 100 = 80,148… % → bronze (80 ≤ v < 85).
    load([line("S1", "decroche", "2025-01-01", "2025-01-31", "95", "95", "100"),
          line("S1", "decroche", "2025-02-01", "2025-02-28", "80", "8000", "10000")])
    r = ind(assess(con), "S1", "decroche")
    assert r["value"] == pytest.approx(100 * 8095 / 10100)
    assert r["value_method"] == "ratio_des_sommes"
    assert r["level"] == "bronze" and r["status"] == "conforme"
    assert r["n"] == 10100  # Σ denominators, no effectif given
    # To argent: ⌈0,85 × 10 100 − 8 095⌉ = ⌈8 585 − 8 095⌉ = 490 more answered calls.
    assert r["gap_to_next"] == 490 and r["gap_unit"] == "numerateur" and r["next_level"] == "argent"


def test_rate_given_without_numerators_is_weighted_by_its_denominators(con, load):
    # Same months, rates and call volumes only: (95 × 100 + 80 × 10 000) / 10 100 = 809 500 / 10 100
    # = 80,148… % → bronze, not the 87,5 % (argent) of the naive mean.
    load([line("S1", "decroche", "2025-01-01", "2025-01-31", "95", "", "100"),
          line("S1", "decroche", "2025-02-01", "2025-02-28", "80", "", "10000")])
    r = ind(assess(con), "S1", "decroche")
    assert r["value"] == pytest.approx(809500 / 10100)
    assert r["value_method"] == "moyenne_ponderee"
    assert r["level"] == "bronze"
    assert r["n"] == 10100
    # No counts on every month: the gap is in points, 85 − 80,148… = 4,851… points.
    assert r["gap_unit"] == "%" and r["gap_to_next"] == pytest.approx(85 - 809500 / 10100)


def test_rate_with_counts_on_only_some_months_is_weighted_not_summed(con, load):
    # January has its counts (95/100), February only its rate and volume (80 %, 10 000 calls):
    # not every observation has numerator and denominator → weighted mean, same 80,148… % → bronze.
    load([line("S1", "decroche", "2025-01-01", "2025-01-31", "95", "95", "100"),
          line("S1", "decroche", "2025-02-01", "2025-02-28", "80", "", "10000")])
    r = ind(assess(con), "S1", "decroche")
    assert r["value_method"] == "moyenne_ponderee"
    assert r["value"] == pytest.approx(809500 / 10100)
    assert r["level"] == "bronze"


def test_rate_without_denominator_is_weighted_by_its_sample_size(con, load):
    # delais_annonces: 96 % over 100 procedures, 70 % over 900 (effectif only):
    # (96 × 100 + 70 × 900) / 1 000 = (9 600 + 63 000) / 1 000 = 72,6 % → aucun (< 80);
    # the naive mean (96 + 70) / 2 = 83 % would say bronze.
    load([line("S1", "delais_annonces", "2025-01-01", "2025-01-31", "96", "", "", "100"),
          line("S1", "delais_annonces", "2025-02-01", "2025-02-28", "70", "", "", "900")])
    r = ind(assess(con), "S1", "delais_annonces")
    assert r["value"] == pytest.approx(72.6)
    assert r["value_method"] == "moyenne_ponderee"
    assert r["level"] == "aucun" and r["status"] == "non_conforme"
    assert r["n"] == 1000  # Σ effectif


def test_rate_of_unknown_volumes_is_the_plain_mean(con, load):
    # No counts, no volumes: nothing to weight by → (95 + 80) / 2 = 87,5 % → argent; n unknown.
    load([line("S1", "decroche", "2025-01-01", "2025-01-31", "95"),
          line("S1", "decroche", "2025-02-01", "2025-02-28", "80")])
    r = ind(assess(con), "S1", "decroche")
    assert r["value"] == pytest.approx(87.5)
    assert r["value_method"] == "moyenne_simple"
    assert r["level"] == "argent"
    assert missing(r["n"])


def test_waiting_time_is_weighted_by_the_number_of_visitors(con, load):
    # attente_guichet: 10 min for 900 visitors, 40 min for 100:
    # (10 × 900 + 40 × 100) / 1 000 = 13 min → argent (≤ 20, > 10); the naive mean 25 min is only bronze.
    load([line("S1", "attente_guichet", "2025-01-01", "2025-01-31", "10", "", "", "900"),
          line("S1", "attente_guichet", "2025-02-01", "2025-02-28", "40", "", "", "100")])
    r = ind(assess(con), "S1", "attente_guichet")
    assert r["value"] == pytest.approx(13)
    assert r["value_method"] == "moyenne_ponderee"
    assert r["level"] == "argent"
    assert r["n"] == 1000


def test_waiting_time_with_a_month_without_visitors_count_is_the_plain_mean(con, load):
    # February has no effectif: not every observation is weighted → (10 + 40) / 2 = 25 min → bronze (≤ 30).
    load([line("S1", "attente_guichet", "2025-01-01", "2025-01-31", "10", "", "", "900"),
          line("S1", "attente_guichet", "2025-02-01", "2025-02-28", "40")])
    r = ind(assess(con), "S1", "attente_guichet")
    assert r["value"] == pytest.approx(25)
    assert r["value_method"] == "moyenne_simple"
    assert r["level"] == "bronze"
    assert missing(r["n"])


@pytest.mark.parametrize("answer, level, status", [
    ("oui", "or", "conforme"), ("1", "or", "conforme"),
    ("non", "aucun", "non_conforme"), ("0", "aucun", "non_conforme"),
])
def test_published_results_yes_no(con, load, answer, level, status):
    # publication_resultats: oui = 1 meets bronze = argent = or = 1; non = 0 meets none.
    load([line("S1", "publication_resultats", "2025-06-01", "2025-06-30", answer)])
    r = ind(assess(con), "S1", "publication_resultats")
    assert (r["level"], r["status"], r["value_method"]) == (level, status, "derniere_valeur")


def test_published_results_take_the_most_recent_answer_not_the_mean(con, load):
    # oui in March, non in November 2025: the latest (non) holds → aucun, not the mean 0,5.
    load([line("S1", "publication_resultats", "2025-03-01", "2025-03-31", "oui"),
          line("S1", "publication_resultats", "2025-11-01", "2025-11-30", "non")])
    r = ind(assess(con), "S1", "publication_resultats")
    assert r["value"] == 0 and r["level"] == "aucun"


# --- Level of an indicator: direction and thresholds ------------------------------------------------------


def test_email_delay_levels_lower_is_better(con, load):
    # delai_courriels thresholds: or ≤ 2, argent ≤ 3, bronze ≤ 5 (Marianne rule), above 5 → aucun.
    cases = {"A": ("2", "or"), "B": ("3", "argent"), "C": ("5", "bronze"), "D": ("5,01", "aucun"),
             "E": ("1", "or"), "F": ("4", "bronze"), "G": ("2,5", "argent")}
    load([line(code, "delai_courriels", "2025-01-01", "2025-01-31", value) for code, (value, _) in cases.items()])
    a = assess(con)
    assert {code: ind(a, code, "delai_courriels")["level"] for code in cases} == {
        code: level for code, (_, level) in cases.items()}
    assert ind(a, "D", "delai_courriels")["status"] == "non_conforme"


def test_threshold_itself_counts_as_met_in_both_directions(con, load):
    # decroche 8 500 / 10 000 = 85,0 % exactly → argent (≥ 85); 8 499 / 10 000 = 84,99 % → bronze.
    # delai_courriers 15 jours exactly → bronze (≤ 15); 15,01 → aucun; 10 → argent; 7 → or.
    load([line("R85", "decroche", "2025-01-01", "2025-01-31", "85", "8500", "10000"),
          line("R8499", "decroche", "2025-01-01", "2025-01-31", "84,99", "8499", "10000"),
          line("V85", "decroche", "2025-01-01", "2025-01-31", "85,0"),
          line("D15", "delai_courriers", "2025-01-01", "2025-01-31", "15"),
          line("D1501", "delai_courriers", "2025-01-01", "2025-01-31", "15,01"),
          line("D10", "delai_courriers", "2025-01-01", "2025-01-31", "10"),
          line("D7", "delai_courriers", "2025-01-01", "2025-01-31", "7")])
    a = assess(con)
    assert ind(a, "R85", "decroche")["level"] == "argent"
    assert ind(a, "R8499", "decroche")["level"] == "bronze"
    assert ind(a, "V85", "decroche")["level"] == "argent"
    assert [ind(a, c, "delai_courriers")["level"] for c in ("D15", "D1501", "D10", "D7")] == [
        "bronze", "aucun", "argent", "or"]


def test_mean_exactly_at_the_threshold_counts_as_met(con, load):
    # (4,2 + 5,4 + 5,4) / 3 = 15 / 3 = 5 jours → bronze (≤ 5);
    # (84,1 + 84,3 + 86,6) / 3 = 255 / 3 = 85 % → argent (≥ 85).
    # In floating point DuckDB gives 5,000000000000001 and 84,99999999999999: shown « 5,0 » and « 85,0 % »,
    # they must not fall to aucun / bronze with « 0,0 … pour bronze / argent » (regression guard).
    months = [("2025-01-01", "2025-01-31"), ("2025-02-01", "2025-02-28"), ("2025-03-01", "2025-03-31")]
    load([line("S1", "delai_courriels", s, e, v) for (s, e), v in zip(months, ("4,2", "5,4", "5,4"))]
         + [line("S1", "decroche", s, e, v) for (s, e), v in zip(months, ("84,1", "84,3", "86,6"))])
    a = assess(con)
    assert ind(a, "S1", "delai_courriels")["level"] == "bronze"
    assert ind(a, "S1", "decroche")["level"] == "argent"
    assert ind(a, "S1", "decroche")["next_level"] == "or"


# --- Statuses: missing, insufficient sample, unknown sample -----------------------------------------------


def test_structure_with_every_indicator_at_or_is_or_with_nothing_blocking(con, load):
    load(gold_rows("S1"))
    a = assess(con)
    s = struct(a, "S1")
    assert s["level"] == "or" and s["blocking"] == []
    assert set(a.indicators["level"]) == {"or"}
    assert a.indicators["gap_to_next"].isna().all()  # nothing above « or »


def test_missing_indicator_is_manquant_and_blocks_the_structure_at_aucun(con, load):
    # Seven indicators at « or », no waiting-time value at all in 2025.
    load(gold_rows("S1", without=("attente_guichet",)))
    a = assess(con)
    r = ind(a, "S1", "attente_guichet")
    assert (r["status"], r["level"], r["n_obs"]) == ("manquant", "aucun", 0)
    assert missing(r["value"]) and missing(r["gap_to_next"])
    s = struct(a, "S1")
    assert s["level"] == "aucun"
    assert s["blocking"] == ["attente_guichet"]
    assert reports.gap_sentence(r) == "aucune donnée sur la période"


def test_satisfaction_from_too_few_answers_is_insufficient_and_blocks(con, load):
    # satisfaction_globale: 74 satisfied of 80 answers (effectif 80) = 92,5 % would be « or », but
    # n = 80 < min 100 → « echantillon_insuffisant », level aucun; the structure drops to aucun.
    load(gold_rows("S1", without=("satisfaction_globale",))
         + [line("S1", "satisfaction_globale", *Q4, "92,5", "74", "80", "80")])
    a = assess(con)
    r = ind(a, "S1", "satisfaction_globale")
    assert r["n"] == 80
    assert (r["status"], r["level"]) == ("echantillon_insuffisant", "aucun")
    assert missing(r["gap_to_next"])
    assert reports.gap_sentence(r) == "échantillon insuffisant (80 sur 100)"
    s = struct(a, "S1")
    assert s["level"] == "aucun" and s["blocking"] == ["satisfaction_globale"]
    assert engagement_statuses(a, "S1")[7] == "incomplet"


def test_sample_size_is_the_sum_of_denominators_when_no_effectif(con, load):
    # demarches_en_ligne_8 (min 100 reviews): 85 of 99 reviews → n = Σden = 99 < 100 → insufficient;
    # 85 of 100 → n = 100, the minimum itself is enough → 85 % ≥ 80 → or.
    load([line("N99", "demarches_en_ligne_8", "2025-01-01", "2025-03-31", "", "85", "99"),
          line("N100", "demarches_en_ligne_8", "2025-01-01", "2025-03-31", "", "85", "100")])
    a = assess(con)
    assert (ind(a, "N99", "demarches_en_ligne_8")["n"], ind(a, "N99", "demarches_en_ligne_8")["status"]) == (
        99, "echantillon_insuffisant")
    r = ind(a, "N100", "demarches_en_ligne_8")
    assert (r["n"], r["status"], r["level"]) == (100, "conforme", "or")


def test_unknown_sample_size_is_flagged_not_penalised(con, load):
    # satisfaction_globale 92 % with neither effectif nor denominator: n unknown → judged on its value
    # (92 ≥ 90 → or), flagged n_unknown; the structure stays at « or ».
    load(gold_rows("S1", without=("satisfaction_globale",))
         + [line("S1", "satisfaction_globale", *Q4, "92")])
    a = assess(con)
    r = ind(a, "S1", "satisfaction_globale")
    assert missing(r["n"]) and bool(r["n_unknown"]) is True
    assert (r["status"], r["level"]) == ("conforme", "or")
    assert struct(a, "S1")["level"] == "or"
    # A known n is not flagged.
    assert bool(ind(a, "S1", "demarches_en_ligne_8")["n_unknown"]) is False


# --- Windows ----------------------------------------------------------------------------------------------


def test_blocking_indicator_changes_between_2024_and_2025(con, load):
    # 2024: decroche 820/1000 = 82 % → bronze, every other indicator at or → blocking [decroche], bronze.
    # 2025: decroche back to 95 %, delai_courriers 12 jours → bronze (≤ 15, > 10) → blocking [delai_courriers].
    load(gold_rows("S1", 2024, without=("decroche",))
         + [line("S1", "decroche", "2024-10-01", "2024-12-31", "82", "820", "1000")]
         + gold_rows("S1", 2025, without=("delai_courriers",))
         + [line("S1", "delai_courriers", *Q4, "12", "", "", "100")])
    s2024, s2025 = struct(assess(con, "2024"), "S1"), struct(assess(con, "2025"), "S1")
    assert (s2024["level"], s2024["blocking"]) == ("bronze", ["decroche"])
    assert (s2025["level"], s2025["blocking"]) == ("bronze", ["delai_courriers"])


def test_a_value_counts_only_when_its_whole_period_lies_inside_the_window(con, load):
    # delai_courriers values (plain means, no volumes):
    #   Q1 2025 = 20, March 2025 = 4, April = 6, May = 8, June = 10, Q2 2025 = 12, July = 30,
    #   and 1 Dec 2024 – 31 Jan 2025 = 100 (straddles two years: in no yearly window).
    load([line("S1", "delai_courriers", "2025-01-01", "2025-03-31", "20"),
          line("S1", "delai_courriers", "2025-03-01", "2025-03-31", "4"),
          line("S1", "delai_courriers", "2025-04-01", "2025-04-30", "6"),
          line("S1", "delai_courriers", "2025-05-01", "2025-05-31", "8"),
          line("S1", "delai_courriers", "2025-06-01", "2025-06-30", "10"),
          line("S1", "delai_courriers", "2025-04-01", "2025-06-30", "12"),
          line("S1", "delai_courriers", "2025-07-01", "2025-07-31", "30"),
          line("S1", "delai_courriers", "2024-12-01", "2025-01-31", "100")])
    expected = {
        "2025-03": (1, 4, "or"),            # the Q1 value is not inside March: only 4 → or (≤ 7)
        "2025-T1": (2, 12, "bronze"),       # (20 + 4) / 2 = 12 → bronze (≤ 15)
        "2025-T2": (4, 9, "argent"),        # (6 + 8 + 10 + 12) / 4 = 9 → argent (≤ 10)
        "2025": (7, 90 / 7, "bronze"),      # (20 + 4 + 6 + 8 + 10 + 12 + 30) / 7 = 12,857… → bronze
    }
    for window, (n_obs, value, level) in expected.items():
        r = ind(assess(con, window), "S1", "delai_courriers")
        assert (r["n_obs"], r["level"]) == (n_obs, level), window
        assert r["value"] == pytest.approx(value), window
    assert ind(assess(con, "2024"), "S1", "delai_courriers")["status"] == "manquant"


def test_windows_cover_the_calendar_periods_asked(con):
    cases = {"2025": (date(2025, 1, 1), date(2025, 12, 31)), "2025-T2": (date(2025, 4, 1), date(2025, 6, 30)),
             "2025-03": (date(2025, 3, 1), date(2025, 3, 31)), "2024-02": (date(2024, 2, 1), date(2024, 2, 29))}
    for text, (start, end) in cases.items():
        window = compliance.resolve_window(con, text)
        assert (window.start, window.end, window.text) == (start, end, text)


def test_rolling_window_is_the_twelve_months_up_to_the_latest_data(con, load):
    # Latest data: March 2026 → 12m = 1 April 2025 – 31 March 2026. The March 2025 value (50 %) is one
    # month too old; April 2025 (95 %) and March 2026 (95 %) count → 95 % → or.
    load([line("S1", "decroche", "2025-03-01", "2025-03-31", "50"),
          line("S1", "decroche", "2025-04-01", "2025-04-30", "95"),
          line("S1", "decroche", "2026-03-01", "2026-03-31", "95")])
    for text in ("12m", None):
        window = compliance.resolve_window(con, text)
        assert (window.start, window.end) == (date(2025, 4, 1), date(2026, 3, 31))
        assert window.label == "12 mois glissants (04/2025 – 03/2026)"
    r = ind(compliance.assess(con, compliance.resolve_window(con, "12m"), rights.COMMAND_LINE, today=TODAY),
            "S1", "decroche")
    assert (r["n_obs"], r["value"], r["level"]) == (2, 95, "or")


def test_default_window_is_the_setting_and_a_wrong_one_is_refused_in_french(con, monkeypatch):
    monkeypatch.setenv("INDICATEURS_FENETRE_DEFAUT", "2025-T2")
    settings.check_all()
    window = compliance.resolve_window(con, None)
    assert (window.text, window.start, window.end) == ("2025-T2", date(2025, 4, 1), date(2025, 6, 30))
    for wrong, reason in (("2025-T5", "Période non reconnue : « 2025-T5 »"), ("3000", "Année impossible")):
        monkeypatch.setenv("INDICATEURS_FENETRE_DEFAUT", wrong)
        with pytest.raises(settings.SettingError, match=f"Réglage INDICATEURS_FENETRE_DEFAUT invalide : {reason}"):
            settings.check_all()


def test_a_window_nobody_can_read_is_refused_in_french(con):
    expected = "attendu : 2025, 2025-T2, 2025-03 ou 12m"
    for text, message in (("2025-13", f"Période non reconnue : « 2025-13 » ({expected})."),
                          ("12 mois", "Période non reconnue : « 12 mois »"),
                          ("1850", "Année impossible : « 1850 »")):
        with pytest.raises(periods.WindowError, match=re.escape(message)):
            compliance.resolve_window(con, text)


def test_publication_counts_for_the_twelve_months_before_the_window_end(con, load):
    # Window March 2025 ends 31/03/2025; « published less than 12 months ago » looks back to 31/03/2024
    # (excluded). P1: published in June 2024 → or. P2: only a publication ending 31/03/2024 → manquant.
    # P3: « non » in January 2025, then « oui » in May 2025 (after the window): the latest in range is « non ».
    load([line("P1", "publication_resultats", "2024-06-01", "2024-06-30", "oui"),
          line("P2", "publication_resultats", "2024-03-01", "2024-03-31", "oui"),
          line("P3", "publication_resultats", "2025-01-01", "2025-01-31", "non"),
          line("P3", "publication_resultats", "2025-05-01", "2025-05-31", "oui")])
    a = assess(con, "2025-03")
    assert ind(a, "P1", "publication_resultats")["level"] == "or"
    assert ind(a, "P2", "publication_resultats")["status"] == "manquant"
    assert ind(a, "P3", "publication_resultats")["level"] == "aucun"


# --- Distance to the next level ---------------------------------------------------------------------------


def test_gap_in_answered_calls_is_rounded_up(con, load):
    # S1: 8 449 of 10 000 calls = 84,49 % → bronze;
    #     argent needs ⌈0,85 × 10 000 − 8 449⌉ = ⌈8 500 − 8 449⌉ = 51.
    # S2: 7 001 of 8 333 calls = 84,01 % → bronze;
    #     0,85 × 8 333 = 7 083,05 → ⌈7 083,05 − 7 001⌉ = ⌈82,05⌉ = 83
    # (rounded up: 82 more calls would give 7 083 / 8 333 = 84,9994 %, still short of 85 %).
    load([line("S1", "decroche", "2025-01-01", "2025-12-31", "", "8449", "10000"),
          line("S2", "decroche", "2025-01-01", "2025-12-31", "", "7001", "8333")])
    a = assess(con)
    r = ind(a, "S1", "decroche")
    assert r["value"] == pytest.approx(84.49) and r["level"] == "bronze"
    assert (r["gap_to_next"], r["gap_unit"], r["next_level"]) == (51, "numerateur", "argent")
    assert reports.gap_sentence(r) == "51 appels décrochés de plus pour argent"
    assert ind(a, "S2", "decroche")["gap_to_next"] == 83


def test_gap_that_is_a_whole_number_is_not_rounded_one_more(con, load):
    # decroche 8 400 / 10 000 = 84 % → argent needs 0,85 × 10 000 − 8 400 = 100 exactly (not 101).
    # demarches_en_ligne_8 115 / 170 = 67,6 % → bronze; argent needs 0,70 × 170 − 115 = 119 − 115 = 4
    # (0.7 × 170 is 118.99999999999999 in floating point: still 4).
    # At argent exactly: 8 500 / 10 000 → or needs 0,90 × 10 000 − 8 500 = 500.
    load([line("S1", "decroche", "2025-01-01", "2025-12-31", "", "8400", "10000"),
          line("S1", "demarches_en_ligne_8", "2025-01-01", "2025-12-31", "", "115", "170"),
          line("S2", "decroche", "2025-01-01", "2025-12-31", "", "8500", "10000")])
    a = assess(con)
    assert ind(a, "S1", "decroche")["gap_to_next"] == 100
    r = ind(a, "S1", "demarches_en_ligne_8")
    assert (r["level"], r["gap_to_next"], r["next_level"]) == ("bronze", 4, "argent")
    r = ind(a, "S2", "decroche")
    assert (r["level"], r["gap_to_next"], r["next_level"]) == ("argent", 500, "or")


def test_gap_for_delays_and_waits_is_in_their_unit(con, load):
    # delai_courriers 12 jours → bronze; argent is ≤ 10 → 12 − 10 = 2 jours ouvrés de moins.
    # attente_guichet 21,6 min → bronze; argent ≤ 20 → 1,6 minutes de moins.
    # delai_courriels 6 jours → aucun; bronze ≤ 5 → 1 jour de moins.
    load([line("S1", "delai_courriers", "2025-01-01", "2025-01-31", "12"),
          line("S1", "attente_guichet", "2025-01-01", "2025-01-31", "21,6"),
          line("S1", "delai_courriels", "2025-01-01", "2025-01-31", "6")])
    a = assess(con)
    r = ind(a, "S1", "delai_courriers")
    assert (r["gap_to_next"], r["gap_unit"], r["next_level"]) == (2, "jours ouvrés", "argent")
    assert reports.gap_sentence(r) == "2,0 jours ouvrés de moins pour argent"
    r = ind(a, "S1", "attente_guichet")
    assert r["gap_to_next"] == pytest.approx(1.6) and r["gap_unit"] == "minutes"
    assert reports.gap_sentence(r) == "1,6 minute de moins pour argent"  # singular below 2
    r = ind(a, "S1", "delai_courriels")
    assert (r["level"], r["gap_to_next"], r["next_level"]) == ("aucun", 1, "bronze")


def test_gap_for_a_rate_without_counts_is_in_points(con, load):
    # decroche 84,49 % given as a value only: argent needs 85 − 84,49 = 0,51 point.
    load([line("S1", "decroche", "2025-01-01", "2025-01-31", "84,49")])
    r = ind(assess(con), "S1", "decroche")
    assert r["gap_unit"] == "%" and r["gap_to_next"] == pytest.approx(0.51)
    assert reports.gap_sentence(r) == "0,5 point de plus pour argent"  # singular below 2


# --- Freshness ----------------------------------------------------------------------------------------------


def freshness_on(con, structures: list[str], indicator: str, today: date) -> dict[str, tuple[str, float | None]]:
    a = assess(con, "2026", today=today)
    out = {}
    for code in structures:
        r = ind(a, code, indicator)
        out[code] = (r["freshness"], None if missing(r["overdue_periods"]) else int(r["overdue_periods"]))
    return out


def test_monthly_data_is_due_by_the_end_of_the_next_month(con, load):
    # decroche is monthly. Last month received: M10 October 2026, M09 September, M08 August, M06 June;
    # NONE has no decroche value at all (only a waiting time).
    load([line("M10", "decroche", "2026-10-01", "2026-10-31", "95"),
          line("M09", "decroche", "2026-09-01", "2026-09-30", "95"),
          line("M08", "decroche", "2026-08-01", "2026-08-31", "95"),
          line("M06", "decroche", "2026-06-01", "2026-06-30", "95"),
          line("NONE", "attente_guichet", "2026-09-01", "2026-09-30", "8")])
    codes = ["M10", "M09", "M08", "M06", "NONE"]
    # 27/11/2026: October is due only by 30/11, September was due by 31/10 → data up to September is enough;
    # August → September overdue (1); June → July, August, September overdue (3).
    assert freshness_on(con, codes, "decroche", date(2026, 11, 27)) == {
        "M10": ("a_jour", 0), "M09": ("a_jour", 0), "M08": ("en_retard", 1), "M06": ("en_retard", 3),
        "NONE": ("manquant", None)}
    # 30/11/2026 is the last day October may still be missing; on 01/12/2026 it is overdue.
    assert freshness_on(con, ["M09"], "decroche", date(2026, 11, 30)) == {"M09": ("a_jour", 0)}
    assert freshness_on(con, ["M09"], "decroche", date(2026, 12, 1)) == {"M09": ("en_retard", 1)}
    # Data up to October: à jour through 31/12/2026 (November due by then), late from 01/01/2027.
    assert freshness_on(con, ["M10"], "decroche", date(2026, 12, 31)) == {"M10": ("a_jour", 0)}
    assert freshness_on(con, ["M10"], "decroche", date(2027, 1, 1)) == {"M10": ("en_retard", 1)}


def test_yearly_data_is_due_by_the_end_of_the_next_year(con, load):
    # publication_resultats is yearly: 2025's data is due by 31/12/2026, so on 27/11/2026 data covering
    # 2024 is enough; data ending in 2023 is one year late.
    load([line("Y2024", "publication_resultats", "2024-01-01", "2024-12-31", "oui"),
          line("Y2023", "publication_resultats", "2023-01-01", "2023-12-31", "oui"),
          line("Y2025", "publication_resultats", "2025-06-01", "2025-06-30", "oui")])
    codes = ["Y2024", "Y2023", "Y2025"]
    assert freshness_on(con, codes, "publication_resultats", date(2026, 11, 27)) == {
        "Y2024": ("a_jour", 0), "Y2023": ("en_retard", 1), "Y2025": ("a_jour", 0)}
    assert freshness_on(con, ["Y2024"], "publication_resultats", date(2026, 12, 31)) == {"Y2024": ("a_jour", 0)}
    assert freshness_on(con, ["Y2024"], "publication_resultats", date(2027, 1, 1)) == {"Y2024": ("en_retard", 1)}


def test_freshness_is_reported_per_indicator_from_all_data_received(con, load):
    # Today 27/11/2026. decroche (monthly) up to September 2026 → à jour; delai_courriels (monthly) up to
    # August 2026 → en retard (1 month); publication_resultats (yearly) for 2024 → à jour, for another
    # structure 2023 → en retard; satisfaction_globale (quarterly) up to Q1 2026: Q2 was due by 30/09 → en retard.
    load([line("S1", "decroche", "2026-09-01", "2026-09-30", "95"),
          line("S1", "delai_courriels", "2026-08-01", "2026-08-31", "2"),
          line("S1", "publication_resultats", "2024-01-01", "2024-12-31", "oui"),
          line("S1", "satisfaction_globale", "2026-01-01", "2026-03-31", "92", "184", "200"),
          line("S2", "publication_resultats", "2023-01-01", "2023-12-31", "oui")])
    a = assess(con, "2026", today=TODAY)
    got = {code: ind(a, "S1", code)["freshness"] for code in
           ("decroche", "delai_courriels", "publication_resultats", "satisfaction_globale", "attente_guichet")}
    assert got == {"decroche": "a_jour", "delai_courriels": "en_retard", "publication_resultats": "a_jour",
                   "satisfaction_globale": "en_retard", "attente_guichet": "manquant"}
    assert ind(a, "S2", "publication_resultats")["freshness"] == "en_retard"
    late = struct(a, "S1")["late_indicators"]
    assert "delai_courriels" in late and "decroche" not in late and "publication_resultats" not in late


# --- Engagements ---------------------------------------------------------------------------------------------


def test_engagement_statuses(con, load):
    # S1: no waiting time (eng. 1 → incomplet), delai_courriers 20 jours > 15 → aucun (eng. 4 → non conforme),
    #     decroche at or (eng. 2 → conforme). Engagements 3 and 8 have no indicator in the référentiel.
    # S2: engagement 4 with delai_courriels missing AND delai_courriers at aucun → incomplet (missing wins).
    load(gold_rows("S1", without=("attente_guichet", "delai_courriers"))
         + [line("S1", "delai_courriers", *Q4, "20")]
         + gold_rows("S2", without=("delai_courriels", "delai_courriers"))
         + [line("S2", "delai_courriers", *Q4, "20")])
    a = assess(con)
    assert engagement_statuses(a, "S1") == {1: "incomplet", 2: "conforme", 3: "sans_indicateur", 4: "non_conforme",
                                            5: "conforme", 6: "conforme", 7: "conforme", 8: "sans_indicateur"}
    assert engagement_statuses(a, "S2")[4] == "incomplet"
    # The structure's level is the lowest: S1 has two indicators at aucun, both blocking.
    assert sorted(struct(a, "S1")["blocking"]) == ["attente_guichet", "delai_courriers"]


# --- Confidence interval --------------------------------------------------------------------------------------


def test_wilson_interval_is_shown_beside_satisfaction_and_does_not_change_the_level(con, load):
    # 80 satisfied of 100 (n = 100): Wilson 95 % with z = 1,96:
    #   centre = (0,8 + z²/200) / (1 + z²/100) = 0,81921 / 1,03841 = 0,78891
    #   half   = z × √(0,8 × 0,2 / 100 + z²/40 000) / 1,03841 = 1,96 × 0,041183 / 1,03841 = 0,07773
    #   → [71,1 %, 86,7 %]. The level stays bronze (80 ≥ 75, < 85) although 86,7 > 85.
    load([line("S1", "satisfaction_globale", "2025-01-01", "2025-03-31", "80", "80", "100", "100"),
          line("S1", "decroche", "2025-01-01", "2025-01-31", "80", "80", "100")])
    a = assess(con)
    r = ind(a, "S1", "satisfaction_globale")
    assert r["wilson_low"] == pytest.approx(71.1, abs=0.05)
    assert r["wilson_high"] == pytest.approx(86.7, abs=0.05)
    assert r["level"] == "bronze"
    assert missing(ind(a, "S1", "decroche")["wilson_low"])  # no minimum sample: no interval
    indicator = next(i for i in structure_json(a, "S1")["indicators"]
                     if i["code"] == "satisfaction_globale")
    assert indicator["wilson_95"] == [pytest.approx(71.1, abs=0.05), pytest.approx(86.7, abs=0.05)]


# --- Awarded label versus computed level ------------------------------------------------------------------------


def test_awarded_label_expires_after_three_years_and_is_supported_only_by_a_level_as_high(con, load, load_register):
    # All four registered; L-OR computes or, L-ARG computes argent, L-BRZ computes bronze, NOLAB has no label.
    load_register(["L-OR;Mairie A;Communes;argent;2024-03-15",
                   "L-ARG;Mairie B;Communes;argent;2024-03-15",
                   "L-BRZ;Mairie C;Communes;argent;2024-03-15",
                   "NOLAB;Mairie D;Communes;;"])
    load(gold_rows("L-OR")
         + gold_rows("L-ARG", without=("decroche",)) + [line("L-ARG", "decroche", *Q4, "", "870", "1000")]
         + gold_rows("L-BRZ", without=("decroche",)) + [line("L-BRZ", "decroche", *Q4, "", "820", "1000")]
         + gold_rows("NOLAB"))
    a = assess(con)
    # 870/1000 = 87 % → argent; 820/1000 = 82 % → bronze.
    assert [struct(a, c)["level"] for c in ("L-OR", "L-ARG", "L-BRZ", "NOLAB")] == ["or", "argent", "bronze", "or"]
    labels = {c: structure_json(a, c)["label"] for c in ("L-OR", "L-ARG", "L-BRZ", "NOLAB")}
    assert labels["L-OR"]["level"] == "argent"
    assert labels["L-OR"]["awarded_on"] == "2024-03-15"
    assert labels["L-OR"]["expires_on"] == "2027-03-15"  # 15/03/2024 + 3 years
    assert [labels[c]["supported"] for c in ("L-OR", "L-ARG", "L-BRZ")] == [True, True, False]
    assert labels["NOLAB"] is None
    assert labels["L-OR"]["expired"] is False
    # Valid through its last day, expired the day after.
    assert structure_json(assess(con, today=date(2027, 3, 15)), "L-OR")["label"]["expired"] is False
    assert structure_json(assess(con, today=date(2027, 3, 16)), "L-OR")["label"]["expired"] is True


def test_summary_counts_levels_per_network_quartiles_engagements_and_late_senders(con, load):
    # A and B (network N1) at « or »; C (N2) at « or » except decroche 70 % → aucun; D (N2) sends nothing
    # in 2025 but for decroche in 2024: late, and missing everywhere else.
    load([*gold_rows("A", network="N1"), *gold_rows("B", network="N1"),
          *gold_rows("C", network="N2", without=("decroche",)),
          line("C", "decroche", "2025-10-01", "2025-12-31", "70", "700", "1000", network="N2"),
          line("D", "decroche", "2024-10-01", "2024-12-31", "95", "950", "1000", network="N2")])
    today = date(2026, 11, 27)
    a = assess(con, "2025", today=today)
    n1, n2, everyone = (views.comparison(a, today, network) for network in ("N1", "N2", None))
    assert n1.counts["or"] == 2 and n2.counts["aucun"] == 2
    assert len(everyone.ranking) == 4
    # decroche over A, B, C: 95, 95, 70 → median 95, first quartile 82,5.
    q1, median, _ = views.distribution(a, "decroche").quartiles
    assert median == pytest.approx(95)
    assert q1 == pytest.approx(82.5)
    # Engagement 2 (decroche): N1 2/2 conforme = 100 %, N2 0/2 (C below, D missing) = 0 %.
    assert n1.engagement_matrix[2].mean() == 100 and n2.engagement_matrix[2].mean() == 0
    assert set(everyone.late["Code"]) >= {"D"}


def test_distribution_says_the_median_the_middle_half_and_the_levels_of_the_judged_values(con, load):
    # decroche: A 95 %, B 95 %, C 70 % judged; D sends nothing (manquant, left out).
    # Quartiles of 70, 95, 95: q1 = 70 + 0,5 × 25 = 82,5, median 95, q3 95.
    load([*gold_rows("A"), *gold_rows("B"), line("C", "decroche", *Q4, "70", "700", "1000"),
          line("D", "satisfaction_globale", *Q4, "90", "90", "100", "100")])
    spread = views.distribution(assess(con), "decroche")
    percent = functools.partial(format_value, unit="%")  # the one French number format
    assert spread.quartiles == pytest.approx((82.5, 95, 95))
    assert spread.sentence == (f"{spread.rule['label']} : médiane {percent(95)}, la moitié des 3 structures "
                               f"entre {percent(82.5)} et {percent(95)} ; 2 atteignent au moins bronze.")
    assert spread.by_level.loc["or", "Structures"] == "2" and spread.by_level.loc["aucun", "Maximum"] == percent(70)
    nothing = views.distribution(assess(con, "2024"), "decroche")
    assert nothing.values.empty and nothing.sentence == ""


def test_kpi_cards_show_the_change_since_the_window_just_before(con, load):
    # decroche: 90 % over 2025-T3, 95 % over 2025-T4 → +5 points; delai_courriers only in T4 → no change.
    load([line("S1", "decroche", "2025-07-01", "2025-09-30", "", "900", "1000"),
          line("S1", "decroche", *Q4, "", "950", "1000"),
          line("S1", "delai_courriers", *Q4, "5", "", "", "40")])
    window = compliance.resolve_window(con, "2025-T4")
    now = compliance.assess(con, window, rights.COMMAND_LINE, today=TODAY)
    before = compliance.assess(con, window.previous(), rights.COMMAND_LINE, structure="S1", today=TODAY)
    cards = {card.row["indicator_code"]: card.change for card in views.kpi_cards(now, before, "S1")}
    assert cards["decroche"] == pytest.approx(5)
    assert cards["delai_courriers"] is None
