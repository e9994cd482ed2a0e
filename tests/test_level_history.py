"""The level history (indicators/history.py): the level of every structure over the rolling 12 months ending each
month, checked month by month against the engine itself (compliance.assess on that month's window), on hand-computed
cases (the arithmetic beside each expected month), in French, and within the person's scope.

Values go through the real importer (canonical CSV → ``python -m indicators import``) into a real DuckDB file.
Thresholds are those of the default référentiel 2023 (indicators/referentiel/2023.toml)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import chain

import pytest

from helpers import GOLD, canonical
from indicators import compliance, db, grants, history, periods, rights
from indicators.demo import load_demo

TODAY = date(2026, 11, 27)
MONTHLY = ("attente_guichet", "decroche", "delai_courriels", "delai_courriers", "delais_annonces")
QUARTERLY = ("demarches_en_ligne_8", "satisfaction_globale")


def line(code: str, indicator: str, start: date, end: date, values: tuple[str, ...], network: str) -> str:
    return f"{code};Structure {code};{network};{indicator};{start};{end};{';'.join(values)}"


def months_of(first: date, last: date) -> list[tuple[date, date]]:
    """(first day, last day) of each month from the month of ``first`` to that of ``last``."""
    starts = [periods.add_months(first, k) for k in range(periods.months_between(first, last))]
    return [(start, periods.month_end(start.year, start.month)) for start in starts]


def gold_structure(code: str, network: str, years: tuple[int, ...] = (2024, 2025), changed: dict | None = None,
                   without: tuple[str, ...] = ()) -> list[str]:
    """A structure at « or » on every indicator (tests/helpers.GOLD) each month, quarter and year of ``years``;
    ``changed``: indicator → {(year, month): values} for the months that differ."""
    changed = changed or {}
    first, last = date(years[0], 1, 1), date(years[-1], 12, 31)
    rows = []
    for start, end in months_of(first, last):
        rows += [line(code, ind, start, end, changed.get(ind, {}).get((start.year, start.month), GOLD[ind]), network)
                 for ind in MONTHLY if ind not in without]
    for start, _ in months_of(first, last)[::3]:
        end = periods.add_months(start, 3) - timedelta(days=1)
        rows += [line(code, ind, start, end, GOLD[ind], network) for ind in QUARTERLY if ind not in without]
    if "publication_resultats" not in without:
        rows += [line(code, "publication_resultats", date(y, 1, 1), date(y, 12, 31), GOLD["publication_resultats"],
                      network) for y in years]
    return rows


@pytest.fixture
def load(run_cli, tmp_path):
    """Import canonical rows through the command line; fails loudly on a refusal."""
    counter = iter(range(1000))

    def run(rows: list[str]) -> None:
        path = canonical(tmp_path / f"valeurs_{next(counter)}.csv", rows)
        code, out, err = run_cli("import", path)
        assert code == 0, out + err
    return run


def engine_levels(con, month: date, access=rights.COMMAND_LINE) -> dict[str, tuple[str, list[str]]]:
    """What the status says of each structure over the rolling window ending with ``month``."""
    summary = compliance.assess(con, periods.rolling_window(month), access, today=TODAY).structures
    return {code: (str(level), blocking) for code, level, blocking in
            zip(summary["code"], summary["level"], summary["blocking"])}


def history_levels(levels, month: date) -> dict[str, tuple[str, list[str]]]:
    rows = levels[levels["month"] == month]
    return {code: (str(level), list(blocking)) for code, level, blocking in
            zip(rows["structure_code"], rows["level"], rows["blocking"])}


def levels_of(levels, code: str) -> dict[date, str]:
    rows = levels[levels["structure_code"] == code]
    return dict(zip(rows["month"], rows["level"].astype(str)))


# --- The oracle: the engine, month by month ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [5, 23])
def test_every_month_of_the_history_is_what_the_engine_says_of_that_months_window(con, seed):
    load_demo(con, rights.COMMAND_LINE, 30, seed=seed, today=TODAY)
    levels = history.monthly_levels(con, rights.COMMAND_LINE)
    months = sorted(set(levels["month"]))
    # The 36 months up to the latest data (October 2026: November's is not complete on 27 November).
    assert len(months) == history.HISTORY_MONTHS and months[-1] == date(2026, 10, 31)
    assert months[0] == date(2023, 11, 30)
    assert len(levels) == 30 * 36
    for month in months:
        assert history_levels(levels, month) == engine_levels(con, month), month
    blocking = set(chain.from_iterable(levels["blocking"]))
    # Quarterly surveys (windows that cut a quarter leave it out) and the yearly publication decided some levels.
    assert {"demarches_en_ligne_8", "satisfaction_globale", "publication_resultats"} <= blocking
    assert set(levels["level"].astype(str)) == {"aucun", "bronze", "argent", "or"}


def test_a_yes_no_counts_for_the_12_months_after_its_period_ends_as_in_the_engine_29_february_included(con, load):
    # « Résultats publiés » given once: for S4, for February 2024 (ends 2024-02-29); for S5, for March 2024 (ends
    # 2024-03-31). The engine counts a yes/no whose period ends after « window end − 12 months » and by its end:
    # for the window ending 2025-02-28 that is after 2024-02-28 (DuckDB keeps the day), so 29 February still counts;
    # for the window ending 2025-03-31, after 2024-03-31: S5's no longer counts, nor S4's.
    rows = []
    for code, start, end in (("S4", date(2024, 2, 1), date(2024, 2, 29)), ("S5", date(2024, 3, 1), date(2024, 3, 31))):
        rows += gold_structure(code, "Réseau A", years=(2024,), without=("publication_resultats",))
        rows.append(line(code, "publication_resultats", start, end, GOLD["publication_resultats"], "Réseau A"))
    load(rows)
    levels = history.monthly_levels(con, rights.COMMAND_LINE, date(2025, 1, 1), date(2025, 4, 30))
    for month in (date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)):
        assert history_levels(levels, month) == engine_levels(con, month), month
    expected = {date(2025, 1, 31): "or", date(2025, 2, 28): "or", date(2025, 3, 31): "aucun",
                date(2025, 4, 30): "aucun"}
    assert levels_of(levels, "S4") == expected and levels_of(levels, "S5") == expected
    assert history_levels(levels, date(2025, 3, 31))["S5"] == ("aucun", ["publication_resultats"])


# --- Hand-computed: a rise and a loss ----------------------------------------------------------------------------

DECROCHE_84, DECROCHE_87 = ("84", "840", "1000", ""), ("87", "870", "1000", "")
COURRIELS_4 = ("4", "", "", "200")


@pytest.fixture
def rise_and_loss(con, load):
    """S1 (Réseau A): « taux de décroché » at 84 % (840 / 1 000 a month) up to February 2025, 87 % from March 2025;
    S2 (Réseau B): « délai de réponse aux courriels » at 1,5 day (200 mails a month) up to May 2025, 4 days from
    June 2025. Every other indicator at « or », January 2024 to December 2025."""
    s1 = {(y, m): DECROCHE_84 if (y, m) < (2025, 3) else DECROCHE_87 for y in (2024, 2025) for m in range(1, 13)}
    s2 = {(2025, m): COURRIELS_4 for m in range(6, 13)}
    load(gold_structure("S1", "Réseau A", changed={"decroche": s1})
         + gold_structure("S2", "Réseau B", changed={"delai_courriels": s2}))
    return history.monthly_levels(con, rights.COMMAND_LINE, date(2024, 12, 1), date(2025, 12, 31))


def test_a_structure_reaches_argent_the_month_its_rolling_answer_rate_reaches_85_percent(con, rise_and_loss):
    levels = rise_and_loss
    # With k months at 87 % among the 12: (840 × (12 − k) + 870 × k) / 12 000 = 84 % + k × 0,25 point.
    # May 2025, k = 3 (March–May): 10 170 / 12 000 = 84,75 % → bronze (80 ≤ v < 85).
    # June 2025, k = 4: 10 200 / 12 000 = 85,0 % → argent (the threshold itself counts as met).
    s1 = levels_of(levels, "S1")
    assert [s1[m] for m in sorted(s1)] == ["bronze"] * 6 + ["argent"] * 7  # December 2024 … December 2025
    assert s1[date(2025, 5, 31)] == "bronze" and s1[date(2025, 6, 30)] == "argent"
    assert history_levels(levels, date(2025, 5, 31))["S1"] == ("bronze", ["decroche"])
    for month in sorted(s1):
        assert history_levels(levels, month) == engine_levels(con, month), month
    rules = compliance.load_rules(con)[1]
    assert history.change_sentences(levels, "S1", rules) == ["argent depuis juin 2025"]


def test_a_structure_loses_or_the_month_its_rolling_mail_delay_passes_2_days_and_says_which_indicator(
        con, rise_and_loss):
    levels = rise_and_loss
    # With k months at 4 days among the 12 (200 mails each): (1,5 × (12 − k) + 4 × k) / 12 days.
    # July 2025, k = 2: 23 / 12 = 1,92 ≤ 2 → or; August 2025, k = 3: 25,5 / 12 = 2,125 → argent (≤ 3);
    # December 2025, k = 7: 35,5 / 12 = 2,96 → argent still.
    s2 = levels_of(levels, "S2")
    assert [s2[m] for m in sorted(s2)] == ["or"] * 8 + ["argent"] * 5
    assert history_levels(levels, date(2025, 8, 31))["S2"] == ("argent", ["delai_courriels"])
    rules = compliance.load_rules(con)[1]
    assert history.change_sentences(levels, "S2", rules) == [
        "argent depuis au moins décembre 2024", "or perdu en août 2025 : délai de réponse aux courriels"]


def test_level_changes_list_each_level_reached_and_lost_with_the_month_and_the_cause(rise_and_loss):
    changes = history.level_changes(rise_and_loss)
    said = [(c, m, level, change, tuple(b), start) for c, m, level, change, b, start in changes.itertuples(index=False)]
    december = date(2024, 12, 31)
    assert said == [
        ("S1", december, "bronze", "atteint", (), True),
        ("S1", date(2025, 6, 30), "argent", "atteint", (), False),
        ("S2", december, "bronze", "atteint", (), True),
        ("S2", december, "argent", "atteint", (), True),
        ("S2", december, "or", "atteint", (), True),
        ("S2", date(2025, 8, 31), "or", "perdu", ("delai_courriels",), False),
    ]


def test_network_counts_give_each_month_how_many_structures_stand_at_each_level(con, rise_and_loss):
    structures = db.query_df(con, "structures_for_status", {"structure": None, "codes": None})
    counts = history.network_counts(rise_and_loss, structures).set_index(["network", "month"])
    columns = ["aucun", "bronze", "argent", "or", "total"]
    # May 2025: S1 bronze, S2 or; July: S1 argent, S2 or; August: both argent.
    assert counts.loc[(history.WHOLE_SELECTION, date(2025, 5, 31)), columns].tolist() == [0, 1, 0, 1, 2]
    assert counts.loc[(history.WHOLE_SELECTION, date(2025, 7, 31)), columns].tolist() == [0, 0, 1, 1, 2]
    assert counts.loc[(history.WHOLE_SELECTION, date(2025, 8, 31)), columns].tolist() == [0, 0, 2, 0, 2]
    assert counts.loc[("Réseau A", date(2025, 7, 31)), columns].tolist() == [0, 0, 1, 0, 1]
    assert counts.loc[("Réseau B", date(2025, 7, 31)), columns].tolist() == [0, 0, 0, 1, 1]
    assert list(counts.index.get_level_values("network").unique()) == [history.WHOLE_SELECTION, "Réseau A",
                                                                      "Réseau B"]
    assert len(counts) == 3 * 13


# --- Rights, bad input, an empty base ----------------------------------------------------------------------------


def test_a_director_sees_the_history_of_their_own_structure_only(con, rise_and_loss):
    grants.grant(con, rights.COMMAND_LINE, email="claire.martin@caf.fr", role=rights.DIRECTOR, networks=(),
                 structures=("S1",))
    access = rights.for_person(con, rights.Person("Claire Martin", "claire.martin@caf.fr", "pc-claire"))
    levels = history.monthly_levels(con, access, date(2024, 12, 1), date(2025, 12, 31))
    assert set(levels["structure_code"]) == {"S1"}
    assert levels.reset_index(drop=True).equals(
        rise_and_loss[rise_and_loss["structure_code"] == "S1"].reset_index(drop=True))
    with pytest.raises(rights.AccessRefused, match="Structure inconnue : « S2 »"):
        history.monthly_levels(con, access, structure="S2")


def test_one_structure_history_ends_with_its_own_latest_data_by_default(con, rise_and_loss, load):
    # S3 sends nothing after June 2025: its history stops there, as its status window would.
    load([line("S3", "decroche", date(2025, 6, 1), date(2025, 6, 30), GOLD["decroche"], "Réseau A")])
    levels = history.monthly_levels(con, rights.COMMAND_LINE, structure="S3")
    assert set(levels["structure_code"]) == {"S3"}
    assert max(levels["month"]) == date(2025, 6, 30) and len(levels) == history.HISTORY_MONTHS
    assert set(levels["level"].astype(str)) == {"aucun"}


def test_a_reversed_or_too_long_history_is_refused_in_french(con, rise_and_loss):
    with pytest.raises(periods.WindowError, match="Le premier mois de l'historique \\(mars 2025\\) vient après le "
                                                  "dernier \\(janvier 2025\\)"):
        history.monthly_levels(con, rights.COMMAND_LINE, date(2025, 3, 1), date(2025, 1, 31))
    with pytest.raises(periods.WindowError, match="limité à 120 mois \\(121 demandés"):
        history.monthly_levels(con, rights.COMMAND_LINE, date(2015, 1, 1), date(2025, 1, 31))


def test_an_empty_base_has_an_empty_history(con):
    levels = history.monthly_levels(con, rights.COMMAND_LINE)
    assert levels.empty and list(levels.columns) == history.LEVEL_COLUMNS
    assert history.level_changes(levels).empty
    assert history.change_sentences(levels, "S1", compliance.load_rules(con)[1]) == []
    assert history.network_counts(levels, db.query_df(con, "structures_for_status", {"structure": None,
                                                                                     "codes": None})).empty


def test_a_structure_without_any_data_in_the_history_stands_at_no_level_blocked_by_every_indicator(con, load):
    load([line("S6", "decroche", date(2020, 1, 1), date(2020, 1, 31), GOLD["decroche"], "Réseau A")])
    levels = history.monthly_levels(con, rights.COMMAND_LINE, date(2025, 1, 1), date(2025, 2, 28))
    assert history_levels(levels, date(2025, 2, 28)) == engine_levels(con, date(2025, 2, 28))
    assert history_levels(levels, date(2025, 1, 31))["S6"] == ("aucun", sorted(GOLD))
