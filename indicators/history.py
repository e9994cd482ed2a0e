"""The level history: the level each structure reached over the rolling 12-month window ending each month, for
every structure at once and by the compliance engine's own rules; the months a level was reached and lost, said in
French; how many structures of each network stood at each level, month by month.

One statement (sql/history_aggregate.sql) aggregates every structure × window × indicator that has data; the
engine's own numpy functions (compliance.assess_indicators, assess_structures) then judge the whole grid as if each
structure × month were a structure of its own. The grid is laid out by position (structure by structure, month by
month, indicators in the rules' order, the order the engine reads), from positions the statement computes from the
very lists it is given: nothing depends on two sorts agreeing."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from indicators import compliance, db, rights, wording
from indicators.compliance import LEVELS, Level
from indicators.periods import Window, WindowError, add_months, months_between, rolling_window
from indicators.text import LEVEL_WORDS, month_words

HISTORY_MONTHS = 36  # the months shown by default, up to the latest data
# Beyond ten years the grid (structures × months × indicators) would only fill the memory: refused in French.
MAX_MONTHS = 120
CHUNK_STRUCTURES = 1500
REACHED, LOST = "atteint", "perdu"
WHOLE_SELECTION = "Ensemble de la sélection"
NO_NETWORK = "(sans réseau)"  # as the Comparaison page names it (views.py)
LEVEL_COLUMNS = ["structure_code", "month", "level", "level_rank", "blocking"]
CHANGE_COLUMNS = ["structure_code", "month", "level", "change", "blocking", "from_start"]


def history_windows(con: duckdb.DuckDBPyConnection, first: date | None = None, last: date | None = None,
                    structure: str | None = None) -> list[Window]:
    """The rolling windows of the history, one per month from the month of ``first`` to that of ``last``; by default
    the HISTORY_MONTHS months up to the latest data (of ``structure`` when it has some, as its status is read:
    compliance.resolve_window). No window on an empty base. WindowError (French) for a reversed or too long span."""
    if last is None:
        last = (compliance.latest_data(con, structure) if structure else None) or compliance.latest_data(con)
        if last is None:
            return []
    if first is None:
        first = add_months(last.replace(day=1), 1 - HISTORY_MONTHS)
    count = months_between(first, last)
    if count == 0:
        raise WindowError(f"Le premier mois de l'historique ({month_words(first)}) vient après le dernier "
                          f"({month_words(last)}).")
    if count > MAX_MONTHS:
        raise WindowError(f"L'historique est limité à {MAX_MONTHS} mois ({count} demandés, de {month_words(first)} "
                          f"à {month_words(last)}).")
    start = first.replace(day=1)
    return [rolling_window(add_months(start, k)) for k in range(count)]


def _dense_grid(con: duckdb.DuckDBPyConnection, windows: list[Window], structures: list[str],
                rules: pd.DataFrame) -> dict[str, np.ndarray]:
    """sql/history_aggregate.sql laid out as the engine reads it: one float array per aggregate, one element per
    structure × month × indicator (structure by structure, month by month, indicators in the rules' order), NaN
    where there is no data, as the LEFT JOIN of aggregate_window.sql leaves NULL."""
    size = len(structures) * len(windows) * len(rules)
    cur = con.cursor()
    try:
        reader = cur.sql(db.sql("history_aggregate"), params={
            "starts": [w.start for w in windows], "ends": [w.end for w in windows], "structures": structures,
            "indicators": rules["code"].astype(str).tolist(),
            "latest": rules.loc[rules["kind"] == "latest", "code"].astype(str).tolist()}).to_arrow_reader()
        grid = {name: np.full(size, np.nan) for name in reader.schema.names if name != "cell"}
        # Batch by batch, each cell put in its place: neither the whole result nor a sort of it is ever held.
        for batch in reader:
            cell = batch.column("cell").to_numpy()
            for name, values in grid.items():
                values[cell] = batch.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False)
    finally:
        cur.close()
    return grid


def monthly_levels(con: duckdb.DuckDBPyConnection, access: rights.Access, first: date | None = None,
                   last: date | None = None, structure: str | None = None, version: str | None = None
                   ) -> pd.DataFrame:
    """For every structure the person sees named (or one of them, refused as unknown outside the scope), for every
    month of :func:`history_windows`: the level over the rolling 12 months ending that month and the indicators
    that hold it there (``blocking``, as the status says them), exactly as compliance.assess judges that window.
    Columns: structure_code, month (the month's last day), level (text), level_rank, blocking (tuple of codes);
    structure by structure, month by month."""
    if structure is not None:
        rights.check_structure(con, access, structure)
    visible = rights.codes_filter(con, access)
    windows = history_windows(con, first, last, structure)
    version, rules, _ = compliance.load_rules(con, version)
    structures = db.query_df(con, "structures_for_status", {"structure": structure, "codes": visible})["code"]
    structures = structures.astype(str).to_numpy(dtype=object)
    if not windows or rules.empty or not len(structures):
        return no_levels()
    dense = _dense_grid(con, windows, structures.tolist(), rules)
    # The grid is judged a slice of structures at a time: the same result in a tenth of the memory.
    parts = [_judged(dense, windows, structures[start:start + CHUNK_STRUCTURES], start, rules)
             for start in range(0, len(structures), CHUNK_STRUCTURES)]
    return pd.concat(parts, ignore_index=True)


def no_levels() -> pd.DataFrame:
    """A history without a month (LEVEL_COLUMNS, typed)."""
    return pd.DataFrame({"structure_code": pd.Series(dtype=object), "month": pd.Series(dtype=object),
                         "level": pd.Categorical([], LEVELS), "level_rank": pd.Series(dtype="int64"),
                         "blocking": pd.Series(dtype=object)})


def _judged(dense: dict[str, np.ndarray], windows: list[Window], chunk: np.ndarray, start: int,
            rules: pd.DataFrame) -> pd.DataFrame:
    """The levels of the structures ``chunk`` (from position ``start``) each month, by the engine's own functions
    (compliance.judge, compliance.lowest_levels: the part of the assessment that decides levels, without the
    gaps, intervals and freshness a page shows)."""
    months, width = len(windows), len(rules)
    size = len(chunk) * months * width
    cells = {name: values[start * months * width:start * months * width + size] for name, values in dense.items()}
    cells["last_value"] = np.full(size, np.nan)  # read by the engine, changing no level (see the statement)
    lowest, blocking = compliance.lowest_levels(compliance.judge(cells, rules).rank.reshape(-1, width), rules)
    # Each distinct set of blocking indicators made a tuple once, not once per structure and month.
    patterns, which = np.unique(np.packbits(blocking, axis=1), axis=0, return_inverse=True)
    codes = rules["code"].to_numpy()
    said = [tuple(codes[np.unpackbits(pattern)[:width].astype(bool)].tolist()) for pattern in patterns]
    return pd.DataFrame({
        "structure_code": np.repeat(chunk, months),
        "month": np.tile(np.array([w.end for w in windows], dtype=object), len(chunk)),
        "level": pd.Categorical.from_codes(lowest, LEVELS), "level_rank": lowest.astype("int64"),
        "blocking": [said[i] for i in which.ravel()]}, columns=LEVEL_COLUMNS)


def level_changes(levels: pd.DataFrame) -> pd.DataFrame:
    """Per structure, each month a level (bronze, argent, or) was reached or lost, from :func:`monthly_levels`:
    a rise from bronze to or reaches argent and or the same month. ``blocking``: for a loss, the indicators that
    held the structure below that month; ``from_start``: the level was already held at the first month of the
    history (reached then or before). Columns: CHANGE_COLUMNS, by structure, month and level."""
    ordered = levels.sort_values(["structure_code", "month"], kind="stable").reset_index(drop=True)
    rank = ordered["level_rank"].to_numpy(dtype="int64")
    code = ordered["structure_code"].to_numpy(dtype=object)
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = code[1:] != code[:-1]
    previous = np.where(first, Level.AUCUN, np.roll(rank, 1))
    parts = []
    for level in (Level.BRONZE, Level.ARGENT, Level.OR):
        for change, moved in ((REACHED, (previous < level) & (rank >= level)),
                              (LOST, (previous >= level) & (rank < level))):
            rows = ordered[moved]
            parts.append(pd.DataFrame({
                "structure_code": rows["structure_code"], "month": rows["month"], "level": level.text,
                "level_rank": int(level), "change": change,
                "blocking": rows["blocking"] if change == LOST else [()] * len(rows),
                "from_start": first[moved]}))
    changes = pd.concat(parts, ignore_index=True).sort_values(["structure_code", "month", "level_rank"],
                                                               kind="stable")
    return changes[CHANGE_COLUMNS].reset_index(drop=True)


def change_sentences(levels: pd.DataFrame, code: str, rules: pd.DataFrame) -> list[str]:
    """The history of one structure in French, from :func:`monthly_levels`: the level held at the last month and
    since when (« argent depuis juin 2025 »; « … depuis au moins décembre 2024 » when it was already held at the
    first month), then each level above it that was held and lost, with the indicators that made it lost, by the
    référentiel's labels (« or perdu en août 2025 : délai de réponse aux courriels »), oldest first. ``rules``:
    the référentiel's indicators (code, label), as compliance.load_rules gives them."""
    mine = levels[levels["structure_code"] == code].sort_values("month")
    if mine.empty:
        return []
    rank = mine["level_rank"].to_numpy(dtype="int64")
    months = mine["month"].to_numpy(dtype=object)
    current = rank[-1]
    # The run that ends at the last month: at or above the current level (at « aucun »: at no level).
    held = rank >= current if current > Level.AUCUN else rank == Level.AUCUN
    outside = np.flatnonzero(~held)
    start = outside[-1] + 1 if len(outside) else 0
    since = f"depuis {month_words(months[start])}" if start else f"depuis au moins {month_words(months[0])}"
    sentences = [f"{LEVEL_WORDS[LEVELS[current]]} {since}"]
    names = {c: wording.in_sentence(label) for c, label in wording.indicator_names(rules).items()}
    changes = level_changes(mine)
    lost = changes[(changes["change"] == LOST) & changes["level"].map(compliance.RANK).gt(current)]
    # The last loss of each level not held now, oldest first; the levels lost the same month said together.
    last_losses = lost.drop_duplicates("level", keep="last")
    for month, group in last_losses.groupby("month", sort=True):
        words = [LEVEL_WORDS[level] for level in sorted(group["level"], key=compliance.RANK.get, reverse=True)]
        said = " et ".join(words) + (" perdus" if len(words) > 1 else " perdu")
        blocking = group["blocking"].iloc[0]
        cause = f" : {wording.indicator_list(blocking, names)}" if blocking else ""
        sentences.append(f"{said} en {month_words(month)}{cause}")
    return sentences


def network_counts(levels: pd.DataFrame, structures: pd.DataFrame) -> pd.DataFrame:
    """How many structures stood at each level, month by month: for the whole selection (network
    WHOLE_SELECTION, first) and for each network (NO_NETWORK for structures without one). ``structures``: code and
    network of the structures (compliance.assess(...).structures, or the register). Columns: network, month,
    aucun, bronze, argent, or, total."""
    network_of = structures.drop_duplicates("code").set_index("code")["network"]
    networks = levels["structure_code"].map(network_of).fillna(NO_NETWORK).astype(str)
    level = pd.Categorical(levels["level"].astype(str), LEVELS)
    parts = []
    for scope in (pd.Series(WHOLE_SELECTION, index=levels.index), networks):
        counts = pd.crosstab([scope.rename("network"), levels["month"].rename("month")], level, dropna=False)
        parts.append(counts.reindex(columns=list(LEVELS), fill_value=0))
    counts = pd.concat(parts).reset_index()
    counts.columns.name = None
    counts[list(LEVELS)] = counts[list(LEVELS)].astype("int64")
    counts["total"] = counts[list(LEVELS)].sum(axis=1)
    return counts[["network", "month", *LEVELS, "total"]]
