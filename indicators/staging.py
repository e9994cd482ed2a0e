"""Turn a file's text cells into typed observations or structures, checking every validation rule first.

All the row-wise work runs in a private in-memory DuckDB; only distinct periods and indicator names
go through Python. Nothing here touches the user's database."""

from __future__ import annotations

import re
from datetime import timedelta
from dataclasses import dataclass, field

import pyarrow as pa

from indicators import db
from indicators.columns import Choices, Target, candidates
from indicators.layouts import LayoutMatch
from indicators.periods import (LAST_YEAR, YEARS_TEXT, PeriodError, add_months, parse_date, parse_period,
                                period_from_frequency)
from indicators.problems import Problem
from indicators.reading import RawTable
from indicators.referentiel import Referentiel
from indicators.text import (FORMULA_CODE_POINTS, format_count, format_number_fr, normalize_header,
                             unneutralize_formula)

MAX_PROBLEMS_PER_RULE = 1000
LEVEL_NAMES = {"bronze": "bronze", "argent": "argent", "or": "or", "silver": "argent", "gold": "or"}
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _define_macros(con) -> None:
    """num_val, unprotect and yes_no (sql/staging_macros.sql); unprotect undoes text.neutralize_formula for the
    prefixes of text.FORMULA_PREFIXES, the one list."""
    codes = ", ".join(str(point) for point in FORMULA_CODE_POINTS)  # digits from the code, no user text
    con.execute(db.sql("staging_macros").replace("{formula_codes}", codes))


@dataclass
class NewIndicator:
    code: str
    label: str
    unit: str | None


@dataclass
class Staged:
    """What a file would store: typed rows, indicators to create, and what the user should know."""

    kind: str  # observations | structures
    rows: pa.Table | None
    problems: list[Problem]
    warnings: list[str] = field(default_factory=list)
    new_indicators: list[NewIndicator] = field(default_factory=list)
    rows_read: int = 0
    # For a register of structures: the columns the file carries (the others keep their stored values).
    structure_columns: tuple[str, ...] = ()
    # For observations: each structure named by the file (code, name, network, typologie), created if unknown.
    structures: pa.Table | None = None
    # The structures named are territories of the open-data baromètre (layouts.LayoutSpec.territorial).
    territorial: bool = False
    # A wide file's columns that hold numbers and match nothing: (header, likeliest targets), until chosen.
    unknown_columns: list[tuple[str, list[Target]]] = field(default_factory=list)
    # The file has no structure column and nobody said which structure it is about.
    needs_structure: bool = False
    # (headers, columns.Choices) of a wide file, saved by the importer when the file lands (mappings.remember).
    remember: tuple | None = None


@dataclass(frozen=True)
class Catalog:
    """Indicators the database knows: the référentiel in force and those created from open data."""

    referentiel: Referentiel
    extra_units: dict[str, str | None]

    def label(self, code: str) -> str:
        """The French name of an indicator, for messages (its code when it has none)."""
        indicator = self.referentiel.indicator(code)
        return f"« {indicator.label} »" if indicator else f"« {code} »"

    def resolve(self, raw_code: str | None, raw_label: str | None) -> str | None:
        if raw_code and (self.referentiel.indicator(raw_code) or raw_code in self.extra_units):
            return raw_code
        keys = {normalize_header(x) for x in (raw_code, raw_label) if x}
        for ind in self.referentiel.indicators:
            if keys & ind.header_keys():
                return ind.code
        return None


# Keys and values are trimmed cell by cell; names only once per structure, counts by the number cast.
_TRIMMED_ROLES = {"structure_code", "indicator", "period", "period_start", "period_end", "frequency", "duration",
                  "value", "code", "label_level", "label_awarded_on", "departement", "parent_code"}


def _col(match: LayoutMatch, role: str) -> str:
    if role == "structure_code" and role not in match.columns and match.spec.name == "large":
        return "(SELECT code FROM chosen_structure)"  # a file about one structure, named by the person
    return _cell(match.columns.get(role), role in _TRIMMED_ROLES)


def _cell(index: int | None, trimmed: bool = False) -> str:
    if index is None:
        return "NULL::VARCHAR"
    return f"nullif(trim(c{index}), '')" if trimmed else f"c{index}"


def _number_columns(value: int | None, numerator: int | None, denominator: int | None,
                    sample_size: int | None) -> str:
    """The value and count cells of one indicator, and their column numbers (for messages)."""
    def number(index):
        return str(index) if index is not None else "NULL::INTEGER"

    return (f"{_cell(value, True)} AS value, {_cell(numerator)} AS numerator, {_cell(denominator)} AS denominator, "
            f"{_cell(sample_size)} AS sample_size, {number(value)} AS value_col, {number(numerator)} AS "
            f"numerator_col, {number(denominator)} AS denominator_col, {number(sample_size)} AS sample_size_col")


def _staging_sql(match: LayoutMatch) -> str:
    """SELECT mapping the layout's columns onto the long staging shape (identifiers are our own c0…cN).
    A wide file gives one SELECT per indicator column, joined by UNION ALL."""
    common = ", ".join(f"{_col(match, r)} AS {r}" for r in (
        "structure_code", "structure_name", "network", "typologie", "indicator_label", "unit", "period",
        "period_start", "period_end", "frequency", "duration", "expected_value", "satisfied",
        "dissatisfied", "no_opinion"))
    if not match.wide_indicators:
        numbers = _number_columns(*(match.columns.get(r) for r in ("value", "numerator", "denominator",
                                                                   "sample_size")))
        return f"SELECT line, {common}, {_col(match, 'indicator')} AS indicator, {numbers} FROM cells"
    branches = []
    for wide in match.wide_indicators:
        if not _SAFE_CODE.match(wide.code):
            raise ValueError(wide.code)
        numbers = _number_columns(wide.value, wide.numerator, wide.denominator, wide.sample_size)
        given = f"coalesce({_cell(wide.value, True)}, {_cell(wide.numerator)}, {_cell(wide.denominator)})"
        branches.append(f"SELECT line, {common}, '{wide.code}' AS indicator, {numbers} FROM cells "
                        f"WHERE {given} IS NOT NULL")
    return " UNION ALL ".join(branches)


class _Collector:
    """Gathers problems, at most MAX_PROBLEMS_PER_RULE listed per rule, the rest counted."""

    def __init__(self, raw: RawTable):
        self.raw = raw
        self.problems: list[Problem] = []
        self.listed: dict[str, int] = {}
        self.overflow: dict[str, int] = {}

    def header(self, index: int | None) -> str | None:
        return self.raw.match.headers[index] if index is not None else None

    def add(self, rule: str, line=None, column=None, value=None, expected=None, detail=None) -> None:
        if self.listed.get(rule, 0) >= MAX_PROBLEMS_PER_RULE:
            self.overflow[rule] = self.overflow.get(rule, 0) + 1
            return
        self.listed[rule] = self.listed.get(rule, 0) + 1
        self.problems.append(Problem(rule, self.raw.filename, self.raw.sheet, line, column,
                                     None if value is None else str(value), expected, detail))

    def add_rows(self, rule: str, rows, expected: str | None = None) -> None:
        for line, column_index, value in rows:
            self.add(rule, line, self.header(column_index), value, expected)

    def finish(self) -> list[Problem]:
        self.problems.sort(key=lambda p: (p.line or 0))
        for rule, count in self.overflow.items():
            self.problems.append(Problem(rule, self.raw.filename, self.raw.sheet,
                                         detail=f"… et {count} autres lignes avec ce problème."))
        return self.problems


def stage(raw: RawTable, catalog: Catalog, rate_scale: str = "auto", choices: Choices | None = None) -> Staged:
    """Check and type the rows of ``raw`` in its scratch connection (the caller's ``scratch_connection``).
    ``choices``: what the person said of a file the layouts cannot read alone (columns.Choices)."""
    con = raw.con
    _define_macros(con)
    if raw.match.spec.kind == "structures":
        return _stage_structures(con, raw)
    return _stage_observations(con, raw, catalog, rate_scale, choices or Choices())


def _widen_date(first, last, unit: str | None) -> tuple:
    """A date in a column headed « Mois », « Trimestre » or « Année » stands for that whole period
    (spreadsheets store a month as its first day)."""
    if first != last or unit is None:
        return first, last
    if unit == "mois":
        return parse_period(f"{first.year}-{first.month:02d}")
    if unit == "trimestre":
        return parse_period(f"{first.year}-T{(first.month - 1) // 3 + 1}")
    if unit == "annee":
        return parse_period(str(first.year))
    return first, last


def _period_of(period, start, end, frequency, duration, unit: str | None = None) -> tuple:
    """(start, end, None, None, None) or (None, None, rule, role, value) for one distinct period."""
    role, text = "period", period
    try:
        if start is not None:
            role, text = "period_start", start
            try:
                first = parse_date(start)
            except PeriodError:
                if end is not None:
                    raise
                return (*parse_period(start), None, None, None)
            if end is not None:
                role, text = "period_end", end
                last = parse_date(end)
            elif frequency is not None or duration is not None:
                role, text = "frequency", frequency
                try:
                    if frequency is None:
                        raise PeriodError("inconnu", "")
                    last = period_from_frequency(first, frequency)
                except PeriodError as error:
                    if error.kind != "inconnu":  # a known frequency that ends beyond the possible years
                        raise
                    if duration is None or not duration.strip().isdigit():
                        return None, None, "frequence_reconnue", "frequency", frequency or ""
                    # No known frequency: the duration, in months, says how long the evaluation lasted.
                    role, text = "duration", duration
                    last = add_months(first, int(duration)) - timedelta(days=1)
                    if last.year > LAST_YEAR:
                        raise PeriodError("annee", duration)
            else:
                last = first
            if last < first:
                return None, None, "fin_apres_debut", "period_end", f"{start} → {end}"
            return first, last, None, None, None
        if period is None:
            return None, None, "valeur_presente", "period", None
        return (*_widen_date(*parse_period(period), unit), None, None, None)
    except PeriodError as error:
        return None, None, error.rule, role, text


def _map_periods(con, match: LayoutMatch) -> None:
    keys = db.run(con, "staging_period_keys").fetchall()
    index = match.columns.get("period")
    unit = normalize_header(match.headers[index]) if index is not None else None
    parsed = [(*k, *_period_of(*k, unit)) for k in keys]
    db.run(con, "staging_period_map_create")
    db.run_many(con, "staging_period_map_insert", parsed)


def _map_indicators(con, raw: RawTable, catalog: Catalog, collector: _Collector) -> list[NewIndicator]:
    keys = db.run(con, "staging_indicator_keys").fetchall()
    creates = raw.match.spec.creates_indicators
    rows, created = [], {}
    for code, label, unit in keys:
        resolved = catalog.resolve(code, label)
        # Open data brings new indicators; our own export names them (libelle_indicateur) so they come back.
        if resolved is None and code and (creates or (raw.match.spec.name == "canonique" and label)):
            resolved = code
            created.setdefault(code, NewIndicator(code, _stripped(label) or code, _stripped(unit)))
        ind = catalog.referentiel.indicator(resolved) if resolved else None
        unit_text = ind.unit if ind else (catalog.extra_units.get(resolved) if resolved else None) or unit or ""
        rows.append((code, label, unit, resolved, unit_text.startswith("%"), unit_text == "oui/non",
                     unit_text in ("minutes", "jours", "jours ouvrés"), ind.kind if ind else None))
    db.run(con, "staging_indicator_map_create")
    db.run_many(con, "staging_indicator_map_insert", rows)
    known = ", ".join(i.code for i in catalog.referentiel.indicators)
    unknown = db.run(con, "staging_unknown_indicators").fetchall()
    column = collector.header(raw.match.columns.get("indicator"))
    for line, value, is_null in unknown:
        if is_null:
            collector.add("valeur_presente", line, column, expected="un code d'indicateur")
        else:
            collector.add("indicateur_connu", line, column, value, f"un de ces codes : {known}")
    return list(created.values())




def _check_numbers(con, raw: RawTable, collector: _Collector) -> None:
    expected_col = raw.match.columns.get("expected_value")
    checks = (("value", "value_col"), ("numerator", "numerator_col"), ("denominator", "denominator_col"),
              ("sample_size", "sample_size_col"),
              ("expected_value", str(expected_col) if expected_col is not None else "NULL::INTEGER"))
    for name, col in checks:
        given = "value_text IS NOT NULL AND NOT coalesce(is_yes_no, false)" if name == "value" else f"{name}_given"
        bad = con.execute(f"SELECT line, {col} FROM typed WHERE {given} AND ({name} IS NULL OR NOT isfinite({name}))"
                          ).fetchall()
        if bad:
            collector.add_rows("nombre_lisible", _cell_texts(con, bad, name, col),
                               "un nombre, par exemple 85,3 ou 10 600")
    rows = db.run(con, "staging_yes_no_unreadable").fetchall()
    collector.add_rows("oui_ou_non", rows, "oui ou non")
    if raw.kind == "csv":
        # In a text file « 1.234 » next to « 1,5 » is ambiguous (thousands or decimals?): refuse, do not guess.
        for name, col in checks[:4]:
            counts = db.run(con, "staging_separator_counts", col=col, field=name).fetchall()
            for column_index, commas, points in counts:
                if commas and points:
                    minority = "." if points <= commas else ","
                    rows = db.run(con, "staging_separator_minority", [column_index, minority],
                                  col=col, field=name).fetchall()
                    majority = "virgule" if minority == "." else "point"
                    collector.add_rows("separateur_decimal_unique", rows,
                                       f"le même séparateur que le reste de la colonne ({majority})")


def _cell_texts(con, cells: list[tuple], name: str, col: str) -> list[tuple]:
    """(line, column, text as written) of a few refused cells: typed keeps numbers, the file keeps texts,
    and only refused cells are worth reading back."""
    wanted = set(cells)
    rows = con.execute(f"SELECT line, {col}, {name} FROM staged WHERE list_contains(?, line) "
                       f"AND {name} IS NOT NULL ORDER BY line", [sorted({line for line, _ in cells})]).fetchall()
    return [r for r in rows if (r[0], r[1]) in wanted]


def _scale_rates(con, rate_scale: str, catalog: Catalog, warnings: list[str]) -> None:
    """Rates written as 0–1 (0,853) become 0–100 when declared so, or when every rate of an indicator
    written in the file reads so. Only values written in the file: a rate computed from its counts
    (3 out of 1 000 = 0,3 %) is already a percentage."""
    if rate_scale == "0-100":
        return
    found = "staging_rates_declared_proportions" if rate_scale == "0-1" else "staging_rates_read_as_proportions"
    scaled = db.run(con, found).fetchall()
    if not scaled:
        return
    db.run(con, "staging_rates_to_percent", [[code for code, _, _ in scaled]])
    named = "; ".join(
        f"{catalog.label(code)} ({format_count(count, 'valeur')}, par exemple "
        f"{format_number_fr(example, 3).rstrip('0').rstrip(',')} → {format_number_fr(100 * example, 1)}\u202f%)"
        for code, count, example in scaled)
    warnings.append(f"Taux écrits comme des proportions de 0 à 1, convertis en pourcentages : {named}.")


def _check_rules(con, collector: _Collector) -> None:
    def rows(where: str, col: str = "value_col", text: str = "value_text"):
        return con.execute(f"SELECT line, {col}, {text} FROM typed WHERE {where} ORDER BY line").fetchall()

    collector.add_rows("code_structure_present", db.run(con, "staging_missing_structure_code").fetchall(),
                       "le code de la structure")
    for rule, role, value, line in db.run(con, "staging_period_problems").fetchall():
        expected = {"date_possible": "une date qui existe, au format JJ/MM/AAAA ou AAAA-MM-JJ",
                    "annee_plausible": YEARS_TEXT,
                    "periode_reconnue": "2025, 2025-T1, T1 2025, 2025-03, mars 2025 ou une date 31/12/2025",
                    "frequence_reconnue": "mensuelle, trimestrielle, semestrielle ou annuelle",
                    "fin_apres_debut": "une fin de période postérieure au début",
                    "valeur_presente": "une période"}[rule]
        collector.add(rule, line, collector.header(collector.raw.match.columns.get(role)), value, expected)
    collector.add_rows("valeur_presente", rows(
        "value IS NULL AND value_text IS NULL AND NOT (kind = 'ratio' AND numerator IS NOT NULL "
        "AND denominator IS NOT NULL)"), "une valeur, ou numérateur et dénominateur")
    # A rate computed from counts is judged by the count rules below, not reported twice.
    collector.add_rows("taux_entre_0_et_100", rows("is_rate AND value_text IS NOT NULL AND (value < 0 OR value > 100)"),
                       "un pourcentage entre 0 et 100")
    collector.add_rows("delai_positif", rows("is_delay AND value < 0"), "un nombre positif ou nul")
    for name in ("numerator", "denominator", "sample_size"):
        negative = db.run(con, "staging_negative_count", field=name).fetchall()
        collector.add_rows("comptage_positif", _cell_texts(con, negative, name, f"{name}_col"),
                           "un nombre positif ou nul")
    above = db.run(con, "staging_numerator_above").fetchall()
    if above:
        numerators = _cell_texts(con, above, "numerator", "numerator_col")
        denominators = {(line, index): text for line, index, text
                        in _cell_texts(con, above, "denominator", "numerator_col")}
        collector.add_rows("numerateur_inferieur_au_denominateur",
                           [(line, index, f"{text} > {denominators.get((line, index))}")
                            for line, index, text in numerators],
                           "un numérateur inférieur ou égal au dénominateur")


def _check_duplicates(con, raw: RawTable, collector: _Collector, warnings: list[str]) -> None:
    identical_ok = raw.match.spec.tolerates_identical_repeats
    any_repeat = db.run(con, "staging_any_repeat").fetchall()[0][0]
    if not any_repeat:
        return
    repeats = db.run(con, "staging_repeats").fetchall()
    dropped = 0
    for line, first_line, value, same in repeats:
        if identical_ok and same:
            dropped += 1
            continue
        collector.add("observation_unique_dans_le_fichier", line, None, value,
                      "une seule ligne par structure, indicateur et période",
                      f"Déjà présente à la ligne {first_line}.")
    if dropped:
        one = dropped == 1
        repeated, verb = ("ligne répétée", "a été lue") if one else ("lignes répétées", "ont été lues")
        warnings.append(f"{format_number_fr(dropped, 0)} {repeated} à l'identique (même structure, indicateur, "
                        f"période et valeurs) {verb} une seule fois.")
        db.run(con, "staging_drop_identical_repeats")


def _numeric_columns(con, columns: tuple[int, ...]) -> set[int]:
    """The columns whose filled cells are mostly numbers (a comment column with a figure here and there is not)."""
    if not columns:
        return set()
    counts = ", ".join(f"count(nullif(trim(c{i}), '')), count(num_val(trim(c{i})))" for i in columns)
    found = con.execute(f"SELECT {counts} FROM cells").fetchall()[0]  # identifiers: our own c0…cN
    return {i for n, (filled, numbers) in enumerate(zip(found[::2], found[1::2]))
            for i in [columns[n]] if numbers and 2 * numbers >= filled}


def _check_choices(con, raw: RawTable, catalog: Catalog, choices: Choices, collector: _Collector,
                   warnings: list[str]) -> tuple[list[tuple[str, list[Target]]], bool]:
    """What a wide file needs from the person before its rows can be read: a choice for each column of numbers
    that matches nothing, and the structure when the file has no structure column. Problems are collected;
    returns (unknown columns with their candidates, structure needed?)."""
    match = raw.match
    for text in match.choice_problems:
        collector.add("choix_de_colonne", detail=text[0].upper() + text[1:] + ".")
    if match.remembered:
        warnings.append("Correspondance des colonnes enregistrée pour ces en-têtes appliquée (elle se gère sur la "
                        "page Import).")
    numeric = _numeric_columns(con, match.unknown_columns)
    unknown = [(match.headers[i], candidates(match.headers[i], catalog.referentiel)) for i in match.unknown_columns
               if i in numeric]
    for header, likely in unknown:
        collector.add("colonne_reconnue", column=header, expected=(
            "une correspondance --colonne \"EN-TÊTE=code\" (par exemple "
            + (", ".join(f"« {t.text} »" for t in likely[:3]) or "« decroche »")
            + ") ou --ignorer-colonne \"EN-TÊTE\""))
    quiet = [match.headers[i] for i in match.unknown_columns if i not in numeric]
    if quiet:
        warnings.append("Colonnes ignorées (non reconnues, sans nombres) : " + ", ".join(quiet) + ".")
    if match.ignored_columns:
        why = "par la correspondance enregistrée" if match.remembered else "à votre demande"
        warnings.append(f"Colonnes ignorées {why} : " + ", ".join(match.headers[i] for i in match.ignored_columns)
                        + ".")
    has_column = "structure_code" in match.columns or match.spec.name != "large"
    if choices.structure and has_column:
        header = match.headers[match.columns["structure_code"]] if "structure_code" in match.columns else ""
        collector.add("structure_en_double", column=header or None, value=choices.structure)
    needs_structure = not has_column and not choices.structure
    if needs_structure:
        collector.add("structure_precisee")
    con.execute("CREATE TABLE chosen_structure AS SELECT $code::VARCHAR AS code", {"code": choices.structure})
    return unknown, needs_structure


def _stage_observations(con, raw: RawTable, catalog: Catalog, rate_scale: str, choices: Choices) -> Staged:
    collector = _Collector(raw)
    warnings = list(raw.warnings)
    unknown, needs_structure = _check_choices(con, raw, catalog, choices, collector, warnings)
    if collector.problems:  # the rows cannot be read as the person means them yet
        rows_read = con.execute("SELECT count(*) FROM cells").fetchall()[0][0]
        return Staged("observations", None, collector.finish(), warnings, [], rows_read,
                      unknown_columns=unknown, needs_structure=needs_structure)
    con.execute(f"CREATE VIEW staged AS {_staging_sql(raw.match)}")
    rows_read = db.run(con, "staging_rows_read").fetchall()[0][0]
    # One pass over the rows for both small maps: indicators and periods are few, rows are many.
    db.run(con, "staging_distinct_keys")
    new_indicators = _map_indicators(con, raw, catalog, collector)
    _map_periods(con, raw.match)
    db.run(con, "staging_typed")
    _check_numbers(con, raw, collector)
    _scale_rates(con, rate_scale, catalog, warnings)
    _check_rules(con, collector)
    _check_duplicates(con, raw, collector, warnings)
    problems = collector.finish()
    if problems:
        return Staged("observations", None, problems, warnings, new_indicators, rows_read)
    # unprotect: names that our own export shielded from spreadsheets come back as they were.
    table = con.sql(db.sql("staging_observation_rows")).to_arrow_table()
    structures = _named(con.sql(db.sql("staging_observation_structures")).to_arrow_table(), choices)
    return Staged("observations", table, [], warnings, new_indicators, rows_read, structures=structures,
                  territorial=raw.match.spec.territorial)


def _named(structures: pa.Table, choices: Choices) -> pa.Table:
    """The names and networks the person gave the structures a file creates (the importer creates a structure
    only when it is unknown: a known one keeps its register's name)."""
    for column, given in (("name", dict(choices.names)), ("network", dict(choices.networks))):
        given = {code: text.strip() for code, text in given.items() if text and text.strip()}
        if given:
            codes = structures.column("code").to_pylist()
            values = [given.get(code, old) for code, old in zip(codes, structures.column(column).to_pylist())]
            structures = structures.set_column(structures.schema.get_field_index(column), column,
                                               pa.array(values, pa.string()))
    return structures


def _stripped(text: str | None) -> str | None:
    return (text.strip() or None) if text else None


def _stage_structures(con, raw: RawTable) -> Staged:
    collector = _Collector(raw)
    match = raw.match
    roles = ("code", "name", "network", "typologie", "departement", "region", "parent_code", "label_level",
             "label_awarded_on")
    con.execute("CREATE TABLE typed AS SELECT line, " + ", ".join(f"{_col(match, r)} AS {r}" for r in roles)
                + " FROM cells")
    rows = db.run(con, "staging_structure_rows").fetchall()
    seen: dict[str, int] = {}
    out = []
    for line, code, name, network, typologie, departement, region, parent, level, awarded in rows:
        if code is None:
            collector.add("code_structure_present", line, collector.header(match.columns.get("code")))
            continue
        if code in seen:
            collector.add("observation_unique_dans_le_fichier", line, collector.header(match.columns["code"]), code,
                          "une seule ligne par structure", f"Déjà présente à la ligne {seen[code]}.")
        seen[code] = line
        if departement and departement.isdigit() and len(departement) == 1:
            departement = "0" + departement  # a spreadsheet turned « 01 » into the number 1
        level_name = None
        if level:
            level_name = LEVEL_NAMES.get(normalize_header(level))
            if level_name is None and normalize_header(level) not in ("", "aucun", "non", "sans"):
                collector.add("niveau_de_label_connu", line, collector.header(match.columns.get("label_level")),
                              level, "bronze, argent ou or")
        awarded_on = None
        if awarded:
            try:
                awarded_on = parse_date(awarded)
            except PeriodError as error:
                collector.add(error.rule, line,
                              collector.header(match.columns.get("label_awarded_on")), awarded,
                              f"une date au format JJ/MM/AAAA ou AAAA-MM-JJ, {YEARS_TEXT}")
        out.append((code, unneutralize_formula(_stripped(name)), unneutralize_formula(_stripped(network)),
                    _stripped(typologie), departement, _stripped(region), parent, level_name, awarded_on, line))
    problems = collector.finish()
    if problems:
        return Staged("structures", None, problems, rows_read=len(rows))
    names = ("code", "name", "network", "typologie", "departement", "region", "parent_code", "label_level",
             "label_awarded_on", "source_line")
    columns = list(zip(*out)) if out else [[]] * len(names)
    types = [pa.string()] * 8 + [pa.date32(), pa.int32()]
    table = pa.table({n: pa.array(c, t) for n, c, t in zip(names, columns, types)})
    present = tuple(r for r in roles if r in match.columns)
    return Staged("structures", table, [], [], [], len(rows), present)
