"""A director's structures among their peers, anonymised: rank, share outdone, median and quartiles of each
indicator and the level counts of the other structures of the same network (or typology), never a peer's row.

What leaves this module holds no code, name, département or label date of another structure, and no value
that one peer alone determines: no minimum, no maximum, no histogram bin; a distribution is shown only when
at least MIN_PEERS other structures are in the group, and for an indicator only when at least MIN_PEERS of
them have a value. Pure numpy and pandas: each group's values are sorted once, and each own structure is
placed among them by binary search (a director's view at 15 000 structures takes milliseconds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators import compliance
from indicators.compliance import Level, Status
from indicators.text import (
    DIRECTION_WORDS,
    LEVEL_WORDS,
    format_number_fr,
    format_percent,
    format_value,
    ordinal,
    status_word,
    window_label,
)

MIN_PEERS = 5
GROUPS = {"reseau": "même réseau", "typologie": "même typologie, tous réseaux"}
GROUP_COLUMNS = {"reseau": "network", "typologie": "typologie"}
TOO_FEW = "Pas assez de structures comparables pour préserver l'anonymat"
TOO_FEW_VALUES = f"moins de {MIN_PEERS} structures comparables ont une valeur : rien n'est montré, pour l'anonymat"
# Only values the engine judged count, as in the Comparaison page's distribution: a value from too small a
# sample is not compared.
JUDGED = (Status.CONFORME, Status.NON_CONFORME)
QUARTILES = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Position:
    """One own structure among its peers. ``indicators``: one row per indicator of the référentiel with
    indicator_code, label, unit, direction, value (the own value), status, rank, ranked (structures with a
    judged value, own included), peers_with_value, better_than (percent of those peers the own value
    outdoes), q1, median, q3 (of the ranked values; blank for yes/no), yes (ranked « oui », yes/no only),
    shown (enough values to tell), sentence."""

    code: str
    name: str
    group_phrase: str  # « du réseau CAF »: after « structures »
    enough: bool  # at least MIN_PEERS other structures in the group
    peers: int | None  # how many other structures; None when fewer than MIN_PEERS (never told)
    level: str
    level_rank: int | None  # rank of the own level among own + peers, ties sharing the best rank
    level_counts: dict[str, int]  # aucun … or, own included; empty when the group is too small
    summary: str  # the group in one sentence, or why there is no comparison
    level_sentence: str
    indicators: pd.DataFrame


@dataclass(frozen=True)
class PeerView:
    group: str  # a key of GROUPS
    window_label: str
    version: str
    positions: tuple[Position, ...]


def peer_view(assessment: compliance.Assessment, own_codes, group: str = "reseau") -> PeerView:
    """Each own structure of ``assessment`` among the other structures of its group (same network, or same
    typology across networks), own structures never counted as peers. ``assessment`` must hold every
    structure of the programme; the result holds aggregates only. Codes not in the assessment are ignored."""
    if group not in GROUP_COLUMNS:
        raise ValueError(f"Groupe de comparaison inconnu : {group}. Choix possibles : {', '.join(GROUPS)}.")
    structures, rules = assessment.structures, assessment.rules
    values, judged, status = _grids(assessment, len(rules))
    keys, key_names = pd.factorize(structures[GROUP_COLUMNS[group]].replace("", None), use_na_sentinel=True)
    codes = structures["code"].astype(str).to_numpy()
    own = np.isin(codes, [str(code) for code in own_codes])
    level_ranks = structures["level_rank"].to_numpy(dtype="int64")
    groups: dict[int, _Group] = {}
    positions = []
    for row in np.flatnonzero(own):
        key = int(keys[row])
        if key not in groups:
            others = (keys == key) & ~own if key >= 0 else np.zeros(len(keys), dtype=bool)
            phrase = _group_phrase(group, key_names[key]) if key >= 0 else None
            groups[key] = _Group(phrase, tuple(np.sort(values[others & judged[:, j], j]) for j in range(len(rules))),
                                 level_ranks[others])
        peers = groups[key]
        table = _indicator_table(rules, values[row], judged[row], status[row], peers.sorted_values)
        positions.append(_position(codes[row], structures["name"].iloc[row], peers.phrase, group, table,
                                   level_ranks[row], peers.levels))
    return PeerView(group, window_label(assessment.window), assessment.version, tuple(positions))


@dataclass(frozen=True)
class _Group:
    """The other structures of one group as the positions need them, computed once however many own structures
    the group holds: each indicator's judged values, sorted, and their levels."""

    phrase: str | None  # None: the own structure has no network (or typology) in the register
    sorted_values: tuple[np.ndarray, ...]
    levels: np.ndarray


def _grids(assessment: compliance.Assessment, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, judged, status codes) as structure × indicator matrices, rows in the structures' order."""
    indicators = assessment.indicators
    firsts = indicators["structure_code"].iloc[::width].astype(str).to_numpy() if width else np.array([])
    if len(firsts) != len(assessment.structures) or not (firsts == assessment.structures["code"].astype(str)
                                                        .to_numpy()).all():
        raise AssertionError("indicators and structures must list structures in the same order")
    status = indicators["status"].cat.codes.to_numpy().reshape(-1, width)
    values = indicators["value"].to_numpy(dtype="float64", na_value=np.nan).reshape(-1, width)
    return values, np.isin(status, JUDGED), status


def _group_phrase(group: str, key: str) -> str:
    return f"du réseau {key}" if group == "reseau" else f"de typologie « {key} », tous réseaux"


def _indicator_table(rules: pd.DataFrame, own_values: np.ndarray, own_judged: np.ndarray, own_status: np.ndarray,
                     sorted_values: tuple[np.ndarray, ...]) -> pd.DataFrame:
    """Per indicator: the own value's rank among the judged values (best first, ties sharing the best
    rank), the share of peers it outdoes and the quartiles of own + peers; blank where fewer than MIN_PEERS
    peers have a value."""
    lower_is_better = rules["direction"].to_numpy() == "baisse"
    better, worse, tied, counts, q1, median, q3, yes = np.array([
        _indicator_stats(peers, value, judged, lower)
        for peers, value, judged, lower in zip(sorted_values, own_values, own_judged, lower_is_better)],
        dtype="float64").reshape(-1, 8).T
    shown = counts >= MIN_PEERS
    ranked_own = shown & own_judged
    with np.errstate(invalid="ignore", divide="ignore"):
        better_than = np.where(ranked_own, 100 * worse / counts, np.nan)
    # Quartiles of yes/no answers say nothing (« entre oui et oui »): those indicators count the « oui ».
    yes_no = rules["unit"].to_numpy() == "oui/non"
    q1, median, q3 = (np.where(shown & ~yes_no, quartile, np.nan) for quartile in (q1, median, q3))
    return pd.DataFrame({
        "indicator_code": rules["code"].to_numpy(), "label": rules["label"].to_numpy(),
        "unit": rules["unit"].to_numpy(), "direction": rules["direction"].to_numpy(),
        "value": own_values, "status": [Status(code).text for code in own_status],
        "rank": _whole(1 + better, ranked_own), "tied": ranked_own & (tied > 0),
        "ranked": _whole(counts + own_judged, shown), "peers_with_value": _whole(counts, shown),
        "better_than": better_than, "q1": q1, "median": median, "q3": q3,
        "yes": _whole(yes, shown & yes_no), "shown": shown,
    })


def _indicator_stats(peers: np.ndarray, value: float, judged: bool, lower_is_better: bool) -> tuple:
    """(better, worse, tied, peers, q1, median, q3, « oui ») of one value among the sorted peer values: binary
    searches, and the quartiles (linear, as pandas) of the peers with the value inserted in its place."""
    left, right = np.searchsorted(peers, value, "left"), np.searchsorted(peers, value, "right")
    below, above = left, len(peers) - right
    better, worse = (below, above) if lower_is_better else (above, below)
    pool = np.insert(peers, left, value) if judged else peers
    quartiles = np.quantile(pool, QUARTILES) if len(pool) else (np.nan,) * len(QUARTILES)
    return better, worse, right - left, len(peers), *quartiles, int((pool >= 0.5).sum())


def _whole(counts: np.ndarray, known: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers, blank (pd.NA) where not ``known``."""
    known = np.asarray(known, dtype=bool)
    return pd.arrays.IntegerArray(np.where(known, counts, 0).astype("int64"), ~known)


def _position(code: str, name, phrase: str | None, group: str, table: pd.DataFrame, own_level: int,
              peer_levels: np.ndarray) -> Position:
    level = Level(own_level).text
    if phrase is None:
        missing = "Réseau non renseigné" if group == "reseau" else "Typologie non renseignée"
        reason = f"{missing} dans le registre : pas de comparaison possible."
        return _without_peers(code, name, "", level, table, reason)
    if len(peer_levels) < MIN_PEERS:
        reason = f"{TOO_FEW} (moins de {MIN_PEERS} autres structures {phrase})."
        return _without_peers(code, name, phrase, level, table, reason)
    counts = np.bincount(np.append(peer_levels, own_level), minlength=len(Level))
    level_counts = {lvl.text: int(counts[lvl]) for lvl in Level}
    level_rank = 1 + int((peer_levels > own_level).sum())
    total = len(peer_levels) + 1
    spread = ", ".join(f"{LEVEL_WORDS[lvl.text]} : {format_number_fr(level_counts[lvl.text], 0)}"
                       for lvl in reversed(Level))
    tied = " ex aequo" if (peer_levels == own_level).any() else ""
    level_sentence = (f"Niveau calculé : {LEVEL_WORDS[level]}, {ordinal(level_rank)}{tied} sur "
                      f"{format_number_fr(total, 0)} structures {phrase} ({spread}).")
    summary = (f"Comparée, sans les nommer, aux {format_number_fr(len(peer_levels), 0)} autres structures "
               f"{phrase}.")
    table = table.assign(sentence=[_indicator_sentence(row, phrase) for row in table.to_dict("records")])
    return Position(code, _text(name), phrase, True, len(peer_levels), level, level_rank, level_counts, summary,
                    level_sentence, table)


def _without_peers(code: str, name, phrase: str, level: str, table: pd.DataFrame, reason: str) -> Position:
    """No distribution at all: every aggregate blank, one sentence saying why."""
    nothing = np.zeros(len(table), dtype=bool)
    blank = table.assign(**{column: _whole(nothing.astype("int64"), nothing)
                            for column in ("rank", "ranked", "peers_with_value", "yes")},
                         **{column: np.nan for column in ("better_than", "q1", "median", "q3")},
                         tied=False, shown=False, sentence=reason)
    return Position(code, _text(name), phrase, False, None, level, None, {}, reason,
                    f"Niveau calculé : {LEVEL_WORDS[level]}.", blank)


def _text(value) -> str:
    return "" if pd.isna(value) else str(value)


def _indicator_sentence(row: dict, phrase: str) -> str:
    """« Taux de décroché : 85,2 %, 12e sur 87 structures du réseau CAF (médiane 83,1 %, la moitié entre
    79,0 % et 87,4 %). »"""
    label, unit = row["label"], row["unit"]
    if not row["shown"]:
        return f"{label} : {TOO_FEW_VALUES}."
    ranked = pd.notna(row["rank"])
    own = format_value(row["value"], unit) if ranked else f"{status_word(row['status'])} pour votre structure"
    structures = f"{format_number_fr(row['ranked'], 0)} structures {phrase}"
    if unit == "oui/non":
        return f"{label} : {own} ; « oui » pour {format_number_fr(row['yes'], 0)} des {structures}."
    median = format_value(row["median"], unit)
    spread = f"la moitié entre {format_value(row['q1'], unit)} et {format_value(row['q3'], unit)}"
    if not ranked:
        return f"{label} : {own} ; médiane des {structures} {median} ({spread})."
    rank = ordinal(int(row["rank"])) + (" ex aequo" if row["tied"] else "")
    return f"{label} : {own}, {rank} sur {structures} (médiane {median}, {spread})."


def display_table(position: Position) -> pd.DataFrame:
    """What a page shows of one own structure, as French text: Indicateur, Votre valeur, Rang, Fait mieux que,
    Médiane and Quartiles (« 79,0 % – 87,4 % »); a yes/no tells its « oui » instead of a median."""
    rows = []
    for row in position.indicators.to_dict("records"):
        unit, shown = row["unit"], row["shown"]
        yes_no = unit == "oui/non"
        rank = "–" if pd.isna(row["rank"]) else (f"{ordinal(int(row['rank']))}{' ex aequo' if row['tied'] else ''} "
                                                 f"sur {format_number_fr(row['ranked'], 0)}")
        median = (f"« oui » pour {format_number_fr(row['yes'], 0)} sur {format_number_fr(row['ranked'], 0)}"
                  if yes_no and shown else format_value(row["median"], unit))
        quartiles = (f"{format_value(row['q1'], unit)} – {format_value(row['q3'], unit)}"
                     if shown and not yes_no else "–")
        rows.append((row["label"], format_value(row["value"], unit), rank, format_percent(row["better_than"], 0),
                     median, quartiles))
    return pd.DataFrame(rows, columns=["Indicateur", "Votre valeur", "Rang", "Fait mieux que (des pairs)",
                                       "Médiane", "Quartiles (1er – 3e)"])


PEER_TABLE_COLUMNS = ("Code structure", "Structure", "Comparée aux structures", "Indicateur", "Unité", "Sens",
                      "Votre valeur", "Rang", "Structures classées", "Fait mieux que (% des pairs)",
                      "Premier quartile", "Médiane", "Troisième quartile", "Structures à « oui »", "Lecture")
LEVEL_COUNT_COLUMNS = {"or": "Structures au niveau or", "argent": "Structures au niveau argent",
                       "bronze": "Structures au niveau bronze", "aucun": "Structures sans niveau"}
PEER_LEVELS_COLUMNS = ("Code structure", "Structure", "Comparée aux structures", "Votre niveau", "Rang du niveau",
                       *LEVEL_COUNT_COLUMNS.values(), "Lecture")


def peer_table(view: PeerView) -> pd.DataFrame:
    """The peer view as a director's export: one row per own structure × indicator, French column names,
    numbers as numbers (the exports format them)."""
    frames = [_export_rows(position) for position in view.positions]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(PEER_TABLE_COLUMNS))


def _export_rows(position: Position) -> pd.DataFrame:
    table = position.indicators
    return pd.DataFrame(dict(zip(PEER_TABLE_COLUMNS, (
        position.code, position.name, position.group_phrase or "–", table["label"], table["unit"],
        table["direction"].map(DIRECTION_WORDS), table["value"], table["rank"], table["ranked"],
        table["better_than"], table["q1"], table["median"], table["q3"], table["yes"], table["sentence"]),
        strict=True)))


def peer_levels_table(view: PeerView) -> pd.DataFrame:
    """The levels of each own structure's group, counted (own included): one row per own structure."""
    rows = [(position.code, position.name, position.group_phrase or "–", LEVEL_WORDS[position.level],
             position.level_rank, *(position.level_counts.get(level) for level in LEVEL_COUNT_COLUMNS),
             position.level_sentence if position.enough else position.summary) for position in view.positions]
    return pd.DataFrame(rows, columns=list(PEER_LEVELS_COLUMNS))
