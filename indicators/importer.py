"""Import files into the database, whole or not at all; list imports and undo them.

One pair for every door: :func:`prepare` checks a batch of files (the Import page, the command line) or
:func:`prepare_table` an already-typed table (the demo), and :func:`commit` stores what is ready in one
transaction. Nothing is written before ``commit``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from indicators import db, mappings, rights, territories
from indicators.columns import Choices
from indicators.layouts import STRUCTURE_ROLES
from indicators.problems import ImportRefused, Problem
from indicators.rawtable import check_size, scratch_connection
from indicators.reading import clean_stale_scratch, read_table, sha256_of
from indicators.referentiel import REFERENTIEL_DIR, load_default, load_referentiel_file
from indicators.settings import Limits
from indicators.staging import MAX_PROBLEMS_PER_RULE, Catalog, NewIndicator, Staged, stage
from indicators.text import format_count, format_number_fr

STATUS_IMPORTED = "importe"
STATUS_UNDONE = "annule"
CONFLICTS_LISTED = 1000  # restated values listed one by one; the rest are counted


@dataclass
class ImportReport:
    """What an import did, or would do (dry run), or why it was refused."""

    filename: str
    sha256: str
    outcome: str  # importe | deja_importe | refuse | simulation | non_importe (another file of the batch failed)
    import_id: int | None = None
    kind: str | None = None
    layout: str | None = None
    layout_label: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    size: int = 0
    rows_read: int = 0
    rows_added: int = 0
    rows_replaced: int = 0
    rows_unchanged: int = 0
    structures_added: int = 0
    structures_updated: int = 0
    indicators_added: int = 0
    previous_import: int | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    preview: pa.Table | None = None
    # What the person still has to say (columns.Choices): a structure, a choice per unknown column of numbers.
    needs_structure: bool = False
    unknown_columns: list = field(default_factory=list)  # (header, [columns.Target, …] likeliest first)
    # The structures the import would create, as (code, name, network): the preview asks for their names.
    new_structures: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    # What the file is about, when it is not services of the référentiel (territories.preview_sentence).
    scope_note: str | None = None
    territorial: bool = False  # the structures it names are territories of the open data

    def summary(self) -> str:
        """One French sentence for the user."""
        if self.outcome == "deja_importe":
            return (f"{self.filename} : fichier déjà importé (import n°{self.previous_import}), "
                    "rien n'a changé.")
        if self.outcome == "non_importe":
            return f"{self.filename} : non importé, car un autre fichier du même envoi a été refusé."
        if self.outcome == "refuse":
            problems = format_count(len(self.problems), "problème")
            return f"{self.filename} : refusé, {problems} ; rien n'a été enregistré."
        verb = "serait importé" if self.outcome == "simulation" else f"importé (import n°{self.import_id})"
        if self.kind == "structures":
            return (f"{self.filename} : {verb} ; {format_count(self.structures_added, 'structure ajoutée')}, "
                    f"{format_count(self.structures_updated, 'mise à jour', 'mises à jour')}.")
        created = "territoire créé" if self.territorial else "structure créée"
        return (f"{self.filename} : {verb} ; {format_count(self.rows_added, 'valeur ajoutée')}, "
                f"{format_count(self.rows_replaced, 'remplacée')}, {format_count(self.rows_unchanged, 'inchangée')}"
                + (f", {format_count(self.structures_added, created)}" if self.structures_added else "")
                + (f", {format_count(self.indicators_added, 'indicateur créé')}" if self.indicators_added else "")
                + ".")


@dataclass
class Prepared:
    """A file read and checked against the rules, before anything is written."""

    staged: Staged | None
    report: ImportReport
    duplicate_of: str | None = None      # an earlier file of the same batch has this content
    error: Exception | None = None       # reading it raised an unexpected error

    @property
    def ready(self) -> bool:
        """Checked without a problem: can be stored."""
        return self.error is None and self.staged is not None and self.staged.rows is not None

    @property
    def offered(self) -> bool:
        """New content: neither imported already nor a repeat of an earlier file of the batch."""
        return self.report.outcome != "deja_importe" and self.duplicate_of is None


@dataclass
class Source:
    """One file to import: its content, or a path whose size is judged before it is read. ``sha256`` is given
    when the caller already knows it (the page keeps it per uploaded file); ``choices`` is what the person said
    of the file (its structure, its columns: columns.Choices)."""

    name: str
    content: bytes | None = None
    path: Path | None = None
    sha256: str | None = None
    choices: Choices | None = None


@dataclass
class Batch:
    """Every file of one upload or one command, checked; stored together by :func:`commit`, all or none."""

    files: list[Prepared]

    @property
    def offered(self) -> list[Prepared]:
        return [f for f in self.files if f.offered]

    @property
    def ready(self) -> list[Prepared]:
        return [f for f in self.offered if f.ready]

    @property
    def blocked(self) -> bool:
        """Some new file cannot be stored: the batch waits until it is corrected or removed."""
        return len(self.ready) < len(self.offered)


def catalog_of(con: duckdb.DuckDBPyConnection) -> Catalog:
    cur = con.cursor()
    version = db.referentiel_in_force(cur)
    # Aliases for recognising columns live in the shipped files; an edited version (2023.1) keeps the
    # codes and aliases of the shipped file it derives from.
    shipped = REFERENTIEL_DIR / f"{version.split('.')[0]}.toml"
    referentiel = load_referentiel_file(shipped) if shipped.exists() else load_default()
    cur.close()
    return Catalog(referentiel, dict(db.query(con, "extra_indicator_units")))


def _prepare_content(con: duckdb.DuckDBPyConnection, content: bytes, filename: str, rate_scale: str = "auto",
                     sha256: str | None = None, choices: Choices | None = None) -> Prepared:
    """Read and validate a file without writing anything."""
    digest = sha256 if sha256 is not None else sha256_of(content)
    report = ImportReport(filename, digest, "refuse")
    catalog = catalog_of(con)
    with scratch_connection() as scratch:  # spans reading and checking; closed whatever happens
        try:
            raw = read_table(content, filename, catalog.referentiel, Limits.current(), scratch, choices)
        except ImportRefused as refused:
            report.problems = refused.problems
            return Prepared(None, report)
        spec = raw.match.spec
        report.kind, report.layout, report.layout_label = spec.kind, spec.name, spec.label
        report.encoding, report.delimiter, report.sheet = raw.encoding, raw.delimiter_name, raw.sheet
        report.size = raw.size
        staged = stage(raw, catalog, rate_scale, choices)
        # A wide file's column choices are remembered when it lands (mappings.remember).
        staged.remember = (raw.match.headers, choices) if spec.name == "large" else None
    report.rows_read, report.problems, report.warnings = staged.rows_read, staged.problems, staged.warnings
    report.needs_structure, report.unknown_columns = staged.needs_structure, staged.unknown_columns
    report.territorial = staged.territorial
    if staged.rows is not None and not staged.territorial:
        _refuse_territories(con, staged, report)
    if staged.rows is not None:
        report.outcome = "simulation"
        report.preview = staged.rows.slice(0, 50)
        report.new_structures = _new_structures(con, staged)
        report.scope_note = territories.preview_sentence(staged, catalog)
    return Prepared(staged, report)


def _refuse_territories(con: duckdb.DuckDBPyConnection, staged: Staged, report: ImportReport) -> None:
    """A file about services that names a territory of the open data would hide its values under it."""
    if staged.kind != "observations" or staged.structures is None:
        return
    codes = staged.structures.column("code").to_pylist()
    found = [row[0] for row in db.query(con, "structure_territory_codes", {"codes": codes})]
    if found:
        report.problems = [Problem("structure_pas_territoire", report.filename, report.sheet, value=code)
                           for code in found]
        staged.rows = None


def _new_structures(con: duckdb.DuckDBPyConnection, staged: Staged) -> list[tuple[str, str | None, str | None]]:
    """The structures an observation file would create (code, name, network), to be named before they are."""
    if staged.kind != "observations" or staged.structures is None:
        return []
    given = {row["code"]: row for row in staged.structures.to_pylist()}
    unknown = [row[0] for row in db.query(con, "structure_unknown_codes", {"codes": list(given)})]
    return [(code, given[code]["name"], given[code]["network"]) for code in unknown]


def _size_in_force(con: duckdb.DuckDBPyConnection, size: int) -> bool:
    return bool(db.query_value(con, "import_size_in_force", {"size": size, "status": STATUS_IMPORTED}))


def find_active_import(con: duckdb.DuckDBPyConnection, sha256: str) -> int | None:
    """The import in force that brought exactly this content, if any."""
    return db.query_value(con, "import_active_for_content", {"sha256": sha256, "status": STATUS_IMPORTED})


@lru_cache(maxsize=1)
def _clean_scratch_once() -> int:
    """The first import of a process removes the scratch copies a killed import left behind."""
    return clean_stale_scratch()


def _check(con: duckdb.DuckDBPyConnection, content: bytes, filename: str, rate_scale: str = "auto",
           choices: Choices | None = None) -> Prepared:
    """A file's content, read and validated, or « déjà importé » when the same content is in force."""
    _clean_scratch_once()
    if _size_in_force(con, len(content)):
        digest = sha256_of(content)
        previous = find_active_import(con, digest)
        if previous is not None:
            return Prepared(None, ImportReport(filename, digest, "deja_importe", previous_import=previous))
        return _prepare_content(con, content, filename, rate_scale, digest, choices)
    # No import in force has this size, so the content is new: hash it (hashlib releases the GIL)
    # on the other core while the file is parsed.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(sha256_of, content)
        prepared = _prepare_content(con, content, filename, rate_scale, sha256="", choices=choices)
        prepared.report.sha256 = digest.result()
    return prepared


def import_bytes(con: duckdb.DuckDBPyConnection, content: bytes, filename: str, access: rights.Access,
                 replace: bool = False, dry_run: bool = False, rate_scale: str = "auto") -> ImportReport:
    """Import one file's content: everything or nothing. ``filename`` is metadata, never opened."""
    return _import_one(con, Source(filename, content=content), access, replace, dry_run, rate_scale)


def _check_path(con: duckdb.DuckDBPyConnection, path: Path, rate_scale: str = "auto",
                choices: Choices | None = None) -> Prepared:
    """``_check`` for a file on disk: its size is judged before it is read, so a 2 GB file costs nothing."""
    path = Path(path)
    try:
        check_size(path.stat().st_size, path.name, Limits.current())
    except ImportRefused as refused:
        return Prepared(None, ImportReport(path.name, "", "refuse", problems=refused.problems))
    return _check(con, path.read_bytes(), path.name, rate_scale, choices)


def import_path(con: duckdb.DuckDBPyConnection, path: Path, access: rights.Access, replace: bool = False,
                dry_run: bool = False, rate_scale: str = "auto") -> ImportReport:
    return _import_one(con, Source(Path(path).name, path=Path(path)), access, replace, dry_run, rate_scale)


def _import_one(con: duckdb.DuckDBPyConnection, source: Source, access: rights.Access, replace: bool,
                dry_run: bool, rate_scale: str) -> ImportReport:
    batch = prepare(con, [source], rate_scale)
    prepared = batch.files[0]
    if prepared.error is not None:
        raise prepared.error
    if not prepared.ready:
        return prepared.report
    return commit(con, batch, access, replace, dry_run)[0]


def prepare(con: duckdb.DuckDBPyConnection, sources: list[Source], rate_scale: str = "auto",
            cache: dict | None = None,
            reading: Callable[[str], AbstractContextManager] | None = None) -> Batch:
    """Read and check every file of a batch without writing anything: each one ready, refused with its
    problems, already imported (its import n°), or the same content as an earlier file of the batch.

    ``cache`` (content digest, rate scale, choices) → Prepared spares a page re-reading a file at each rerun; the
    caller empties it when the database changes. ``reading(name)`` wraps the reading of each file (a
    spinner)."""
    files, seen = [], {}
    memory = mappings.remembered(con)
    for source in sources:
        source = dataclasses.replace(source, choices=mappings.with_memory(memory, source.choices))
        if source.sha256 in seen:
            files.append(Prepared(None, ImportReport(source.name, source.sha256, "refuse"),
                                  duplicate_of=seen[source.sha256]))
            continue
        try:
            with (reading or _quietly)(source.name):
                prepared = _prepare_source(con, source, rate_scale, cache)
        except Exception as error:  # the caller tells the user; the other files are still checked
            prepared = Prepared(None, ImportReport(source.name, source.sha256 or "", "refuse"), error=error)
        digest = prepared.report.sha256
        if digest and digest in seen:
            prepared.duplicate_of = seen[digest]
        elif digest:
            seen[digest] = source.name
        files.append(prepared)
    return Batch(files)


def _quietly(name: str) -> AbstractContextManager:
    return nullcontext()


def _prepare_source(con: duckdb.DuckDBPyConnection, source: Source, rate_scale: str,
                    cache: dict | None) -> Prepared:
    if source.path is not None:
        return _check_path(con, source.path, rate_scale, source.choices)
    if source.sha256 is None:
        return _check(con, source.content, source.name, rate_scale, source.choices)
    previous = find_active_import(con, source.sha256)
    if previous is not None:
        return Prepared(None, ImportReport(source.name, source.sha256, "deja_importe", previous_import=previous))
    key = (source.sha256, rate_scale, source.choices)
    if cache is not None and key in cache:
        return cache[key]
    _clean_scratch_once()
    prepared = _prepare_content(con, source.content, source.name, rate_scale, source.sha256, source.choices)
    if cache is not None:
        cache[key] = prepared
    return prepared


def commit(con: duckdb.DuckDBPyConnection, batch: Batch, access: rights.Access, replace: bool = False,
           dry_run: bool = False, waiting: Callable[[], object] | None = None) -> list[ImportReport]:
    """Store the ready files of a batch in one transaction: all land, each with its own import number, or
    none (see :func:`_store_many`). A batch that touches a structure outside the person's scope is refused
    whole (rights.AccessRefused), before anything is written. ``waiting`` is called if another import of this
    process is being written: this one waits for it (db.transaction)."""
    items = [(f.staged, f.report) for f in batch.ready]
    refusal = rights_problem(con, access, batch)
    if refusal:
        rights.journal(con, access, "refus", refusal)
        raise rights.AccessRefused(refusal)
    return _store_many(con, items, replace, dry_run, access=access, waiting=waiting)


def rights_problem(con: duckdb.DuckDBPyConnection, access: rights.Access, batch: Batch) -> str | None:
    """Why the person may not import this batch, in French, or None. Only administrators change the register;
    the others import values for the structures of their scope. The refusal lists the codes as the file gives
    them, in or out of the register alike: it tells nothing of structures the person may not see. The page
    shows it before the click; :func:`commit` checks it again and journals it."""
    staged = [f.staged for f in batch.ready]
    if not access.admin and any(s.kind == "structures" for s in staged):
        return "Seul un administrateur peut importer le registre des structures."
    declared = {}  # code → the network the file gives it
    for s in staged:
        if s.kind != "structures":
            declared.update(zip(s.structures.column("code").to_pylist(), s.structures.column("network").to_pylist()))
    outside = rights.outside_write_scope(con, access, declared, declared)
    if not outside:
        return None
    many = "s" if len(outside) > 1 else ""
    return (f"Import refusé : le fichier contient des valeurs pour {format_count(len(outside), 'structure')} hors "
            f"de votre périmètre ou inconnue{many} ({rights.names_list(outside)}). Rien n'a été enregistré ; "
            "retirez ces lignes ou demandez l'import à un administrateur.")


# An already-typed table (the demo's) has the columns a checked file would have, of these kinds.
def _TEXT(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


_DAY, _NUMBER, _LINE = pa.types.is_date32, pa.types.is_floating, pa.types.is_integer
TYPED_COLUMNS = {
    "observations": {"structure_code": _TEXT, "indicator_code": _TEXT, "period_start": _DAY, "period_end": _DAY,
                     "value": _NUMBER, "numerator": _NUMBER, "denominator": _NUMBER, "sample_size": _NUMBER,
                     "expected_value": _NUMBER, "source_line": _LINE},
    "structures": {"code": _TEXT, "source_line": _LINE},
}


def prepare_table(name: str, kind: str, rows: pa.Table, content_key: str, layout: str, layout_label: str,
                  structures: pa.Table | None = None) -> Prepared:
    """An already-typed table (generated, not read from a file), checked like a file's rows before
    :func:`commit` stores it: the columns and types a checked file has, a code on every row, counts positive
    and a numerator within its denominator. ``content_key`` names the content (its digest marks the import)."""
    report = ImportReport(name, sha256_of(content_key.encode()), "refuse", kind=kind, layout=layout,
                          layout_label=layout_label, rows_read=rows.num_rows)
    report.problems = _typed_problems(name, kind, rows)
    if report.problems:
        return Prepared(None, report)
    columns = tuple(c for c in STRUCTURE_ROLES if c in rows.column_names and c != "code")
    report.outcome = "simulation"
    return Prepared(Staged(kind, rows, [], structure_columns=columns, structures=structures,
                           rows_read=rows.num_rows), report)


def _typed_problems(name: str, kind: str, rows: pa.Table) -> list[Problem]:
    expected = TYPED_COLUMNS[kind]
    wrong = [c for c, of_kind in expected.items()
             if c not in rows.column_names or not of_kind(rows.schema.field(c).type)]
    if wrong:
        return [Problem("mise_en_page_reconnue", name, detail="Colonnes absentes ou d'un autre type : "
                        + ", ".join(wrong) + ".")]
    code = "structure_code" if kind == "observations" else "code"
    checks = [("code_structure_present", pc.is_null(rows[code]))]
    if kind == "observations":
        checks += [("comptage_positif", pc.less(rows[c], 0)) for c in ("numerator", "denominator", "sample_size")]
        checks.append(("numerateur_inferieur_au_denominateur", pc.greater(rows["numerator"], rows["denominator"])))
    problems = []
    for rule, failing in checks:
        lines = rows["source_line"].filter(pc.fill_null(failing, False)).to_pylist()
        problems += [Problem(rule, name, line=line) for line in lines[:MAX_PROBLEMS_PER_RULE]]
    return problems


def all_stored(reports: list[ImportReport]) -> bool:
    """Every file of a commit landed (or was already there): nothing was refused."""
    return all(r.outcome in (STATUS_IMPORTED, "deja_importe") for r in reports)


def _store_many(con: duckdb.DuckDBPyConnection, items: list[tuple[Staged, ImportReport]], replace: bool = False,
               dry_run: bool = False, *, access: rights.Access,
               waiting: Callable[[], object] | None = None) -> list[ImportReport]:
    """Write several checked files in one transaction: all land, each with its own import number, or none.
    Returns new reports; the checked ones given stay as they were (a page may offer them again)."""
    reports = [dataclasses.replace(report, problems=list(report.problems), warnings=list(report.warnings))
               for _, report in items]
    try:
        with db.transaction(con, waiting) as cur:
            for (staged, _), report in zip(items, reports):
                _store_one(cur, staged, report, replace, access)
                if report.outcome == "refuse":
                    raise _Rollback
            if dry_run:
                raise _Rollback
    except _Rollback:
        for report in reports:
            if report.outcome == STATUS_IMPORTED:
                report.import_id = None
                report.outcome = "simulation" if dry_run else "non_importe"
    return reports


def _store_one(cur, staged: Staged, report: ImportReport, replace: bool, access: rights.Access) -> None:
    # Checked again under the lock: another session (or this batch) may have imported the same content.
    previous = _active_import(cur, report.sha256)
    if previous is not None:
        report.outcome, report.previous_import = "deja_importe", previous
        return
    # max + 1 under the write lock, not a sequence: a dry run must not use up a number.
    import_id = db.run(cur, "import_next_id").fetchall()[0][0]
    cur.register("incoming", staged.rows)
    if staged.kind == "structures":
        _store_structures(cur, import_id, staged.structure_columns, report)
        db.run(cur, "import_structure_insert", {"import_id": import_id}, source="incoming")
    else:
        cur.register("incoming_structures", staged.structures)
        _store_observations(cur, import_id, report.sheet, staged.new_indicators, replace, report, staged.territorial)
        db.run(cur, "import_structure_insert", {"import_id": import_id}, source="incoming_structures")
        cur.unregister("incoming_structures")
    cur.unregister("incoming")
    if report.problems:
        report.outcome = "refuse"
        return
    if staged.remember is not None:
        mappings.remember(cur, *staged.remember, access)
    db.run(cur, "import_batch_insert", {
        "id": import_id, "sha256": report.sha256, "filename": report.filename, "size": report.size,
        "kind": staged.kind, "layout": report.layout, "encoding": report.encoding, "delimiter": report.delimiter,
        "sheet": report.sheet, "rows_added": report.rows_added, "rows_replaced": report.rows_replaced,
        "rows_unchanged": report.rows_unchanged, "structures_added": report.structures_added,
        "structures_updated": report.structures_updated, "indicators_added": report.indicators_added,
        "created_by": access.who, "created_by_subject": access.person.subject, "created_at": datetime.now(),
        "status": STATUS_IMPORTED})
    report.outcome, report.import_id = STATUS_IMPORTED, import_id
    # The summary once the outcome is set: before, it read as a dry run's (« serait importé »).
    rights.log(cur, access, "import", report.summary(), import_id)


def _active_import(cur, sha256: str) -> int | None:
    return db.run(cur, "import_active_for_content", {"sha256": sha256, "status": STATUS_IMPORTED}).fetchall()[0][0]


class _Rollback(Exception):
    """Leave the transaction without keeping anything."""


def _store_observations(cur, import_id: int, sheet: str | None, new_indicators: list[NewIndicator],
                        replace: bool, report: ImportReport, territorial: bool = False) -> None:
    params = {"import_id": import_id}
    report.structures_added = db.run(cur, "structure_insert_missing",
                                     {**params, "territorial": territorial}).fetchall()[0][0]
    for ind in new_indicators:
        added = db.run(cur, "extra_indicator_insert",
                       {"code": ind.code, "label": ind.label, "unit": ind.unit, "import_id": import_id}).fetchall()
        report.indicators_added += len(added)
    overlap = db.run(cur, "observation_overlap").fetchall()[0][0]
    if not overlap:
        # Nothing stored for these keys yet (the usual first import): insert straight away.
        report.rows_added = db.run(cur, "observation_insert_new", {**params, "sheet": sheet}).fetchall()[0][0]
        return
    db.run(cur, "observation_compare")
    new, same, conflicts = db.run(cur, "observation_compare_counts").fetchall()[0]
    if conflicts and not replace:
        rows = db.run(cur, "observation_conflicts", {"limit": CONFLICTS_LISTED}).fetchall()
        report.problems = [
            Problem("valeur_deja_enregistree", report.filename, report.sheet, line,
                    value=format_number_fr(value, 2) if value is not None else "",
                    expected="la valeur déjà enregistrée, ou un import avec remplacement (--replace, ou la case "
                             "« Remplacer les valeurs déjà enregistrées » de la page Import)",
                    detail=f"Valeur enregistrée : {format_number_fr(old, 2) if old is not None else 'vide'} "
                           f"(import n°{old_import}).")
            for line, value, old, old_import in rows
        ]
        if conflicts > len(rows):
            report.problems.append(Problem("valeur_deja_enregistree", report.filename, report.sheet,
                                           detail=f"… et {format_count(conflicts - len(rows), 'autre ligne')}."))
        return
    if conflicts:
        db.run(cur, "observation_archive_replaced", params)
        db.run(cur, "observation_delete_replaced")
    db.run(cur, "observation_insert", {**params, "sheet": sheet})
    db.run(cur, "observation_compare_drop")
    report.rows_added, report.rows_unchanged, report.rows_replaced = new, same, conflicts


def _store_structures(cur, import_id: int, columns: tuple[str, ...], report: ImportReport) -> None:
    # Identifiers come from the fixed STRUCTURE_ROLES allow-list, never from the file.
    given = [c for c in STRUCTURE_ROLES if c in columns and c != "code"]
    carried = ", ".join(["code", *given])
    params = {"import_id": import_id}
    db.run(cur, "structure_changed", columns=carried)
    report.structures_updated = db.run(cur, "structure_changed_count").fetchall()[0][0]
    db.run(cur, "structure_archive_changed", params, columns=", ".join(STRUCTURE_ROLES))
    for column in given:
        db.run(cur, "structure_update_column", params, column=column)
    report.structures_added = db.run(cur, "structure_insert_new", params, columns=carried).fetchall()[0][0]
    report.rows_unchanged = db.run(cur, "structure_incoming_count").fetchall()[0][0] - \
        report.structures_added - report.structures_updated
    db.run(cur, "structure_changed_drop")


def history(con: duckdb.DuckDBPyConnection, access: rights.Access) -> list[dict]:
    """The imports the person may see, newest first: every one for an administrator; for the others, those
    whose every structure is in their scope (an import that named a structure they do not see would tell
    them of it)."""
    cur = con.cursor()
    result = cur.execute(db.sql("import_history"), {"codes": rights.codes_filter(con, access)})
    names = [d[0] for d in result.description]
    rows = [dict(zip(names, row)) for row in result.fetchall()]
    cur.close()
    return rows


class UndoRefused(Exception):
    """The undo would break a later import; the French message says which one to undo first."""


def undo(con: duckdb.DuckDBPyConnection, import_id: int, access: rights.Access) -> str:
    """Restore the state before an import, replaced values and structures included. Only an administrator, or
    a person who may change every structure the import touched."""
    if not access.admin:
        _check_undo_rights(con, access, import_id)
    with db.transaction(con) as cur:
        found = db.run(cur, "import_status", {"import_id": import_id}).fetchall()
        row = found[0] if found else None
        if row is None:
            raise UndoRefused(f"Aucun import n°{import_id}.")
        if row[0] != STATUS_IMPORTED:
            raise UndoRefused(f"L'import n°{import_id} ({row[1]}) est déjà annulé.")
        later = [r[0] for r in db.run(cur, "undo_blockers", {"import_id": import_id}).fetchall()]
        if later:
            raise UndoRefused(_blocked_message(con, access, import_id, later))
        removed = db.run(cur, "undo_delete_observations", {"import_id": import_id}).fetchall()[0][0]
        db.run_script(cur, "undo_restore", {"import_id": import_id})
        db.run(cur, "undo_mark_import", {"status": STATUS_UNDONE, "undone_at": datetime.now(), "import_id": import_id})
        message = (f"Import n°{import_id} ({row[1]}) annulé : {format_count(removed, 'valeur retirée')}, "
                   "les valeurs et structures qu'il avait remplacées sont rétablies.")
        rights.log(cur, access, "annulation", message, import_id)
    return message


def _blocked_message(con: duckdb.DuckDBPyConnection, access: rights.Access, import_id: int, later: list[int]) -> str:
    """Which later imports to undo first: those of the person's history by number, the others only counted (their
    numbers would tell of imports the person may not see)."""
    seen = later if access.admin else [n for n in later if n in {row["id"] for row in history(con, access)}]
    hidden = len(later) - len(seen)
    parts = [f"annulez d'abord l'import {', '.join(f'n°{n}' for n in seen)}"] if seen else []
    if hidden:
        parts.append("1 autre import, que vous ne voyez pas, en dépend" if hidden == 1 else
                     f"{format_count(hidden, 'autre import')}, que vous ne voyez pas, en dépendent")
        parts[-1] += " : demandez l'annulation à un administrateur"
    return (f"Des imports plus récents s'appuient sur l'import n°{import_id} (ils ont remplacé ses valeurs ou "
            f"utilisent ses structures) : {' ; '.join(parts)}.")


def _check_undo_rights(con: duckdb.DuckDBPyConnection, access: rights.Access, import_id: int) -> None:
    """Refuse the undo of an import that touched a structure the person may not change: an import they cannot
    see (outside their history) gets the answer of one that does not exist; the others a refusal, journaled."""
    touched = [row[0] for row in db.query(con, "import_structures_of", {"import_id": import_id})]
    if touched and not rights.outside_write_scope(con, access, touched):
        return
    seen = set(touched) <= set(rights.codes_filter(con, access) or [])
    if not touched or not seen or not db.query(con, "import_status", {"import_id": import_id}):
        raise UndoRefused(f"Aucun import n°{import_id}.")
    message = (f"Annulation refusée : l'import n°{import_id} touche des structures que vous ne pouvez pas "
               "modifier. Demandez l'annulation à un administrateur.")
    rights.journal(con, access, "refus", message, import_id)
    raise UndoRefused(message)
