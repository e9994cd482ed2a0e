"""The frame around every page: page configuration, the server's protections and the navigation, declared once.

app.py calls ``run``; every page script calls ``require`` first, so that a page opened without app.py (see
below) is sent back through it."""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

from indicators import rights
from ui import access as door
from ui import auth
from ui import french

TITLE = "Services Publics+ · Indicateurs de qualité"

# Section → (script, title, icon): the one list of pages, for the navigation and for the tests.
SECTIONS = {
    "Pilotage": [
        ("pages/mon_service.py", "Mon service", ":material/home:"),
        ("pages/comparaison.py", "Comparaison", ":material/leaderboard:"),
    ],
    "Données": [
        ("pages/import_fichiers.py", "Import", ":material/upload_file:"),
        ("pages/donnees.py", "Structures et imports", ":material/table_view:"),
    ],
    "Référentiel": [
        ("pages/referentiel.py", "Référentiel", ":material/rule:"),
        ("pages/methode.py", "Calcul du niveau", ":material/help:"),
    ],
    "Administration": [
        ("pages/acces.py", "Accès", ":material/admin_panel_settings:"),
    ],
}
DEFAULT_PAGE = "pages/mon_service.py"
# Pages offered only to some: the navigation leaves them out for the others. This is not what protects the data
# (indicators/ refuses a write outside the rights whoever calls it): it spares people a page they cannot use.
WRITERS_ONLY, ADMINS_ONLY = {"pages/import_fichiers.py"}, {"pages/acces.py"}

# Set by ``run`` and taken by ``require`` within the same script run.
_FRAMED = "cadre_de_page"
# Present from the end of a session's first run.
_STARTED = "session_commencee"


# This run's access, set by the frame before the page runs (never by a widget: no widget has this key).
_ACCESS = "acces_de_la_session"


def offered(script: str, who: rights.Access | None) -> bool:
    """Whether the navigation offers a page to this person (every page before the person is known)."""
    if who is None:
        return True
    return (script not in ADMINS_ONLY or who.admin) and (script not in WRITERS_ONLY or who.may_write)


def _address(script: str) -> str:
    """A page's address, as Streamlit derives it from the script's name (pages/donnees.py → donnees)."""
    return Path(script).stem


def _navigation(who: rights.Access | None = None):
    """The pages offered to this person; the others stay at their address, hidden from the menu, and say in
    French for whom they are (Streamlit would otherwise answer a bookmark with its English « Page not found »)."""
    sections, hidden = {}, []
    for section, pages in SECTIONS.items():
        for script, title, icon in pages:
            if offered(script, who):
                sections.setdefault(section, []).append(
                    st.Page(script, title=title, icon=icon, default=script == DEFAULT_PAGE))
            else:
                hidden.append(st.Page(functools.partial(_not_offered, title, script), title=title,
                                      url_path=_address(script), visibility="hidden"))
    next(iter(sections.values())).extend(hidden)
    return st.navigation(sections)


def _not_offered(title: str, script: str) -> None:
    st.title(title)
    whom = "aux administrateurs du programme" if script in ADMINS_ONLY else (
        "aux personnes qui importent des données (administrateur, tête de réseau, directeur)")
    st.info(f"Cette page est réservée {whom}.", icon=":material/lock:")
    st.page_link(DEFAULT_PAGE, label="Aller à « Mon service »", icon=":material/home:")


def _configure() -> rights.Access | None:
    """Page configuration, the server's protections, and who is there (see _person)."""
    _page_frame()
    return _person()


def _page_frame() -> None:
    """Page configuration and the server's protections: no database needed, so that a page waiting for the base is
    already wide and French."""
    st.set_page_config(page_title=TITLE, page_icon=":material/leaderboard:", layout="wide")
    # Before anything else, the sign-in screen included: the page declares lang="fr" and Streamlit's own words
    # are French (ui/french.py says why a script, and what it touches).
    st.html(french.SCRIPT, unsafe_allow_javascript=True)
    door.protect_server(auth.sign_in_configured())


def _person() -> rights.Access | None:
    """Who is there. None when the person may only see the sign-in screen or the no-grant page: it has been drawn
    as the run's only page."""
    found = auth.current(door.connection())
    if callable(found):  # the sign-in screen or the no-grant page, at every page's address
        st.navigation([st.Page(found, title=TITLE, url_path=_address(script),
                               default=script == DEFAULT_PAGE)
                       for pages in SECTIONS.values() for script, _, _ in pages], position="hidden").run()
        return None
    st.session_state[_ACCESS] = found
    return found


def access() -> rights.Access:
    """The person this run serves, for every read and write the page makes."""
    return st.session_state[_ACCESS]


def run() -> None:
    """The whole of app.py: configure the page, refuse unsafe server settings, know the person, run the page."""
    _page_frame()
    with door.held():
        who = _person()
        if who is None:
            return
        st.session_state[_FRAMED] = True
        _navigation(who).run()


def require() -> None:
    """First call of every page script: give the page its frame when app.py did not run before it.

    Until ``st.navigation`` has been called once in a server process, Streamlit routes with its legacy
    « pages/ folder » mode: the first session after a server start that opens a page's URL directly runs
    that page's script alone, without app.py. Declaring the navigation here switches the process to
    ``st.navigation`` for good (Streamlit's documented rule: the pages/ folder is ignored once st.navigation is
    used); the rerun then goes through app.py to the same URL.

    Such a run is always the first of its session, which carries no click to lose. Streamlit's AppTest,
    however, routes every run this legacy way (it resets the routing mode before each run): there, later
    runs get the configuration and the protections, and keep the click that started them."""
    framed = st.session_state.pop(_FRAMED, False)
    first_run = _STARTED not in st.session_state
    st.session_state[_STARTED] = True
    if framed:
        return
    if first_run:
        _navigation()
        st.rerun()
    if _configure() is None:
        st.stop()
