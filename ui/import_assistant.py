"""The Import page's questions about a person's own spreadsheet: which structure a file without structure
column is about, what each unknown column of numbers is, and the name and network of a structure it creates.

The answers live in the widgets' session state, keyed by the file's content; :func:`choices` turns them into
columns.Choices before the file is checked, so every answer re-checks the file at once (indicators/ decides)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indicators import importer, rights
from indicators.columns import Choices, all_targets, target_label
from indicators.text import format_number_fr
from ui import access, frame

IGNORE = "__ignorer__"
MAX_CHOICES = 200  # as the sidebar's picker: 15 000 options would weigh a megabyte on every rerun
MAX_NEW_STRUCTURES = 10  # beyond, a register of structures names them better than a form


def _key(digest: str, what: str, n: int | str = "") -> str:
    return f"import_{what}_{digest[:16]}_{n}"


def _asked(digest: str) -> dict[str, list[str]]:
    """The unknown columns asked about for this file, kept once answered (the answer stays changeable)."""
    return st.session_state.setdefault("import_asked", {}).setdefault(digest, {})


def choices(digest: str) -> Choices | None:
    """The person's answers for the file of this content, as the importer takes them (None: nothing said)."""
    state = st.session_state
    structure = state.get(_key(digest, "structure"))
    columns, ignored = [], []
    for n, header in enumerate(_asked(digest)):
        picked = state.get(_key(digest, "column", n))
        if picked == IGNORE:
            ignored.append(header)
        elif picked:
            columns.append((header, picked))
    created = state.get(_key(digest, "created"), [])
    names = tuple((code, state.get(_key(digest, "name", n))) for n, code in enumerate(created)
                  if state.get(_key(digest, "name", n)))
    networks = tuple((code, state.get(_key(digest, "network", n))) for n, code in enumerate(created)
                     if state.get(_key(digest, "network", n)))
    if not (structure or columns or ignored or names or networks):
        return None
    return Choices(structure, tuple(columns), tuple(ignored), names, networks)


def ask(upload: importer.Prepared) -> None:
    """Draw the questions the file still raises, or those already answered (to change an answer)."""
    report, digest = upload.report, upload.report.sha256
    if report.needs_structure or st.session_state.get(_key(digest, "structure")):
        _structure_question(digest)
    for header, likely in report.unknown_columns:
        _asked(digest).setdefault(header, [t.text for t in likely])
    if _asked(digest):
        _column_questions(digest)
    if report.new_structures and (frame.access().admin or frame.access().write_networks):
        _new_structure_questions(digest, report.new_structures)


def _writable(who: rights.Access) -> pd.DataFrame:
    structures = access.structures(access.data_version(), who)
    if who.admin:
        return structures
    keep = [who.writes(code, network) for code, network in zip(structures["code"], structures["network"])]
    return structures[keep]


def _structure_question(digest: str) -> None:
    who = frame.access()
    structures = _writable(who)
    key = _key(digest, "structure")
    state = st.session_state
    if key not in state:  # set before the widget, which then takes no index of its own
        # The person's own structure when they have one; else the one chosen for their previous file.
        own = structures["code"].tolist() if len(structures) == 1 else []
        state[key] = own[0] if own else state.get("import_last_structure")
        if state[key]:
            st.rerun()  # the file was checked without it: check it again with the structure proposed
    shown = structures
    if len(structures) > MAX_CHOICES:
        query = st.text_input("Rechercher la structure (code ou nom)", key=_key(digest, "structure_query"))
        if query:
            shown = structures[structures["code"].str.contains(query, case=False, regex=False)
                               | structures["name"].fillna("").str.contains(query, case=False, regex=False)]
        shown = shown.head(MAX_CHOICES)
    names = dict(zip(structures["code"], structures["name"]))
    codes = shown["code"].tolist()
    if state[key] and state[key] not in codes:
        codes.insert(0, state[key])
    picked = st.selectbox(
        "Ce fichier concerne la structure :", codes, key=key, placeholder="Choisissez la structure",
        format_func=lambda c: f"{c} – {names.get(c) or c}", accept_new_options=who.admin,
        help="Le fichier n'a pas de colonne de structure : chaque ligne sera attribuée à la structure choisie."
             + (" Un administrateur peut saisir le code d'une nouvelle structure." if who.admin else ""))
    if picked:
        state["import_last_structure"] = picked


def _column_questions(digest: str) -> None:
    referentiel = importer.catalog_of(access.connection()).referentiel
    every = [t.text for t in all_targets(referentiel)]
    labels = {t.text: target_label(t, referentiel) for t in all_targets(referentiel)}
    labels[IGNORE] = "Ignorer cette colonne"
    st.markdown("**Colonnes à préciser** : elles contiennent des nombres mais ne correspondent à aucun indicateur.")
    for n, (header, likely) in enumerate(_asked(digest).items()):
        options = [*likely, IGNORE, *(t for t in every if t not in likely)]
        st.session_state.setdefault(_key(digest, "column", n), None)
        st.selectbox(f"« {header} » correspond à :", options, key=_key(digest, "column", n),
                     placeholder="Choisissez un indicateur, un comptage, ou « Ignorer »",
                     format_func=lambda t: labels.get(t, t))


def _new_structure_questions(digest: str, created: list[tuple[str, str | None, str | None]]) -> None:
    who = frame.access()
    count = format_number_fr(len(created), 0)
    if len(created) > MAX_NEW_STRUCTURES:
        st.info(f"Ce fichier crée {count} structures, nommées par leur code : importez ensuite un registre des "
                "structures pour leur donner un nom et un réseau.")
        return
    structures = access.structures(access.data_version(), who)
    networks = sorted(structures["network"].dropna().unique()) if who.admin else sorted(who.write_networks)
    one = len(created) == 1
    st.markdown("**Nouvelle structure** : donnez-lui un nom et un réseau, pour qu'elle figure dans les "
                "comparaisons de son réseau." if one else f"**{count} nouvelles structures** : donnez-leur un nom "
                "et un réseau, pour qu'elles figurent dans les comparaisons de leur réseau.")
    state = st.session_state
    # Their codes, in order, tell choices() which answer is whose: the file keeps the order at each check.
    state[_key(digest, "created")] = [code for code, _, _ in created]
    for n, (code, name, network) in enumerate(created):
        left, right = st.columns(2)
        state.setdefault(_key(digest, "name", n), name if name and name != code else "")
        state.setdefault(_key(digest, "network", n), network)
        left.text_input(f"Nom de {code}", key=_key(digest, "name", n), placeholder=code)
        chosen = state[_key(digest, "network", n)]
        right.selectbox(f"Réseau de {code}", networks if chosen in networks or not chosen else [chosen, *networks],
                        key=_key(digest, "network", n), placeholder="Choisissez le réseau",
                        accept_new_options=who.admin)
