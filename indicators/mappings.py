"""Column mappings a person confirmed, remembered by the file's header fingerprint (columns.fingerprint): a
director sends the same spreadsheet every month and answers the questions once."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pandas as pd

from indicators import db, rights
from indicators.columns import Choices, fingerprint

NOT_ALLOWED = "Seules les personnes qui peuvent importer gèrent les correspondances de colonnes."


def remembered(con: duckdb.DuckDBPyConnection) -> tuple:
    """Every saved mapping, in the form columns.Choices.remembered takes."""
    found = []
    for key, text in db.query(con, "mappings_remembered"):
        mapping = json.loads(text)
        found.append((key, tuple((h, t) for h, t in mapping.items() if t is not None),
                      tuple(h for h, t in mapping.items() if t is None)))
    return tuple(found)


def with_memory(memory: tuple, choices: Choices | None) -> Choices:
    """The person's choices plus the mappings remembered in the database (:func:`remembered`): part of the
    page's cache key, so that a mapping saved or forgotten anywhere is seen at the next check."""
    choices = choices or Choices()
    return Choices(choices.structure, choices.columns, choices.ignored, choices.names, choices.networks, memory)


def remember(cur, headers: tuple[str, ...], choices: Choices, access: rights.Access) -> None:
    """Inside the import's transaction: the person's own column choices for these headers are saved; a
    remembered mapping that was applied is marked as used."""
    now = datetime.now()
    if not choices.given():
        db.run(cur, "mappings_used", {"now": now, "fingerprint": fingerprint(headers)})
        return
    mapping = {**{h: t for h, t in choices.columns}, **{h: None for h in choices.ignored}}
    db.run(cur, "mappings_save", {"fingerprint": fingerprint(headers), "headers": " | ".join(h for h in headers if h),
                                  "mapping": json.dumps(mapping, ensure_ascii=False), "created_by": access.who,
                                  "subject": access.person.subject, "now": now})


def listing(con: duckdb.DuckDBPyConnection, access: rights.Access) -> pd.DataFrame:
    """The saved mappings (headers, what each mapped column became, who, when), for those who import."""
    if not access.may_write:
        raise rights.AccessRefused(NOT_ALLOWED)
    frame = db.query_df(con, "mappings_list")
    frame["columns"] = frame["mapping"].map(_mapping_text)
    return frame.drop(columns="mapping")


def _mapping_text(text: str) -> str:
    """« Effectif agents → ignorée ; Appels → decroche:denominateur »."""
    return " ; ".join(f"{h} → {t or 'ignorée'}" for h, t in json.loads(text).items())


def forget(con: duckdb.DuckDBPyConnection, key: str, access: rights.Access) -> str:
    """Delete one saved mapping; the French sentence that says so (journaled)."""
    if not access.may_write:
        raise rights.AccessRefused(NOT_ALLOWED)
    with db.transaction(con) as cur:
        gone = db.run(cur, "mappings_delete", {"fingerprint": key}).fetchall()
        if not gone:
            return "Cette correspondance n'existe plus."
        message = f"Correspondance de colonnes oubliée pour les en-têtes : {gone[0][0]}."
        rights.log(cur, access, "correspondance", message)
    return message
