"""The frame around every page: page configuration, the server's protections and the navigation, declared once.

app.py calls ``run``; every page script calls ``require`` first, so that a page opened without app.py (see
below) is sent back through it."""

from __future__ import annotations

import streamlit as st

from ui import access

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
    ],
}
DEFAULT_PAGE = "pages/mon_service.py"

# Set by ``run`` and taken by ``require`` within the same script run.
_FRAMED = "cadre_de_page"
# Present from the end of a session's first run.
_STARTED = "session_commencee"


def _navigation():
    return st.navigation({
        section: [st.Page(script, title=title, icon=icon, default=script == DEFAULT_PAGE)
                  for script, title, icon in pages]
        for section, pages in SECTIONS.items()
    })


def _configure() -> None:
    st.set_page_config(page_title=TITLE, page_icon=":material/leaderboard:", layout="wide")
    access.protect_server()


def run() -> None:
    """The whole of app.py: configure the page, refuse unsafe server settings, run the chosen page."""
    _configure()
    st.session_state[_FRAMED] = True
    _navigation().run()


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
    _configure()
