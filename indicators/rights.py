"""Who may see and change what: the person behind a request, their grants, and the scope every read and
write of the package takes (DESIGN, « Who may see and change what »).

The door (a page or the command line) turns a person into an ``Access``; every function that reads or writes
observations, structures, history or exports takes it. Pages never filter for rights themselves.

Roles (a person may hold several grants, their scopes add up):
- administrateur (DITP): every structure, named; may change everything.
- tête de réseau: the structures of its network(s), named; imports and undo for them.
- directeur: its structure(s), named, peers only anonymised; imports and undo for them.
- lecteur: the networks or structures of the grant, named; changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from indicators import db

ADMIN, NETWORK_HEAD, DIRECTOR, READER = "administrateur", "tete_de_reseau", "directeur", "lecteur"
ROLE_WORDS = {ADMIN: "administrateur", NETWORK_HEAD: "tête de réseau", DIRECTOR: "directeur", READER: "lecteur"}
ROLES = tuple(ROLE_WORDS)

COMMAND_LINE_NAME = "ligne de commande (utilisateur système)"

# The one answer for a structure outside the scope: the same as for a structure that does not exist, so that
# nobody learns whether a code exists by trying it.
UNKNOWN_STRUCTURE = "Structure inconnue : « {code} »."


class AccessRefused(Exception):
    """A read or a write outside the person's rights; the French message says what and why."""


@dataclass(frozen=True)
class Person:
    """Who is behind a request: the provider's subject and e-mail (None in mode local and on the command line)
    and the name shown in the history."""

    name: str
    email: str | None = None
    subject: str | None = None

    @property
    def label(self) -> str:
        """As the history and the journal show it: « Claire Martin <claire.martin@caf.fr> »."""
        return f"{self.name} <{self.email}>" if self.email and self.email != self.name else self.name


@dataclass(frozen=True)
class Access:
    """A person and their scope, a value (frozen). The same rule of what is seen is written three ways, each
    where it runs: ``sees`` for one structure, ``visible`` over a frame, sql/rights_visible_codes.sql in DuckDB."""

    person: Person
    roles: frozenset[str] = frozenset()
    networks: frozenset[str] = frozenset()  # seen, named
    structures: frozenset[str] = frozenset()  # seen, named
    write_networks: frozenset[str] = frozenset()
    write_structures: frozenset[str] = frozenset()

    @property
    def admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def has_grant(self) -> bool:
        return bool(self.roles)

    @property
    def may_write(self) -> bool:
        """May import and undo (for some structures at least)."""
        return self.admin or bool(self.write_networks or self.write_structures)

    @property
    def director_only(self) -> bool:
        """Sees its own structures only, the rest of the programme through anonymised peers."""
        return not self.admin and not self.networks and DIRECTOR in self.roles

    @property
    def who(self) -> str:
        return self.person.label

    @property
    def scope_key(self) -> tuple:
        """What every read depends on, without the person: people with the same scope share the dashboard's
        cached reads (two administrators, the directors of one structure)."""
        return tuple(tuple(sorted(part)) for part in (self.roles, self.networks, self.structures))

    def sees(self, code: str, network: str | None) -> bool:
        return self.admin or code in self.structures or (network is not None and network in self.networks)

    def writes(self, code: str, network: str | None) -> bool:
        return self.admin or code in self.write_structures or (
            network is not None and network in self.write_networks)


def local() -> Access:
    """Mode local (no [auth] in the secrets): the one person on the machine, an administrator."""
    return Access(Person(f"mode local ({db.current_user()})"), frozenset({ADMIN}))


# Whoever runs the command line on the server already holds the database file: an administrator.
COMMAND_LINE = Access(Person(COMMAND_LINE_NAME), frozenset({ADMIN}))
# The dashboard's own computations over the whole programme (one shared assessment per window), never shown as
# they are: cut to a person's scope by ``restrict`` or turned into anonymised aggregates (indicators/peers.py).
WHOLE_PROGRAMME = Access(Person("tableau de bord (calcul de l'ensemble du programme)"), frozenset({ADMIN}))


def _set(values) -> frozenset[str]:
    return frozenset(v for v in (values if values is not None else ()) if v)


def _email(person: Person) -> str | None:
    return (person.email or "").strip().lower() or None


def signed_in(con: duckdb.DuckDBPyConnection, person: Person) -> Access:
    """At a person's sign-in: the grants made to their e-mail before it are bound to their subject (a later
    change of e-mail at the provider keeps them), and the sign-in is written in the journal."""
    if person.subject and _email(person):
        with db.transaction(con) as cur:
            db.run(cur, "rights_bind_subject", {"subject": person.subject, "email": _email(person)})
    access = for_person(con, person)
    journal(con, access, "connexion",
            "connexion (" + (", ".join(ROLE_WORDS[r] for r in sorted(access.roles)) or "aucun droit") + ")")
    return access


def for_person(con: duckdb.DuckDBPyConnection, person: Person) -> Access:
    """The person's access from their grants in force (none: ``has_grant`` is False). Read at every run of a
    page, so that a revoked grant stops at the next click."""
    rows = db.query(con, "rights_grants_of", {"subject": person.subject, "email": _email(person)})
    roles, networks, structures, write_networks, write_structures = set(), set(), set(), set(), set()
    for role, grant_networks, grant_structures in rows:
        roles.add(role)
        networks |= _set(grant_networks) if role in (NETWORK_HEAD, READER) else set()
        structures |= _set(grant_structures) if role in (DIRECTOR, READER) else set()
        write_networks |= _set(grant_networks) if role == NETWORK_HEAD else set()
        write_structures |= _set(grant_structures) if role == DIRECTOR else set()
    return Access(person, frozenset(roles), frozenset(networks), frozenset(structures), frozenset(write_networks),
                  frozenset(write_structures))


def codes_filter(con: duckdb.DuckDBPyConnection, access: Access) -> list[str] | None:
    """The codes of the structures the person sees named, for a bound SQL parameter; None for every structure."""
    if access.admin:
        return None
    return [row[0] for row in db.query(con, "rights_visible_codes", {
        "codes": sorted(access.structures), "networks": sorted(access.networks)})]


def visible(frame: pd.DataFrame, access: Access, code: str = "code", network: str = "network") -> pd.DataFrame:
    """The rows of a structures frame the person sees named."""
    if access.admin:
        return frame
    keep = frame[code].isin(access.structures) | frame[network].isin(access.networks)
    return frame[keep].reset_index(drop=True)


def restrict(assessment, access: Access):
    """The part of an assessment the person sees named (the same object for an administrator)."""
    from indicators import compliance  # compliance takes an Access: imported here, not at the top

    if access.admin:
        return assessment
    return compliance.subset(assessment, visible(assessment.structures, access)["code"])


def peer_view(programme, access: Access, group: str):
    """A director's structures placed among their peers (``peers.GROUPS``), from the whole programme's
    assessment: what leaves is the PeerView, aggregates of at least ``peers.MIN_PEERS`` structures only."""
    from indicators import peers

    return peers.peer_view(programme, sorted(visible(programme.structures, access)["code"]), group)


def rest_of_programme_levels(programme, access: Access) -> pd.Series | None:
    """For a network head: how many structures of the rest of the programme (those they do not see named) are at
    each level, aggregates only; None when the rest is too small to stay anonymous (fewer than peers.MIN_PEERS)."""
    from indicators import compliance, peers

    if access.admin or NETWORK_HEAD not in access.roles:
        return None
    named = set(visible(programme.structures, access)["code"])
    rest = programme.structures.loc[~programme.structures["code"].isin(named), "level"]
    if len(rest) < peers.MIN_PEERS:
        return None
    return rest.value_counts().reindex(list(compliance.LEVELS), fill_value=0)


def check_structure(con: duckdb.DuckDBPyConnection, access: Access, code: str) -> None:
    """Refuse a structure outside the scope with the very words used for one that does not exist."""
    row = db.query(con, "rights_structure_network", {"code": code})
    if not row or not access.sees(code, row[0][0]):
        raise AccessRefused(UNKNOWN_STRUCTURE.format(code=code))


def require_admin(con: duckdb.DuckDBPyConnection, access: Access, action: str) -> None:
    """Only administrators may change the register, the référentiel and the grants."""
    if not access.admin:
        message = f"Seul un administrateur peut {action}."
        journal(con, access, "refus", message)
        raise AccessRefused(message)


def outside_write_scope(con: duckdb.DuckDBPyConnection, access: Access, codes,
                        declared: dict[str, str | None] | None = None) -> list[str]:
    """Of ``codes``, those the person may not change, sorted. A structure of the register is judged by its
    network there; an unknown one (a values file creates it) by the network the file ``declared`` for it, so
    that a network head may add a structure to their own network, and nobody else may create one."""
    if access.admin:
        return []
    codes = sorted(set(codes))
    networks = dict(db.query(con, "rights_networks_of", {"codes": codes}))
    declared = declared or {}
    return [c for c in codes if not access.writes(c, networks[c] if c in networks else declared.get(c))]


def log(cur, access: Access, action: str, detail: str, import_id: int | None = None) -> None:
    """One line of the audit log with the person's identity, inside the caller's transaction: a write and its
    trace go together (imports, undos, référentiel, grants)."""
    db.log(cur, action, import_id, detail, access.who, access.person.subject)


def journal(con: duckdb.DuckDBPyConnection, access: Access, action: str, detail: str,
            import_id: int | None = None) -> None:
    """One line of the audit log in a transaction of its own (sign-ins, refusals)."""
    with db.transaction(con) as cur:
        log(cur, access, action, detail, import_id)


def names_list(codes: list[str], limit: int = 10) -> str:
    """« CAF-01, CAF-02 et 3 autres »: a list of codes for a French message, cut when long."""
    shown = ", ".join(codes[:limit])
    return shown if len(codes) <= limit else f"{shown} et {len(codes) - limit} autres"
