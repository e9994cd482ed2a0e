"""Grants: who may see and change what, managed by administrators only (page « Accès », command
``acces``); every change goes into the audit log, every refusal too (through ``rights.require_admin``).

A grant names a person by e-mail (before their first sign-in) or by the provider's subject, a role, and a scope
of networks or structures that must exist in the register. A revoked grant is kept, never deleted."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from indicators import db, rights
from indicators.text import format_count, format_date, format_number_fr, normalize_header

GRANTED, REVOKED = "droit accordé", "droit retiré"
MANAGE = "gérer les droits d'accès"
READ_JOURNAL = "consulter le journal"

# A file of grants holds a few hundred lines: anything bigger is not the file meant.
MAX_FILE_BYTES = 1024 * 1024
# The audit log's newest lines shown by default (page and command line).
JOURNAL_LINES = 500
# Beyond this many, the problems of a file are counted rather than listed.
MAX_PROBLEMS = 100

# Codes and French words alike, compared without case, accents or spaces: « Tête de réseau » is tete_de_reseau.
_ROLE_OF = {normalize_header(word): code for code, word in rights.ROLE_WORDS.items()} | {
    normalize_header(code): code for code in rights.ROLES}
ROLE_CHOICES = "administrateur, tête de réseau, directeur ou lecteur"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_LIST_SEPARATOR = re.compile(r"[,|]")

# Header (normalised) → column of a grants file.
COLUMNS = ("email", "role", "reseaux", "structures")
_COLUMN_OF = {"email": "email", "e_mail": "email", "courriel": "email", "adresse_e_mail": "email",
              "adresse_electronique": "email", "role": "role", "reseaux": "reseaux", "reseau": "reseaux",
              "structures": "structures", "structure": "structures"}

TEMPLATE_ROWS = (
    ("email", "role", "reseaux", "structures"),
    ("directrice.lyon@caf.fr", "directeur", "", "S-LYON"),
    ("tete.reseau@caf.fr", "tête de réseau", "CAF", ""),
    ("lecteur@prefecture.gouv.fr", "lecteur", "CAF|CPAM", ""),
    ("admin@modernisation.gouv.fr", "administrateur", "", ""),
)


class GrantError(Exception):
    """A grant, a revocation or a file of grants refused; ``messages`` says every reason in French."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class Request:
    """A grant asked for, normalised: e-mail in lower case, scope sorted without repeats."""

    email: str | None
    subject: str | None
    role: str
    networks: tuple[str, ...]
    structures: tuple[str, ...]

    @property
    def params(self) -> dict:
        return {"email": self.email, "subject": self.subject, "role": self.role,
                "networks": list(self.networks), "structures": list(self.structures)}


@dataclass(frozen=True)
class GrantsImport:
    """What a file of grants changed: the numbers of the new grants, and how many were already in force."""

    filename: str
    ids: list[int]
    unchanged: int

    @property
    def message(self) -> str:
        text = f"{self.filename} : {format_count(len(self.ids), 'droit accordé', 'droits accordés')}"
        if self.unchanged:
            text += f" ; {format_count(self.unchanged, 'droit déjà en vigueur', 'droits déjà en vigueur')}, " \
                    f"{'inchangés' if self.unchanged >= 2 else 'inchangé'}"
        return text + "."


def role_code(text: str | None) -> str | None:
    """The stored code of a role written as a code or in French (None when it is none of the four)."""
    return _ROLE_OF.get(normalize_header(text)) if text else None


def listed(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """Networks or structures given one by one or as « A, B » / « A|B »: sorted, trimmed, without repeats."""
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else list(values)
    return tuple(sorted({part.strip() for item in items for part in _LIST_SEPARATOR.split(str(item))
                         if part.strip()}))


def person_label(email: str | None, subject: str | None) -> str:
    """How a grant names its person: the e-mail, else the provider's identifier."""
    return email if isinstance(email, str) and email else f"identifiant {subject}"


def scope_label(role: str, networks: Iterable[str], structures: Iterable[str]) -> str:
    """« tout le programme », « réseaux CAF, CPAM », « structure S-LYON », or both joined by « ; »."""
    if role == rights.ADMIN:
        return "tout le programme"
    networks, structures = sorted(networks), sorted(structures)
    parts = [f"{'réseaux' if len(networks) >= 2 else 'réseau'} {rights.names_list(networks)}" if networks else "",
             f"{'structures' if len(structures) >= 2 else 'structure'} {rights.names_list(structures)}"
             if structures else ""]
    return " ; ".join(part for part in parts if part)


def summary(role: str, email: str | None, subject: str | None, networks: Iterable[str],
            structures: Iterable[str]) -> str:
    """« directeur pour claire.martin@caf.fr, structure S-LYON »: a grant in one phrase."""
    return (f"{rights.ROLE_WORDS.get(role, role)} pour {person_label(email, subject)}, "
            f"{scope_label(role, networks, structures)}")


def _request_summary(request: Request) -> str:
    return summary(request.role, request.email, request.subject, request.networks, request.structures)


def _role_problems(role: str | None, networks: tuple, structures: tuple) -> list[str]:
    """What the role asks of the scope: networks for a head of network, structures for a director…"""
    if role is None:
        return []
    word, problems = f"« {rights.ROLE_WORDS[role]} »", []
    if role == rights.ADMIN and (networks or structures):
        problems.append(f"Un droit {word} porte sur tout le programme : n'indiquez ni réseau ni structure.")
    if role == rights.NETWORK_HEAD and not networks:
        problems.append(f"Un droit {word} demande au moins un réseau.")
    if role == rights.NETWORK_HEAD and structures:
        problems.append(f"Un droit {word} porte sur des réseaux, pas sur des structures : retirez les structures "
                        "ou choisissez le rôle « directeur ».")
    if role == rights.DIRECTOR and not structures:
        problems.append(f"Un droit {word} demande au moins une structure.")
    if role == rights.DIRECTOR and networks:
        problems.append(f"Un droit {word} porte sur des structures, pas sur des réseaux : retirez les réseaux "
                        "ou choisissez le rôle « tête de réseau ».")
    if role == rights.READER and not (networks or structures):
        problems.append(f"Un droit {word} demande au moins un réseau ou une structure.")
    return problems


def _unknown(kind_one: str, kind_many: str, unknown: list[str], hint: str = "") -> list[str]:
    """« Structures inconnues : « X », « Y ». », or nothing when every value is known."""
    if not unknown:
        return []
    quoted = rights.names_list([f"« {value} »" for value in unknown])
    return [f"{kind_one if len(unknown) == 1 else kind_many} : {quoted}{hint}."]


def _check(email, subject, role, networks, structures, known_networks: set[str],
           known_codes: set[str]) -> tuple[Request | None, list[str]]:
    """The request normalised, or every reason to refuse it (French)."""
    problems = []
    email = str(email).strip().lower() if email is not None and str(email).strip() else None
    subject = str(subject).strip() if subject is not None and str(subject).strip() else None
    if email is None and subject is None:
        problems.append("Indiquez l'adresse e-mail de la personne.")
    elif email is not None and not _EMAIL.fullmatch(email):
        problems.append(f"Adresse e-mail invalide : « {email} » (attendu : prenom.nom@domaine.fr).")
    code = role_code(role)
    if not (role and str(role).strip()):
        problems.append(f"Indiquez le rôle : {ROLE_CHOICES}.")
    elif code is None:
        problems.append(f"Rôle inconnu : « {str(role).strip()} » (attendu : {ROLE_CHOICES}).")
    networks, structures = listed(networks), listed(structures)
    problems += _role_problems(code, networks, structures)
    hint = f" (réseaux du registre des structures : {rights.names_list(sorted(known_networks))})" \
        if known_networks else " (le registre des structures est vide)"
    problems += _unknown("Réseau inconnu", "Réseaux inconnus", [n for n in networks if n not in known_networks],
                         hint)
    problems += _unknown("Structure inconnue", "Structures inconnues",
                         [s for s in structures if s not in known_codes])
    if problems:
        return None, problems
    return Request(email, subject, code, networks, structures), []


def _known_networks(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in db.query(con, "grants_networks")}


def _known_codes(con: duckdb.DuckDBPyConnection, codes: Iterable[str]) -> set[str]:
    return {row[0] for row in db.query(con, "grants_known_codes", {"codes": sorted(set(codes))})}


def _same_in_force(cur, request: Request) -> int | None:
    """The number of a grant in force identical to ``request`` (None: there is none)."""
    rows = db.run(cur, "grants_same_in_force", request.params).fetchall()
    return rows[0][0] if rows else None


def _store(cur, access: rights.Access, request: Request, where: str = "") -> int:
    """Insert one grant and its line of the audit log, inside the caller's transaction."""
    grant_id = db.run(cur, "grants_next_id").fetchall()[0][0]
    db.run(cur, "grants_insert", {**request.params, "id": grant_id, "granted_by": access.who,
                                  "granted_at": datetime.now()})
    rights.log(cur, access, GRANTED, f"n° {grant_id} : {_request_summary(request)}{where}")
    return grant_id


def list_grants(con: duckdb.DuckDBPyConnection, access: rights.Access, include_revoked: bool = False) -> pd.DataFrame:
    """The grants in force (every one ever made with ``include_revoked``), newest first; codes, not words:
    id, email, subject, role, networks, structures (lists), granted_by, granted_at, revoked_by, revoked_at."""
    rights.require_admin(con, access, MANAGE)
    frame = db.query_df(con, "grants_list", {"include_revoked": include_revoked})
    return frame.assign(networks=frame["networks"].map(list), structures=frame["structures"].map(list))


def grant(con: duckdb.DuckDBPyConnection, access: rights.Access, *, email: str | None = None,
          subject: str | None = None, role: str | None, networks: Iterable[str] | str = (),
          structures: Iterable[str] | str = ()) -> int:
    """Grant a role over a scope to a person; returns the grant's number. GrantError says every problem."""
    rights.require_admin(con, access, MANAGE)
    structures = listed(structures)
    request, problems = _check(email, subject, role, networks, structures, _known_networks(con),
                               _known_codes(con, structures))
    if problems:
        raise GrantError(problems)
    with db.transaction(con) as cur:
        same = _same_in_force(cur, request)
        if same is not None:
            raise GrantError([f"Ce droit est déjà en vigueur (n° {same}) : il n'est pas accordé une seconde fois."])
        return _store(cur, access, request)


def revoke(con: duckdb.DuckDBPyConnection, access: rights.Access, grant_id: int) -> str:
    """Revoke a grant in force (it is kept, marked revoked); returns the French confirmation."""
    rights.require_admin(con, access, MANAGE)
    with db.transaction(con) as cur:
        rows = db.run(cur, "grants_one", {"id": grant_id}).fetchall()
        if not rows:
            raise GrantError([f"Aucun droit n° {grant_id}."])
        _, email, subject, role, networks, structures, _, _, revoked_by, revoked_at = rows[0]
        if revoked_at is not None:
            raise GrantError([(f"Le droit n° {grant_id} est déjà retiré (le {format_date(revoked_at)} "
                              f"par {revoked_by}).")])
        if role == rights.ADMIN and db.run(cur, "grants_administrators_in_force").fetchall()[0][0] == 1:
            # Once sign-in is on, nobody could manage grants from the dashboard any more.
            raise GrantError([f"Le droit n° {grant_id} est le dernier droit administrateur en vigueur : accordez "
                              "d'abord le rôle administrateur à une autre personne, puis retirez celui-ci."])
        described = summary(role, email, subject, networks, structures)
        db.run(cur, "grants_revoke", {"id": grant_id, "revoked_by": access.who, "revoked_at": datetime.now()})
        rights.log(cur, access, REVOKED, f"n° {grant_id} : {described}")
    return f"Droit n° {grant_id} retiré : {described}."


def describe(con: duckdb.DuckDBPyConnection, access: rights.Access, grant_id: int) -> str:
    """One grant in a phrase, for the doors' confirmations: « directeur pour claire.martin@caf.fr, structure
    S-LYON »."""
    rights.require_admin(con, access, MANAGE)
    rows = db.query(con, "grants_one", {"id": grant_id})
    if not rows:
        raise GrantError([f"Aucun droit n° {grant_id}."])
    _, email, subject, role, networks, structures, *_ = rows[0]
    return summary(role, email, subject, networks, structures)


def template_csv() -> bytes:
    """A file of grants to fill in (UTF-8 with BOM, « ; »: what a French spreadsheet opens as it is)."""
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(TEMPLATE_ROWS)
    return out.getvalue().encode("utf-8-sig")


def _decode(content: bytes) -> str:
    if b"\x00" in content:
        raise GrantError([("Le fichier n'est pas un fichier CSV (contenu binaire) : enregistrez-le au format "
                          "CSV (séparateur point-virgule), par exemple depuis le modèle.")])
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError:
        raise GrantError(["L'encodage du fichier n'est pas reconnu (attendu : UTF-8 ou Windows-1252)."]) from None


# A problem of a file of grants: its line (0 for the whole file) and what is wrong.
Problem = tuple[int, str]


def _header(row: list[str]) -> tuple[dict[str, int], list[Problem]]:
    """Column → position, and the problems of the header line."""
    positions, unknown, problems = {}, [], []
    for position, name in enumerate(row):
        column = _COLUMN_OF.get(normalize_header(name))
        if column is None:
            unknown.append(name.strip())
        elif column in positions:
            problems.append((1, f"la colonne « {column} » apparaît deux fois."))
        else:
            positions[column] = position
    expected = f"(colonnes attendues : {', '.join(COLUMNS)})"
    problems += [(1, f"colonne inconnue « {name} » {expected}.") for name in unknown]
    missing = [column for column in ("email", "role") if column not in positions]
    if missing:
        problems.append((1, (f"{'colonnes manquantes' if len(missing) == 2 else 'colonne manquante'} : "
                            f"{', '.join(missing)} {expected}.")))
    return positions, problems


def _rows(text: str) -> tuple[dict[str, int], int, list[tuple[int, list[str]]], list[Problem]]:
    """The header's columns and width, the data rows with their line number, and the problems found in reading."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") and ";" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise GrantError([("Le fichier est vide : il faut au moins l'en-tête email;role;reseaux;structures "
                              "et une ligne par droit.")])
        positions, problems = _header(header)
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise GrantError([f"Ligne {reader.line_num} : le fichier CSV est mal formé ({error})."]) from None
    for line, row in rows:
        if len(row) != len(header):
            problems.append((line, (f"{format_count(len(row), 'champ')} au lieu de {len(header)} (une valeur qui "
                                   f"contient le séparateur « {delimiter} » doit être entre guillemets).")))
    if not rows:
        problems.append((0, "Le fichier ne contient aucun droit : seulement l'en-tête."))
    return positions, len(header), rows, problems


def _messages(problems: list[Problem]) -> list[str]:
    """« Ligne 4 : … » in the order of the file, the first hundred and then how many more."""
    ordered = [f"Ligne {format_number_fr(line, 0)} : {message}" if line else message
               for line, message in sorted(problems, key=lambda problem: problem[0])]
    if len(ordered) <= MAX_PROBLEMS:
        return ordered
    rest = format_count(len(ordered) - MAX_PROBLEMS, "autre problème", "autres problèmes")
    return ordered[:MAX_PROBLEMS] + [f"… et {rest}."]


def import_grants(con: duckdb.DuckDBPyConnection, access: rights.Access, content: bytes,
                  filename: str) -> GrantsImport:
    """A CSV of grants (email, role, reseaux, structures), checked whole: every problem with its line, and
    nothing stored unless every line is valid; then every grant in one transaction. Grants already in force
    are left as they are (counted); two identical lines are one grant."""
    rights.require_admin(con, access, MANAGE)
    if len(content) > MAX_FILE_BYTES:
        raise GrantError([(f"Le fichier de droits dépasse 1 Mo : un fichier de droits tient en quelques "
                          f"kilo-octets ; vérifiez que « {filename} » est le bon fichier.")])
    positions, width, rows, problems = _rows(_decode(content))
    if problems and not positions.keys() >= {"email", "role"}:
        raise GrantError(_messages(problems))
    # Lines with the wrong number of fields are already refused: their cells would be read in the wrong columns.
    values = [(line, {column: row[positions[column]] if column in positions else "" for column in COLUMNS})
              for line, row in rows if len(row) == width]
    known_networks = _known_networks(con)
    known_codes = _known_codes(con, (code for _, v in values for code in listed(v["structures"])))
    requests, first_line = [], {}
    for line, value in values:
        request, found = _check(value["email"], None, value["role"], value["reseaux"], value["structures"],
                                known_networks, known_codes)
        problems += [(line, problem) for problem in found]
        if request is not None and request in first_line:
            continue  # the same grant twice in one file: granted once
        if request is not None:
            first_line[request] = line
            requests.append((line, request))
    if problems:
        raise GrantError(_messages(problems))
    ids, unchanged = [], 0
    with db.transaction(con) as cur:
        for line, request in requests:
            if _same_in_force(cur, request) is not None:
                unchanged += 1
            else:
                ids.append(_store(cur, access, request, f" (fichier {filename}, ligne {line})"))
    return GrantsImport(filename, ids, unchanged)


def journal(con: duckdb.DuckDBPyConnection, access: rights.Access, limit: int = JOURNAL_LINES) -> pd.DataFrame:
    """The audit log, newest first: sign-ins, grant changes, refusals, imports, undos, référentiel changes
    (logged_at, action, who, subject, import_id, detail)."""
    rights.require_admin(con, access, READ_JOURNAL)
    return db.query_df(con, "grants_journal", {"limit": max(int(limit), 0)})


def choices(con: duckdb.DuckDBPyConnection, access: rights.Access) -> tuple[list[str], pd.DataFrame]:
    """What a grant's scope is chosen from: the register's networks, and its structures (code, name, network)."""
    rights.require_admin(con, access, MANAGE)
    return sorted(_known_networks(con)), db.query_df(con, "grants_structures")
