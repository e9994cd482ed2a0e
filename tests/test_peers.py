"""The anonymised peer view of a director (indicators.peers), on assessments of a real DuckDB file filled by the
command line's import: ranks and quartiles worked by hand, « baisse » indicators, the rule of at least 5 other
structures (for the group and for each indicator), the typology group, and no trace of another structure's code,
name, département or label date anywhere in what the view, the export tables and the page table hold."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pandas as pd
import pytest

from helpers import GOLD, canonical
from indicators import compliance, peers, rights
from indicators.demo import load_demo

TODAY = date(2026, 11, 27)
Q4 = ("2025-10-01", "2025-12-31")
AP, PT, CT = "Accueil physique", "Plateforme téléphonique", "Centre de traitement"
# code: (name, network, typologie, département, label level, label date). OWN is the director's structure.
REGISTER = {
    "OWN": ("Accueil du directeur", "CAF", AP, "14", "", ""),
    "PAIR-C1": ("Accueil confidentiel Alpha", "CAF", AP, "2A", "argent", "2024-03-15"),
    "PAIR-C2": ("Accueil confidentiel Bravo", "CAF", AP, "2B", "", ""),
    "PAIR-C3": ("Plateforme confidentielle Charlie", "CAF", PT, "971", "bronze", "2023-06-30"),
    "PAIR-C4": ("Plateforme confidentielle Delta", "CAF", PT, "972", "", ""),
    "PAIR-C5": ("Plateforme confidentielle Echo", "CAF", PT, "973", "", ""),
    "PAIR-U1": ("Urssaf confidentielle Foxtrot", "Urssaf", AP, "974", "", ""),
    "PAIR-U2": ("Urssaf confidentielle Golf", "Urssaf", AP, "976", "", ""),
    "PAIR-U3": ("Urssaf confidentielle Hotel", "Urssaf", AP, "988", "", ""),
    "OWN-PREF": ("Préfecture du directeur", "Préfectures", CT, "15", "", ""),
    "PAIR-F1": ("Préfecture confidentielle India", "Préfectures", CT, "2A", "", ""),
    "PAIR-F2": ("Préfecture confidentielle Juliett", "Préfectures", CT, "977", "", ""),
    "PAIR-F3": ("Préfecture confidentielle Kilo", "Préfectures", CT, "978", "", ""),
    "PAIR-F4": ("Préfecture confidentielle Lima", "Préfectures", CT, "986", "", ""),
}
FIFTH_PREFECTURE = {"PAIR-F5": ("Préfecture confidentielle Mike", "Préfectures", CT, "987", "", "")}
# Taux de décroché (‰ of 1 000 calls) and délai de réponse aux courriels (days) over Q4 2025; attente_guichet has
# only four CAF peers with a value.
DECROCHE = {"OWN": 850, "PAIR-C1": 800, "PAIR-C2": 900, "PAIR-C3": 850, "PAIR-C4": 700, "PAIR-C5": 950,
            "PAIR-U1": 600, "PAIR-U2": 990, "PAIR-U3": 750}
COURRIELS = {"OWN": "2", "PAIR-C1": "1", "PAIR-C2": "3", "PAIR-C3": "4", "PAIR-C4": "2,5", "PAIR-C5": "1,5"}
ATTENTE = {"OWN": "12", "PAIR-C1": "8", "PAIR-C2": "15", "PAIR-C3": "12", "PAIR-C4": "20"}


def register_file(path, register: dict):
    lines = ["code_structure;nom_structure;reseau;typologie;departement;niveau_label;date_label",
             *(";".join((code, *fields)) for code, fields in register.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def value_line(code: str, indicator: str, valeur="", num="", den="", eff="", register=REGISTER) -> str:
    name, network = register[code][:2]
    return f"{code};{name};{network};{indicator};{Q4[0]};{Q4[1]};{valeur};{num};{den};{eff}"


def gold_lines(code: str, register: dict, without: tuple[str, ...] = ()) -> list[str]:
    """Every indicator at « or » (tests/helpers.GOLD), except ``without``."""
    return [value_line(code, indicator, *values, register=register) for indicator, values in GOLD.items()
            if indicator not in without]


@pytest.fixture
def programme(run_cli, tmp_path, con):
    """The register above and its values, imported through the command line; returns a function giving the
    2025 assessment of every structure, the whole programme as the dashboard computes it before anonymising
    (imports may be added in between)."""
    def imported(path):
        code, out, err = run_cli("import", path)
        assert code == 0, out + err

    imported(register_file(tmp_path / "structures.csv", REGISTER))
    rows = [value_line(code, "decroche", "", str(num), "1000") for code, num in DECROCHE.items()]
    rows += [value_line(code, "delai_courriels", days, eff="50") for code, days in COURRIELS.items()]
    rows += [value_line(code, "attente_guichet", minutes, eff="100") for code, minutes in ATTENTE.items()]
    # Préfectures: the director's at argent (decroche 85 %, every other indicator at « or »), F1 and F2 at « or »,
    # F3 and F4 without values (aucun).
    rows += gold_lines("OWN-PREF", REGISTER, without=("decroche",))
    rows += [value_line("OWN-PREF", "decroche", "", "850", "1000")]
    rows += gold_lines("PAIR-F1", REGISTER) + gold_lines("PAIR-F2", REGISTER)
    imported(canonical(tmp_path / "valeurs.csv", rows))

    def assess():
        window = compliance.resolve_window(con, "2025")
        return compliance.assess(con, window, rights.WHOLE_PROGRAMME, today=TODAY)

    assess.imported = imported
    return assess


def row(position: peers.Position, indicator: str) -> dict:
    table = position.indicators
    return table[table["indicator_code"] == indicator].iloc[0].to_dict()


def only(view: peers.PeerView) -> peers.Position:
    assert len(view.positions) == 1
    return view.positions[0]


def strings_in(value):
    """Every text a value holds, down through dataclasses, tables (column names and cells), dicts and lists."""
    if dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            yield from strings_in(getattr(value, field.name))
    elif isinstance(value, pd.DataFrame):
        yield from map(str, value.columns)
        for column in value.columns:
            yield from map(str, value[column].tolist())
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings_in(item)
    else:
        yield str(value)


def test_rank_share_and_quartiles_among_the_network_worked_by_hand(programme):
    position = only(peers.peer_view(programme(), ["OWN"]))
    assert position.enough and position.peers == 5
    assert position.summary == "Comparée, sans les nommer, aux 5 autres structures du réseau CAF."
    # Every CAF structure lacks required indicators: all at « aucun », the level's rank shared by the six.
    assert position.level_sentence == ("Niveau calculé : aucun niveau, 1re ex aequo sur 6 structures du réseau CAF "
                                       "(or : 0, argent : 0, bronze : 0, aucun niveau : 6).")
    decroche = row(position, "decroche")
    # Own 85 %; the five CAF peers 80, 90, 85, 70, 95 %. Better: 90 and 95 → 3rd, tied with the other 85 %.
    # Outdone: 80 and 70, 2 of 5 peers = 40 %. Sorted 70 80 85 85 90 95, linear quartiles at (6 − 1) × q:
    # q1 at 1,25 → 80 + 0,25 × 5 = 81,25; median at 2,5 → 85; q3 at 3,75 → 85 + 0,75 × 5 = 88,75.
    assert (decroche["rank"], decroche["ranked"], decroche["tied"]) == (3, 6, True)
    assert decroche["better_than"] == pytest.approx(40)
    assert (decroche["q1"], decroche["median"], decroche["q3"]) == pytest.approx((81.25, 85, 88.75))
    assert peers.display_table(position).set_index("Indicateur").loc["Taux de décroché"].tolist() == [
        "85,0\u202f%", "3e ex aequo sur 6", "40\u202f%", "85,0\u202f%", "81,2\u202f% – 88,8\u202f%"]
    assert decroche["sentence"] == ("Taux de décroché : 85,0\u202f%, 3e ex aequo sur 6 structures du réseau CAF "
                                    "(médiane 85,0\u202f%, la moitié entre 81,2\u202f% et 88,8\u202f%).")


def test_a_lower_is_better_indicator_ranks_the_smallest_value_first(programme):
    courriels = row(only(peers.peer_view(programme(), ["OWN"])), "delai_courriels")
    # « baisse »: own 2 days; peers 1, 3, 4, 2,5, 1,5. Better (shorter): 1 and 1,5 → 3rd of 6, no tie.
    # Outdone (longer): 3, 4, 2,5 → 3 of 5 = 60 %. Sorted 1 1,5 2 2,5 3 4: q1 1,5 + 0,25 × 0,5 = 1,625;
    # median 2 + 0,5 × 0,5 = 2,25; q3 2,5 + 0,75 × 0,5 = 2,875.
    assert (courriels["rank"], courriels["ranked"], courriels["tied"]) == (3, 6, False)
    assert courriels["better_than"] == pytest.approx(60)
    assert (courriels["q1"], courriels["median"], courriels["q3"]) == pytest.approx((1.625, 2.25, 2.875))
    assert courriels["sentence"].startswith("Délai de réponse aux courriels : 2,0 jours ouvrés, 3e sur 6 structures")


def test_an_indicator_with_fewer_than_five_peer_values_shows_no_distribution(programme):
    position = only(peers.peer_view(programme(), ["OWN"]))
    attente = row(position, "attente_guichet")  # four CAF peers have a waiting time
    assert not attente["shown"]
    assert pd.isna(attente["rank"]) and pd.isna(attente["ranked"]) and pd.isna(attente["median"])
    assert attente["sentence"] == ("Temps d'attente au guichet : moins de 5 structures comparables ont une valeur : "
                                   "rien n'est montré, pour l'anonymat.")
    table = peers.display_table(position).set_index("Indicateur")
    assert table.loc["Temps d'attente au guichet"].tolist() == ["12,0 minutes", "–", "–", "–", "–"]


def test_four_other_structures_give_no_distribution_and_a_fifth_gives_one(programme, tmp_path):
    position = only(peers.peer_view(programme(), ["OWN-PREF"]))
    assert not position.enough and position.peers is None and position.level_counts == {}
    assert position.summary == ("Pas assez de structures comparables pour préserver l'anonymat (moins de 5 autres "
                                "structures du réseau Préfectures).")
    assert position.indicators[["rank", "ranked", "peers_with_value"]].isna().all().all()
    assert position.indicators[["better_than", "q1", "median", "q3"]].isna().all().all()
    # The group's size is told as « moins de 5 », never as 4.
    assert not any(re.search(r"\b4\b", text) for text in strings_in(position))

    programme.imported(register_file(tmp_path / "cinquieme.csv", FIFTH_PREFECTURE))
    position = only(peers.peer_view(programme(), ["OWN-PREF"]))
    assert position.enough and position.peers == 5
    # Own argent; F1 and F2 at or, F3, F4, F5 without values (aucun): two above → 3rd of 6, alone at argent.
    assert position.level_counts == {"aucun": 3, "bronze": 0, "argent": 1, "or": 2}
    assert position.level_rank == 3
    assert position.level_sentence == ("Niveau calculé : argent, 3e sur 6 structures du réseau Préfectures (or : 2, "
                                       "argent : 1, bronze : 0, aucun niveau : 3).")
    levels = peers.peer_levels_table(peers.peer_view(programme(), ["OWN-PREF"]))
    assert levels.iloc[0][list(peers.LEVEL_COUNT_COLUMNS.values())].tolist() == [2, 1, 0, 3]


def test_the_typology_group_takes_the_same_typology_across_networks(programme):
    position = only(peers.peer_view(programme(), ["OWN"], group="typologie"))
    # Accueil physique: C1, C2 (CAF), U1, U2, U3 (Urssaf); the CAF platforms are not in it.
    assert position.peers == 5
    decroche = row(position, "decroche")
    # Own 85 %; peers 80, 90, 60, 99, 75. Better: 90, 99 → 3rd of 6; outdone 80, 60, 75 → 60 %.
    # Sorted 60 75 80 85 90 99: q1 75 + 0,25 × 5 = 76,25; median 80 + 0,5 × 5 = 82,5; q3 85 + 0,75 × 5 = 88,75.
    assert (decroche["rank"], decroche["ranked"], decroche["better_than"]) == (3, 6, pytest.approx(60))
    assert (decroche["q1"], decroche["median"], decroche["q3"]) == pytest.approx((76.25, 82.5, 88.75))
    assert "structures de typologie « Accueil physique », tous réseaux" in decroche["sentence"]
    assert not row(position, "delai_courriels")["shown"]  # only C1 and C2 answer e-mails in that group


def test_the_directors_other_structures_are_never_counted_as_peers(programme):
    view = peers.peer_view(programme(), ["OWN", "PAIR-C1"])
    # Each of the two has four other CAF structures once the other own one is set aside: no distribution.
    assert [position.code for position in view.positions] == ["OWN", "PAIR-C1"]
    assert not any(position.enough for position in view.positions)


def test_nothing_of_another_structure_leaves_in_the_view_or_its_tables(programme):
    assessment = programme()
    views = [peers.peer_view(assessment, ["OWN"], group) for group in peers.GROUPS]
    texts = [text for view in views for text in strings_in(view)]
    texts += [text for view in views for table in (peers.peer_table(view), peers.peer_levels_table(view),
                                                    *map(peers.display_table, view.positions))
              for text in strings_in(table)]
    assert any("Accueil du directeur" in text for text in texts)  # the own structure is named
    for code, (name, _, _, departement, _, awarded) in REGISTER.items():
        if code == "OWN":
            continue
        assert not any(code in text or name in text for text in texts), code
        assert not any(re.search(rf"(?<![\w,.]){departement}(?![\w,.])", text) for text in texts), departement
        if awarded:
            day = date.fromisoformat(awarded)
            assert not any(awarded in text or f"{day:%d/%m/%Y}" in text for text in texts), awarded
    # The peers' extremes (70 % and 95 % of calls answered in the network) are told nowhere.
    network_table = peers.peer_table(views[0])
    numbers = network_table.select_dtypes("number").to_numpy(dtype="float64", na_value=float("nan")).ravel()
    assert not {70.0, 95.0} & set(numbers.tolist())
    assert len(views[0].positions[0].indicators) == len(assessment.rules)  # one row per indicator, none per peer


def test_the_export_table_has_french_columns_and_one_row_per_indicator(programme):
    assessment = programme()
    table = peers.peer_table(peers.peer_view(assessment, ["OWN", "OWN-PREF"]))
    assert tuple(table.columns) == peers.PEER_TABLE_COLUMNS
    assert len(table) == 2 * len(assessment.rules)
    decroche = table[(table["Code structure"] == "OWN") & (table["Indicateur"] == "Taux de décroché")].iloc[0]
    assert (decroche["Rang"], decroche["Structures classées"], decroche["Sens"]) == (3, 6, "plus haut = mieux")
    prefecture = table[table["Code structure"] == "OWN-PREF"]
    assert prefecture["Lecture"].str.startswith("Pas assez de structures comparables").all()
    assert prefecture["Rang"].isna().all()


def test_a_structure_without_typology_is_not_compared(programme, tmp_path):
    # A structure known only from a file of values has no typology in the register.
    programme.imported(canonical(tmp_path / "seule.csv",
                                 ["SEULE;Structure seule;CAF;decroche;2025-10-01;2025-12-31;;900;1000;"]))
    position = only(peers.peer_view(programme(), ["SEULE"], group="typologie"))
    assert not position.enough
    assert position.summary == "Typologie non renseignée dans le registre : pas de comparaison possible."


def test_an_unknown_group_is_refused_in_french(programme):
    with pytest.raises(ValueError, match="Groupe de comparaison inconnu : departement"):
        peers.peer_view(programme(), ["OWN"], group="departement")


def test_ordinals_are_french():
    assert [peers.ordinal(rank) for rank in (1, 2, 12, 1234)] == ["1re", "2e", "12e", "1\u202f234e"]


def test_on_demo_data_each_rank_and_median_match_a_plain_count_of_the_network(con):
    load_demo(con, rights.COMMAND_LINE, 200, seed=7, today=TODAY)
    window = compliance.resolve_window(con, None, TODAY)
    assessment = compliance.assess(con, window, rights.WHOLE_PROGRAMME, today=TODAY)
    structures = assessment.structures
    own = structures[(structures["network"] == "CAF") & (structures["typologie"] == AP)]["code"].iloc[0]
    position = only(peers.peer_view(assessment, [own]))
    frame = assessment.indicators.merge(structures[["code", "network"]], left_on="structure_code", right_on="code")
    judged = frame[(frame["network"] == "CAF") & frame["status"].isin(["conforme", "non_conforme"])]
    for indicator, values in judged.groupby("indicator_code", observed=True):
        mine = values[values["structure_code"] == own]["value"]
        others = values[values["structure_code"] != own]["value"]
        expected = row(position, indicator)
        assert expected["peers_with_value"] == len(others)
        if expected["unit"] != "oui/non":
            assert expected["median"] == pytest.approx(values["value"].median()), indicator
        if len(mine):
            lower = expected["direction"] == "baisse"
            better = (others < mine.iloc[0]) if lower else (others > mine.iloc[0])
            assert expected["rank"] == 1 + better.sum(), indicator


def test_a_network_head_sees_the_rest_of_the_programme_as_level_counts_only(con):
    load_demo(con, rights.COMMAND_LINE, 100, seed=3, today=TODAY)
    programme = compliance.assess(con, compliance.resolve_window(con, None, TODAY), rights.WHOLE_PROGRAMME,
                                  today=TODAY)
    head = rights.Access(rights.Person("Chef CAF"), frozenset({rights.NETWORK_HEAD}), networks=frozenset({"CAF"}),
                         write_networks=frozenset({"CAF"}))
    rest = rights.rest_of_programme_levels(programme, head)
    others = programme.structures[programme.structures["network"] != "CAF"]
    assert rest.to_dict() == others["level"].value_counts().reindex(list(compliance.LEVELS)).to_dict()
    assert list(rest.index) == ["aucun", "bronze", "argent", "or"]  # counts by level: no code, no name
    # An administrator sees everything named; a director gets the peer view instead.
    assert rights.rest_of_programme_levels(programme, rights.COMMAND_LINE) is None
    director = rights.Access(rights.Person("Directrice"), frozenset({rights.DIRECTOR}),
                             structures=frozenset({"CAF-0001"}), write_structures=frozenset({"CAF-0001"}))
    assert rights.rest_of_programme_levels(programme, director) is None
    # Fewer than 5 structures left outside the networks: nothing is shown, not even the counts.
    networks = programme.structures["network"]
    four_left = set(programme.structures["code"][networks != "CAF"].head(4))
    nearly_all = dataclasses.replace(head, structures=frozenset(set(programme.structures["code"]) - four_left))
    assert rights.rest_of_programme_levels(programme, nearly_all) is None
    five_left = set(programme.structures["code"][networks != "CAF"].head(5))
    nearly_all = dataclasses.replace(head, structures=frozenset(set(programme.structures["code"]) - five_left))
    assert rights.rest_of_programme_levels(programme, nearly_all).sum() == 5
