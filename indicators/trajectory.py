"""Where a structure is heading, in one place for Mon service and ``python -m indicators trajectoire``: its level
month by month (indicators/history.py), the dates a level was reached and lost, and each blocking indicator's
trend and projection (indicators/projection.py)."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from indicators import compliance, db, history, projection, rights
from indicators.periods import ROLLING, add_months


def structure_levels(con: duckdb.DuckDBPyConnection, access: rights.Access, code: str) -> pd.DataFrame:
    """One structure's level over the rolling 12 months ending each month, from the month that completes its
    first 12 months of data (an earlier window would judge it on part of a year) to its latest data, 36 months
    at most (history.HISTORY_MONTHS). A structure outside the scope is refused as an unknown one."""
    rights.check_structure(con, access, code)
    first_data = db.query_value(con, "trajectory_first_period_start", {"structure": code})
    last = compliance.latest_data(con, code)
    if first_data is None or last is None:
        return history.no_levels()
    first = max(add_months(first_data.replace(day=1), 11), add_months(last.replace(day=1), 1 - history.HISTORY_MONTHS))
    if first > last:
        return history.no_levels()
    return history.monthly_levels(con, access, first=first, last=last, structure=code)


def document(con: duckdb.DuckDBPyConnection, access: rights.Access, code: str, today: date) -> dict:
    """Everything ``trajectoire --format json`` prints: the monthly levels, the level changes and their sentences,
    and each blocking indicator's trend and projection (or why there is none), over the structure's own 12
    months up to its latest data."""
    levels = structure_levels(con, access, code)
    rules = compliance.load_rules(con)[1]
    assessment = compliance.assess(con, compliance.structure_window(con, access, ROLLING, code, today), access,
                                   structure=code, today=today)
    summary = assessment.structures.iloc[0]
    changes = history.level_changes(levels)
    return {
        "structure": code, "window": {"start": assessment.window.start.isoformat(),
                                      "end": assessment.window.end.isoformat()},
        "level": str(summary["level"]), "blocking": list(summary["blocking"]),
        "monthly_levels": [{"month": row["month"].isoformat(), "level": str(row["level"]),
                            "blocking": list(row["blocking"])} for row in levels.to_dict("records")],
        "level_changes": [{"month": row["month"].isoformat(), "level": row["level"], "change": row["change"],
                           "blocking": list(row["blocking"])} for row in changes.to_dict("records")],
        "sentences": history.change_sentences(levels, code, rules),
        "projections": [found.as_dict() for found in projection.structure_projections(con, access, assessment, code)],
    }
