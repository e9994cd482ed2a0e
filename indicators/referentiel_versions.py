"""Versioned edits of the référentiel: list versions, read a version's thresholds, validate an edit and
save it as a NEW version put in force (the old one untouched), or put an older version back in force."""

from __future__ import annotations

import functools
import math
import re
from datetime import date, datetime

import duckdb
import pandas as pd

from indicators import db, rights
from indicators.referentiel import LEVELS
from indicators.text import REFERENTIEL_FIELD_WORDS, format_value as format_with_unit, yes_no

EDITABLE = ("bronze", "argent", "or", "required", "min_n")
THRESHOLD_COLUMNS = ("code", "label", "engagement", "unit", "direction", "kind", "periodicity", "required",
                     "min_n", "bronze", "argent", "or", "provenance_bronze", "provenance_argent",
                     "provenance_or", "min_n_provenance")
EDITION = "edition"
# A threshold as written: 85 → « 85 », 2.5 → « 2,5 » (at most two decimals), with its unit when given.
format_value = functools.partial(format_with_unit, decimals=2, trim=True)


class ReferentielError(ValueError):
    """An edit or a request that cannot be applied; ``messages`` lists every problem, in French."""

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


def versions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every référentiel version (version, title, origin, created_at, in_force), newest first."""
    return db.query_df(con, "referentiel_versions_list")


def _known(con: duckdb.DuckDBPyConnection, version: str) -> bool:
    return bool(db.query_value(con, "referentiel_version_known", {"version": version}))


def _version_or_in_force(con: duckdb.DuckDBPyConnection, version: str | None) -> str:
    if version is None:
        return db.referentiel_in_force(con)
    if not _known(con, version):
        raise ReferentielError([f"Version du référentiel inconnue : « {version} »."])
    return version


def thresholds(con: duckdb.DuckDBPyConnection, version: str | None = None) -> pd.DataFrame:
    """One row per indicator of ``version`` (default: the version in force), in the engine's order, with
    its rules, its bronze / argent / or thresholds and where each one comes from."""
    version = _version_or_in_force(con, version)
    rules = db.query_df(con, "rules_in_force", {"version": version})
    return rules[list(THRESHOLD_COLUMNS)].reset_index(drop=True)


def engagements(con: duckdb.DuckDBPyConnection, version: str | None = None) -> pd.DataFrame:
    """The engagements of ``version`` (number, theme, label, n_indicators), by number."""
    version = _version_or_in_force(con, version)
    return db.query_df(con, "referentiel_engagements", {"version": version})


def provenance_kind(text: str | None) -> str:
    """« défaut », « modifié » or « source publique » (official targets, the label Marianne's rules)."""
    text = (text or "").strip().lower()
    if not text or text.startswith("défaut") or text.startswith("defaut"):
        return "défaut"
    if text.startswith("modifié"):
        return "modifié"
    return "source publique"


# --- validation -------------------------------------------------------------------------------------

def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _number(value) -> float | None:
    """A finite number from a cell (numbers, or text with a decimal comma); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
        if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)", text):
            return None
        value = text
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _flag(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if _missing(value):
        return None
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    return {"oui": True, "true": True, "vrai": True, "1": True,
            "non": False, "false": False, "faux": False, "0": False}.get(text)


def _shown(value) -> str:
    return str(value).strip() if isinstance(value, str) else format_value(value) if _number(value) is not None \
        else str(value)


def _validate(base: pd.DataFrame, edited: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """The new rules (one dict per indicator of the base version) and every problem found."""
    problems: list[str] = []
    if "code" not in edited.columns:
        return [], ["Le tableau modifié n'a pas de colonne « code » : impossible de savoir quel indicateur change."]
    by_code = {row["code"]: row for row in base.to_dict("records")}
    seen: set[str] = set()
    for code in edited["code"]:
        if code not in by_code:
            problems.append(f"Indicateur inconnu dans cette version du référentiel : « {code} ».")
        elif code in seen:
            problems.append(f"L'indicateur « {code} » apparaît plusieurs fois.")
        seen.add(code)
    edits = {row["code"]: row for row in edited.to_dict("records") if row.get("code") in by_code}

    rules = []
    for code, old in by_code.items():
        new = dict(old)
        row = edits.get(code, {})
        name = f"{old['label']} ({code})"
        unit = old["unit"]
        values: dict[str, float] = {}
        for level in LEVELS:
            raw = row.get(level, old[level])
            if _missing(raw):
                problems.append(f"{name} : le seuil {level} est vide ; il faut un nombre.")
                continue
            number = _number(raw)
            if number is None:
                problems.append(f"{name} : le seuil {level} « {_shown(raw)} » n'est pas un nombre.")
                continue
            if unit.startswith("%") and not 0 <= number <= 100:
                problems.append(f"{name} : le seuil {level} ({format_value(number)}) est un taux ; "
                                "il doit être compris entre 0 et 100.")
            elif unit == "oui/non" and number not in (0, 1):
                problems.append(f"{name} : le seuil {level} ({format_value(number)}) doit valoir 1 (oui) ou 0 (non).")
            elif unit == "note /10" and not 0 <= number <= 10:
                problems.append(f"{name} : le seuil {level} ({format_value(number)}) est une note sur 10 ; "
                                "il doit être compris entre 0 et 10.")
            elif number < 0:
                problems.append(f"{name} : le seuil {level} ({format_value(number)}) ne peut pas être négatif.")
            values[level] = number
        if len(values) == len(LEVELS):
            bronze, argent, or_ = (values[level] for level in LEVELS)
            shown = f"bronze {format_value(bronze)}, argent {format_value(argent)}, or {format_value(or_)}"
            if old["direction"] == "hausse" and not bronze <= argent <= or_:
                problems.append(f"{name} : plus haut = mieux, il faut bronze ≤ argent ≤ or (saisi : {shown}).")
            if old["direction"] == "baisse" and not bronze >= argent >= or_:
                problems.append(f"{name} : plus bas = mieux, il faut bronze ≥ argent ≥ or (saisi : {shown}).")
        new.update(values)

        raw_min = row.get("min_n", old["min_n"])
        if _missing(raw_min):
            new["min_n"] = None
        else:
            number = _number(raw_min)
            if number is None or number != int(number) or number < 1:
                problems.append(f"{name} : l'effectif minimum « {_shown(raw_min)} » doit être un entier "
                                "positif, ou vide (pas de minimum).")
            else:
                new["min_n"] = int(number)

        raw_required = row.get("required", old["required"])
        flag = _flag(raw_required)
        if _missing(raw_required):
            problems.append(f"{name} : « obligatoire » n'est pas indiqué ; attendu oui ou non.")
        elif flag is None:
            problems.append(f"{name} : « obligatoire » vaut « {_shown(raw_required)} » ; attendu oui ou non.")
        else:
            new["required"] = flag
        rules.append(new)
    return rules, problems


def _same(a, b) -> bool:
    if _missing(a) and _missing(b):
        return True
    if _missing(a) or _missing(b):
        return False
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)), abs(float(b)))


def _changes(base: pd.DataFrame, rules: list[dict]) -> list[tuple[str, str, object, object]]:
    """(code, field, old, new) for every edited field."""
    old_by_code = {row["code"]: row for row in base.to_dict("records")}
    changes = []
    for new in rules:
        old = old_by_code[new["code"]]
        for field in EDITABLE:
            before, after = old[field], new[field]
            if field == "required":
                if bool(before) != bool(after):
                    changes.append((new["code"], field, bool(before), bool(after)))
            elif not _same(before, after):
                changes.append((new["code"], field, None if _missing(before) else before, after))
    return changes


# --- writing ------------------------------------------------------------------------------------------

def _root(cur, base: str) -> str:
    """The shipped version an edited one derives from: 2023 for 2023, 2023.1, 2023.2…"""
    shipped = [row[0] for row in db.run(cur, "referentiel_shipped_versions").fetchall()]
    parents = [v for v in shipped if base == v or base.startswith(f"{v}.")]
    return max(parents, key=len) if parents else re.sub(r"(\.\d+)+$", "", base) or base


def _next_name(cur, base: str) -> str:
    root = _root(cur, base)
    taken = [row[0] for row in db.run(cur, "db_referentiel_versions").fetchall()]
    numbers = [int(m[1]) for v in taken if (m := re.fullmatch(re.escape(root) + r"\.(\d+)", v))]
    return f"{root}.{max(numbers, default=0) + 1}"


def _detail_value(field: str, value) -> str:
    if field == "required":
        return yes_no(value)
    return "aucun" if value is None else format_value(value)


def save_version(con: duckdb.DuckDBPyConnection, edited: pd.DataFrame, title: str, access: rights.Access,
                 base: str | None = None) -> str:
    """Validate ``edited`` (rows of :func:`thresholds`, edited in the columns bronze, argent, or, required
    and min_n) against ``base`` (default: the version in force) and save it as a new version
    ``<shipped>.<n>`` put in force; returns its name. Raises ReferentielError listing every problem,
    with nothing written. Administrators only (rights.AccessRefused)."""
    rights.require_admin(con, access, "modifier le référentiel")
    who = access.who
    base = _version_or_in_force(con, base)
    old = thresholds(con, base)
    rules, problems = _validate(old, edited)
    if problems:
        raise ReferentielError(problems)
    changes = _changes(old, rules)
    if not changes:
        raise ReferentielError(["Aucune modification : les seuils, le caractère obligatoire et les effectifs "
                                "minimums sont ceux de la version " + base + "."])
    today = f"{date.today():%d/%m/%Y}"
    title = (title or "").strip() or f"Référentiel modifié le {today}"
    changed = {(code, field): before for code, field, before, _ in changes}

    with db.transaction(con) as cur:
        name = _next_name(cur, base)
        db.run(cur, "referentiel_store_version", {"version": name, "title": title, "origin": EDITION,
                                                  "source": f"modification de la version {base}",
                                                  "created_at": datetime.now()})
        db.run(cur, "referentiel_copy_engagements", {"version": name, "base": base})
        db.run(cur, "referentiel_copy_indicators", {"version": name, "base": base})
        for rule in rules:
            code = rule["code"]
            provenance = rule["min_n_provenance"]
            if (code, "min_n") in changed:
                previous = _detail_value("min_n", changed[code, "min_n"])
                provenance = f"modifié par {who} le {today} (précédent : {previous})"
            db.run(cur, "referentiel_edit_indicator", {"required": bool(rule["required"]), "min_n": rule["min_n"],
                                                       "min_n_provenance": provenance, "version": name,
                                                       "code": code})
        rows = []
        for rule in rules:
            for level in LEVELS:
                provenance = rule[f"provenance_{level}"] or "défaut"
                if (rule["code"], level) in changed:
                    provenance = (f"modifié par {who} le {today} "
                                  f"(précédent : {format_value(changed[rule['code'], level])})")
                rows.append([name, rule["code"], level, float(rule[level]), provenance])
        db.run_many(cur, "referentiel_store_threshold", rows)
        db.run(cur, "db_referentiel_put_in_force", {"version": name})
        detail = " ; ".join(f"{code} {REFERENTIEL_FIELD_WORDS[field]} : {_detail_value(field, before)} → "
                            f"{_detail_value(field, after)}" for code, field, before, after in changes)
        rights.log(cur, access, "referentiel_modification",
                   f"version {name} « {title} » créée à partir de {base} et mise en vigueur : {detail}")
    return name


def set_in_force(con: duckdb.DuckDBPyConnection, version: str, access: rights.Access) -> None:
    """Put ``version`` back in force (audited); nothing changes when it already is. Administrators only."""
    rights.require_admin(con, access, "changer la version du référentiel en vigueur")
    if not _known(con, version):
        raise ReferentielError([f"Version du référentiel inconnue : « {version} »."])
    with db.transaction(con) as cur:
        previous = db.run(cur, "db_referentiel_in_force").fetchall()
        previous = previous[0][0] if previous else None
        if previous == version:
            return
        db.run(cur, "db_referentiel_put_in_force", {"version": version})
        rights.log(cur, access, "referentiel_mise_en_vigueur",
                   f"version {version} remise en vigueur (à la place de {previous})")
