"""Improvement actions a service records (title, the indicators it aims at, dates, owner, comment), and for each
one the before/after on its indicators: the 3 months before its start month against the 3 from it on, by the
engine's own rules. Rights are enforced here: a director for their structures, a network head for their
networks', an administrator for all; nobody sees actions outside the structures they see.

An action is never deleted: a removal is recorded (who, when), and every change goes into the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from indicators import compliance, db, grants, rights, wording
from indicators.periods import FIRST_YEAR, LAST_YEAR, PeriodError, Window, add_months, month_end, parse_date
from indicators.text import format_date, format_number_fr, format_value, plural

ADDED, REMOVED = "action ajoutée", "action retirée"
RECORD, REMOVE = "enregistrer une action", "retirer une action"

MAX_TITLE, MAX_OWNER, MAX_COMMENT = 200, 100, 2000
# Months before the start month and from it on that a before/after compares.
MONTHS_COMPARED = 3

# Said once, on the method page (README « Méthode »), beside every before/after.
CAVEAT = ("Une comparaison avant/après montre une association, pas une preuve : d'autres changements survenus en "
          "même temps (saison, effectifs, volume de demandes, autres actions) ont pu jouer autant que l'action.")
NOT_ENOUGH_DATA = "Pas assez de recul : 3 mois de données avant et après le début sont nécessaires."
PERIODS_ACROSS = ("Pas de comparaison : les périodes des données (trimestres, années) débordent des 3 mois avant "
                  "ou après le début de l'action.")
YES_NO = "Pas de comparaison avant/après pour un indicateur oui/non : seule sa dernière valeur compte."
NOT_IN_FORCE = "Indicateur absent du référentiel en vigueur : pas de comparaison."
SMALL_SAMPLE = ("Échantillon insuffisant : un effectif d'au moins {min_n} est nécessaire sur chacune des deux "
                "périodes de 3 mois ({before} avant, {after} après).")


class ActionError(ValueError):
    """An action refused for its content; ``messages`` says every problem, in French."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class Comparison:
    """One indicator of one action, before and after its start. Without a comparison (``compared`` False) the
    values are None and ``sentence`` says why."""

    action_id: int
    structure_code: str
    indicator_code: str
    label: str
    unit: str
    direction: str
    before: Window
    after: Window
    value_before: float | None
    value_after: float | None
    n_before: float | None  # the engine's n: Σ sample sizes, else Σ denominators; None when unknown
    n_after: float | None
    sentence: str

    @property
    def compared(self) -> bool:
        return self.value_before is not None

    @property
    def change(self) -> float | None:
        """After minus before, in the indicator's unit (points for a rate)."""
        return None if not self.compared else self.value_after - self.value_before

    @property
    def improved(self) -> bool | None:
        """Whether the change goes the way the rule wants (None: no comparison, or no change as shown)."""
        if not self.compared or _shown(self.value_after) == _shown(self.value_before):
            return None
        return (self.change < 0) if self.direction == "baisse" else (self.change > 0)

    @property
    def direction_words(self) -> str:
        """« dans le sens souhaité » / « dans le sens contraire à celui souhaité » / « sans changement »."""
        if not self.compared:
            return ""
        if self.improved is None:
            return "sans changement"
        return "dans le sens souhaité" if self.improved else "dans le sens contraire à celui souhaité"


def _shown(value: float) -> float:
    """A value as the sentence writes it (one decimal)."""
    return round(float(value), 1) + 0.0


def windows(start_on: date) -> tuple[Window, Window]:
    """The 3 calendar months before the action's start month, and the 3 from it on."""
    first = start_on.replace(day=1)
    before = Window("avant", add_months(first, -MONTHS_COMPARED), first - timedelta(days=1))
    last = add_months(first, MONTHS_COMPARED - 1)
    return before, Window("après", first, month_end(last.year, last.month))


# --- Recording and removing ----------------------------------------------------------------------------------

def _refuse(con: duckdb.DuckDBPyConnection, access: rights.Access, message: str) -> None:
    rights.journal(con, access, "refus", message)
    raise rights.AccessRefused(message)


def _check_may_change(con: duckdb.DuckDBPyConnection, access: rights.Access, structure: str, what: str) -> None:
    """A structure the person does not see is answered as an unknown one; one they see but may not change (a
    reader) is refused in words. Both are journaled: an attempted write leaves a trace."""
    try:
        rights.check_structure(con, access, structure)
    except rights.AccessRefused as unknown:
        _refuse(con, access, f"Action refusée : {unknown}")
    if rights.outside_write_scope(con, access, [structure]):
        _refuse(con, access, f"Vous ne pouvez pas {what} pour la structure {structure} : vos droits sur elle "
                             "sont en lecture seule.")


def _day(value, what: str, problems: list[str]) -> date | None:
    """A date given as a date or as text (« 31/03/2025 », « 2025-03-31 »); None, with the problem, when unreadable."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        if FIRST_YEAR <= value.year <= LAST_YEAR:
            return value
        problems.append(f"Date {what} impossible : {format_date(value)} (attendu : une année entre {FIRST_YEAR} "
                        f"et {LAST_YEAR}).")
        return None
    try:
        return parse_date(str(value))
    except PeriodError:
        problems.append(f"Date {what} illisible : « {str(value).strip()} » (attendu : 31/03/2025 ou 2025-03-31).")
        return None


def _text(value, what: str, limit: int, problems: list[str], one_line: bool = True) -> str | None:
    """Trimmed text (one line for a title or a name), None when empty; too long: the problem says by how much."""
    text = "" if value is None else str(value)
    text = " ".join(text.split()) if one_line else text.strip()
    if len(text) > limit:
        problems.append(f"{what} dépasse {format_number_fr(limit, 0)} caractères ({format_number_fr(len(text), 0)}) "
                        ": raccourcissez-le.")
    return text or None


@dataclass(frozen=True)
class _Request:
    title: str
    indicators: tuple[str, ...]
    start_on: date
    end_on: date | None
    owner: str | None
    comment: str | None


def _checked(title, indicators, start_on, end_on, owner, comment, known: list[str]) -> _Request:
    """The action normalised (indicators in the référentiel's order), or ActionError with every problem."""
    problems: list[str] = []
    title = _text(title, "Le titre", MAX_TITLE, problems)
    if title is None:
        problems.append("Indiquez le titre de l'action.")
    codes = grants.listed(indicators)
    unknown = [code for code in codes if code not in known]
    if not codes:
        problems.append("Indiquez au moins un indicateur visé par l'action.")
    elif unknown:
        quoted = rights.names_list([f"« {code} »" for code in unknown])
        problems.append(f"{'Indicateur inconnu' if len(unknown) == 1 else 'Indicateurs inconnus'} du référentiel en "
                        f"vigueur : {quoted} (codes du référentiel : {', '.join(known)}).")
    start = None
    if start_on is None or str(start_on).strip() == "":
        problems.append("Indiquez la date de début de l'action.")
    else:
        start = _day(start_on, "de début", problems)
    end = None if end_on is None or str(end_on).strip() == "" else _day(end_on, "de fin", problems)
    if start and end and end < start:
        problems.append(f"La date de fin ({format_date(end)}) précède la date de début ({format_date(start)}).")
    owner = _text(owner, "Le responsable", MAX_OWNER, problems)
    comment = _text(comment, "Le commentaire", MAX_COMMENT, problems, one_line=False)
    if problems:
        raise ActionError(problems)
    return _Request(title, tuple(code for code in known if code in codes), start, end, owner, comment)


def _described(action_id: int, structure: str, title: str, codes: Iterable[str], start_on: date,
               end_on: date | None, names: dict[str, str]) -> str:
    """« n° 3 : « Rappel des usagers » pour S-LYON (Taux de décroché), du 15/04/2025 au 30/06/2025 »."""
    dates = f"du {format_date(start_on)}" + (f" au {format_date(end_on)}" if _given(end_on) else "")
    return f"n° {action_id} : « {title} » pour {structure} ({wording.indicator_list(codes, names)}), {dates}"


def _given(day) -> bool:
    """A date, not None nor NaT (a listing's column of end dates holds NaT where there is none)."""
    return day is not None and day == day


def dates_words(start_on, end_on) -> str:
    """« depuis le 15/04/2025 », or with an end « du 15/04/2025 au 30/06/2025 »."""
    if not _given(end_on):
        return f"depuis le {format_date(start_on)}"
    return f"du {format_date(start_on)} au {format_date(end_on)}"


def _rules(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return compliance.load_rules(con)[1]


def add(con: duckdb.DuckDBPyConnection, access: rights.Access, structure: str, title: str,
        indicators: Iterable[str] | str, start_on: date | str, end_on: date | str | None = None,
        owner: str | None = None, comment: str | None = None) -> int:
    """Record an action for a structure the person may change; returns its number. Refusals: AccessRefused
    (outside the scope), ActionError (every problem of the content); nothing is written then."""
    structure = str(structure or "").strip()
    if not structure:
        raise ActionError(["Indiquez la structure de l'action."])
    _check_may_change(con, access, structure, RECORD)
    rules = _rules(con)
    request = _checked(title, indicators, start_on, end_on, owner, comment, rules["code"].astype(str).tolist())
    with db.transaction(con) as cur:
        action_id = db.run(cur, "actions_next_id").fetchall()[0][0]
        db.run(cur, "actions_insert", {
            "id": action_id, "structure_code": structure, "title": request.title,
            "indicators": list(request.indicators), "start_on": request.start_on, "end_on": request.end_on,
            "owner": request.owner, "comment": request.comment, "created_by": access.who,
            "created_by_subject": access.person.subject, "created_at": datetime.now()})
        rights.log(cur, access, ADDED, _described(action_id, structure, request.title, request.indicators,
                                                  request.start_on, request.end_on, wording.indicator_names(rules)))
    return action_id


def _one(con: duckdb.DuckDBPyConnection, access: rights.Access, action_id) -> tuple:
    """The action's row, if it exists and its structure is seen; else « Aucune action n° … » (the same answer for
    both, so that nobody learns what others recorded)."""
    try:
        number = int(action_id)
    except (TypeError, ValueError):
        raise ActionError([f"Numéro d'action illisible : « {action_id} »."]) from None
    rows = db.query(con, "actions_one", {"id": number})
    if not rows or not access.sees(rows[0][1], rows[0][2]):
        raise ActionError([f"Aucune action n° {number}."])
    return rows[0]


def remove(con: duckdb.DuckDBPyConnection, access: rights.Access, action_id: int) -> str:
    """Remove an action (kept, marked removed, journaled); returns the French confirmation."""
    number, structure, _, title, codes, start_on, end_on, *_ = _one(con, access, action_id)
    _check_may_change(con, access, structure, REMOVE)
    names = wording.indicator_names(_rules(con))
    with db.transaction(con) as cur:
        removed_by, removed_at = db.run(cur, "actions_one", {"id": number}).fetchall()[0][-2:]
        if removed_at is not None:
            raise ActionError([(f"L'action n° {number} est déjà retirée (le {format_date(removed_at)} par "
                                f"{removed_by}).")])
        db.run(cur, "actions_remove", {"id": number, "removed_by": access.who, "removed_at": datetime.now()})
        described = _described(number, structure, title, codes, start_on, end_on, names)
        rights.log(cur, access, REMOVED, described)
    return f"Action {described} retirée."


# --- Reading -------------------------------------------------------------------------------------------------

LISTING_COLUMNS = ("id", "structure_code", "structure_name", "network", "title", "indicators", "indicator_labels",
                   "start_on", "end_on", "owner", "comment", "created_by", "created_at")


def listing(con: duckdb.DuckDBPyConnection, access: rights.Access, structure: str | None = None) -> pd.DataFrame:
    """The actions still recorded of the structures the person sees (or of one of them), by structure, newest
    start first: LISTING_COLUMNS; ``indicators`` a list of codes, ``indicator_labels`` their labels joined."""
    if structure is not None:
        rights.check_structure(con, access, structure)
    frame = db.query_df(con, "actions_list", {"structure": structure, "codes": rights.codes_filter(con, access)})
    frame["indicators"] = frame["indicators"].map(list)
    frame["indicator_labels"] = wording.indicator_lists(frame["indicators"], _rules(con)) if len(frame) else ""
    for column in ("start_on", "end_on"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame[list(LISTING_COLUMNS)]


def _as_action(con: duckdb.DuckDBPyConnection, access: rights.Access, action) -> dict:
    """An action given by its number or as a row of ``listing``, the person's scope checked."""
    if isinstance(action, (dict, pd.Series)):
        rights.check_structure(con, access, str(action["structure_code"]))
        return {key: action[key] for key in ("id", "structure_code", "indicators", "start_on")}
    number, structure, _, _, codes, start_on, *_ = _one(con, access, action)
    return {"id": number, "structure_code": structure, "indicators": list(codes), "start_on": start_on}


def before_after(con: duckdb.DuckDBPyConnection, access: rights.Access, action) -> list[Comparison]:
    """For each indicator of an action (its number or a ``listing`` row), in the référentiel's order: the 3
    months before its start month against the 3 from it on, or why there is no comparison."""
    return _comparisons(con, [_as_action(con, access, action)])


def _comparisons(con: duckdb.DuckDBPyConnection, actions: list[dict]) -> list[Comparison]:
    """Every action's comparisons; the engine runs once per distinct window (the 3 months after an action starting
    in April are the 3 months before one starting in July), on the structures and indicators concerned only."""
    version, rules, _ = compliance.load_rules(con)
    by_code = {str(row["code"]): row for row in rules.to_dict("records")}
    order = {code: position for position, code in enumerate(by_code)}
    needed: dict[tuple[date, date], tuple[Window, set[str], set[str]]] = {}
    for action in actions:
        for window in windows(pd.Timestamp(action["start_on"]).date()):
            _, structures, aimed = needed.setdefault((window.start, window.end), (window, set(), set()))
            structures.add(str(action["structure_code"]))
            aimed.update(action["indicators"])
    assessed = {key: _assessed(con, window, version, rules, sorted(structures), sorted(aimed))
                for key, (window, structures, aimed) in needed.items()}
    out = []
    for action in actions:
        before, after = windows(pd.Timestamp(action["start_on"]).date())
        for code in sorted(action["indicators"], key=lambda c: order.get(c, len(order))):
            out.append(_comparison(action, code, by_code.get(code), before, after,
                                   assessed[(before.start, before.end)], assessed[(after.start, after.end)]))
    return out


@dataclass(frozen=True)
class _Period:
    """One structure × indicator over one window: what the engine found and how many months the data covers."""

    value: float
    n: float | None
    status: str
    months_covered: int = 0
    across: bool = False  # some period of the data runs across the window's bounds


def _assessed(con: duckdb.DuckDBPyConnection, window: Window, version: str, rules: pd.DataFrame,
              structures: list[str], aimed: list[str]) -> dict[tuple[str, str], _Period]:
    """(structure, indicator) → _Period for the aimed indicators, by the engine's functions on the window."""
    one = structures[0] if len(structures) == 1 else None
    frame = compliance.aggregate(con, window, version, structure=one, codes=None if one else structures)
    found = compliance.assess_indicators(frame, rules, window.end)
    found = found[found["indicator_code"].isin(aimed)]
    covered = {(structure, code): (int(months), bool(across)) for structure, code, months, across in db.query(
        con, "actions_months_covered", {"start": window.start, "end": window.end, "structures": structures,
                                        "indicators": aimed})}
    return {(structure, code): _Period(value, _number(n), status, *covered.get((structure, code), (0, False)))
            for structure, code, value, n, status in zip(
                found["structure_code"].astype(str), found["indicator_code"].astype(str), found["value"],
                found["n"], found["status"].astype(str))}


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _comparison(action: dict, code: str, rule: dict | None, before: Window, after: Window,
                assessed_before: dict[tuple[str, str], _Period],
                assessed_after: dict[tuple[str, str], _Period]) -> Comparison:
    key = (str(action["structure_code"]), code)

    def made(sentence: str, values: tuple = (None, None, None, None)) -> Comparison:
        label = str(rule["label"]) if rule else code
        unit, direction = (str(rule["unit"]), str(rule["direction"])) if rule else ("", "hausse")
        return Comparison(int(action["id"]), key[0], code, label, unit, direction, before, after, *values, sentence)

    if rule is None:
        return made(NOT_IN_FORCE)
    if rule["kind"] == "latest":
        return made(YES_NO)
    sides = (assessed_before.get(key), assessed_after.get(key))
    if any(side is None or side.months_covered < MONTHS_COMPARED for side in sides):
        return made(PERIODS_ACROSS if any(side is not None and side.across for side in sides) else NOT_ENOUGH_DATA)
    first, then = sides
    if "echantillon_insuffisant" in (first.status, then.status):
        return made(SMALL_SAMPLE.format(min_n=format_number_fr(rule["min_n"], 0),
                                        before=format_number_fr(first.n, 0), after=format_number_fr(then.n, 0)))
    values = (float(first.value), float(then.value), first.n, then.n)
    return made(sentence(rule, *values), values)


# --- Words ---------------------------------------------------------------------------------------------------

def _of(label: str) -> str:
    """« de taux de décroché », « d'attente… »: the label after « de », lower-cased unless it opens with an
    acronym, with the elision French writes before a vowel."""
    text = wording.in_sentence(label)
    return f"d'{text}" if text[:1].lower() in "aeiouyéèêàâîôû" else f"de {text}"


def _counted(n_before: float | None, n_after: float | None, numerator_label) -> str:
    """« sur 11 200 puis 11 900 appels » (the noun of what the rate counts), « sur un effectif de 1 200 puis
    1 300 » when the référentiel names none, « effectifs non fournis » when the files gave none."""
    if n_before is None or n_after is None:
        return "effectifs non fournis"
    numbers = f"{format_number_fr(n_before, 0)} puis {format_number_fr(n_after, 0)}"
    noun = str(numerator_label).split(" ")[0] if isinstance(numerator_label, str) and numerator_label else ""
    return f"sur {numbers} {plural(round(n_after), noun)}" if noun else f"sur un effectif de {numbers}"


def sentence(rule: dict, value_before: float, value_after: float, n_before: float | None,
             n_after: float | None) -> str:
    """« Après l'action, +4,2 points de taux de décroché (de 81,0 % à 85,2 %, sur 11 200 puis 11 900 appels) ».
    The change is that of the values as written, so that the sentence adds up to the eye; points for a rate,
    the indicator's unit otherwise."""
    unit = str(rule["unit"])
    change = round(_shown(value_after) - _shown(value_before), 1) + 0.0
    sign = "+" if change > 0 else "\u2212" if change < 0 else ""
    noun = "points" if unit.startswith("%") else unit
    amount = f"{sign}{format_number_fr(abs(change), 1)} {plural(change, noun)}"
    return (f"Après l'action, {amount} {_of(str(rule['label']))} (de {format_value(value_before, unit)} à "
            f"{format_value(value_after, unit)}, {_counted(n_before, n_after, rule.get('numerator_label'))})")


# --- Comparaison ---------------------------------------------------------------------------------------------

TABLE_COLUMNS = ("action_id", "structure_code", "structure_name", "network", "title", "start_on", "end_on", "owner",
                 "indicator_code", "indicator_label", "unit", "direction", "before_start", "before_end",
                 "after_start", "after_end", "value_before", "value_after", "change", "n_before", "n_after",
                 "improved", "sentence")


def comparison_table(con: duckdb.DuckDBPyConnection, access: rights.Access, codes: Iterable[str] | None = None
                     ) -> pd.DataFrame:
    """The actions of a selection of structures (``codes``; None: every structure the person sees), one row per
    action × indicator with its before/after: TABLE_COLUMNS. Numbers stay numbers (NaN without a comparison,
    ``sentence`` then says why), ``improved`` True/False/None, so that every column sorts."""
    actions = listing(con, access)
    if codes is not None:
        actions = actions[actions["structure_code"].isin(set(codes))].reset_index(drop=True)
    comparisons = _comparisons(con, actions.to_dict("records"))
    rows = pd.DataFrame([{
        "action_id": c.action_id, "indicator_code": c.indicator_code, "indicator_label": c.label, "unit": c.unit,
        "direction": c.direction, "before_start": c.before.start, "before_end": c.before.end,
        "after_start": c.after.start, "after_end": c.after.end, "value_before": c.value_before,
        "value_after": c.value_after, "change": c.change, "n_before": c.n_before, "n_after": c.n_after,
        "improved": c.improved, "sentence": c.sentence} for c in comparisons],
        columns=["action_id", *TABLE_COLUMNS[8:]])
    table = actions.rename(columns={"id": "action_id"})[list(TABLE_COLUMNS[:8])].merge(rows, on="action_id")
    for column in ("value_before", "value_after", "change", "n_before", "n_after"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("float64")
    table["improved"] = table["improved"].astype(object).where(table["improved"].notna(), None)
    return table[list(TABLE_COLUMNS)]
